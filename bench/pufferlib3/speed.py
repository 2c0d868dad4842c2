"""Agent steps per second of a PufferLib 3.0.0 C game, measured the way bench/ocean.py measures ours.

Run with the peer's interpreter (both packages are named ``pufferlib``)::

    $P3/venv3/bin/python bench/pufferlib3/speed.py breakout --num-envs 512 --seconds 3 [--kwargs JSON]

prints one JSON line: game, num_envs, agents, steps_per_second. Random actions (16 batches in the
env's own action dtype, cycled) are drawn up front, and ``measure.step_rate`` (the loop that
times ours) times ``step`` alone.

``--serve`` answers ``bench/ocean.py`` instead: a long-lived process, so that rounds of ours and
theirs can alternate without paying 3.0's start-up each round. It prints
``{"ready": true, "games": [...]}`` (3.0's Ocean names), then reads one JSON request per line on
stdin and answers each with one JSON line (``{"error": "..."}`` when it fails):

- ``{"op": "make", "key": K, "game": G, "num_envs": N, "kwargs": {...}}``: build, reset (seed
  0) and keep env ``K``; answers ``{"agents": A}``;
- ``{"op": "measure", "key": K, "seconds": S}``: answers ``{"agent_sps": X}``;
- ``{"op": "drop"}``: close every kept env.

Only answers go to stdout: anything else printed (3.0's C code included) is sent to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np
from record import make_peer_env_batch, peer_environment, random_policy

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from measure import step_rate  # noqa: E402  (bench/measure.py: the loop ours is timed with)

BATCHES = 16


def prepare(env: Any, rng: np.random.Generator) -> list[np.ndarray]:
    """Reset ``env`` and draw ``BATCHES`` random action batches of its own dtype and shape (3.0's
    ``step`` copies actions into ``env.actions``: matching arrays make that copy cheapest)."""
    env.reset(seed=0)
    actions = env.actions
    return [
        np.ascontiguousarray(np.asarray(random_policy(env, None, rng)).reshape(actions.shape), actions.dtype)
        for _ in range(BATCHES)
    ]


def measure(env: Any, batches: list[np.ndarray], seconds: float) -> float:
    """Agent steps per second."""
    return step_rate(env.step, batches, seconds) * env.num_agents


def serve() -> None:
    answers = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    environment = peer_environment()
    answers.write(json.dumps({"ready": True, "games": sorted(environment.MAKE_FUNCTIONS)}) + "\n")
    envs: dict[str, tuple[Any, list[np.ndarray]]] = {}
    rng = np.random.default_rng(0)
    for line in sys.stdin:
        request = json.loads(line)
        try:
            if request["op"] == "make":
                env = make_peer_env_batch(request["game"], request["num_envs"], request.get("kwargs", {}))
                envs[request["key"]] = (env, prepare(env, rng))
                answer: dict[str, Any] = {"agents": int(env.num_agents)}
            elif request["op"] == "measure":
                env, batches = envs[request["key"]]
                answer = {"agent_sps": measure(env, batches, request["seconds"])}
            elif request["op"] == "drop":
                for env, _ in envs.values():
                    env.close()
                envs.clear()
                answer = {}
            else:
                answer = {"error": f"unknown op {request['op']!r}"}
        except Exception as e:  # reported to the bench, which skips that game
            answer = {"error": f"{type(e).__name__}: {e}"}
        answers.write(json.dumps(answer) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("game", nargs="?")
    parser.add_argument("--num-envs", type=int, default=512)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--kwargs", default="{}")
    parser.add_argument("--serve", action="store_true", help="answer bench/ocean.py's requests (see above)")
    args = parser.parse_args()
    if args.serve:
        serve()
        return
    if not args.game:
        parser.error("name a game, or pass --serve")
    env = make_peer_env_batch(args.game, args.num_envs, json.loads(args.kwargs))
    sps = measure(env, prepare(env, np.random.default_rng(0)), args.seconds)
    print(json.dumps({"game": args.game, "num_envs": args.num_envs, "agents": env.num_agents,
                      "steps_per_second": sps}))


if __name__ == "__main__":
    main()
