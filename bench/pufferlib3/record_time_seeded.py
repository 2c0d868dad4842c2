"""record.py for 3.0 games that reseed C's rand() with time(NULL) at every reset (rware).

Such a game ignores the seed: its random numbers follow ``srand(time(NULL))``, called at
construction and again at reset. This records like ``record.py`` (same arguments, same
arrays), then finds the second the reset used: the one whose ``rand()`` stream holds the two
values drawn after the recording. The tape saved is that stream, up to where the game
stopped. A recording is kept only when construction and reset fell within one second (else it
is retried), so that the tape also explains the draws the constructor made (the game's first,
discarded warehouse), and a replay can play both. Run with the peer's interpreter::

    $P3/venv3/bin/python bench/pufferlib3/record_time_seeded.py rware \\
        tests/ocean_games/fixtures/rware.npz --steps 2000 --policy policy_rware:actions
"""

from __future__ import annotations

import argparse
import functools
import json
import time
from pathlib import Path

import numpy as np
import record

SEEDED_TAPE = record.rand_tape


def stream_since(first_second: int, tape_length: int, found: list[int]) -> np.ndarray:
    """The ``rand()`` values drawn since the ``srand(second)`` that explains the next two draws
    (a second from ``first_second`` to now); appends that second to ``found``."""
    probe = [record.LIBC.rand(), record.LIBC.rand()]
    for second in range(first_second, int(time.time()) + 1):
        tape = SEEDED_TAPE(second, tape_length)
        hits = np.flatnonzero((tape[:-1] == probe[0]) & (tape[1:] == probe[1]))
        if len(hits):
            found.append(second)
            return tape[: hits[0]]
    raise SystemExit(f"no second since construction explains the stream: raise --tape-length ({tape_length})")


def record_time_seeded(
    game: str, kwargs: dict, seed: int, steps: int, policy, tape_length: int, tries: int = 5
) -> tuple[dict[str, np.ndarray], int]:
    """``record.record`` with the tape found afterwards; returns the arrays and the second."""
    record.rand_tape = lambda _seed, count: np.zeros(count, dtype=np.uint64)
    for _ in range(tries):
        constructed = int(time.time())
        env = record.make_peer_env(game, kwargs)
        found: list[int] = []
        record.consumed = functools.partial(
            lambda _tape, first, out: stream_since(first, tape_length, out), first=constructed, out=found
        )
        arrays = record.record(env, seed, steps, policy, tape_length)
        if found == [constructed]:
            return arrays, constructed
    raise SystemExit(f"construction and reset fell in different seconds {tries} times")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("game")
    parser.add_argument("output", type=Path)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument(
        "--seed", type=int, default=7, help="seeds the policy's actions (the game ignores it)"
    )
    parser.add_argument("--policy", default="random", help="random, or MODULE:FUNCTION in bench/pufferlib3")
    parser.add_argument("--kwargs", default="{}", help="the 3.0 env's keyword arguments, as JSON")
    parser.add_argument("--tape-length", type=int, default=200_000)
    args = parser.parse_args()
    output = args.output.resolve()
    kwargs = json.loads(args.kwargs)
    policy = record.load_policy(args.policy)
    arrays, second = record_time_seeded(args.game, kwargs, args.seed, args.steps, policy, args.tape_length)
    output.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(output, kwargs=np.array(json.dumps(kwargs)), **arrays)
    print(f"{args.game}: {args.steps} steps, srand({second}), {len(arrays['tape'])} draws -> {output}")


if __name__ == "__main__":
    main()
