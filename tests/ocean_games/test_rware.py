"""Rware (ocean:rware): rules on hand-built warehouses, replays of 3.0's C game, learning.

The fixtures were recorded from 3.0's C game with its own random numbers. 3.0 reseeds
``rand()`` with ``time(NULL)`` at construction and at reset, so they come from
``bench/pufferlib3/record_time_seeded.py`` (which finds that second; construction and reset
fell in the same one, so the tape explains both), run from a scratch folder::

    P=$P3/venv3/bin/python; R=bench/pufferlib3/record_time_seeded.py; F=tests/ocean_games/fixtures
    $P $R rware $F/rware.npz --steps 2000 --seed 7 --policy policy_rware:actions
    $P $R rware $F/rware_crowded.npz --steps 1500 --seed 3 --policy policy_rware:actions \\
        --kwargs '{"num_agents": 20, "num_requested_shelves": 8}'
    $P $R rware $F/rware_map2.npz --steps 1500 --seed 5 --policy policy_rware:actions \\
        --kwargs '{"map_choice": 2, "num_agents": 8, "num_requested_shelves": 8}'
    $P $R rware $F/rware_map3.npz --steps 1000 --seed 9 --policy policy_rware:actions \\
        --kwargs '{"map_choice": 3, "num_agents": 6, "num_requested_shelves": 10}'

(the crowded one has robots sharing cells; 3.0 hangs on some such warehouses, see the port's
docstring, so a recording may need a second try.)
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from replay import first_mismatch, load, replay

from pufferlib.environments.ocean.native import rware
from pufferlib.environments.ocean.native.rware import (
    EMPTY,
    FORWARD,
    GOAL,
    HOLDING_EMPTY,
    HOLDING_REQUESTED,
    LEFT,
    NOOP,
    REQUESTED,
    RIGHT,
    SHELF,
    TOGGLE_LOAD,
    UNLOADED,
    Rware,
)
from pufferlib.exceptions import APIUsageError

COLS = 10  # the tiny map (map_choice 1): 11 rows x 10 columns; goals at cells 104 and 105
RIGHT_, DOWN_, LEFT_, UP_ = range(4)  # facings
NEIGHBOUR_ROBOT = [3 + 3 * n for n in range(8)]
NEIGHBOUR_FACING = [4 + 3 * n for n in range(8)]
ROBOT_SLOTS = sorted(NEIGHBOUR_ROBOT + NEIGHBOUR_FACING)
OTHER_SLOTS = [i for i in range(rware.OBS_SIZE) if i not in ROBOT_SLOTS]


def cell(x: int, y: int) -> int:
    return x + y * COLS


def warehouse(robots: list[tuple[int, int, int]], requested: tuple[int, ...] = (), **kwargs) -> Rware:
    """One tiny warehouse with robots ``(cell, facing, load)`` and exactly the ``requested`` shelves."""
    env = Rware(num_envs=1, num_agents=len(robots), **kwargs)
    env.reset(seed=0)
    env.cells[0] = env.base
    for slot in requested:
        env.cells[0, slot] = REQUESTED
    for k, (where, facing, held) in enumerate(robots):
        env.loc[0, k], env.facing[0, k], env.load[0, k] = where, facing, held
    env.target[:] = -1
    return env


def step(env: Rware, *actions: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    obs, rewards, terminals, truncations, _ = env.step(np.array(actions))
    assert not terminals.any()  # nothing ever ends the warehouse
    return obs, rewards.copy(), truncations.copy()


# -- rules ---------------------------------------------------------------------------------------


def test_a_delivery_cycle_is_an_episode():
    env = warehouse([(cell(1, 1), LEFT_, UNLOADED)], requested=(cell(1, 1), cell(8, 8)))
    _, rewards, truncations = step(env, TOGGLE_LOAD)  # pick up the requested shelf overhead
    assert rewards[0] == 0.5 and not truncations[0] and env.load[0, 0] == HOLDING_REQUESTED
    step(env, FORWARD)  # the shelf comes along
    assert env.loc[0, 0] == cell(0, 1) and env.cells[0, cell(0, 1)] == REQUESTED
    assert env.cells[0, cell(1, 1)] == EMPTY

    # Skip the walk: stand above a goal with the shelf, then step into the goal.
    env.cells[0, cell(0, 1)] = EMPTY
    env.cells[0, cell(4, 9)] = REQUESTED
    env.loc[0, 0], env.facing[0, 0] = cell(4, 9), DOWN_
    step(env, FORWARD)
    assert env.loc[0, 0] == cell(4, 10) and env.cells[0, cell(4, 10)] == GOAL
    assert env.cells[0, cell(4, 9)] == EMPTY and (env.cells[0] == REQUESTED).sum() == 1
    assert env.target[0, 0] == cell(4, 10)  # 3.0 keeps a target after stepping into a goal
    _, rewards, truncations = step(env, TOGGLE_LOAD)  # deliver: another shelf is requested
    assert rewards[0] == 0.5 and not truncations[0] and env.load[0, 0] == HOLDING_EMPTY
    assert (env.cells[0] == REQUESTED).sum() == 2
    step(env, FORWARD)  # off the map: no move
    assert env.loc[0, 0] == cell(4, 10)
    step(env, RIGHT)
    step(env, RIGHT)
    step(env, FORWARD)  # out of the goal, the empty shelf along
    assert env.loc[0, 0] == cell(4, 9) and env.cells[0, cell(4, 9)] == SHELF
    assert env.cells[0, cell(4, 10)] == GOAL
    _, rewards, _ = step(env, TOGGLE_LOAD)  # not a shelf slot: nothing happens
    assert rewards[0] == 0.0 and env.load[0, 0] == HOLDING_EMPTY

    # Put it back in a free slot (its shelf taken away).
    env.cells[0, cell(4, 9)] = EMPTY
    env.cells[0, cell(3, 1)] = SHELF
    env.cells[0, cell(2, 1)] = EMPTY
    env.loc[0, 0], env.facing[0, 0] = cell(3, 1), LEFT_
    step(env, FORWARD)
    assert env.loc[0, 0] == cell(2, 1) and env.cells[0, cell(3, 1)] == EMPTY
    obs, rewards, truncations = step(env, TOGGLE_LOAD)
    assert rewards[0] == 1.0 and truncations[0] and env.load[0, 0] == UNLOADED
    assert env.cells[0, cell(2, 1)] == SHELF and obs[0, 2] == 0.0
    length = 11
    np.testing.assert_allclose(env.log[0, :5], [1, 2.0, length, 1.0, np.float32(1 - 0.01 * length)])
    assert env.ticks[0, 0] == 0 and env.returns[0] == 0.0
    _, _, truncations = step(env, NOOP)
    assert not truncations[0] and env.ticks[0, 0] == 1


def test_loads_block_moves():
    env = warehouse(
        [
            (cell(0, 1), RIGHT_, UNLOADED),  # walks under a shelf
            (cell(0, 3), RIGHT_, HOLDING_REQUESTED),  # a shelf may not enter a shelf
            (cell(4, 9), DOWN_, HOLDING_EMPTY),  # an empty shelf may not enter a goal
            (cell(9, 9), RIGHT_, UNLOADED),  # nor may anything leave the map
            (cell(5, 9), DOWN_, HOLDING_REQUESTED),  # a requested shelf may enter a goal
        ]
    )
    env.cells[0, cell(0, 3)] = REQUESTED
    env.cells[0, cell(4, 9)] = SHELF
    env.cells[0, cell(5, 9)] = REQUESTED
    step(env, FORWARD, FORWARD, FORWARD, FORWARD, FORWARD)
    assert list(env.loc[0]) == [cell(1, 1), cell(0, 3), cell(4, 9), cell(9, 9), cell(5, 10)]
    assert env.cells[0, cell(1, 1)] == SHELF and env.cells[0, cell(5, 9)] == EMPTY


def test_turns():
    env = warehouse([(cell(0, 0), RIGHT_, UNLOADED)])
    facings = []
    for action in (RIGHT, RIGHT, RIGHT, RIGHT, LEFT, LEFT, NOOP, TOGGLE_LOAD):
        obs, _, _ = step(env, action)
        facings.append(int(env.facing[0, 0]))
        assert obs[0, 1] == (facings[-1] + 1) / 4
    assert facings == [DOWN_, LEFT_, UP_, RIGHT_, UP_, LEFT_, LEFT_, LEFT_]


def test_robots_follow_in_chains_cycle_but_never_swap():
    row = 9
    # A chain: the front robot moves first, the one behind follows into its cell.
    env = warehouse([(cell(3, row), RIGHT_, UNLOADED), (cell(4, row), RIGHT_, UNLOADED)])
    step(env, FORWARD, FORWARD)
    assert list(env.loc[0]) == [cell(4, row), cell(5, row)]
    assert list(env.weight[0]) == [1, 2]
    # The front robot stays: the one behind is blocked.
    step(env, FORWARD, NOOP)
    assert list(env.loc[0]) == [cell(4, row), cell(5, row)]
    # Face to face: a swap (a cycle of two) never happens, and the targets stay.
    env = warehouse([(cell(3, row), RIGHT_, UNLOADED), (cell(4, row), LEFT_, UNLOADED)])
    step(env, FORWARD, FORWARD)
    assert list(env.loc[0]) == [cell(3, row), cell(4, row)]
    assert list(env.cycle[0]) == [0, 0] and list(env.target[0]) == [cell(4, row), cell(3, row)]
    # Four robots around a square all move (a cycle of four).
    square = [cell(3, 0), cell(4, 0), cell(4, 1), cell(3, 1)]
    env = warehouse(
        [(square[0], RIGHT_, 0), (square[1], DOWN_, 0), (square[2], LEFT_, 0), (square[3], UP_, 0)]
    )
    step(env, FORWARD, FORWARD, FORWARD, FORWARD)
    assert list(env.loc[0]) == square[1:] + square[:1]


def test_two_robots_on_one_cell_do_not_hang():
    """3.0's chain weights grow until the ints overflow here (robots 0 and 1 share a cell that
    robots 2 and 3 target, robot 1 targets robot 2's cell); the port stops the weight pass and
    nobody moves."""
    robots = [(cell(4, 9), UP_, 0), (cell(4, 9), RIGHT_, 0), (cell(5, 9), LEFT_, 0), (cell(3, 9), RIGHT_, 0)]
    env = warehouse(robots)
    step(env, NOOP, FORWARD, FORWARD, FORWARD)
    assert list(env.loc[0]) == [cell(4, 9), cell(4, 9), cell(5, 9), cell(3, 9)]
    assert (env.cycle[0] == -1).all() and env.weight[0].max() > 3


def test_chain_weights_by_walks_equal_3_0s_rounds():
    """With every robot on its own cell the port weighs chains by walks (``_weigh_chains``);
    on random target graphs these equal the weights of 3.0's rounds (the general path)."""
    rng = np.random.default_rng(0)
    robots = 8
    for trial in range(300):
        env = Rware(num_envs=1, num_agents=robots, num_requested_shelves=4)
        env.reset(seed=trial)
        cells = rng.choice(40, size=robots, replace=False)  # a 40-cell patch: targets often occupied
        env.loc[0] = cells
        env.target[0] = np.where(rng.random(robots) < 0.7, rng.choice(40, size=robots), -1)
        occupant = np.zeros(env.base.shape[0] + 1, dtype=env._occupant.dtype)
        occupant[cells] = np.arange(1, robots + 1)
        results = []
        for shared in (False, True):
            rware._build_graph(env.robot_state, env.num_cycles, occupant, 0, shared)
            results.append((env.cycle[0].copy(), env.weight[0].copy(), int(env.num_cycles[0])))
        np.testing.assert_array_equal(results[0][0], results[1][0])
        np.testing.assert_array_equal(results[0][1], results[1][1])
        assert results[0][2] == results[1][2]


