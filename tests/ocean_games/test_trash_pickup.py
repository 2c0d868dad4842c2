"""Trash Pickup (ocean:trash_pickup): rules on hand-built grids, a replay of PufferLib 3.0's C
game, learning."""

from __future__ import annotations

import numpy as np
import pytest
from replay import first_mismatch, replay

from pufferlib.environments import ocean
from pufferlib.environments.ocean.native import trash_pickup as tp
from pufferlib.exceptions import APIUsageError

UP, DOWN, LEFT, RIGHT = range(4)


def make(num_agents: int = 2, num_bins: int = 1, num_trash: int = 2, **kwargs) -> tp.TrashPickup:
    kwargs = {"grid_size": 6, "agent_sight_range": 2, **kwargs}
    env = ocean.make_env(
        "trash_pickup", num_envs=1, num_agents=num_agents, num_bins=num_bins, num_trash=num_trash, **kwargs
    )
    env.reset(seed=0)
    return env


def layout(env: tp.TrashPickup, cells: dict[int, tuple[int, int]]) -> None:
    """Put entity ``e`` (agents, then bins, then trash) on field cell ``(x, y)``; others off."""
    pad = env.agent_sight_range
    env.grid[0] = 0
    env.carrying[0] = False
    for e, (x, y) in cells.items():
        env.grid[0, y + pad, x + pad] = e + 1
        env.pos[0, e] = (x, y)
    trash = range(env.agents_per_game + env.num_bins, env.pos.shape[1])
    env.counts[0] = (0, sum(e in cells for e in trash), 0)


def plane(env: tp.TrashPickup, agent: int, kind: int) -> np.ndarray:
    side = 2 * env.agent_sight_range + 1
    return env.observations[agent].reshape(5, side, side)[kind]


def test_replays_the_c_game_and_truncates_at_the_time_limit():
    """An 800-step recording of 3.0's C game (3 agents, 2 bins, 8 trash, 100 steps at most; a
    scripted policy clears the grid 13 times, pushing bins, and runs out of time once): the same
    observations and rewards, to the bit, with the C game's own rand() stream. 3.0 flags the
    time limit terminal; here it is a truncation, and only there do the flags differ."""
    env = ocean.make_env("trash_pickup", num_envs=1, num_trash=8, max_steps=100)
    run = replay("trash_pickup", env)
    assert run.kwargs == {"num_trash": 8, "max_steps": 100}
    for key in ("observations", "rewards"):
        assert first_mismatch(run.expected[key], run.actual[key]) is None, key
    assert run.draws == len(run.expected["tape"])
    c_ends = run.expected["terminals"]
    timed_out = np.zeros_like(c_ends)
    timed_out[791] = True  # 100 steps after the grid cleared at step 691
    assert c_ends[791].all() and c_ends.any(axis=1).sum() == 14
    np.testing.assert_array_equal(run.actual["terminals"], c_ends & ~timed_out)
    np.testing.assert_array_equal(run.actual["truncations"], timed_out)


def test_pick_up_drop_push_and_blocks():
    env = make(num_agents=2, num_bins=1, num_trash=2)
    # agent 0 at (1, 1), trash at (2, 1) and (3, 1), bin at (1, 2), agent 1 at (4, 4)
    layout(env, {0: (1, 1), 1: (4, 4), 2: (1, 2), 3: (2, 1), 4: (3, 1)})
    _, rewards, _, _, _ = env.step(np.array([RIGHT, UP]))  # picks up trash 3
    assert rewards.tolist() == [0.5, 0.0] and env.carrying[0, 0] and tuple(env.pos[0, 0]) == (2, 1)
    assert plane(env, 0, tp.CARRYING)[2, 2] == 1 and plane(env, 0, tp.AGENT)[2, 2] == 1
    _, rewards, _, _, _ = env.step(np.array([RIGHT, UP]))  # carrying: blocked by trash 4
    assert rewards[0] == 0 and tuple(env.pos[0, 0]) == (2, 1)
    env.step(np.array([LEFT, UP]))
    _, rewards, _, _, _ = env.step(np.array([DOWN, UP]))  # into the bin: drops the trash, stays
    assert rewards[0] == 0.5 and not env.carrying[0, 0] and tuple(env.pos[0, 0]) == (1, 1)
    _, rewards, _, _, _ = env.step(np.array([DOWN, UP]))  # empty hands: pushes the bin
    assert rewards[0] == 0 and tuple(env.pos[0, 0]) == (1, 2) and tuple(env.pos[0, 2]) == (1, 3)
    assert plane(env, 0, tp.BIN)[3, 2] == 1
    env.step(np.array([DOWN, UP]))
    env.step(np.array([DOWN, UP]))  # bin at (1, 5), the last row: cannot be pushed off the grid
    _, _, _, _, _ = env.step(np.array([DOWN, UP]))
    assert tuple(env.pos[0, 0]) == (1, 4) and tuple(env.pos[0, 2]) == (1, 5)
    assert tuple(env.pos[0, 1]) == (4, 0)  # agent 1 walked up to the edge and stayed
    env.pos[0, 0] = (1, 4)
    layout(env, {0: (1, 4), 1: (2, 4), 2: (1, 5), 4: (3, 1)})
    env.step(np.array([RIGHT, LEFT]))  # agents block each other
    assert tuple(env.pos[0, 0]) == (1, 4) and tuple(env.pos[0, 1]) == (2, 4)


