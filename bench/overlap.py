"""``train.overlap`` on and off, end to end: throughput and what the one-update-stale rollout does to
learning, in one run.

For each native Ocean env (default: CartPole and Breakout, their shipped ``ocean:NAME``
configs with ``--learner``) and seed, the run trains the config's whole budget twice, overlap
off then on, so that machine load hits both alike. Each line: wall-clock SPS, process CPU time,
and the score (mean of the last 100 episodes) at the end. Overlapped, rollout ``k + 1`` is
collected with the weights learned up to rollout ``k - 1`` (one update stale) while update
``k`` runs in a thread; PPO's ratio is taken against the stored log-probabilities of the
policy that acted, as always. Prints JSON lines, then a summary with medians over seeds::

    python bench/overlap.py [--envs cartpole breakout] [--seeds 1 2 3] [--learner compiled]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time

import torch

from measure import load_average


def train(env: str, seed: int, overlap: bool, learner: str) -> dict:
    from pufferlib import experiment
    from pufferlib.trainer import Trainer, seed_everything

    # "binding:": this folder's ocean.py would make "ocean:NAME" read as MODULE:CALLABLE too.
    config = experiment.load_config(f"binding:ocean:{env}")
    with tempfile.TemporaryDirectory() as data_dir:
        config["train"].update(seed=seed, overlap=overlap, learner=learner, data_dir=data_dir)
        seed_everything(seed)
        vecenv = experiment.make_vecenv(config)
        policy = experiment.make_policy(config, vecenv.driver_env)
        trainer = Trainer(vecenv, policy, experiment.train_config(config), record=False)
        trainer.evaluate()  # first update apart: compiling is not throughput
        trainer.train()
        steps, wall, cpu = trainer.global_step, time.perf_counter(), time.process_time()
        trainer.run(progress=False)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        score = trainer.score()
        trainer.close(save=False)
    return {"bench": "overlap", "env": f"ocean:{env}", "seed": seed, "overlap": overlap, "learner": learner,
            "steps": trainer.global_step, "sps": round((trainer.global_step - steps) / wall),
            "cpu_s": round(cpu, 2), "wall_s": round(wall, 2), "score": score, "load_avg": load_average()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--envs", nargs="+", default=["cartpole", "breakout"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3])
    parser.add_argument("--learner", default="compiled", choices=("eager", "compiled"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    for env in args.envs:
        lines = []
        for seed in args.seeds:
            for overlap in (False, True):
                lines.append(train(env, seed, overlap, args.learner))
                print(json.dumps(lines[-1]), flush=True)
        summary: dict = {"bench": "overlap_summary", "env": f"ocean:{env}", "learner": args.learner,
                         "seeds": args.seeds}
        for overlap in (False, True):
            mine = [line for line in lines if line["overlap"] == overlap]
            summary["on" if overlap else "off"] = {
                "median_sps": statistics.median(line["sps"] for line in mine),
                "scores": [round(line["score"], 2) for line in mine]}
        summary["sps_on_over_off"] = round(summary["on"]["median_sps"] / summary["off"]["median_sps"], 2)
        print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
