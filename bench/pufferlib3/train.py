"""Train a PufferLib 3.0.0 Ocean game with 3.0's own trainer and its own .ini config, on the CPU.

Run with the peer's interpreter (``../shared/peers/pufferlib3_build.sh`` builds it; then
``venv3/bin/pip install --no-deps heavyball==1.7.2``: 3.0's default optimizer, Muon, is
``heavyball.ForeachMuon``, which later heavyball releases dropped)::

    $P3/venv3/bin/python bench/pufferlib3/train.py breakout --steps 5_000_000 \\
        [--set env.num_envs=512 --set train.bptt_horizon=64] --out results.jsonl

Everything not overridden comes from 3.0's ``config/ocean/<game>.ini`` over its
``default.ini``, except what a CPU run must change: ``train.device=cpu`` and the Serial
backend with one env object (its configs ask for more workers than 2 cores). Prints (and
appends to ``--out``) one JSON line per update: steps, wall seconds, and the trainer's
episode statistics; the last line (``"final": true``) is 3.0's own end-of-run evaluation
(32+ rollouts with the trained policy, as ``pufferl.train`` does).
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import sys
import tempfile
import time

import numpy as np


def parse_value(text: str):
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("game")
    parser.add_argument("--steps", type=float, required=True, help="total agent steps")
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", default=None, help="JSON lines file to append to")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (ours default to 1)")
    args = parser.parse_args()
    out = os.path.abspath(args.out) if args.out else None
    os.chdir(tempfile.mkdtemp(prefix="pufferlib3-train-"))  # 3.0's import writes a `resources` link
    sys.argv = [sys.argv[0]]  # 3.0's load_config parses sys.argv
    import torch

    from pufferlib import pufferl

    torch.set_num_threads(args.threads)
    name = f"puffer_{args.game}"
    config = pufferl.load_config(name)
    config["train"].update(device="cpu", total_timesteps=int(args.steps), seed=args.seed)
    config["vec"].update(backend="Serial", num_envs=1)
    config["vec"].pop("num_workers", None)
    config["vec"].pop("batch_size", None)
    for item in args.set:
        key, _, value = item.partition("=")
        section, _, field = key.partition(".")
        config[section][field] = parse_value(value)
    vecenv = pufferl.load_env(name, config)
    policy = pufferl.load_policy(config, vecenv)
    trainer = pufferl.PuffeRL(dict(**config["train"], env=name), vecenv, policy)
    start = time.perf_counter()

    def emit(record: dict) -> None:
        line = json.dumps({"peer": "pufferlib-3.0.0", "game": args.game, "seed": args.seed,
                           "overrides": args.set, **record})
        print(line, flush=True)
        if out:
            with open(out, "a") as f:
                f.write(line + "\n")

    def environment(logs: dict) -> dict:
        return {k.removeprefix("environment/"): float(v) for k, v in logs.items()
                if k.startswith("environment/") and np.isscalar(v)}

    while trainer.global_step < config["train"]["total_timesteps"]:
        trainer.evaluate()
        logs = trainer.train()
        if logs:
            emit({"step": int(trainer.global_step), "wall": time.perf_counter() - start, **environment(logs)})
    train_wall = time.perf_counter() - start
    stats, rounds = {}, 0
    while rounds < 32 or not stats:
        stats = trainer.evaluate()
        rounds += 1
    logs = trainer.mean_and_log() or {}
    emit({"final": True, "step": int(trainer.global_step), "wall": train_wall, **environment(logs)})
    trainer.vecenv.close()
    trainer.utilization.stop()


if __name__ == "__main__":
    main()