def test_observations_show_every_neighbouring_robot_and_none_off_the_map():
    env = warehouse(
        [
            (cell(0, 0), RIGHT_, UNLOADED),
            (cell(1, 0), DOWN_, UNLOADED),
            (cell(0, 1), UP_, HOLDING_REQUESTED),
            (cell(9, 0), LEFT_, UNLOADED),
        ]
    )
    env.cells[0, cell(0, 1)] = REQUESTED
    obs, _, _ = step(env, NOOP, NOOP, NOOP, NOOP)
    off = [0.0, 0.0, 0.0]
    expected = (
        [0.0, 0.25, 0.0]
        + off  # up
        + off  # up-right
        + [1.0, 0.5, 0.25]  # right: robot 1 facing down, an empty cell
        + [0.0, 0.0, 0.5]  # down-right: a shelf
        + [1.0, 1.0, 0.75]  # down: robot 2 facing up, on a requested shelf (3.0 misses robot 2)
        + off * 3  # down-left, left, up-left
    )
    np.testing.assert_array_equal(obs[0], np.array(expected, dtype=np.float32))
    assert obs[2, 2] == HOLDING_REQUESTED
    # Left of cell (0, 1) is off the map (index 9, where robot 3 stands, is not its neighbour).
    assert obs[2, 3 + 3 * 6 : 3 + 3 * 7].tolist() == off
    assert obs[0, 0] == np.float32(0) and obs[2, 0] == np.float32(10) / np.float32(110)


