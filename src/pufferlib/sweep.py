"""``puffer sweep``: hyperparameter search with Optuna, one short training run per trial.

The study lives in a database (Optuna's RDB storage): by default the SQLite file
``<data_dir>/<sweep_id>/study.db``, or any SQLAlchemy URL given as ``sweep.storage``. So a
sweep resumes where it stopped (run the same command with the same ``--sweep-id``), and
several ``puffer sweep`` processes with one ``--sweep-id`` (and storage) share one study.

The search space is the environment's ``[NAME.sweep.space]`` table (merged over
``[default.sweep.space]``; a ``--config`` file may replace it), keyed by ``"section.option"``::

    "train.learning_rate" = { distribution = "log_uniform", low = 1e-4, high = 3e-2 }
    "train.update_epochs" = { distribution = "int", low = 1, high = 8 }
    "train.clip_coef" = { distribution = "categorical", choices = [0.1, 0.2, 0.3] }

or on the command line, ``--sweep.space.train.learning-rate log_uniform:1e-4:1e-2`` (see
``parse_space``; ``off`` removes a parameter). Options given explicitly on the command
line are fixed for every trial, never searched.

Each trial trains for ``sweep.timesteps`` steps (default ``train.total_timesteps``) and is
scored by the mean of ``sweep.metric`` (an episode statistic such as ``score`` or
``episode_return``) over its last 100 finished episodes. That score is reported after
every update, so the pruner (``sweep.pruner``: ``median``, the default, or ``none``) stops
trials that fall behind earlier ones. ``sweep.trials`` counts finished (complete or
pruned) trials of the whole study. A row is printed per finished trial and a ranked table
at the end; ``best.json`` in the sweep folder holds the best parameters and a
``puffer train`` command that reproduces the best trial.
"""

from __future__ import annotations

import contextlib
import copy
import math
import os
import shlex
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from pufferlib import run
from pufferlib.exceptions import APIUsageError, NonFiniteError
from pufferlib.run import folders
from pufferlib.run.config import RunConfig
from pufferlib.run.sections import SweepConfig
from pufferlib.run.training import Terminated
from pufferlib.vector.workers import process_exists

DISTRIBUTIONS = ("uniform", "log_uniform", "int", "log_int", "categorical")
STUDY_FILE = "study.db"
BEST_FILE = "best.json"
PRUNERS = ("median", "none")
SEARCHABLE = ("env", "policy", "rnn", "vec", "train")


def suggest(trial: Any, name: str, spec: Mapping[str, Any]) -> Any:
    """One value for ``name`` drawn by an Optuna ``trial`` from ``spec``."""
    kind = spec.get("distribution", "uniform")
    if kind == "categorical":
        return trial.suggest_categorical(name, list(spec["choices"]))
    if kind not in DISTRIBUTIONS or "low" not in spec or "high" not in spec:
        raise APIUsageError(
            f"sweep.space.{name}: need distribution (one of {', '.join(DISTRIBUTIONS)}) with low and high "
            f"(or choices for categorical), got {dict(spec)}."
        )
    if kind in ("int", "log_int"):
        return trial.suggest_int(name, int(spec["low"]), int(spec["high"]), log=kind == "log_int")
    return trial.suggest_float(name, float(spec["low"]), float(spec["high"]), log=kind == "log_uniform")


