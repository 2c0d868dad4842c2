"""Native Ocean envs (Numba): simulation speed, compile times and training throughput, in one run.

Sections (``--sections``, all by default):

- ``compile``: the whole native suite started in a fresh interpreter with an empty Numba
  cache (``NUMBA_CACHE_DIR`` a new folder: every kernel compiles), then again with that cache
  (kernels load). Each start imports, builds, resets and steps every native env.
- ``single``: agent steps/s of each native env in this process, ``step()`` called with
  random actions, at 32, 512 and 4096 games per env object, against PufferLib 3.0's C game
  of the same name (``PUFFERLIB3_GAMES`` maps the exceptions) measured in a long-lived peer
  process (``bench/pufferlib3/speed.py --serve`` under 3.0's interpreter: ``--pufferlib3-python``,
  or ``$PUFFERLIB3_PYTHON``); rounds of ours and theirs alternate, game by game, so that load
  from other processes hits both, and each row carries both figures, ``ratio`` (ours / theirs,
  best against best) and ``ratio_median`` (the median of the rounds' ratios). Both sides
  run the same timing loop (``measure.step_rate``). For CartPole also Gymnasium's
  ``CartPoleVectorEnv`` at the same sizes and EnvPool's ``CartPole-v1`` at its best
  configuration (num_envs x num_threads searched, synchronous batches); and
  ``atari_breakout``: ALE Breakout through pufferlib's Gymnasium emulation (one env), the
  reference the other native envs are compared with.
- ``multiprocessing``: each native env through ``pufferlib.vector.Multiprocessing`` with one
  worker per core, each hosting one native env of the shipped ``["ocean:NAME"]`` configuration's
  games (and of ``4096 / cores`` and ``65536 / cores``: ``--mp-games``; games set up as in
  ``single``), against the measured
  parallel limit: ``cores`` bare processes stepping one such env each, all at once; ``ratio``
  is the fraction of the limit reached. A step of 2048 fast games takes tens of microseconds,
  as long as waking a sleeping worker on a virtual machine, so the larger size shows what the
  backend costs when the work per step dominates.
- ``train``: end-to-end ``pufferlib.trainer`` SPS on native CartPole and Breakout with their
  shipped ``ocean:NAME`` configurations (Serial backend), the time split (env, forward,
  learn, other), once per learner (``train.learner``: eager and compiled, in alternating
  rounds), against two learning limits: a bare eager torch loop doing the same minibatch
  updates (same network, minibatch size, epochs) on random data, and the compiled learner
  doing them (``pufferlib.learner``). ``train_speedup`` rows give compiled / eager.

Every comparison is measured in interleaved rounds, each contender keeping its best, so
that load from other processes skews no single figure. Prints one JSON line per
measurement, then a table with the ratios the targets are stated in.
Usage: python bench/ocean.py [--quick] [--sections single,train] [--envs cartpole,snake]
    [--pufferlib3-python PATH] [--mp-games shipped,2048] [--seconds S] [--rounds N] [--out FILE]
On a quiet machine, the results file: ``python bench/ocean.py --out bench/results/ocean.jsonl``.
"""

from __future__ import annotations

import argparse
import inspect
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import pufferlib.vector
from measure import load_average, step_rate, timed
from pufferlib.environments import ocean
from pufferlib.vector.config import physical_cores

SIZES = (32, 512, 4096)
ROWS: list[dict] = []
BENCH = Path(__file__).resolve().parent
PUFFERLIB3_PYTHON = "/work/p3/venv3/bin/python"

# The PufferLib 3.0 C game each native game is measured against, where that is not 3.0's game of
# the same name with both classes' defaults: our name -> (3.0's name, settings for both sides,
# settings for 3.0's side only). Both sides get ``num_envs`` = the size measured; ours takes the
# shared settings its class has (a row's ``ignored`` lists the others). Ports keep 3.0's defaults
# and need no entry, unless one of 3.0's games is too big to build 4096 times.
PUFFERLIB3_GAMES: dict[str, tuple[str, dict[str, Any], dict[str, Any]]] = {
    # 3.0's CartPole logs (a pass over every game) on every step unless told otherwise; ours
    # reports every 32 steps. 3.0's other games log every 128.
    "cartpole": ("cartpole", {}, {"report_interval": 32}),
    "cartpole_continuous": ("cartpole", {}, {"continuous": True, "report_interval": 32}),
    # 3.0's grid (640 x 360, 256 snakes, 4096 food, vision 5) is 230 KB of cells: 4096 of them
    # would not fit. Both sides play our first Snake's small grid instead.
    "snake": (
        "snake",
        {"width": 20, "height": 20, "num_snakes": 4, "num_food": 8, "vision": 4, "max_snake_length": 64,
         "leave_corpse_on_death": False},
        {},
    ),
}


