"""Time to solve CartPole-v1 with pufferlib's PPO against Stable-Baselines3 PPO, in one run.

For every seed it trains, until the mean return of the last 20 finished episodes
reaches 475 (or the step budget runs out):

- ``pufferlib``: ``pufferlib.trainer`` with the shipped ``cartpole`` configuration
  (``puffer train --env cartpole``, vec settings included), once per vector backend:
  Serial, Multiprocessing and Ray (``--no-ray`` skips Ray);
- ``sb3_default`` (the primary peer): Stable-Baselines3's plain ``PPO("MlpPolicy", env)``
  with its default hyperparameters (n_steps 2048, batch 64, 10 epochs, lr 3e-4, gamma
  0.99, gae_lambda 0.95, separate 2x64 tanh actor and critic) on 8 CartPole envs in a
  DummyVecEnv, SB3's fastest vecenv for CartPole;
- ``sb3_rlzoo`` (a second, stronger peer): the same with the RL Zoo's tuned CartPole-v1
  hyperparameters (8 envs, n_steps 32, batch 256, gae_lambda 0.8, gamma 0.98, n_epochs 20,
  ent_coef 0, learning rate linear from 1e-3, clip range linear from 0.2).

Everything runs with the same torch thread count (``--threads``, default 1; on a busy
2-core machine more threads make both sides slower). Runs are interleaved seed by seed
so that machine load hits every contender alike, and each record carries the load
average seen when it finished.

``time_to_solve_s`` is the training loop's wall-clock time (env and model construction,
and Ray's start-up, are reported separately as ``setup_s``); ``train_sps`` is agent steps
per second over that time. The summary gives medians over seeds and the ratios
peer / pufferlib per backend, for both peers. A short micro-benchmark of the advantage
computation comes first (``--no-gae`` skips it).

``--ranks`` instead measures multi-process training (``pufferlib.distributed``): agent steps
per second of the cartpole configuration trained for ``--rank-steps`` steps by 1 rank and by
2 ranks under real ``torchrun`` (gloo), beside the machine's measured parallel limit for the
same work: two independent 1-rank runs at once, whose summed SPS over one run's SPS is the
most any 2-rank run could reach here. ``efficiency`` is the 2-rank speedup over that limit;
medians over ``--rank-rounds`` rounds, run in a rotated order.

Prints JSON lines. Usage:
    python bench/train.py [--seeds 1,2,3] [--quick] [--no-ray] [--no-sb3] [--no-rlzoo] [--no-gae]
    python bench/train.py --ranks [--rank-steps 50000] [--rank-rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections import deque

import numpy as np
import torch

from measure import load_average

WINDOW = 20
TARGET = 475.0
SB3_BUDGET = 500_000
BACKENDS = ("serial", "multiprocessing", "ray")


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


def run_pufferlib(backend: str, seed: int, threads: int) -> dict:
    from pufferlib import experiment
    from pufferlib.trainer import Trainer, seed_everything

    config = experiment.load_config("cartpole")
    config["train"].update(seed=seed, data_dir="/tmp/pufferlib-bench", torch_threads=threads)
    train_cfg = experiment.train_config(config)
    torch.set_num_threads(threads)

    setup_start = time.perf_counter()
    seed_everything(seed)
    vecenv = experiment.make_vecenv(config, vec_overrides={"backend": backend})
    policy = experiment.make_policy(config, vecenv.driver_env)
    trainer = Trainer(vecenv, policy, train_cfg, exp_id=f"bench-{backend}-{seed}")
    setup = time.perf_counter() - setup_start

    start = time.perf_counter()
    solved = False
    while not trainer.done:
        trainer.evaluate()
        trainer.train()
        recent = list(trainer.episode_returns)[-WINDOW:]
        if len(recent) == WINDOW and np.mean(recent) >= TARGET:
            solved = True
            break
    elapsed = time.perf_counter() - start
    trainer.close(save=False)
    vec = {k: v for k, v in config["vec"].items() if k != "backend"}
    return {"bench": "cartpole", "impl": "pufferlib", "backend": backend, "seed": seed, "solved": solved,
            "time_to_solve_s": round(elapsed, 3), "steps": trainer.global_step,
            "train_sps": round(trainer.global_step / elapsed), "setup_s": round(setup, 3),
            "phase_s": {k: round(v, 3) for k, v in trainer.timings.items()}, "vec": vec,
            "torch_threads": torch.get_num_threads(), "load_avg": load_average()}


def shutdown_ray() -> None:
    """Stop the local Ray cluster the Ray backend started, so its daemons stop taking CPU."""
    import ray

    if ray.is_initialized():
        ray.shutdown()


# ---------------------------------------------------------------------------------------
# Stable-Baselines3

SB3_PEERS = {
    "sb3_default": {},
    "sb3_rlzoo": dict(n_steps=32, batch_size=256, gae_lambda=0.8, gamma=0.98, n_epochs=20, ent_coef=0.0,
                      learning_rate=lambda f: f * 1e-3, clip_range=lambda f: f * 0.2),
}


def run_sb3(peer: str, seed: int, threads: int) -> dict:
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

    torch.set_num_threads(threads)
    setup_start = time.perf_counter()
    env = make_vec_env("CartPole-v1", n_envs=8, seed=seed)
    model = PPO("MlpPolicy", env, seed=seed, device="cpu", verbose=0, **SB3_PEERS[peer])
    setup = time.perf_counter() - setup_start
    callback = StopWhenSolved()
    start = time.perf_counter()
    model.learn(total_timesteps=SB3_BUDGET, callback=callback)
    elapsed = time.perf_counter() - start
    env.close()
    return {"bench": "cartpole", "impl": peer, "backend": "DummyVecEnv(8)", "seed": seed,
            "solved": callback.solved, "time_to_solve_s": round(elapsed, 3), "steps": model.num_timesteps,
            "train_sps": round(model.num_timesteps / elapsed), "setup_s": round(setup, 3),
            "torch_threads": torch.get_num_threads(), "load_avg": load_average()}


# ---------------------------------------------------------------------------------------


def summarize(results: dict[str, list[dict]], backends: list[str], seeds: list[int], threads: int,
              loads: list[float]) -> dict:
    summary: dict = {"bench": "cartpole_summary", "window": WINDOW, "target": TARGET, "seeds": seeds,
                     "torch_threads": threads, "cpus": os.cpu_count(),
                     "load_avg": {"min": min(loads), "median": statistics.median(loads), "max": max(loads)}}
    for name, records in results.items():
        summary[name] = {
            "solved": f"{sum(r['solved'] for r in records)}/{len(records)}",
            "median_time_to_solve_s": statistics.median(r["time_to_solve_s"] for r in records),
            "median_steps": statistics.median(r["steps"] for r in records),
            "median_train_sps": statistics.median(r["train_sps"] for r in records),
        }
    for peer in SB3_PEERS:
        if peer not in summary:
            continue
        theirs = summary[peer]
        ratios = {}
        for backend in backends:
            ours = summary[f"pufferlib_{backend}"]
            ratios[backend] = {
                "time_to_solve": round(theirs["median_time_to_solve_s"] / ours["median_time_to_solve_s"], 2),
                "train_sps": round(ours["median_train_sps"] / theirs["median_train_sps"], 2),
            }
        summary[f"speedup_over_{peer}"] = ratios
        unsolved = [r for r in results[peer] if not r["solved"]]
        if unsolved:
            summary[f"note_{peer}"] = (f"{peer} missed its {SB3_BUDGET}-step budget on {len(unsolved)} "
                                       "seed(s): its times, and so the time ratios, are lower bounds.")
    return summary


# ---------------------------------------------------------------------------------------
# Multi-process training: 1 rank, 2 ranks, and the parallel limit


def rank_worker(out: str, steps: int, threads: int, independent: bool) -> None:
    """One rank under torchrun training cartpole for ``steps`` steps of all ranks.

    ``independent``: the ranks only start together (a barrier), then leave the process group
    and each trains alone, writing ``OUT.<rank>``: the parallel limit's runs.
    """
    from pufferlib import distributed, experiment
    from pufferlib.trainer import Trainer, seed_everything

    context = distributed.init_from_env()
    if independent:
        distributed.barrier()
        distributed.destroy()
        out = f"{out}.{context.rank}"
    try:
        config = experiment.load_config("cartpole")
        config["train"].update(seed=1, data_dir="/tmp/pufferlib-bench", torch_threads=threads,
                               total_timesteps=steps)
        torch.set_num_threads(threads)
        seed_everything(1)
        vecenv = experiment.make_vecenv(config, vec_overrides={"backend": "serial"})
        trainer = Trainer(vecenv, experiment.make_policy(config, vecenv.driver_env),
                          experiment.train_config(config), exp_id=f"bench-ranks-{os.getpid()}")
        start = time.perf_counter()
        trainer.run()
        elapsed = time.perf_counter() - start
        trainer.close(save=False)
        if independent or distributed.is_main_process():
            with open(out, "w") as f:
                json.dump({"ranks": distributed.world_size(), "steps": trainer.global_step,
                           "elapsed_s": elapsed, "sps": trainer.global_step / elapsed}, f)
    finally:
        distributed.destroy()


def bench_ranks(steps: int, threads: int, rounds: int) -> None:
    import subprocess
    import sys
    import tempfile

    torchrun = os.path.join(os.path.dirname(sys.executable), "torchrun")
    me = os.path.abspath(__file__)
    worker = ["--rank-steps", str(steps), "--threads", str(threads), "--rank-worker"]
    with tempfile.TemporaryDirectory() as tmp:
        def result(name: str) -> dict:
            with open(os.path.join(tmp, name)) as f:
                return json.load(f)

        def launch(name: str, ranks: int, independent: bool = False) -> subprocess.Popen:
            # Every run goes through torchrun (same launcher, threads and start-up); independent
            # ranks only start together and then train alone.
            command = [torchrun, "--standalone", "--nproc-per-node", str(ranks), me, *worker,
                       os.path.join(tmp, name), *(["--rank-independent"] if independent else [])]
            return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

        def wait(*processes: subprocess.Popen) -> None:
            for p in processes:
                _, err = p.communicate()
                if p.returncode:
                    raise RuntimeError(f"benchmark run failed:\n{err[-2000:]}")

        runs = {
            "sps_1_rank": lambda: wait(launch("one.json", 1)) or result("one.json")["sps"],
            # The parallel limit: two independent 1-rank runs at once, their SPS summed.
            "sps_2_independent": lambda: wait(launch("pair.json", 2, independent=True)) or (
                result("pair.json.0")["sps"] + result("pair.json.1")["sps"]),
            "sps_2_ranks": lambda: wait(launch("two.json", 2)) or result("two.json")["sps"],
        }
        measured: dict[str, list[float]] = {name: [] for name in runs}
        names = list(runs)
        for r in range(rounds):  # a rotated order each round, so that load drifts hit all alike
            for name in names[r % 3:] + names[:r % 3]:
                measured[name].append(runs[name]())
    sps = {name: statistics.median(values) for name, values in measured.items()}
    limit = sps["sps_2_independent"] / sps["sps_1_rank"]
    speedup = sps["sps_2_ranks"] / sps["sps_1_rank"]
    emit({"bench": "ranks", "env": "cartpole", "backend": "serial", "steps": steps, "rounds": rounds,
          "torch_threads": threads, "cpus": os.cpu_count(), **{k: round(v) for k, v in sps.items()},
          "speedup_2_ranks": round(speedup, 2), "parallel_limit": round(limit, 2),
          "efficiency": round(speedup / limit, 2),
          "per_round": {k: [round(v) for v in values] for k, values in measured.items()},
          "load_avg": load_average()})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", default="1,2,3", help="comma-separated seeds (default: 1,2,3)")
    parser.add_argument("--quick", action="store_true",
                        help="one seed, no RL Zoo peer, no GAE micro-benchmark (about two minutes)")
    parser.add_argument("--no-ray", action="store_true", help="skip the Ray backend")
    parser.add_argument("--no-sb3", action="store_true", help="skip both Stable-Baselines3 peers")
    parser.add_argument("--no-rlzoo", action="store_true", help="skip the RL Zoo tuned SB3 peer")
    parser.add_argument("--no-gae", action="store_true", help="skip the advantage micro-benchmark")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch intra-op threads for every contender (default 1, as the cartpole "
                             "config ships; on a busy 2-core machine more threads slow both sides)")
    parser.add_argument("--ranks", action="store_true",
                        help="only compare 1 and 2 torchrun ranks (and the parallel limit)")
    parser.add_argument("--rank-steps", type=int, default=50_000, help="steps per --ranks run")
    parser.add_argument("--rank-rounds", type=int, default=3, help="--ranks rounds (medians are reported)")
    parser.add_argument("--rank-worker", metavar="OUT", help=argparse.SUPPRESS)
    parser.add_argument("--rank-independent", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rank_worker:
        rank_worker(args.rank_worker, args.rank_steps, args.threads, args.rank_independent)
        return
    if args.ranks:
        bench_ranks(args.rank_steps, args.threads, args.rank_rounds)
        return
    seeds = [int(s) for s in args.seeds.split(",")]
    if args.quick:
        seeds, args.no_rlzoo, args.no_gae = seeds[:1], True, True
    backends = [b for b in BACKENDS if not (b == "ray" and args.no_ray)]
    peers = [] if args.no_sb3 else [p for p in SB3_PEERS if not (p == "sb3_rlzoo" and args.no_rlzoo)]

    if not args.no_gae:
        bench_gae()
    results: dict[str, list[dict]] = {}
    loads = [load_average()]
    for seed in seeds:
        for backend in backends:
            record = run_pufferlib(backend, seed, args.threads)
            if backend == "ray":
                shutdown_ray()
            emit(record)
            results.setdefault(f"pufferlib_{backend}", []).append(record)
            loads.append(record["load_avg"])
        for peer in peers:
            record = run_sb3(peer, seed, args.threads)
            emit(record)
            results.setdefault(peer, []).append(record)
            loads.append(record["load_avg"])
    emit(summarize(results, backends, seeds, args.threads, loads))


if __name__ == "__main__":
    main()