def test_resets_place_robots_on_free_cells_and_request_shelves():
    env = Rware(num_envs=32, num_agents=6, num_requested_shelves=5)
    for seed in range(3):
        env.reset(seed=seed)
        for g in range(env.num_envs):
            assert (env.cells[g] == REQUESTED).sum() == 5
            assert len(set(env.loc[g])) == 6 and (env.base[env.loc[g]] == EMPTY).all()
            assert (env.load[g] == UNLOADED).all() and (env.target[g] == -1).all()
        assert not env.truncations.any() and not env.terminals.any()


def test_bad_arguments():
    with pytest.raises(APIUsageError, match="map_choice"):
        Rware(map_choice=4)
    with pytest.raises(APIUsageError, match="76 free cells"):
        Rware(num_agents=77, num_requested_shelves=1)
    with pytest.raises(APIUsageError, match="below map 1's 32 shelves"):
        Rware(num_agents=4, num_requested_shelves=28)
    with pytest.raises(APIUsageError, match="num_requested_shelves"):
        Rware(num_requested_shelves=0)
    Rware(num_agents=4, num_requested_shelves=27, map_choice=1)
    Rware(num_agents=8, num_requested_shelves=8, map_choice=2)


# -- replays of 3.0's C game ---------------------------------------------------------------------

