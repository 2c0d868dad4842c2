"""Snake (ocean:snake): 3.0's multi-snake grid, its fixes, and replays of 3.0's C game."""

from __future__ import annotations

import json

import numpy as np
import pytest
from replay import load, replay

from pufferlib.environments.ocean.native import Snake, snake
from pufferlib.exceptions import APIUsageError

UP, DOWN, LEFT, RIGHT = 0, 1, 2, 3


def small(**kwargs) -> Snake:
    """One 12 x 12 grid (vision 2: rows and columns 2-9 are free), no food unless asked."""
    settings = {"num_envs": 1, "width": 12, "height": 12, "num_snakes": 1, "num_food": 0, "vision": 2}
    env = Snake(**{**settings, **kwargs})
    env.reset(seed=0)
    return env


def step(env: Snake, *actions: int) -> tuple[np.ndarray, np.ndarray]:
    _, rewards, terminals, truncations, _ = env.step(np.array(actions))
    assert not truncations.any()
    return rewards.copy(), terminals.copy()


def head(env: Snake, s: int = 0) -> tuple[int, int]:
    return divmod(int(env.body[0, s, env.head[0, s]]), env.width)


# -- rules on hand-built states -----------------------------------------------------------


def test_moves_eats_grows_and_respawns_food():
    env = small(num_food=1, reward_food=0.5)
    grid = env.grid_view(0)
    grid[grid == snake.FOOD] = snake.EMPTY
    env.place_snake(0, 0, [(5, 4), (5, 5)])
    grid[5, 6] = snake.FOOD
    rewards, terminals = step(env, RIGHT)
    assert rewards[0] == 0.5 and not terminals[0] and env.length[0, 0] == 3 and head(env) == (5, 6)
    assert (grid == snake.FOOD).sum() == 1 and grid[5, 6] == 7  # food reappeared elsewhere
    grid[grid == snake.FOOD] = snake.EMPTY
    rewards, _ = step(env, DOWN)
    assert rewards[0] == 0 and env.length[0, 0] == 3 and grid[5, 4] == snake.EMPTY  # the tail moved on
    # The observation: the cells around the head as grid codes (snake 0 is colour 7).
    np.testing.assert_array_equal(env.observations[0], grid[4:9, 4:9])
    assert env.observations[0][2, 2] == 7 and env.observations[0][1, 1] == env.observations[0][1, 2] == 7
    env.place_snake(0, 0, [(3, 3)])
    step(env, LEFT)
    obs = env.observations[0]  # the head at (3, 2): rows 1.. and columns 0.. of the grid
    assert (obs[:, :2] == snake.WALL).all() and (obs[0] == snake.WALL).all()
    assert (obs[1:, 2:] != snake.WALL).all()


def test_corpses_feed_without_new_food():
    env = small(num_food=0, reward_corpse=0.25)
    env.place_snake(0, 0, [(5, 5)])
    env.grid_view(0)[5, 6] = snake.CORPSE
    rewards, _ = step(env, RIGHT)
    assert rewards[0] == 0.25 and env.length[0, 0] == 2 and not (env.grid == snake.FOOD).any()


def test_a_move_into_the_neck_goes_straight_on():
    env = small()
    env.place_snake(0, 0, [(5, 3), (5, 4), (5, 5)])  # heading right
    rewards, terminals = step(env, LEFT)
    assert head(env) == (5, 6) and not terminals[0] and rewards[0] == 0


def test_death_on_walls_bodies_and_its_own_tail():
    env = small(leave_corpse_on_death=False)
    env.place_snake(0, 0, [(2, 5)])
    rewards, terminals = step(env, UP)  # row 1 is wall
    assert rewards[0] == -1.0 and terminals[0] and env.length[0, 0] == 1 and head(env) != (2, 5)
    # Its own tail still counts (it moves on only after the move): a 2x2 loop dies.
    env.place_snake(0, 0, [(5, 5), (5, 6), (6, 6), (6, 5)])
    rewards, terminals = step(env, UP)
    assert terminals[0] and (env.grid_view(0) == 7).sum() == 1  # the body vanished, no corpses
    assert env.log[0, 0] == 2 and env.log[0, 3] == 1 + 4  # two deaths, lengths 1 and 4
    assert env.log[0, 2] == 2 and env.log[0, snake.LOG_PERF] == 1 / 1 + 4 / 1


def test_a_dead_snake_leaves_corpses_on_every_other_cell():
    env = small(num_snakes=2)
    env.place_snake(0, 1, [(9, 9), (9, 8)])  # out of the way
    body = [(2, 3), (2, 4), (2, 5), (2, 6), (2, 7)]  # tail first; the head at (2, 7), under the wall
    env.place_snake(0, 0, body)
    step(env, UP, LEFT)
    grid = env.grid_view(0)
    # Cell k from the head becomes a corpse when length - k is even: k = 1 and 3.
    expected = [snake.EMPTY, snake.CORPSE, snake.EMPTY, snake.CORPSE, snake.EMPTY]
    for cell, code in zip(body, expected):
        assert grid[cell] == (7 if cell == head(env) else code)  # (unless it respawned there)
    episode = env.log[0]
    assert episode[0] == 1 and episode[3] == 5 and episode[1] == -1.0