def test_a_cleared_grid_ends_the_episode_for_every_agent():
    env = make(num_agents=2, num_bins=1, num_trash=1)
    layout(env, {0: (1, 1), 1: (4, 4), 2: (0, 0), 3: (2, 1)})
    env.step(np.array([RIGHT, UP]))
    env.step(np.array([LEFT, UP]))
    _, rewards, terminals, truncations, _ = env.step(np.array([UP, UP]))  # not the bin: (1, 0)
    assert not terminals.any()
    _, rewards, terminals, truncations, _ = env.step(np.array([LEFT, UP]))  # drops it
    assert rewards.tolist() == [0.5, 0.0] and terminals.all() and not truncations.any()
    assert env.log[:, 0].tolist() == [1, 1] and env.log[:, 2].tolist() == [4, 4]
    assert env.log[:, 1].tolist() == [1.0, 0.0]  # each agent's own return
    assert env.log[:, 3].tolist() == [1, 1] and env.log[:, tp.LOG_PERF].tolist() == [1.0, 1.0]
    assert env.counts[0].tolist() == [0, 1, 0]  # a new game


def test_the_time_limit_truncates_and_scores_every_piece_picked_up():
    """3.0 would flag this terminal and score 2 (its count skips the last num_bins - 1 pieces of
    trash and counts bins 1.. as uncollected: here bin 1 and trash 0, picked up)."""
    env = make(num_agents=1, num_bins=2, num_trash=3, max_steps=10)
    layout(env, {0: (0, 0), 1: (5, 5), 2: (5, 4), 3: (1, 1), 4: (3, 3), 5: (2, 2)})
    env.counts[0, tp.STEPS] = 8
    env.step(np.array([DOWN]))
    _, rewards, terminals, truncations, _ = env.step(np.array([RIGHT]))  # picks up trash 0
    assert rewards[0] == 0.5 and truncations[0] and not terminals[0]
    assert env.log[0, 3] == 1 and env.log[0, tp.LOG_TRASH] == 1 and env.log[0, tp.LOG_PERF] == 1 / 3


def test_observation_window_off_the_grid_is_empty():
    env = make(num_agents=1, num_bins=1, num_trash=1, agent_sight_range=2)
    layout(env, {0: (0, 0), 1: (1, 1), 2: (2, 0)})
    env.step(np.array([UP]))  # off the grid: stays
    obs = env.observations[0].reshape(5, 5, 5)
    assert obs[tp.EMPTY].sum() == 0 and obs[tp.AGENT].sum() == 1 and obs[tp.AGENT, 2, 2] == 1
    assert obs[tp.BIN, 3, 3] == 1 and obs[tp.TRASH, 2, 4] == 1 and obs.sum() == 3


def test_bad_arguments_and_actions():
    with pytest.raises(APIUsageError, match="grid_size"):
        ocean.make_env("trash_pickup", grid_size=4)  # 3 + 2 + 15 entities need 5 x 5
    with pytest.raises(APIUsageError, match="max_steps"):
        ocean.make_env("trash_pickup", max_steps=9)
    with pytest.raises(APIUsageError, match="agent_sight_range"):
        ocean.make_env("trash_pickup", agent_sight_range=1)
    env = make()
    with pytest.raises(APIUsageError, match="out of range"):
        env.step(np.array([4, 0]))


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_learns_to_collect_trash(tmp_path):
    from short_training import play_stats, train

    policy, config = train("trash_pickup", 600_000, tmp_path)
    random, trained = play_stats(config, None, 1500), play_stats(config, policy, 1500)
    assert trained["score"] >= 1.3 * random["score"]  # pieces picked up per episode: ~15 at random