def our_settings(name: str) -> tuple[dict[str, Any], list[str]]:
    """The shared ``PUFFERLIB3_GAMES`` settings native game ``name``'s class takes, and the
    names of those it does not have."""
    shared = PUFFERLIB3_GAMES.get(name, (name, {}, {}))[1]
    accepted = inspect.signature(ocean.env_creator(name)).parameters
    return {k: v for k, v in shared.items() if k in accepted}, sorted(set(shared) - set(accepted))


def emit(**row: Any) -> None:
    ROWS.append(row)
    print(json.dumps(row), flush=True)


def random_actions(env: Any, count: int, rng: np.random.Generator) -> list[np.ndarray]:
    space = env.single_action_space
    if hasattr(space, "n"):
        return [rng.integers(0, space.n, env.num_agents).astype(space.dtype) for _ in range(count)]
    return [rng.uniform(-1, 1, (env.num_agents, *space.shape)).astype(space.dtype) for _ in range(count)]


def rounds_of(contenders: dict[str, Callable[[], float]], rounds: int) -> dict[str, list[float]]:
    """Each contender measured ``rounds`` times, interleaved (in ``contenders``' order); all results."""
    results: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(rounds):
        for name, measure in contenders.items():
            results[name].append(measure())
    return results


def best_of(contenders: dict[str, Callable[[], float]], rounds: int) -> dict[str, float]:
    """Each contender measured ``rounds`` times, interleaved; its best."""
    return {name: max(values) for name, values in rounds_of(contenders, rounds).items()}


# ------------------------------------------------------------------------------------------
# compile


_COMPILE_SCRIPT = """
import time, numpy as np
start = time.perf_counter()
from pufferlib.environments import ocean
for name in ocean.native_names():
    env = ocean.make_env(name, num_envs=2)
    env.reset(seed=0)
    space = env.single_action_space
    env.step(np.zeros((env.num_agents, *space.shape), dtype=space.dtype))
print(time.perf_counter() - start)
"""


def bench_compile() -> None:
    """Wall and CPU seconds of a fresh interpreter starting the suite (CPU time: load-robust)."""
    import resource

    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        for phase in ("empty_cache", "warm_cache"):
            cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            out = subprocess.run(
                [sys.executable, "-c", _COMPILE_SCRIPT], env=env, capture_output=True, text=True, check=True
            )
            cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
            emit(
                section="compile",
                phase=phase,
                suite_s=round(float(out.stdout.split()[-1]), 3),
                process_s=round(time.perf_counter() - start, 3),
                process_cpu_s=round(cpu, 3),
                envs=ocean.native_names(),
                load=load_average(),
            )


# ------------------------------------------------------------------------------------------
# single process


def native_rate(name: str, games: int, seconds: float, **kwargs: Any) -> Callable[[], float]:
    """A measurement of native env ``name`` with ``games`` games: agent steps/s over ``seconds``."""
    env = ocean.make_env(name, num_envs=games, **kwargs)
    env.reset(seed=0)
    actions = random_actions(env, 16, np.random.default_rng(0))
    return lambda: step_rate(env.step, actions, seconds) * env.num_agents