def test_snakes_move_in_index_order_and_see_each_other():
    env = small(num_snakes=3)
    env.place_snake(0, 0, [(5, 4)])
    env.place_snake(0, 1, [(5, 6)])
    env.place_snake(0, 2, [(8, 8)])
    # Snake 0 enters (5, 5) first; snake 1 then runs into it.
    rewards, terminals = step(env, RIGHT, LEFT, UP)
    assert list(terminals) == [False, True, False] and rewards[1] == -1.0
    obs = env.observations[2]
    assert obs[2, 2] == 4 + 2 % 4  # snake 2's own colour at the centre
    # Colours: 7 for snake 0, then 4 + s % 4 (snake 3 shares snake 0's colour).
    assert [snake.snake_colour(s) for s in range(6)] == [7, 5, 6, 7, 4, 5]


def test_length_stops_at_max_snake_length_minus_one():
    env = small(max_snake_length=3)
    env.place_snake(0, 0, [(5, 3), (5, 4)])
    grid = env.grid_view(0)
    grid[5, 5] = snake.CORPSE
    grid[5, 6] = snake.CORPSE
    step(env, RIGHT)
    assert env.length[0, 0] == 2 and grid[5, 3] == snake.EMPTY  # full: eating moves the tail on


def test_food_that_finds_no_free_cell_is_dropped():
    """Difference from 3.0 (which loops forever): a 2 x 2 field holding a snake and 3 food."""
    env = Snake(num_envs=1, width=4, height=4, num_snakes=1, num_food=3, vision=1)
    env.reset(seed=0)
    r, c = head(env)
    move = next(a for a, (dr, dc) in enumerate([(-1, 0), (1, 0), (0, -1), (0, 1)]) if 1 <= r + dr <= 2
                and 1 <= c + dc <= 2)
    rewards, terminals = step(env, move)
    assert rewards[0] == pytest.approx(0.1) and not terminals[0]
    assert env.length[0, 0] == 2 and (env.grid == snake.FOOD).sum() == 2


def test_arguments_are_checked():
    with pytest.raises(APIUsageError, match="width"):
        Snake(width=11, height=20, vision=5)  # at least 2 * vision + 2
    with pytest.raises(APIUsageError, match="do not fit"):
        Snake(width=12, height=12, vision=5, num_snakes=2, num_food=3)
    env = Snake(width=20, height=15, vision=2, num_snakes=2, num_food=5, max_snake_length=5000)
    assert env.max_snake_length == 300 and env.single_observation_space.shape == (5, 5)


# -- replays of 3.0's C game -------------------------------------------------------------


def test_replays_3_0s_c_game_with_its_random_numbers():
    """The fixture: 2000 steps of 3.0's C game, 8 snakes on a 40 x 30 grid with 30 food (a
    player that eats when it can, else moves to a free cell, randomly 10% of the time:
    hundreds of deaths, corpses, food). Observations, rewards and random draws match step for
    step; terminals differ as documented: ours flag every death, 3.0 flags none."""
    data = load("snake")
    env = Snake(num_envs=1, **json.loads(str(data["kwargs"])))
    result = replay("snake", env)
    expected, actual = result.expected, result.actual
    np.testing.assert_array_equal(actual["observations"], expected["observations"])
    np.testing.assert_array_equal(actual["rewards"], expected["rewards"])
    deaths = expected["rewards"] == env.reward_death
    assert not expected["terminals"].any() and deaths.sum() > 200
    np.testing.assert_array_equal(actual["terminals"], deaths)
    assert not actual["truncations"].any()
    assert result.draws == len(expected["tape"])
    assert (expected["rewards"] > 0).sum() > 1000


def test_3_0s_neck_check_reads_the_previous_snakes_buffer():
    """Difference from 3.0: its neck check reads the buffer slot before the head's, and for a
    snake ``s >= 1`` whose head is in slot 0 that is the last slot of snake ``s - 1``'s
    buffer: the snake runs into its own neck and dies. Ours goes straight on. The fixture
    (3 snakes, max_snake_length 6, so heads wrap to slot 0 often) matches 3.0 until the first
    such move, which is where it first differs."""
    data = load("snake_neck")
    env = Snake(num_envs=1, **json.loads(str(data["kwargs"])))
    env.use_random_tape(data["tape"].astype(np.uint64)[None])
    env.reset(seed=0)
    moves = np.array([-env.width, env.width, -1, 1])
    for t, actions in enumerate(data["actions"]):
        into_neck = [
            s
            for s in range(env.num_snakes)
            if env.length[0, s] > 1
            and env.body[0, s, env.head[0, s]] + moves[actions[s]]
            == env.body[0, s, (env.head[0, s] - 1) % env.max_snake_length]
        ]
        wrapped = [s for s in into_neck if s >= 1 and env.head[0, s] == 0]
        obs, rewards, _, _, _ = env.step(actions)
        if wrapped:
            break
        np.testing.assert_array_equal(obs, data["observations"][t + 1], err_msg=f"step {t}")
        np.testing.assert_array_equal(rewards, data["rewards"][t])
    else:
        pytest.fail("the fixture never reached 3.0's neck defect")
    for s in wrapped:
        assert data["rewards"][t, s] == env.reward_death and rewards[s] != env.reward_death
    assert t > 10


# -- learning -------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_snakes_learn_to_eat_and_live_longer(tmp_path):
    """The shipped ``ocean:snake`` settings (one grid of 256 snakes) with a 200k-step budget
    (about 40 s on one core). Random snakes do not die fast (a move into the neck goes
    straight on; walls are far): they reach length ~3.8 in 600 steps. Trained ones grow longer."""
    import test_ocean_native

    policy, config = test_ocean_native.train_shipped("snake", tmp_path, 200_000)
    random = test_ocean_native.play_stats(config, None, 600)
    trained = test_ocean_native.play_stats(config, policy, 600)
    assert random["score"] < 5.0
    assert trained["score"] >= random["score"] + 1.5
    assert trained["episode_return"] > random["episode_return"] + 0.1
