"""Native Ocean envs (Numba): simulation speed, compile times and training throughput, in one run.

Sections (``--sections``, all by default):

- ``compile``: the whole native suite started in a fresh interpreter with an empty Numba
  cache (``NUMBA_CACHE_DIR`` a new folder: every kernel compiles), then again with that cache
  (kernels load). Each start imports, builds, resets and steps every native env.
- ``single``: agent steps/s of each native env in this process, ``step()`` called with
  random actions, at 32, 512 and 4096 games per env object; for CartPole against
  Gymnasium's ``CartPoleVectorEnv`` at the same sizes and EnvPool's ``CartPole-v1`` at its
  best configuration (num_envs x num_threads searched, synchronous batches); and
  ``atari_breakout``: ALE Breakout through pufferlib's Gymnasium emulation (one env), the
  reference the other native envs are compared with.
- ``multiprocessing``: each native env through ``pufferlib.vector.Multiprocessing`` with one
  worker per core, each hosting one native env of ``4096 / cores`` games (and of
  ``65536 / cores``), against the measured parallel limit: ``cores`` bare processes stepping
  one such env each, all at once. A step of 2048 fast games takes tens of microseconds, as
  long as waking a sleeping worker on a virtual machine, so the larger size shows what the
  backend costs when the work per step dominates.
- ``train``: end-to-end ``pufferlib.trainer`` SPS on native CartPole and Breakout with their
  shipped ``ocean:NAME`` configurations (Serial backend), the time split (env, forward,
  learn, other), against the learning limit: a bare torch loop doing the same minibatch
  updates (same network, minibatch size, epochs) on random data.

Every comparison is measured in interleaved rounds, each contender keeping its best, so
that load from other processes skews no single figure. Prints one JSON line per
measurement, then a table with the ratios the targets are stated in.
Usage: python bench/ocean.py [--quick] [--sections single,train] [--envs cartpole,snake]
"""

from __future__ import annotations

import argparse
import itertools
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import tomllib

import pufferlib.vector
from measure import load_average, timed
from pufferlib.environments import ocean
from pufferlib.environments.ocean.environment import NATIVE_ENVS
from pufferlib.vector.config import physical_cores

SIZES = (32, 512, 4096)
ROWS: list[dict] = []


def emit(**row: Any) -> None:
    ROWS.append(row)
    print(json.dumps(row), flush=True)


def random_actions(env: Any, count: int, rng: np.random.Generator) -> list[np.ndarray]:
    space = env.single_action_space
    if hasattr(space, "n"):
        return [rng.integers(0, space.n, env.num_agents).astype(space.dtype) for _ in range(count)]
    return [rng.uniform(-1, 1, (env.num_agents, *space.shape)).astype(space.dtype) for _ in range(count)]


def best_of(contenders: dict[str, Callable[[], float]], rounds: int) -> dict[str, float]:
    """Each contender measured ``rounds`` times, interleaved; its best."""
    best = dict.fromkeys(contenders, 0.0)
    for _ in range(rounds):
        for name, measure in contenders.items():
            best[name] = max(best[name], measure())
    return best


# ------------------------------------------------------------------------------------------
# compile