AROUND = list(zip(rware.AROUND_X.tolist(), rware.AROUND_Y.tolist()))


def robot_slots(obs: np.ndarray, rows: int, cols: int, as_in_3_0: bool) -> np.ndarray:
    """The neighbouring-robot slots (presence, facing) of every robot, computed from the robots'
    own cells and facings (slots 0 and 1): as the port does, or as 3.0's C code does (it checks
    only the first other robot, and finds it on out-of-map indices too)."""
    where = np.rint(obs[:, 0] * (rows * cols)).astype(int)
    facing_obs = obs[:, 1]
    out = np.zeros((len(obs), 16), dtype=np.float32)
    for i in range(len(obs)):
        x, y = where[i] % cols, where[i] // cols
        for n, (dx, dy) in enumerate(AROUND):
            index = (x + dx) + (y + dy) * cols
            if as_in_3_0:
                candidates = [1 if i == 0 else 0] if len(obs) > 1 else []
            elif 0 <= x + dx < cols and 0 <= y + dy < rows:
                candidates = [k for k in range(len(obs)) if k != i]
            else:
                candidates = []
            for k in candidates:
                if where[k] == index:
                    out[i, 2 * n], out[i, 2 * n + 1] = 1.0, facing_obs[k]
                    break
    return out


@pytest.mark.parametrize("fixture", ["rware", "rware_crowded", "rware_map2", "rware_map3"])
def test_replays_3_0_step_for_step(fixture):
    """Same tape, same actions: every observation slot but the neighbouring robots', every reward
    and every random draw match 3.0 exactly. The neighbouring-robot slots match what 3.0's
    scan computes from the robots' cells (C) and the full scan (ours). Episode ends: 3.0 flags
    none; the port flags a truncation exactly where 3.0 logs a cycle (reward 1.0)."""
    recording = load(fixture)
    env = Rware(num_envs=1, **json.loads(str(recording["kwargs"])))
    tape = recording["tape"].astype(np.uint64)[None]
    env.use_random_tape(tape)
    env.reset(seed=0)  # 3.0's constructor lays out a warehouse first; its reset starts from there
    result = replay(fixture, env)
    expected, actual = result.expected, result.actual
    assert result.draws == tape.shape[1]
    assert (
        first_mismatch(expected["observations"][..., OTHER_SLOTS], actual["observations"][..., OTHER_SLOTS])
        is None
    )
    assert first_mismatch(expected["rewards"], actual["rewards"]) is None
    rows, cols = env.rows, env.cols
    for t in range(len(expected["observations"])):
        c_obs, our_obs = expected["observations"][t], actual["observations"][t]
        np.testing.assert_array_equal(c_obs[:, ROBOT_SLOTS], robot_slots(c_obs, rows, cols, as_in_3_0=True))
        np.testing.assert_array_equal(
            our_obs[:, ROBOT_SLOTS], robot_slots(our_obs, rows, cols, as_in_3_0=False)
        )
    assert not expected["terminals"].any() and not expected["truncations"].any()
    assert not actual["terminals"].any()
    np.testing.assert_array_equal(actual["truncations"], expected["rewards"] == 1.0)
    assert (expected["rewards"] == 1.0).sum() >= 3 or fixture == "rware_map3"