def parse_space(text: str) -> dict[str, Any] | None:
    """A space entry from its command-line form; None for ``off`` (do not search it).

    ``uniform:LOW:HIGH``, ``log_uniform:LOW:HIGH``, ``int:LOW:HIGH``, ``log_int:LOW:HIGH`` or
    ``categorical:A,B,C`` (values are read as numbers or booleans where they look like them).
    """
    if text.strip().lower() in ("off", "none", "fixed"):
        return None
    kind, _, rest = text.partition(":")
    kind = kind.strip().replace("-", "_")
    if kind == "categorical" and rest:
        return {"distribution": kind, "choices": [_literal(v) for v in rest.split(",")]}
    parts = rest.split(":")
    if kind in DISTRIBUTIONS and kind != "categorical" and len(parts) == 2:
        try:
            low, high = (float(p) for p in parts)
        except ValueError:
            low = high = math.nan
        if math.isfinite(low) and math.isfinite(high) and low < high and (low > 0 or "log" not in kind):
            if kind in ("int", "log_int"):
                return {"distribution": kind, "low": int(low), "high": int(high)}
            return {"distribution": kind, "low": low, "high": high}
    raise APIUsageError(
        f"Search space {text!r}: write uniform:LOW:HIGH, log_uniform:LOW:HIGH (LOW > 0), int:LOW:HIGH, "
        "log_int:LOW:HIGH, categorical:A,B,C or off (LOW < HIGH)."
    )


def _literal(text: str) -> Any:
    text = text.strip()
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    for parse in (int, float):
        try:
            return parse(text)
        except ValueError:
            pass
    return text


def _flag(name: str, value: Any) -> str:
    section, key = name.split(".", 1)
    flag = f"--{section}.{key.replace('_', '-')}"
    if isinstance(value, bool):
        return flag if value else f"--{section}.no-{key.replace('_', '-')}"
    return f"{flag} {value:.6g}" if isinstance(value, float) else f"{flag} {shlex.quote(str(value))}"


def _flags(params: Mapping[str, Any]) -> str:
    return " ".join(_flag(name, value) for name, value in params.items())


def search_space(config: Mapping[str, Any], fixed: Mapping[str, Mapping[str, Any]] = ()) -> dict[str, Any]:
    """The parameters to search: ``config['sweep']['space']`` less the ``fixed`` (explicit) options."""
    space = dict(config["sweep"].get("space", {}))
    fixed = dict(fixed or {})
    for name in list(space):
        section, _, key = name.partition(".")
        if section not in SEARCHABLE or not key:
            raise APIUsageError(f"sweep.space key {name!r} must look like 'train.learning_rate'.")
        if space[name] is None or key in fixed.get(section, {}):
            del space[name]
    return space


def sweep_settings(config: Mapping[str, Any]) -> dict[str, Any]:
    """The checked ``sweep`` section, with ``timesteps`` filled in (0: ``train.total_timesteps``)."""
    sweep = SweepConfig.from_table(dict(config["sweep"]))
    settings = {key: getattr(sweep, key) for key in ("metric", "direction", "trials", "pruner", "storage")}
    settings["timesteps"] = sweep.timesteps or int(config["train"].get("total_timesteps", 1_000_000))
    return settings


def open_study(storage: str, sweep_id: str, direction: str, pruner: str, seed: int,
               warmup_steps: int = 0) -> Any:
    """The Optuna study ``sweep_id`` in ``storage``, created on first use (shared by every process).

    The median pruner judges a trial only after ``warmup_steps`` (early scores are mostly noise).
    """
    import optuna
    import sqlalchemy.exc

    pruners = {"median": lambda: optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=warmup_steps),
               "none": optuna.pruners.NopPruner}
    attempts = 5
    for attempt in range(1, attempts + 1):
        try:
            # SQLite serialises writers; processes sharing a file wait for the lock instead of failing.
            engine = {"connect_args": {"timeout": 60}} if storage.startswith("sqlite") else {}
            rdb = optuna.storages.RDBStorage(storage, engine_kwargs=engine)
            # Each process samples its own start (same seed everywhere would propose the same trials).
            sampler = optuna.samplers.TPESampler(seed=(seed * 1_000_003 + os.getpid()) % 2**32)
            study = optuna.create_study(storage=rdb, study_name=sweep_id, direction=direction,
                                        sampler=sampler, pruner=pruners[pruner](), load_if_exists=True)
            break
        except (sqlalchemy.exc.IntegrityError, sqlalchemy.exc.OperationalError) as e:
            # Processes that create a new database at the same moment race on its schema (a table
            # or row "already exists" for the loser); on the next try the schema is there.
            if attempt == attempts:
                raise APIUsageError(f"sweep.storage {storage!r}: cannot open the study ({e}).") from None
            time.sleep(0.2 * attempt)
        except (sqlalchemy.exc.SQLAlchemyError, ImportError, ValueError) as e:
            raise APIUsageError(f"sweep.storage {storage!r}: cannot open the study ({e}).") from None
    if study.direction.name.lower() != direction:
        raise APIUsageError(f"Sweep {sweep_id!r} in {storage} was started to {study.direction.name.lower()} "
                            f"its metric, not {direction}: pass --sweep.direction accordingly.")
    return study


