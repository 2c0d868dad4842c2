"""``train``: one training run from a ``RunConfig``, saved in its run folder, safe to interrupt.

The core of ``puffer train`` and of every sweep trial::

    config = run.load("squared")
    trainer = run.train(config, "my-run")        # trains, saves, returns the closed Trainer

What it adds to ``Trainer.run``: the run folder (claimed, never overwritten without
``overwrite``; ``resume`` continues one), ``config.json`` and ``metrics.jsonl``, the
learning curve, torchrun's ranks (``pufferlib.distributed``), and saving on every way a run
can stop: the end, Ctrl-C, SIGTERM (a scheduler's stop), a worker that died or hung, a lost
torchrun peer. During that last save further signals are held back, so a second SIGTERM
cannot tear it. A run stopped by non-finite numbers saves nothing (its last save on disk is
the last finite one).
"""

from __future__ import annotations

import contextlib
import dataclasses
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from pufferlib.exceptions import APIUsageError, NonFiniteError
from pufferlib.run import folders
from pufferlib.run.build import make_trainer
from pufferlib.run.config import RunConfig

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Terminated(KeyboardInterrupt):
    """SIGTERM (a scheduler's or ``timeout``'s stop) turned into an interrupt, so it saves like Ctrl-C."""

    def __init__(self, signum: int):
        super().__init__(f"signal {signum}")
        self.signum = signum


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """Within the block, SIGTERM raises ``Terminated`` in the main thread (elsewhere: no change)."""
    if not _main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise Terminated(signum)

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def signals_held() -> Iterator[list[int]]:
    """Within the block (a final save), SIGTERM and SIGINT are recorded, not raised: the yielded
    list holds the ones that arrived."""
    arrived: list[int] = []
    if not _main_thread():
        yield arrived
        return
    previous = {signum: signal.signal(signum, lambda signum, frame: arrived.append(signum))
                for signum in STOP_SIGNALS}
    try:
        yield arrived
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def say(message: str) -> None:
    """A progress message for a phase that may take a while, on stderr (stdout keeps the results)."""
    print(message, file=sys.stderr, flush=True)


def _stop_errors() -> tuple[type[BaseException], ...]:
    """Errors after which the policy is still good and worth saving: the envs or a peer failed."""
    from pufferlib.distributed import DistributedError
    from pufferlib.vector.workers import WorkerError

    return (WorkerError, DistributedError)


def train(config: RunConfig, exp_id: str | None = None, resume: str | Path | None = None,
          loggers: Sequence[Callable[[Path], Any]] = (), progress: str = "auto",
          progress_interval: float = 5.0, save: bool = True, callback: Callable[[Any], Any] | None = None,
          overwrite: bool = False) -> Any:
    """Train with ``config``; returns the closed ``Trainer`` (see the module docstring).

    ``exp_id`` names the run folder in ``config.train.data_dir`` (default: a fresh name); an
    existing run there is an error unless ``overwrite`` (then it is replaced). ``resume`` (a run
    folder or its ``checkpoint.pt``) continues that run instead: ``train.total_timesteps`` is the
    run's total, so it trains the remaining steps, and one already at its total trains nothing
    (``trainer.finished_before`` is True). ``loggers`` are factories called with the run folder
    once a resume (if any) has succeeded, so that a failed resume writes nothing. ``progress`` is
    ``rich``, ``plain``, ``none`` or ``auto`` (rich on a terminal). ``callback(trainer)`` runs after
    every update; returning False stops training. SIGTERM and Ctrl-C save and re-raise
    (``Terminated`` for SIGTERM, a ``KeyboardInterrupt``).
    """
    with sigterm_interrupts():
        return _train(config, exp_id, resume, loggers, progress, progress_interval, save, callback, overwrite)


def _train(config: RunConfig, exp_id: str | None, resume: str | Path | None,
           loggers: Sequence[Callable[[Path], Any]], progress: str, progress_interval: float, save: bool,
           callback: Callable[[Any], Any] | None, overwrite: bool) -> Any:
    from pufferlib import distributed
    from pufferlib.trainer import seed_everything

    checkpoint = folders.resume_checkpoint(resume) if resume is not None else None
    if exp_id is None:
        exp_id = folders.run_folder(checkpoint).name if checkpoint else folders.new_run_id(config.name)
    folders.check_run_id(exp_id)
    if checkpoint is not None:
        config = dataclasses.replace(config, train=config.train.replace(
            data_dir=str(folders.run_folder(checkpoint).parent)))
    # Under torchrun every rank trains (its own envs, seeded apart); rank 0 alone logs, prints and saves.
    train_config, exp_id, context = distributed.prepare_run(config.train, exp_id,
                                                            config.train.distributed_timeout)
    config = dataclasses.replace(config, train=train_config)
    if not context.is_main:
        save, progress, loggers = False, "none", ()
    if save and checkpoint is None:
        folders.claim(config.train.data_dir, exp_id, overwrite)
    seed_everything(config.train.seed, config.train.torch_deterministic)
    announce = progress != "none"
    started = time.perf_counter()
    if announce:
        say(f"[{config.name}] building {config.vec.num_copies} envs ({config.vec.backend})...")
    trainer = make_trainer(config, exp_id, record=save)
    try:
        if checkpoint is not None:
            trainer.load_checkpoint(checkpoint)
        trainer.finished_before = checkpoint is not None and trainer.done
        if trainer.finished_before:
            trainer.close(save=False)
            return trainer
        trainer.loggers.extend(factory(trainer.exp_dir) for factory in loggers)
    except BaseException:
        trainer.vecenv.close()
        raise
    if announce:
        say(f"[{config.name}] envs ready in {time.perf_counter() - started:.1f}s; collecting the first "
            f"batch of {config.train.batch_size:,} steps...")
    if save:
        folders.write_json(trainer.exp_dir / folders.CONFIG_FILE, config.to_dict())
    _run(trainer, config, save, progress, progress_interval, callback)
    return trainer


def _run(trainer: Any, config: RunConfig, save: bool, progress: str, interval: float,
         callback: Callable[[Any], Any] | None) -> None:
    """``trainer.run``, then the final save, whichever way the run stops."""
    try:
        trainer.run(callback=callback, progress=progress, interval=interval, title=config.name)
    except NonFiniteError:
        trainer.close(save=False)
        raise
    except (KeyboardInterrupt, *_stop_errors()) as stop:  # type: ignore[misc]  # a tuple of exception types
        with signals_held():
            trainer.close(save=save)
            if save:
                say(f"{'Interrupted' if isinstance(stop, KeyboardInterrupt) else 'Stopped'}; checkpoint "
                    f"saved "
                    f"in {trainer.exp_dir} at step {trainer.global_step:,}")
                draw_curve(trainer.exp_dir)
        raise
    with signals_held() as arrived:
        trainer.close(save=save)
        if save:
            trainer.curve = draw_curve(trainer.exp_dir)
    if arrived:
        raise Terminated(arrived[0]) if arrived[0] == signal.SIGTERM else KeyboardInterrupt()


def draw_curve(folder: Path) -> Path | None:
    """The run's learning curve as ``curve.png``, or None when it has none yet (no finished episode)."""
    from pufferlib.plot import plot_runs

    try:
        return plot_runs([folder], folder / folders.CURVE_FILE)
    except APIUsageError:
        return None