class Pufferlib3:
    """PufferLib 3.0's C games, measured by one long-lived peer process under 3.0's interpreter
    (``bench/pufferlib3/speed.py --serve``: its protocol), so that no round pays 3.0's start-up.
    ``games``: 3.0's Ocean names."""

    def __init__(self, python: str):
        self._scratch = tempfile.TemporaryDirectory(prefix="pufferlib3-")  # 3.0 writes links here
        self._stderr = open(Path(self._scratch.name) / "stderr.txt", "w+")  # noqa: SIM115 (closed in close)
        # Not our PYTHONPATH: under it the peer would import our pufferlib instead of 3.0's. Its
        # temporary folders go in the scratch folder, removed by close().
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
        env["TMPDIR"] = self._scratch.name
        self._process = subprocess.Popen(
            [python, str(BENCH / "pufferlib3" / "speed.py"), "--serve"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr, text=True,
            cwd=self._scratch.name, env=env,
        )
        self.games: set[str] = set(self._answer()["games"])

    def _answer(self) -> dict:
        line = self._process.stdout.readline()
        if not line:
            self._stderr.seek(0)
            last = [line for line in self._stderr.read().splitlines() if line.strip()][-1:]
            raise RuntimeError(f"the peer exited ({last[0] if last else 'no message'})")
        return json.loads(line)

    def ask(self, **request: Any) -> dict:
        self._process.stdin.write(json.dumps(request) + "\n")
        self._process.stdin.flush()
        return self._answer()

    def close(self) -> None:
        if self._process.stdin:
            self._process.stdin.close()
        try:
            self._process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._stderr.close()
        self._scratch.cleanup()


def start_pufferlib3(python: str) -> Pufferlib3 | None:
    """The peer, or None (and one line saying why: ours are then measured alone)."""
    reason = None
    if not python:
        reason = "no PufferLib 3.0 interpreter given"
    elif not os.access(python, os.X_OK):
        reason = f"no PufferLib 3.0 interpreter at {python}"
    else:
        try:
            return Pufferlib3(python)
        except (OSError, RuntimeError, ValueError) as e:
            reason = f"the PufferLib 3.0 peer at {python} did not start: {e}"
    emit(section="single", env="pufferlib3",
         skipped=f"{reason} (--pufferlib3-python or $PUFFERLIB3_PYTHON); measuring ours alone")
    return None


def gymnasium_cartpole_stepper(games: int) -> Callable[[int], int]:
    from gymnasium.envs.classic_control.cartpole import CartPoleVectorEnv

    env = CartPoleVectorEnv(num_envs=games)
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    actions = [rng.integers(0, 2, games) for _ in range(16)]

    def step(i: int) -> int:
        env.step(actions[i & 15])
        return games

    return step


def envpool_cartpole_stepper(games: int, threads: int) -> Callable[[int], int]:
    import envpool

    env = envpool.make(
        "CartPole-v1", env_type="gymnasium", num_envs=games, batch_size=games, num_threads=threads, seed=0
    )
    env.reset()
    rng = np.random.default_rng(0)
    actions = [rng.integers(0, 2, games).astype(np.int32) for _ in range(16)]

    def step(i: int) -> int:
        env.step(actions[i & 15])
        return games

    return step


def atari_breakout_stepper() -> Callable[[int], int] | None:
    try:
        import ale_py
        import gymnasium

        gymnasium.register_envs(ale_py)
        from pufferlib.emulation import GymnasiumPufferEnv

        env = GymnasiumPufferEnv(env=gymnasium.make("ALE/Breakout-v5"))
    except Exception as e:  # an optional peer: report why it is missing, measure the rest
        emit(section="single", env="atari_breakout", skipped=f"{type(e).__name__}: {e}")
        return None
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    actions = [np.array(rng.integers(0, 4)) for _ in range(16)]

    def step(i: int) -> int:
        if env.done:
            env.reset()
        else:
            env.step(actions[i & 15])
        return 1

    return step


def peer_rate(peer: Pufferlib3, key: str, seconds: float) -> Callable[[], float]:
    return lambda: peer.ask(op="measure", key=key, seconds=seconds)["agent_sps"]


def peer_contender(peer: Pufferlib3, name: str, games: int, seconds: float,
                   unmatched: set[str]) -> Callable[[], float] | None:
    """3.0's counterpart of game ``name`` at ``games`` games, made in the peer process (or None)."""
    their_name, shared, theirs_only = PUFFERLIB3_GAMES.get(name, (name, {}, {}))
    if name in unmatched:
        return None
    if their_name not in peer.games:
        unmatched.add(name)
        emit(section="single", env=f"pufferlib3_{name}", skipped=f"3.0 has no game {their_name!r}")
        return None
    key = f"{name}@{games}"
    made = peer.ask(op="make", key=key, game=their_name, num_envs=games, kwargs={**shared, **theirs_only})
    if "error" in made:
        emit(section="single", env=f"pufferlib3_{name}", games=games, skipped=made["error"])
        return None
    return peer_rate(peer, key, seconds)


def single_row(name: str, games: int, results: dict[str, list[float]]) -> dict[str, Any]:
    """The line of game ``name`` at ``games`` games: our best rate, and against 3.0's where measured."""
    row: dict[str, Any] = {"section": "single", "env": name, "games": games,
                           "agent_sps": round(max(results[name]))}
    theirs = results.get(f"pufferlib3_{name}")
    if theirs:
        if our_settings(name)[1]:
            row["ignored"] = our_settings(name)[1]
        row["pufferlib3_sps"] = round(max(theirs))
        row["ratio"] = round(max(results[name]) / max(theirs), 3)
        ratios = [ours / other for ours, other in zip(results[name], theirs)]
        row["ratio_median"] = round(statistics.median(ratios), 3)
    return row


def bench_single(envs: list[str], seconds: float, rounds: int, peer: Pufferlib3 | None) -> None:
    unmatched: set[str] = set()
    for games in SIZES:
        # Ours, then its 3.0 counterpart, game by game: each round alternates them.
        contenders: dict[str, Callable[[], float]] = {}
        for name in envs:
            contenders[name] = native_rate(name, games, seconds, **our_settings(name)[0])
            theirs = peer_contender(peer, name, games, seconds, unmatched) if peer is not None else None
            if theirs is not None:
                contenders[f"pufferlib3_{name}"] = theirs
        if "cartpole" in envs:
            step = gymnasium_cartpole_stepper(games)
            contenders["gymnasium_CartPoleVectorEnv"] = lambda s=step: timed(s, seconds)
        results = rounds_of(contenders, rounds)
        for name in envs:
            emit(**single_row(name, games, results), load=load_average())
        if "cartpole" in envs:
            sps = max(results["gymnasium_CartPoleVectorEnv"])
            emit(section="single", env="gymnasium_CartPoleVectorEnv", games=games, agent_sps=round(sps),
                 load=load_average())
        if peer is not None:
            peer.ask(op="drop")
        contenders.clear()
    if "cartpole" in envs:
        bench_envpool(seconds, rounds)
    bench_atari(seconds, rounds)


def bench_envpool(seconds: float, rounds: int) -> None:
    try:
        import envpool  # noqa: F401
    except ImportError:
        emit(section="single", env="envpool_CartPole-v1",
             skipped="envpool is not installed (pip install pufferlib[bench])")
        return
    configs = {(g, t): envpool_cartpole_stepper(g, t) for g in SIZES for t in (1, 2)}
    measures = {f"{g}x{t}": (lambda s=step: timed(s, seconds)) for (g, t), step in configs.items()}
    for config, sps in best_of(measures, rounds).items():
        games, threads = map(int, config.split("x"))
        emit(section="single", env="envpool_CartPole-v1", games=games, threads=threads, agent_sps=round(sps),
             load=load_average())


def bench_atari(seconds: float, rounds: int) -> None:
    breakout = atari_breakout_stepper()
    if breakout is not None:
        sps = max(timed(breakout, seconds) for _ in range(rounds))
        emit(section="single", env="atari_breakout", games=1, agent_sps=round(sps), load=load_average())


# ------------------------------------------------------------------------------------------
# multiprocessing


def _bare_native(name: str, games: int, seconds: float, start_at: float, results: Any, index: int) -> None:
    measure = native_rate(name, games, seconds, **our_settings(name)[0])
    while time.time() < start_at:
        time.sleep(0.001)
    results[index] = measure()


def parallel_limit(name: str, games: int, cores: int, seconds: float) -> float:
    """Sum of ``cores`` bare single-env stepping loops running at once, one process each."""
    ctx = multiprocessing.get_context("fork")
    results = ctx.Array("d", cores)
    start_at = time.time() + 0.5
    processes = [
        ctx.Process(target=_bare_native, args=(name, games, seconds, start_at, results, i))
        for i in range(cores)
    ]
    for p in processes:
        p.start()
    for p in processes:
        p.join()
    return float(sum(results))


def multiprocessing_sizes(name: str, spec: str, cores: int) -> list[tuple[int, str]]:
    """Games per worker to measure ``name`` at, each with where it comes from: ``spec`` lists
    ``shipped`` (the ``["ocean:NAME"]`` configuration's ``num_envs`` games per env object) and
    integers."""
    sizes: list[tuple[int, str]] = []
    for item in spec.split(","):
        if item == "shipped":
            try:
                sizes.append((int(shipped_config(name)["env"].get("num_envs", 1)), "shipped"))
            except KeyError:
                emit(section="multiprocessing", env=name, skipped=f"no [\"ocean:{name}\"] configuration")
        elif item:
            sizes.append((int(item), "fixed"))
    seen: set[int] = set()
    return [(g, origin) for g, origin in sizes if not (g in seen or seen.add(g))]


def bench_multiprocessing(envs: list[str], seconds: float, rounds: int, spec: str) -> None:
    cores = physical_cores()
    for name in envs:
        for games, origin in multiprocessing_sizes(name, spec, cores):
            vecenv = pufferlib.vector.make(
                ocean.env_creator(name),
                env_kwargs={**our_settings(name)[0], "num_envs": games},
                backend="multiprocessing",
                num_envs=cores,
                num_workers=cores,
            )
            vecenv.reset(seed=0)
            actions = random_actions(vecenv, 16, np.random.default_rng(0))
            measures = {
                "multiprocessing": lambda v=vecenv, a=actions: step_rate(v.step, a, seconds) * v.num_agents,
                "parallel_limit": lambda n=name, g=games: parallel_limit(n, g, cores, seconds),
            }
            try:
                results = best_of(measures, rounds)
            finally:
                vecenv.close()
            emit(
                section="multiprocessing",
                env=name,
                cores=cores,
                games_per_worker=games,
                games_from=origin,
                agent_sps=round(results["multiprocessing"]),
                limit_sps=round(results["parallel_limit"]),
                ratio=round(results["multiprocessing"] / results["parallel_limit"], 3),
                load=load_average(),
            )


# ------------------------------------------------------------------------------------------
# training


def shipped_config(name: str) -> dict:
    """The configuration ``puffer train --env ocean:NAME`` runs, as ``config.json`` has it."""
    from pufferlib.run import config as run_config

    return run_config.load(f"binding:ocean:{name}").to_dict()  # bench/ocean.py is itself a module "ocean"


def bare_learning_limit(policy: Any, config: dict, updates: int) -> float:
    """Agent steps/s of the PPO learning pass alone: the same minibatch updates on random data."""
    import torch

    from pufferlib.frameworks.cleanrl import sample_logits

    train = config["train"]
    batch, minibatch, epochs = train["batch_size"], train["minibatch_size"], train["update_epochs"]
    obs_shape = policy.flatten.size if hasattr(policy, "flatten") else None
    optimizer = torch.optim.Adam(policy.parameters(), lr=1e-4, eps=1e-5, fused=True)
    observations = torch.randn(batch, obs_shape)
    with torch.no_grad():
        actions = sample_logits(policy(observations)[0])[0]
    returns, advantages, old_logprobs = torch.randn(batch), torch.randn(batch), torch.zeros(batch)

    def one_update() -> None:
        for _ in range(epochs):
            order = torch.randperm(batch)
            for k in range(batch // minibatch):
                index = order[k * minibatch : (k + 1) * minibatch]
                logits, values = policy(observations[index])
                _, logprobs, entropy = sample_logits(logits, actions[index])
                ratio = (logprobs - old_logprobs[index]).exp()
                loss = (
                    -(advantages[index] * ratio).mean()
                    + 0.5 * (values.view(-1) - returns[index]).square().mean()
                    - 0.01 * entropy.mean()
                )
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(policy.parameters(), 0.5)
                optimizer.step()

    one_update()
    start = time.perf_counter()
    for _ in range(updates):
        one_update()
    return updates * batch / (time.perf_counter() - start)


def bare_forward_seconds(policy: Any, agents: int, obs_size: int, calls: int) -> float:
    """Seconds for ``calls`` rollout forward passes (policy + action sampling) alone."""
    import torch

    from pufferlib.frameworks.cleanrl import sample_logits

    observations = torch.randn(agents, obs_size)
    with torch.inference_mode():
        for _ in range(3):
            sample_logits(policy(observations)[0])
        start = time.perf_counter()
        for _ in range(calls):
            logits, _ = policy(observations)
            sample_logits(logits)
        return time.perf_counter() - start


def compiled_learning_limit(policy: Any, config: dict, updates: int) -> tuple[float, float]:
    """``bare_learning_limit`` for the compiled learner (``train.learner = "compiled"``): the same
    minibatch updates through ``pufferlib.learner.Learner`` on random data. Returns agent steps/s
    and the first update's seconds (tracing and compiling, or loading inductor's cache)."""
    import torch

    from pufferlib.frameworks.cleanrl import sample_logits
    from pufferlib.learner import Learner
    from pufferlib.trainer import TrainConfig

    train = config["train"]
    batch, minibatch, epochs = train["batch_size"], train["minibatch_size"], train["update_epochs"]
    cfg = TrainConfig(**{**train, "learner": "compiled"})
    optimizer = torch.optim.Adam(policy.parameters(), lr=1e-4, eps=1e-5, fused=True)
    learner = Learner(policy, optimizer, cfg, "compiled")
    observations = torch.randn(batch, policy.flatten.size)
    with torch.no_grad():
        actions = sample_logits(policy(observations)[0])[0]
    table = torch.randn(batch, 5)
    table[:, 0] = 0.0
    advantages, weights = torch.randn(batch), torch.full((minibatch,), 1.0 / minibatch)

    def one_update() -> None:
        for _ in range(epochs):
            order = torch.randperm(batch)
            for k in range(batch // minibatch):
                index = order[k * minibatch : (k + 1) * minibatch]
                learner.step(observations.index_select(0, index), table.index_select(0, index),
                             advantages.index_select(0, index), weights, actions.index_select(0, index))

    start = time.perf_counter()
    one_update()
    first = time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(updates):
        one_update()
    return updates * batch / (time.perf_counter() - start), first


def bench_train(specs: list[str], updates: int, rounds: int, learners: list[str]) -> None:
    """``specs``: ``NAME`` (the shipped config) or ``NAME@GAMES`` (the same with ``GAMES`` games).

    Each round trains once per learner in ``learners`` (``train.learner``), in turn, then measures
    both learning limits (the bare eager loop and the compiled learner on random data)."""
    import torch

    from pufferlib.trainer import TrainConfig, Trainer, seed_everything

    for spec in specs:
        name, _, games = spec.partition("@")
        config = shipped_config(name)
        if games:
            config["env"]["num_envs"] = int(games)
            # Feed-forward policies: the BPTT segment only has to divide each agent's rollout.
            horizon = config["train"]["batch_size"] // int(games)
            config["train"]["bptt_horizon"] = min(config["train"]["bptt_horizon"], horizon)
        best: dict[str, dict[str, Any]] = {learner: {"sps": 0.0} for learner in learners}
        limits = {"eager": 0.0, "compiled": 0.0}
        compile_s: list[float] = []
        for _ in range(rounds):
            for learner in learners:
                seed_everything(1)
                torch.set_num_threads(config["train"].get("torch_threads", 1) or 1)
                vecenv = pufferlib.vector.make(
                    ocean.env_creator(config["env_name"]),
                    env_kwargs=config["env"],
                    num_envs=config["vec"]["num_copies"],
                )
                policy_kwargs = {k: v for k, v in config["policy"].items() if k != "recurrent"}
                policy = ocean.Policy(vecenv.driver_env, **policy_kwargs)
                with tempfile.TemporaryDirectory() as data_dir:
                    total = (updates + 1) * config["train"]["batch_size"]
                    cfg = TrainConfig(**{**config["train"], "total_timesteps": total, "data_dir": data_dir,
                                         "learner": learner})
                    trainer = Trainer(vecenv, policy, cfg)
                    trainer.evaluate()  # warm-up update: first forward passes, allocator, Adam state, compile
                    trainer.train()
                    before = dict(trainer.timings)
                    steps, start = trainer.global_step, time.perf_counter()
                    while not trainer.done:
                        trainer.evaluate()
                        trainer.train()
                    wall = time.perf_counter() - start
                    sps = (trainer.global_step - steps) / wall
                    split = {k: trainer.timings[k] - before[k] for k in ("env", "forward", "learn")}
                    split["other"] = wall - sum(split.values())
                    calls = (trainer.global_step - steps) // vecenv.num_agents
                    trainer.close(save=False)
                if sps > best[learner]["sps"]:
                    bare = bare_forward_seconds(policy, vecenv.num_agents, policy.flatten.size, calls)
                    best[learner] = {
                        "sps": sps,
                        "split": {k: round(v / wall, 3) for k, v in split.items()},
                        # The trainer's "forward" phase minus the bare policy + sampling calls it contains:
                        # tensor wrapping, experience stores, device copies.
                        "forward_bookkeeping": round(max(split["forward"] - bare, 0.0) / wall, 3),
                    }
            limits["eager"] = max(
                limits["eager"],
                bare_learning_limit(ocean.Policy(vecenv.driver_env, **policy_kwargs), config, updates),
            )
            fresh = ocean.Policy(vecenv.driver_env, **policy_kwargs)
            compiled, first = compiled_learning_limit(fresh, config, updates)
            limits["compiled"] = max(limits["compiled"], compiled)
            compile_s.append(first)
        # End-to-end also pays the rollout's forward passes; the limits are the learning pass alone.
        for learner in learners:
            emit(
                section="train",
                env=f"ocean:{name}",
                learner=learner,
                train_sps=round(best[learner]["sps"]),
                learning_limit_sps=round(limits["eager"]),
                compiled_learning_limit_sps=round(limits["compiled"]),
                ratio=round(best[learner]["sps"] / limits["eager"], 3),
                compiled_ratio=round(best[learner]["sps"] / limits["compiled"], 3),
                time_split=best[learner]["split"],
                forward_bookkeeping=best[learner]["forward_bookkeeping"],
                batch_size=config["train"]["batch_size"],
                games=config["env"]["num_envs"],
                first_compiled_update_s=[round(t, 1) for t in compile_s],
                load=load_average(),
            )
        if len(learners) > 1:
            emit(section="train_speedup", env=f"ocean:{name}",
                 compiled_over_eager=round(best["compiled"]["sps"] / best["eager"]["sps"], 2),
                 limit_compiled_over_eager=round(limits["compiled"] / limits["eager"], 2),
                 load=load_average())


# ------------------------------------------------------------------------------------------
# report


def report() -> None:
    def sps(env: str, games: int | None = None, section: str = "single") -> float | None:
        values = [
            r["agent_sps"]
            for r in ROWS
            if r.get("section") == section
            and r.get("env") == env
            and "agent_sps" in r
            and (games is None or r.get("games") == games)
        ]
        return max(values) if values else None

    names = sorted(
        {
            r["env"]
            for r in ROWS
            if r.get("section") == "single"
            and "games" in r
            and r["env"] in (*ocean.native_names(), "gymnasium_CartPoleVectorEnv")
        }
    )
    if names:
        print("\n== single process: agent steps/s (millions) ==")
        print(f"{'env':32s}" + "".join(f"{g:>10d}" for g in SIZES))
    for name in names:
        print(f"{name:32s}" + "".join(f"{(sps(name, g) or 0) / 1e6:10.2f}" for g in SIZES))
    envpool_best = sps("envpool_CartPole-v1")
    atari = sps("atari_breakout")
    print("\n== ratios ==")
    for games in SIZES:
        native, gym = sps("cartpole", games), sps("gymnasium_CartPoleVectorEnv", games)
        if native and gym:
            print(f"native CartPole / Gymnasium CartPoleVectorEnv at {games:4d} games: {native / gym:7.1f}x")
    if envpool_best and sps("cartpole"):
        print(
            "native CartPole (best) / EnvPool CartPole-v1 (best config): "
            f"{sps('cartpole') / envpool_best:7.1f}x"
        )
    for name in ocean.native_names():
        value = sps(name, 4096)
        if value and atari:
            print(
                f"{name:20s} at 4096 games: {value / 1e6:6.2f}M/s on one core, {value / atari:8.0f}x Atari "
                "Breakout through emulation"
            )
    report_versus()
    for row in ROWS:
        if row.get("section") == "multiprocessing" and "ratio" in row:
            print(
                f"multiprocessing {row['env']:20s} {row['games_per_worker']:6d} games/worker "
                f"({row.get('games_from', 'fixed')}) "
                f"{row['agent_sps'] / 1e6:7.2f}M/s = {row['ratio']:.2f} of the "
                f"{row['cores']}-process limit ({row['limit_sps'] / 1e6:.2f}M/s)"
            )
        elif row.get("section") == "train":
            print(
                f"train {row['env']:16s} {row['games']:5d} games, {row.get('learner', 'eager'):8s} learner: "
                f"{row['train_sps']:8d} SPS = {row['ratio']:.2f} of the eager learning limit "
                f"({row['learning_limit_sps']} SPS), {row.get('compiled_ratio', 0):.2f} of the compiled one "
                f"({row.get('compiled_learning_limit_sps', 0)} SPS); split {row['time_split']}, "
                f"forward bookkeeping {row['forward_bookkeeping']}"
            )
        elif row.get("section") == "train_speedup":
            print(
                f"train {row['env']:16s} compiled / eager learner: end to end "
                f"{row['compiled_over_eager']:.2f}x, "
                f"learning limit {row['limit_compiled_over_eager']:.2f}x"
            )
        elif row.get("section") == "compile":
            print(
                f"compile ({row['phase']}): whole native suite {row['suite_s']:.2f}s "
                f"(process {row['process_s']:.2f}s wall, {row.get('process_cpu_s', 0):.2f}s CPU, "
                f"load {row['load']})"
            )

def report_versus() -> None:
    """Ours against PufferLib 3.0's C per game and size."""
    versus = [r for r in ROWS if r.get("section") == "single" and "ratio" in r]
    if versus:
        print("\n== ours / PufferLib 3.0's C, one core: best/best (median of rounds) [ours, theirs M/s] ==")
        print(f"{'env':20s}" + "".join(f"{g:>34d}" for g in SIZES))
        for name in dict.fromkeys(r["env"] for r in versus):
            cells = []
            for games in SIZES:
                row = next((r for r in versus if r["env"] == name and r["games"] == games), None)
                cells.append(
                    f"{row['ratio']:7.2f} ({row['ratio_median']:7.2f}) "
                    f"[{row['agent_sps'] / 1e6:6.2f}, {row['pufferlib3_sps'] / 1e6:6.2f}]"
                    if row
                    else ""
                )
            print(f"{name:20s}" + "".join(f"{c:>34s}" for c in cells))



def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="short measurements (a smoke run)")
    parser.add_argument("--sections", default="compile,single,multiprocessing,train")
    parser.add_argument("--envs", default=",".join(ocean.native_names()))
    parser.add_argument(
        "--train-envs", default="cartpole,breakout,cartpole@1024", help="NAME or NAME@GAMES (games override)"
    )
    parser.add_argument(
        "--learners", default="eager,compiled", help="train: train.learner values, each trained every round"
    )
    parser.add_argument(
        "--pufferlib3-python",
        default=os.environ.get("PUFFERLIB3_PYTHON", PUFFERLIB3_PYTHON),
        help="PufferLib 3.0's interpreter, for the single section's peer ('' to measure ours alone)",
    )
    cores = physical_cores()
    parser.add_argument(
        "--mp-games",
        default=f"shipped,{4096 // cores},{65536 // cores}",
        help="multiprocessing: games per worker, 'shipped' (the env's configuration) or numbers",
    )
    parser.add_argument("--seconds", type=float, help="seconds per measurement (default 1, --quick 0.2)")
    parser.add_argument("--rounds", type=int, help="interleaved rounds per comparison (default 3, --quick 1)")
    parser.add_argument("--out", type=Path, help="also write the JSON lines here, once every section is done")
    args = parser.parse_args()
    sections = args.sections.split(",")
    envs = [e for e in args.envs.split(",") if e]
    unknown = set(envs) - set(ocean.native_names())
    if unknown:
        parser.error(f"unknown native envs {sorted(unknown)}; choose from {', '.join(ocean.native_names())}")
    seconds, rounds, updates = (0.2, 1, 2) if args.quick else (1.0, 3, 8)
    seconds = args.seconds if args.seconds is not None else seconds
    rounds = args.rounds if args.rounds is not None else rounds
    if "compile" in sections:
        bench_compile()
    if "single" in sections:
        peer = start_pufferlib3(args.pufferlib3_python)
        try:
            bench_single(envs, seconds, rounds, peer)
        finally:
            if peer is not None:
                peer.close()
    if "multiprocessing" in sections:
        bench_multiprocessing(envs, seconds, rounds, args.mp_games)
    if "train" in sections:
        train_rounds = rounds if not args.quick else 1
        bench_train(args.train_envs.split(","), updates, train_rounds, args.learners.split(","))
    report()
    if args.out:
        args.out.write_text("".join(json.dumps(row) + "\n" for row in ROWS))


if __name__ == "__main__":
    main()