@contextlib.contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM until the block (a database write) is done, then raise them.

    An interrupt inside SQLite's write would leave the database locked, and the write that
    marks the trial failed would then wait for that lock.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    signals = (signal.SIGINT, signal.SIGTERM)
    previous = {signum: signal.signal(signum, lambda signum, frame: received.append(signum))
                for signum in signals}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if received:
        if received[0] == signal.SIGTERM:
            raise Terminated(signal.SIGTERM)
        raise KeyboardInterrupt


def _finished(study: Any) -> list[Any]:
    from optuna.trial import TrialState

    return study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED))


def reproduce_command(config: Mapping[str, Any], fixed: Mapping[str, Mapping[str, Any]],
                      params: Mapping[str, Any], timesteps: int) -> str:
    """A ``puffer train`` command with the trial's parameters, the fixed options and its step budget."""
    parts = ["puffer", "train", "--env", shlex.quote(str(config.get("env_spec", config["name"])))]
    parts += [f"--import {shlex.quote(name)}" for name in config.get("imports", [])]
    values = {f"{section}.{key}": value for section, options in fixed.items() if section in SEARCHABLE
              for key, value in options.items() if key not in ("total_timesteps", "data_dir")}
    values.update(params)
    values["train.total_timesteps"] = timesteps
    parts += [_flag(name, value) for name, value in values.items()]
    return " ".join(parts)