_COMPILE_SCRIPT = """
import time, numpy as np
start = time.perf_counter()
from pufferlib.environments import ocean
from pufferlib.environments.ocean.environment import NATIVE_ENVS
for name in NATIVE_ENVS:
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
                envs=list(NATIVE_ENVS),
                load=load_average(),
            )


# ------------------------------------------------------------------------------------------
# single process


def native_stepper(name: str, games: int) -> Callable[[], float]:
    env = ocean.make_env(name, num_envs=games)
    env.reset(seed=0)
    actions = random_actions(env, 16, np.random.default_rng(0))
    agents = env.num_agents

    def step(i: int) -> int:
        env.step(actions[i & 15])
        return agents

    return step


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


def bench_single(envs: list[str], seconds: float, rounds: int) -> None:
    for games in SIZES:
        contenders = {name: native_stepper(name, games) for name in envs}
        if "cartpole" in envs:
            contenders["gymnasium_CartPoleVectorEnv"] = gymnasium_cartpole_stepper(games)
        measures = {name: (lambda s=step: timed(s, seconds)) for name, step in contenders.items()}
        for name, sps in best_of(measures, rounds).items():
            emit(section="single", env=name, games=games, agent_sps=round(sps), load=load_average())
    if "cartpole" in envs:
        try:
            import envpool  # noqa: F401
        except ImportError:
            emit(
                section="single",
                env="envpool_CartPole-v1",
                skipped="envpool is not installed (pip install pufferlib[bench])",
            )
        else:
            configs = {(g, t): envpool_cartpole_stepper(g, t) for g in SIZES for t in (1, 2)}
            measures = {f"{g}x{t}": (lambda s=step: timed(s, seconds)) for (g, t), step in configs.items()}
            results = best_of(measures, rounds)
            for config, sps in results.items():
                games, threads = map(int, config.split("x"))
                emit(
                    section="single",
                    env="envpool_CartPole-v1",
                    games=games,
                    threads=threads,
                    agent_sps=round(sps),
                    load=load_average(),
                )
    breakout = atari_breakout_stepper()
    if breakout is not None:
        sps = max(timed(breakout, seconds) for _ in range(rounds))
        emit(section="single", env="atari_breakout", games=1, agent_sps=round(sps), load=load_average())


# ------------------------------------------------------------------------------------------
# multiprocessing


def _bare_native(name: str, games: int, seconds: float, start_at: float, results: Any, index: int) -> None:
    step = native_stepper(name, games)
    while time.time() < start_at:
        time.sleep(0.001)
    results[index] = timed(step, seconds)


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


def bench_multiprocessing(envs: list[str], seconds: float, rounds: int) -> None:
    cores = physical_cores()
    for name, games in itertools.product(envs, (4096 // cores, 65536 // cores)):
        vecenv = pufferlib.vector.make(
            ocean.env_creator(name),
            env_kwargs={"num_envs": games},
            backend="multiprocessing",
            num_envs=cores,
            num_workers=cores,
        )
        vecenv.reset(seed=0)
        actions = random_actions(vecenv, 16, np.random.default_rng(0))
        agents = vecenv.num_agents

        def step(i: int, vecenv: Any = vecenv, actions: list = actions, agents: int = agents) -> int:
            vecenv.step(actions[i & 15])
            return agents

        measures = {
            "multiprocessing": lambda s=step: timed(s, seconds),
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
            agent_sps=round(results["multiprocessing"]),
            limit_sps=round(results["parallel_limit"]),
            ratio=round(results["multiprocessing"] / results["parallel_limit"], 3),
            load=load_average(),
        )


# ------------------------------------------------------------------------------------------
# training


def shipped_config(name: str) -> dict:
    config_dir = Path(ocean.__file__).parents[2] / "config"
    with open(config_dir / "default.toml", "rb") as f:
        default = tomllib.load(f)["default"]
    with open(config_dir / "ocean.toml", "rb") as f:
        table = tomllib.load(f)[f"ocean:{name}"]
    return {
        section: {**default.get(section, {}), **table.get(section, {})}
        for section in ("env", "policy", "vec", "train")
    } | {"env_name": table["env_name"]}


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


def bench_train(specs: list[str], updates: int, rounds: int) -> None:
    """``specs``: ``NAME`` (the shipped config) or ``NAME@GAMES`` (the same with ``GAMES`` games)."""
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
        best: dict[str, Any] = {"sps": 0.0}
        limit = 0.0
        for _ in range(rounds):
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
                cfg = TrainConfig(**{**config["train"], "total_timesteps": total, "data_dir": data_dir})
                trainer = Trainer(vecenv, policy, cfg)
                trainer.evaluate()  # warm-up update: first forward passes, allocator, Adam state
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
            if sps > best["sps"]:
                bare = bare_forward_seconds(policy, vecenv.num_agents, policy.flatten.size, calls)
                best = {
                    "sps": sps,
                    "split": {k: round(v / wall, 3) for k, v in split.items()},
                    # The trainer's "forward" phase minus the bare policy + sampling calls it contains:
                    # tensor wrapping, experience stores, device copies (the bookkeeping item 4 targets).
                    "forward_bookkeeping": round(max(split["forward"] - bare, 0.0) / wall, 3),
                }
            limit = max(
                limit, bare_learning_limit(ocean.Policy(vecenv.driver_env, **policy_kwargs), config, updates)
            )
        # End-to-end also pays the rollout's forward passes; the limit is the learning pass alone.
        emit(
            section="train",
            env=f"ocean:{name}",
            train_sps=round(best["sps"]),
            learning_limit_sps=round(limit),
            ratio=round(best["sps"] / limit, 3),
            time_split=best["split"],
            forward_bookkeeping=best["forward_bookkeeping"],
            batch_size=config["train"]["batch_size"],
            games=config["env"]["num_envs"],
            load=load_average(),
        )


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

    print("\n== single process: agent steps/s (millions) ==")
    names = sorted(
        {
            r["env"]
            for r in ROWS
            if r.get("section") == "single"
            and "games" in r
            and r["env"] in NATIVE_ENVS + ("gymnasium_CartPoleVectorEnv",)
        }
    )
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
    for name in NATIVE_ENVS:
        value = sps(name, 4096)
        if value and atari:
            print(
                f"{name:20s} at 4096 games: {value / 1e6:6.2f}M/s on one core, {value / atari:8.0f}x Atari "
                "Breakout through emulation"
            )
    for row in ROWS:
        if row.get("section") == "multiprocessing":
            print(
                f"multiprocessing {row['env']:20s} {row['games_per_worker']:6d} games/worker "
                f"{row['agent_sps'] / 1e6:7.2f}M/s = {row['ratio']:.2f} of the "
                f"{row['cores']}-process limit ({row['limit_sps'] / 1e6:.2f}M/s)"
            )
        elif row.get("section") == "train":
            print(
                f"train {row['env']:16s} {row['games']:5d} games {row['train_sps']:8d} SPS = "
                f"{row['ratio']:.2f} of the learning limit ({row['learning_limit_sps']} SPS); "
                f"split {row['time_split']}, forward bookkeeping {row['forward_bookkeeping']}"
            )
        elif row.get("section") == "compile":
            print(
                f"compile ({row['phase']}): whole native suite {row['suite_s']:.2f}s "
                f"(process {row['process_s']:.2f}s wall, {row.get('process_cpu_s', 0):.2f}s CPU, "
                f"load {row['load']})"
            )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="short measurements (a smoke run)")
    parser.add_argument("--sections", default="compile,single,multiprocessing,train")
    parser.add_argument("--envs", default=",".join(NATIVE_ENVS))
    parser.add_argument(
        "--train-envs", default="cartpole,breakout,cartpole@1024", help="NAME or NAME@GAMES (games override)"
    )
    args = parser.parse_args()
    sections = args.sections.split(",")
    envs = [e for e in args.envs.split(",") if e]
    unknown = set(envs) - set(NATIVE_ENVS)
    if unknown:
        parser.error(f"unknown native envs {sorted(unknown)}; choose from {', '.join(NATIVE_ENVS)}")
    seconds, rounds, updates = (0.2, 1, 2) if args.quick else (1.0, 3, 8)
    if "compile" in sections:
        bench_compile()
    if "single" in sections:
        bench_single(envs, seconds, rounds)
    if "multiprocessing" in sections:
        bench_multiprocessing(envs, seconds, rounds)
    if "train" in sections:
        bench_train(args.train_envs.split(","), updates, rounds if not args.quick else 1)
    report()


if __name__ == "__main__":
    main()
