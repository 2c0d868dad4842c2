"""The learn phase, eager against compiled (``train.learner``), on the same minibatches, in one run.

For each task (default: the shipped ``ocean:cartpole``, ``ocean:breakout`` and ``Hopper-v4``
configs) two trainers are built from the same seed, one per learner, and each collects the same
rollout. Then:

- ``compile_s``: the compiled learner's first update (tracing and compiling; with a warm inductor
  cache, its later starts);
- ``max_param_diff``: after that first update from identical weights and identical minibatches,
  the largest difference between the two policies' weights (floating-point rounding, compounded
  over the update's Adam steps), and ``max_stats_diff`` between their loss statistics;
- ``update_ms`` / ``update_cpu_ms``: one whole ``update_policy`` (every epoch's minibatch steps on
  the rollout) per learner, timed in alternating rounds so that load from other processes hits
  both; each keeps its best round. ``ratio`` is eager / compiled (wall), ``cpu_ratio`` the same
  in thread CPU time, which a busy machine disturbs less.

Prints one JSON line per task. Usage:
    python bench/learner.py [--tasks binding:ocean:cartpole binding:ocean:breakout Hopper-v4]
        [--rounds 5] [--updates 3]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

import torch

from measure import load_average

# "binding:" because this folder's ocean.py would make "ocean:cartpole" read as MODULE:CALLABLE too.
TASKS = ("binding:ocean:cartpole", "binding:ocean:breakout", "Hopper-v4")


def build(task: str, learner: str, data_dir: str):
    from pufferlib import experiment
    from pufferlib.trainer import Trainer, seed_everything

    config = experiment.load_config(task)
    config["train"].update(seed=1, data_dir=data_dir, learner=learner, torch_threads=1)
    seed_everything(1)
    vecenv = experiment.make_vecenv(config)
    policy = experiment.make_policy(config, vecenv.driver_env)
    trainer = Trainer(vecenv, policy, experiment.train_config(config), exp_id=f"learner-{learner}",
                      record=False)
    trainer.evaluate()
    targets, _ = trainer.learning_targets()
    return trainer, targets


def timed_update(trainer, targets, updates: int) -> tuple[float, float]:
    """Milliseconds per ``update_policy`` (wall, thread CPU) over ``updates`` calls."""
    wall, cpu = time.perf_counter(), time.thread_time()
    for _ in range(updates):
        trainer.update_policy(targets)
    return 1e3 * (time.perf_counter() - wall) / updates, 1e3 * (time.thread_time() - cpu) / updates


def bench(task: str, rounds: int, updates: int) -> dict:
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as data_dir:
        eager, targets_e = build(task, "eager", data_dir)
        compiled, targets_c = build(task, "compiled", data_dir)
        stats_e = eager.update_policy(targets_e)
        start = time.perf_counter()
        stats_c = compiled.update_policy(targets_c)
        compile_s = time.perf_counter() - start
        param_diff = max(float((a - b).detach().abs().max()) for a, b in
                         zip(eager.policy.parameters(), compiled.policy.parameters(), strict=True))
        stats_diff = max(abs(stats_e[k] - stats_c[k]) for k in stats_e)
        best = {"eager": (float("inf"), float("inf")), "compiled": (float("inf"), float("inf"))}
        for _ in range(rounds):
            for name, trainer, targets in (("eager", eager, targets_e), ("compiled", compiled, targets_c)):
                wall, cpu = timed_update(trainer, targets, updates)
                best[name] = (min(best[name][0], wall), min(best[name][1], cpu))
        minibatches = int(stats_e["minibatches"])
        cfg = eager.config
        for trainer in (eager, compiled):
            trainer.close(save=False)
    return {"bench": "learner", "task": task, "batch_size": cfg.batch_size,
            "minibatch_size": cfg.minibatch_size,
            "minibatches_per_update": minibatches, "compile_s": round(compile_s, 1),
            "max_param_diff": param_diff, "max_stats_diff": stats_diff,
            "eager_update_ms": round(best["eager"][0], 2),
            "compiled_update_ms": round(best["compiled"][0], 2),
            "eager_update_cpu_ms": round(best["eager"][1], 2),
            "compiled_update_cpu_ms": round(best["compiled"][1], 2),
            "ratio": round(best["eager"][0] / best["compiled"][0], 2),
            "cpu_ratio": round(best["eager"][1] / best["compiled"][1], 2),
            "torch": torch.__version__, "cpus": os.cpu_count(), "load_avg": load_average()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", nargs="+", default=list(TASKS))
    parser.add_argument("--rounds", type=int, default=5,
                        help="alternating rounds (each learner keeps its best)")
    parser.add_argument("--updates", type=int, default=3, help="update_policy calls per round")
    args = parser.parse_args()
    for task in args.tasks:
        print(json.dumps(bench(task, args.rounds, args.updates)), flush=True)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