def run_sweep(config: RunConfig | Mapping[str, Any], sweep_id: str,
              fixed: Mapping[str, Mapping[str, Any]] | None = None,
              report: Callable[[str], Any] = print) -> dict[str, Any]:
    """Run (or continue) the sweep ``sweep_id``; returns what ``best.json`` records.

    ``fixed`` are the options given explicitly (``{section: {key: value}}``): they keep their
    values in every trial. ``report(line)`` gets the progress lines (a row per trial, the ranked
    summary). Bad settings are ``APIUsageError`` before any trial runs; Ctrl-C stops the sweep,
    leaving the study to resume. Processes sharing the study together run ``sweep.trials``
    trials, not more. A sweep folder whose trial folders belong to an earlier study (its database
    was deleted) is refused rather than mixed with a new one.
    """
    folders.check_run_id(sweep_id)
    config = config if isinstance(config, RunConfig) else RunConfig.from_dict(config)
    base = config.to_dict()
    fixed = {section: dict(values) for section, values in (fixed or {}).items()}
    settings = sweep_settings(base)
    space = search_space(base, fixed)
    if not space:
        raise APIUsageError(f"Nothing to search for {config.name!r}: add [{config.name}.sweep.space] "
                            "or --sweep.space.SECTION.KEY SPEC (every configured one is fixed or off).")
    folder = Path(config.train.data_dir) / sweep_id
    storage = settings["storage"] or f"sqlite:///{(folder / STUDY_FILE).resolve()}"
    _check_not_orphaned(folder, settings["storage"])
    _check_integrity(folder / STUDY_FILE if not settings["storage"] else None)
    folder.mkdir(parents=True, exist_ok=True)
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = open_study(storage, sweep_id, settings["direction"], settings["pruner"], config.train.seed,
                       warmup_steps=settings["timesteps"] // 5)
    _fail_abandoned(study, report)
    done = len(_finished(study))
    report(f"Sweep {sweep_id}: {settings['trials']} trials of {settings['timesteps']:,} steps, "
           f"{settings['metric']} ({settings['direction']}), {len(space)} parameters, study in {storage}"
           + (f" ({done} trials already done)" if done else "")
           + f"; run again or in parallel with --sweep-id {sweep_id}")
    failures = 0  # this process's: trials that keep failing must not loop forever
    while failures < settings["trials"] and (trial := _next_trial(study, settings["trials"])) is not None:
        failures += _run_trial(study, trial, config, base, space, settings, folder, report) == "FAIL"
    return summarise(study, base, fixed, settings, folder, report)


def _check_not_orphaned(folder: Path, storage: str) -> None:
    """A default (SQLite) study whose file is gone but whose trial folders remain would mix two studies."""
    if storage or (folder / STUDY_FILE).exists() or not folder.is_dir():
        return
    if any(child.name.startswith("trial-") for child in folder.iterdir()):
        raise APIUsageError(f"{folder} holds trial folders of an earlier sweep whose {STUDY_FILE} is gone: "
                            "choose another --sweep-id (or delete the folder to start over).")


def _check_integrity(database: Path | None) -> None:
    """A SQLite study file that fails SQLite's own integrity check is refused, not trusted."""
    if database is None or not database.exists():
        return
    import sqlite3

    try:
        with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=60)) as db:
            verdict = db.execute("PRAGMA integrity_check").fetchone()[0]
    except sqlite3.DatabaseError as e:
        verdict = str(e)
    if verdict != "ok":
        raise APIUsageError(f"{database} is damaged (SQLite's integrity check: {verdict}): move it away and "
                            "start again, or use another --sweep-id.")


OWNER = "owner"  # a trial's user attribute: "HOST:PID" of the process running it


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _fail_abandoned(study: Any, report: Callable[[str], Any]) -> None:
    """Mark FAIL the trials left RUNNING by a process of this host that no longer exists (killed)."""
    from optuna.trial import TrialState

    host = socket.gethostname()
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        owner_host, _, pid = str(trial.user_attrs.get(OWNER, "")).rpartition(":")
        if owner_host == host and pid.isdigit() and not process_exists(int(pid)):
            with interrupts_deferred():
                study.tell(trial.number, state=TrialState.FAIL)
            report(f"trial {trial.number}: failed (its process {pid} is gone)")


def _next_trial(study: Any, trials: int) -> Any:
    """A new trial, or None when the study has its ``trials`` (finished or running, in any process).

    Two processes can both see one slot left and ask at once; the later of the two is then failed
    at once (marked ``surplus``), so the study never runs more than ``trials``.
    """
    from optuna.trial import TrialState

    def taken(before: int | None = None) -> int:
        states = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING)
        return sum(1 for t in study.get_trials(deepcopy=False, states=states)
                   if before is None or t.number < before)

    if taken() >= trials:
        return None
    trial = study.ask()
    trial.set_user_attr(OWNER, _owner())
    if taken(before=trial.number) >= trials:
        trial.set_user_attr("surplus", True)
        study.tell(trial, state=TrialState.FAIL)
        return None
    return trial