# -- learning ------------------------------------------------------------------------------------


def reward_rate(config: dict, policy, steps: int = 2000, seed: int = 12345) -> float:
    """Mean reward per robot-step over fresh warehouses (an unseen seed); ``policy=None`` plays
    randomly. Robots' episodes (delivery cycles) are rare in random play, so this counts every
    pick-up, delivery and return instead of finished episodes."""
    import torch

    from pufferlib.environments import ocean
    from pufferlib.frameworks.cleanrl import sample_logits

    env = ocean.make_env(config["env_name"], **config["env"])
    obs, _ = env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    total = 0.0
    for _ in range(steps):
        if policy is None:
            actions = rng.integers(0, 5, env.num_agents)
        else:
            with torch.no_grad():
                actions = sample_logits(policy(torch.from_numpy(obs))[0])[0].numpy()
        obs, rewards, _, _, _ = env.step(actions)
        total += float(rewards.sum())
    return total / (steps * env.num_agents)


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_robots_learn_to_deliver(tmp_path):
    """The shipped training settings on the tiny map with 20 requested shelves (of 32), for a
    1.5M step budget: robots earn at least 3x random play's reward (4.6x measured; 75 s on a
    shared 2-core machine at load 8)."""
    from short_training import train

    env = {"map_choice": 1, "num_agents": 4, "num_requested_shelves": 20, "num_envs": 64}
    policy, config = train("rware", 1_500_000, tmp_path, env)
    assert reward_rate(config, policy) >= 3 * reward_rate(config, None)
