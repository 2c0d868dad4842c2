"""Agent steps per second of a PufferLib 3.0.0 C game, measured the way bench/ocean.py measures ours.

Run with the peer's interpreter (both packages are named ``pufferlib``)::

    $P3/venv3/bin/python bench/pufferlib3/speed.py breakout --num-envs 512 --seconds 3 [--kwargs JSON]

Random actions are drawn up front (1024 batches, cycled) so that the loop times ``step`` alone.
Prints one JSON line: game, num_envs, agents, steps_per_second.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from record import make_peer_env_batch, random_policy


def measure(env, seconds: float, rng: np.random.Generator) -> float:
    env.reset(seed=0)
    cache = [random_policy(env, None, rng) for _ in range(1024)]
    for action in cache[:64]:  # warm-up
        env.step(action)
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for action in cache[:128]:
            env.step(action)
        steps += 128
    return steps * env.num_agents / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("game")
    parser.add_argument("--num-envs", type=int, default=512)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--kwargs", default="{}")
    args = parser.parse_args()
    env = make_peer_env_batch(args.game, args.num_envs, json.loads(args.kwargs))
    sps = measure(env, args.seconds, np.random.default_rng(0))
    print(json.dumps({"game": args.game, "num_envs": args.num_envs, "agents": env.num_agents,
                      "steps_per_second": sps}))


if __name__ == "__main__":
    main()