def _run_trial(study: Any, trial: Any, config: RunConfig, base: dict[str, Any], space: Mapping[str, Any],
               settings: Mapping[str, Any], folder: Path, report: Callable[[str], Any]) -> str:
    """Train one trial and tell the study how it ended; returns the state's name (COMPLETE, PRUNED, FAIL)."""
    from optuna.trial import TrialState

    metric = settings["metric"]
    trial_config = copy.deepcopy(base)
    for name, spec in space.items():
        section, key = name.split(".", 1)
        trial_config[section][key] = suggest(trial, name, spec)
    trial_config["train"].update(total_timesteps=settings["timesteps"], data_dir=str(folder),
                                 score_metric=metric)
    trial.set_user_attr("seed", int(trial_config["train"].get("seed", 1)))
    report(f"trial {trial.number}: started, {_flags(trial.params)}")
    pruned = False

    def after_update(trainer: Any) -> bool:
        nonlocal pruned
        score = trainer.score()
        if math.isfinite(score):
            with interrupts_deferred():
                trial.report(score, trainer.global_step)
                pruned = trial.should_prune()
        return not pruned

    started = time.perf_counter()
    try:
        trainer = run.train(RunConfig.from_dict(trial_config, config.target), f"trial-{trial.number:03d}",
                            progress="none", callback=after_update, overwrite=True)
        score = trainer.score()
        trial.set_user_attr("seconds", time.perf_counter() - started)
        trial.set_user_attr("steps", int(trainer.global_step))
        if pruned:
            state, value = TrialState.PRUNED, None
        elif not math.isfinite(score):
            raise APIUsageError(f"no episode reported {metric!r} in {settings['timesteps']:,} steps")
        else:
            state, value = TrialState.COMPLETE, score
    except (APIUsageError, NonFiniteError) as e:
        trial.set_user_attr("error", str(e))
        state, value = TrialState.FAIL, None
    except BaseException:
        with interrupts_deferred():
            study.tell(trial, state=TrialState.FAIL)
        raise
    with interrupts_deferred():
        frozen = study.tell(trial, value, state=state)
    _report_row(frozen, metric, report)
    return state.name


def _report_row(trial: Any, metric: str, report: Callable[[str], Any]) -> None:
    seconds = trial.user_attrs.get("seconds", 0.0)
    value = "-" if trial.value is None else f"{trial.value:.4g}"
    if trial.state.name == "PRUNED" and trial.intermediate_values:
        last = max(trial.intermediate_values)
        value = f"{trial.intermediate_values[last]:.4g} (at {last:,} steps)"
    error = f"  ({trial.user_attrs['error']})" if "error" in trial.user_attrs else ""
    report(f"trial {trial.number}: {trial.state.name.lower():8s} {metric} {value}  {seconds:.1f}s  "
           f"{_flags(trial.params)}{error}")


def summarise(study: Any, config: Mapping[str, Any], fixed: Mapping[str, Mapping[str, Any]],
              settings: Mapping[str, Any], folder: Path, report: Callable[[str], Any] = print
              ) -> dict[str, Any]:
    """Report the ranked trials of ``study``; write and return ``best.json``."""
    from optuna.trial import TrialState

    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if not complete:
        raise APIUsageError(f"No trial of sweep {study.study_name} completed (all failed or were pruned): "
                            "see the trial rows above.")
    reverse = settings["direction"] == "maximize"
    ranked = sorted(complete, key=lambda t: t.value, reverse=reverse)
    metric = settings["metric"]
    report(f"{'rank':>4}  {'trial':>5}  {metric:>12}  parameters")
    for rank, trial in enumerate(ranked[:10], 1):
        report(f"{rank:>4}  {trial.number:>5}  {trial.value:>12.4g}  {_flags(trial.params)}")
    best_trial = ranked[0]
    command = reproduce_command(config, fixed, best_trial.params, settings["timesteps"])
    best = {"metric": metric, "direction": settings["direction"], "value": best_trial.value,
            "trial": best_trial.number, "params": best_trial.params, "flags": _flags(best_trial.params),
            "command": command, "trials": len(_finished(study)),
            "folder": str(folder / f"trial-{best_trial.number:03d}")}
    folders.write_json(folder / BEST_FILE, best)
    report(f"Best {metric}: {best_trial.value:.4g} (trial {best_trial.number}); "
           f"written to {folder / BEST_FILE}")
    report(f"Train with: {command}")
    return best
