"""Time to solve CartPole-v1 with pufferlib's PPO against Stable-Baselines3 PPO, in one run.

For every seed it trains, until the mean return of the last 20 finished episodes
reaches 475 (or the step budget runs out):

- ``pufferlib``: ``pufferlib.trainer`` with the shipped ``cartpole`` configuration
  (``puffer train --env cartpole``), once per vector backend (Serial, Multiprocessing,
  and Ray with ``--ray``);
- ``sb3``: Stable-Baselines3 PPO with the RL Zoo's tuned CartPole-v1 hyperparameters
  (8 envs, n_steps 32, batch 256, gae_lambda 0.8, gamma 0.98, n_epochs 20, ent_coef 0,
  learning rate linear from 1e-3, clip range linear from 0.2, 1e5 steps) on its
  DummyVecEnv, which is SB3's fastest for CartPole, with 1 torch thread like pufferlib's.

``time_to_solve_s`` is the training loop's wall-clock time (env and model construction
are reported separately as ``setup_s``); ``train_sps`` is agent steps per second over
that time. The summary gives medians over seeds and the ratios SB3 / pufferlib.
A short micro-benchmark of the advantage computation comes first (``--no-gae`` skips it).

Prints JSON lines. Usage:
    python bench/train.py [--seeds 1,2,3] [--ray] [--no-sb3] [--no-gae]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections import deque

import numpy as np
import torch

WINDOW = 20
TARGET = 475.0


def emit(record: dict) -> None:
    print(json.dumps(record), flush=True)


# ---------------------------------------------------------------------------------------
# Advantage computation


def gae_python(values, rewards, terminals, truncations, gamma, lam):
    """The straightforward per-agent, per-step Python loop (what a naive trainer does)."""
    agents, width = values.shape
    advantages = np.zeros((agents, width - 1), dtype=np.float32)
    for a in range(agents):
        last = 0.0
        for t in range(width - 2, -1, -1):
            bootstrap = 0.0 if terminals[a, t + 1] else gamma * values[a, t + 1]
            delta = rewards[a, t + 1] + bootstrap - values[a, t]
            cont = not (terminals[a, t + 1] or truncations[a, t + 1])
            last = delta + gamma * lam * cont * last
            advantages[a, t] = last
    return advantages


def bench_gae() -> None:
    from pufferlib.trainer import compute_gae

    rng = np.random.default_rng(0)
    for agents, horizon in ((16, 64), (256, 64), (1024, 128)):
        values = rng.normal(size=(agents, horizon + 1)).astype(np.float32)
        rewards = rng.normal(size=(agents, horizon + 1)).astype(np.float32)
        terminals = rng.random((agents, horizon + 1)) < 0.02
        truncations = rng.random((agents, horizon + 1)) < 0.01
        args = (values, rewards, terminals, truncations, 0.99, 0.95)
        np.testing.assert_allclose(compute_gae(*args), gae_python(*args), rtol=1e-4, atol=1e-4)
        timings = {}
        for name, fn, repeats in (("vectorized", compute_gae, 50), ("python_loop", gae_python, 2)):
            start = time.perf_counter()
            for _ in range(repeats):
                fn(*args)
            timings[name] = (time.perf_counter() - start) / repeats
        emit({"bench": "gae", "agents": agents, "horizon": horizon,
              "vectorized_ms": round(1e3 * timings["vectorized"], 3),
              "python_loop_ms": round(1e3 * timings["python_loop"], 3),
              "speedup": round(timings["python_loop"] / timings["vectorized"], 1)})


# ---------------------------------------------------------------------------------------
# pufferlib


def run_pufferlib(backend: str, seed: int) -> dict:
    from pufferlib import cli
    from pufferlib.trainer import Trainer, seed_everything

    config = cli.load_config("cartpole")
    config["train"].update(seed=seed, data_dir="/tmp/pufferlib-bench")
    vec = {"backend": backend}
    if backend != "serial":
        vec.update(num_workers=2)
    train_cfg = cli.train_config(config)
    torch.set_num_threads(train_cfg.torch_threads or torch.get_num_threads())
    binding = cli.load_binding(config["package"])

    setup_start = time.perf_counter()
    seed_everything(seed)
    vecenv = cli.make_vecenv(config, binding, vec_overrides=vec)
    policy = cli.make_policy(config, binding, vecenv.driver_env)
    trainer = Trainer(vecenv, policy, train_cfg, exp_id=f"bench-{backend}-{seed}")
    setup = time.perf_counter() - setup_start

    start = time.perf_counter()
    solved_at = None
    while not trainer.done:
        trainer.evaluate()
        trainer.train()
        recent = list(trainer.episode_returns)[-WINDOW:]
        if len(recent) == WINDOW and np.mean(recent) >= TARGET:
            solved_at = time.perf_counter() - start
            break
    elapsed = time.perf_counter() - start
    trainer.close(save=False)
    return {"bench": "cartpole", "impl": "pufferlib", "backend": backend, "seed": seed,
            "solved": solved_at is not None, "time_to_solve_s": round(elapsed, 3),
            "steps": trainer.global_step, "train_sps": round(trainer.global_step / elapsed),
            "setup_s": round(setup, 3),
            "phase_s": {k: round(v, 3) for k, v in trainer.timings.items()}}


# ---------------------------------------------------------------------------------------
# Stable-Baselines3


def run_sb3(seed: int) -> dict:
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env

    class StopWhenSolved(BaseCallback):
        def __init__(self):
            super().__init__()
            self.returns: deque[float] = deque(maxlen=WINDOW)
            self.solved = False

        def _on_step(self) -> bool:
            for info in self.locals["infos"]:
                if "episode" in info:
                    self.returns.append(info["episode"]["r"])
            self.solved = bool(len(self.returns) == WINDOW and np.mean(self.returns) >= TARGET)
            return not self.solved

    setup_start = time.perf_counter()
    env = make_vec_env("CartPole-v1", n_envs=8, seed=seed)
    model = PPO("MlpPolicy", env, n_steps=32, batch_size=256, gae_lambda=0.8, gamma=0.98, n_epochs=20,
                ent_coef=0.0, learning_rate=lambda f: f * 1e-3, clip_range=lambda f: f * 0.2, seed=seed,
                device="cpu", verbose=0)
    setup = time.perf_counter() - setup_start
    callback = StopWhenSolved()
    start = time.perf_counter()
    model.learn(total_timesteps=100_000, callback=callback)
    elapsed = time.perf_counter() - start
    env.close()
    return {"bench": "cartpole", "impl": "sb3", "backend": "DummyVecEnv", "seed": seed,
            "solved": callback.solved, "time_to_solve_s": round(elapsed, 3), "steps": model.num_timesteps,
            "train_sps": round(model.num_timesteps / elapsed), "setup_s": round(setup, 3),
            "torch_threads": torch.get_num_threads()}


# ---------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", default="1,2,3", help="comma-separated seeds (default: 1,2,3)")
    parser.add_argument("--ray", action="store_true", help="also run the Ray backend")
    parser.add_argument("--no-sb3", action="store_true", help="skip Stable-Baselines3")
    parser.add_argument("--no-gae", action="store_true", help="skip the advantage micro-benchmark")
    parser.add_argument("--sb3-threads", type=int, default=1,
                        help="torch threads for SB3 (default 1, as pufferlib's cartpole config uses; on a "
                             "busy 2-core machine more threads make SB3 slower, not faster)")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    backends = ["serial", "multiprocessing"] + (["ray"] if args.ray else [])

    if not args.no_gae:
        bench_gae()
    results: dict[str, list[dict]] = {}
    for seed in seeds:
        for backend in backends:
            record = run_pufferlib(backend, seed)
            emit(record)
            results.setdefault(f"pufferlib_{backend}", []).append(record)
        if not args.no_sb3:
            torch.set_num_threads(args.sb3_threads)
            record = run_sb3(seed)
            emit(record)
            results.setdefault("sb3", []).append(record)

    summary: dict = {"bench": "cartpole_summary", "window": WINDOW, "target": TARGET, "seeds": seeds}
    for name, records in results.items():
        summary[name] = {
            "solved": sum(r["solved"] for r in records),
            "median_time_to_solve_s": statistics.median(r["time_to_solve_s"] for r in records),
            "median_steps": statistics.median(r["steps"] for r in records),
            "median_train_sps": statistics.median(r["train_sps"] for r in records),
        }
    if "sb3" in summary:
        sb3 = summary["sb3"]
        for backend in backends:
            ours = summary[f"pufferlib_{backend}"]
            summary[f"time_ratio_sb3_over_{backend}"] = round(
                sb3["median_time_to_solve_s"] / ours["median_time_to_solve_s"], 2)
            summary[f"sps_ratio_{backend}_over_sb3"] = round(
                ours["median_train_sps"] / sb3["median_train_sps"], 2)
        if sb3["solved"] < len(seeds):
            summary["note"] = "SB3 missed its 1e5-step budget on some seeds: its times are lower bounds."
    emit(summary)


if __name__ == "__main__":
    main()
