"""Train one native Ocean env for a fixed number of steps and print its throughput (``bench/gpu.sh``).

The shipped ``ocean:NAME`` config with ``--set SECTION.KEY=VALUE`` changes (a GPU wants far more
games and larger batches than the CPU configs), on ``--device``. The first update (CUDA context,
cuDNN/cuBLAS handles, the compiled learner's compile) is reported apart as ``first_update_s``;
``sps`` and the time split cover the updates after it. Prints one JSON line::

    python bench/gpu.py --env cartpole --device cuda --steps 20000000 --set env.num_envs=4096 \
        --set train.batch_size=262144 --set train.minibatch_size=65536 --set train.learner=compiled
"""

from __future__ import annotations

import argparse
import ast
import json
import tempfile
import time

import torch


def parse_sets(items: list[str]) -> dict[str, dict[str, object]]:
    changes: dict[str, dict[str, object]] = {}
    for item in items:
        key, _, text = item.partition("=")
        section, _, name = key.partition(".")
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            value = text
        changes.setdefault(section, {})[name] = value
    return changes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--env", default="cartpole", help="native Ocean env (its ocean:NAME config)")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--steps", type=int, default=10_000_000, help="agent steps after the first update")
    parser.add_argument("--max-seconds", type=float, default=0.0,
                        help="stop after this many seconds of training (0: none), reporting the steps done")
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE")
    args = parser.parse_args()

    from pufferlib import experiment
    from pufferlib.trainer import Trainer, seed_everything

    # "binding:": bench/ocean.py beside this file would make "ocean:NAME" read as MODULE:CALLABLE.
    config = experiment.load_config(f"binding:ocean:{args.env}")
    for section, values in parse_sets(args.set).items():
        config[section].update(values)
    batch = config["train"]["batch_size"]
    with tempfile.TemporaryDirectory() as data_dir:
        config["train"].update(device=args.device, data_dir=data_dir, total_timesteps=args.steps + batch)
        seed_everything(1)
        vecenv = experiment.make_vecenv(config)
        policy = experiment.make_policy(config, vecenv.driver_env)
        trainer = Trainer(vecenv, policy, experiment.train_config(config), record=False)
        start = time.perf_counter()
        trainer.evaluate()
        trainer.train()
        first = time.perf_counter() - start
        before, steps, start = dict(trainer.timings), trainer.global_step, time.perf_counter()
        while not trainer.done:
            trainer.evaluate()
            trainer.train()
            if args.max_seconds and time.perf_counter() - start > args.max_seconds:
                break
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()
        wall = time.perf_counter() - start
        split = {k: (trainer.timings[k] - before[k]) / wall for k in ("env", "forward", "learn")}
        split["other"] = 1.0 - sum(split.values())
        score = trainer.score()
        trainer.close(save=False)
    device = (torch.cuda.get_device_name(torch.device(args.device)) if args.device.startswith("cuda")
              else "cpu")
    print(json.dumps({
        "bench": "gpu", "env": f"ocean:{args.env}", "device": device,
        "learner": config["train"]["learner"],
        "games": config["env"].get("num_envs"), "batch_size": batch,
        "minibatch_size": config["train"]["minibatch_size"], "steps": trainer.global_step - steps,
        "sps": round((trainer.global_step - steps) / wall),
        "time_split": {k: round(v, 3) for k, v in split.items()},
        "first_update_s": round(first, 1), "score": score, "torch": torch.__version__,
    }), flush=True)


if __name__ == "__main__":
    main()
