"""Record a PufferLib 3.0.0 C game like ``record.py``, plus its episode logs and, for games that
reseed C's generator with the clock, the clock.

Run with the peer's interpreter, never ours (both packages are named ``pufferlib``)::

    $P3/venv3/bin/python bench/pufferlib3/record_logged.py checkers tests/ocean_games/fixtures/checkers.npz \\
        --steps 3000 --seed 7 --policy policy_checkers:actions --clock

Saves what ``record.py`` saves, and ``logs``: one row per step of 3.0's ``vec_log`` fields
(``log_keys``) for the episode that ended in that step, NaN where none ended (3.0 games log
episodes their trainer never sees as ended, e.g. checkers'). With ``--clock`` (3.0's
checkers calls ``srand(time(NULL))`` before every opponent move): ``seconds``, the value of
``time(NULL)`` during each step (steps are kept clear of second boundaries, so it is the value
the game read), and ``clock_tapes``: for each distinct second, the first ``--clock-draws``
``rand()`` values after ``srand(second)``, with ``clock_index`` mapping each step to its row.
The ``tape`` is then empty: the game's draws all come from the clock-seeded streams.
"""

from __future__ import annotations

import argparse
import ctypes
import importlib
import json
import time
from pathlib import Path

import numpy as np
from record import LIBC, consumed, load_policy, make_peer_env, rand_tape

LIBC.time.restype = ctypes.c_long


def clear_of_second_boundary(margin: float = 0.05) -> None:
    """Sleep until ``time.time()`` is at least ``margin`` past a second boundary and at least
    ``margin`` before the next one (``time(NULL)`` may lag ``time.time()`` by a clock tick)."""
    fraction = time.time() % 1.0
    if fraction < margin:
        time.sleep(margin - fraction)
    elif fraction > 1.0 - margin:
        time.sleep(1.0 - fraction + margin)


def record(
    game: str,
    env,
    seed: int,
    steps: int,
    policy,
    tape_length: int,
    clock: bool,
    clock_draws: int,
    pause_every: int,
    pause: float,
) -> dict[str, np.ndarray]:
    binding = importlib.import_module(f"pufferlib.ocean.{game}.binding")
    rng = np.random.default_rng(seed)
    tape = rand_tape(seed, tape_length)
    obs, _ = env.reset(seed=seed)
    observations, actions, rewards, terminals, truncations = [obs.copy()], [], [], [], []
    logs, keys, seconds = [], None, []
    for step in range(steps):
        action = policy(env, obs, rng)
        if clock:
            if pause_every and step and step % pause_every == 0:
                time.sleep(pause)  # spread the recording over more seconds (more opponent streams)
            clear_of_second_boundary()
            before = LIBC.time(None)
        obs, reward, terminal, truncation, infos = env.step(action)
        if clock:
            after = LIBC.time(None)
            if before != after:
                raise SystemExit(f"step {step} straddled a second boundary: rerun")
            seconds.append(before)
        entries = [info for info in infos if info] + [binding.vec_log(env.c_envs)]
        entries = [entry for entry in entries if entry]
        if len(entries) > 1:
            raise SystemExit(f"step {step}: two log entries {entries}; record one game")
        if entries:
            keys = keys or sorted(entries[0])
            logs.append([float(entries[0][key]) for key in keys])
        else:
            logs.append(None)
        observations.append(obs.copy())
        actions.append(np.array(action).copy())
        rewards.append(reward.copy())
        terminals.append(terminal.copy())
        truncations.append(truncation.copy())
    keys = keys or []
    log_rows = np.array([row if row is not None else [np.nan] * len(keys) for row in logs], dtype=np.float64)
    arrays = {
        "actions": np.array(actions),
        "observations": np.array(observations),
        "rewards": np.array(rewards),
        "terminals": np.array(terminals),
        "truncations": np.array(truncations),
        "logs": log_rows.reshape(steps, len(keys)),
        "log_keys": np.array(keys),
    }
    if clock:
        distinct, index = np.unique(np.array(seconds, dtype=np.int64), return_inverse=True)
        arrays["seconds"] = np.array(seconds, dtype=np.int64)
        arrays["clock_index"] = index.astype(np.int32)
        arrays["clock_tapes"] = np.stack([rand_tape(int(s), clock_draws) for s in distinct]).astype(np.uint32)
        arrays["tape"] = np.zeros(0, dtype=np.uint32)
    else:
        arrays["tape"] = consumed(tape).astype(np.uint32)
    return arrays


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("game")
    parser.add_argument("output", type=Path)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--policy", default="random", help="random, or MODULE:FUNCTION in bench/pufferlib3")
    parser.add_argument("--kwargs", default="{}", help="the 3.0 env's keyword arguments, as JSON")
    parser.add_argument("--tape-length", type=int, default=200_000)
    parser.add_argument("--clock", action="store_true", help="the game reseeds rand() with time(NULL)")
    parser.add_argument("--clock-draws", type=int, default=2048)
    parser.add_argument("--pause-every", type=int, default=250, help="with --clock: steps between pauses")
    parser.add_argument("--pause", type=float, default=0.5, help="with --clock: seconds per pause")
    args = parser.parse_args()
    output = args.output.resolve()
    kwargs = json.loads(args.kwargs)
    policy = load_policy(args.policy)
    env = make_peer_env(args.game, kwargs)
    arrays = record(
        args.game,
        env,
        args.seed,
        args.steps,
        policy,
        args.tape_length,
        args.clock,
        args.clock_draws,
        args.pause_every,
        args.pause,
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(output, kwargs=np.array(json.dumps(kwargs)), **arrays)
    ended = int(np.isfinite(arrays["logs"][:, 0]).sum()) if arrays["logs"].size else 0
    print(f"{args.game}: {args.steps} steps, {ended} episodes logged -> {output}")


if __name__ == "__main__":
    main()
