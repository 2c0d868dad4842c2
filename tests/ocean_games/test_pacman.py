"""Pac-Man (ocean/native/pacman.py): rules on hand-built states, replays of PufferLib 3.0's C game
step for step, and learning."""

from __future__ import annotations

import json

import numpy as np
import pytest
from replay import first_mismatch, load, replay

from pufferlib.environments.ocean.native import pacman as P
from pufferlib.environments.ocean.native.pacman import Pacman
from pufferlib.exceptions import APIUsageError

F32 = np.float32
DOWN, UP, RIGHT, LEFT = P.DOWN, P.UP, P.RIGHT, P.LEFT


def game(tape: list[int] | None = None, **kwargs) -> Pacman:
    """One game, reset; with ``tape``, its rand() values (the first four: the ghosts' delays)."""
    env = Pacman(num_envs=1, **kwargs)
    if tape is not None:
        env.use_random_tape(np.array([tape], dtype=np.uint64))
    env.reset(seed=0)
    return env


def ghost(i: int, field: int) -> int:
    return P.GHOST_BASE + i * P.GHOST_FIELDS + field


def park_ghosts(env: Pacman, timeout: int = 1000) -> None:
    """Every ghost at home with a long delay: it turns on its tile but never moves."""
    for i in range(P.NUM_GHOSTS):
        env.state[0, ghost(i, P.GTIMEOUT)] = timeout


def put(env: Pacman, x: int, y: int, direction: int = RIGHT) -> None:
    env.state[0, P.PX], env.state[0, P.PY], env.state[0, P.PDIR] = x, y, direction


def step(env: Pacman, action: int) -> tuple[float, bool, bool]:
    _, rewards, terminals, truncations, _ = env.step(np.array([action]))
    return float(rewards[0]), bool(terminals[0]), bool(truncations[0])


# -- rules ----------------------------------------------------------------------------------


def test_the_maze_has_240_pellets_4_power_pellets_and_no_dead_end():
    assert P.NUM_PICKUPS == 244 and P.IS_POWER.sum() == 4 and len(P.SPAWN_TILES) == 240
    assert P.NUM_OBS == 291 and (P.PLAYER_SPAWN % P.WIDTH, P.PLAYER_SPAWN // P.WIDTH) == (13, 23)
    assert list(zip(P.GHOST_SPAWN_X, P.GHOST_SPAWN_Y)) == [(14, 11), (13, 11), (12, 11), (15, 11)]
    floor = [y * P.WIDTH + x for y, row in enumerate(P.MAZE) for x, tile in enumerate(row) if tile != "#"]
    for cell in floor:
        for direction in range(4):  # whatever a ghost faces, it has a way on
            assert P.OPEN[cell] & ~(1 << (direction ^ 1))
    assert P.OPEN[14 * P.WIDTH + 0] & (1 << LEFT)  # the tunnel


def test_a_new_game_draws_the_ghosts_delays_then_the_start():
    env = game([10, 20, 30, 40, 1000])
    delays = [env.state[0, ghost(i, P.GTIMEOUT)] for i in range(4)]
    assert delays == [10 % 49, 20 % 49, 30 % 49, 40 % 49] and int(env.rng[0, 0]) == 4
    assert (env.state[0, P.PX], env.state[0, P.PY], env.state[0, P.PDIR]) == (13, 23, RIGHT)
    env = game([10, 20, 30, 40, 1000], randomize_starting_position=True)
    cell = P.SPAWN_TILES[1000 % 240]
    assert (env.state[0, P.PX], env.state[0, P.PY]) == (cell % P.WIDTH, cell // P.WIDTH)
    env = game([7], min_start_timeout=5, max_start_timeout=5)  # equal bounds: no draw
    assert int(env.rng[0, 0]) == 0 and env.state[0, ghost(0, P.GTIMEOUT)] == 5
    obs = env.observations[0]
    assert obs[0] == F32(13) * (F32(1) / F32(28)) and obs[1] == F32(23) * (F32(1) / F32(31))
    np.testing.assert_array_equal(obs[2:10], [0, 0, 0, 1, 0, 0, 1, 1])  # facing right; left, right open
    assert obs[P.PICKUP_OBS:].sum() == 244


def test_pacman_eats_pellets_keeps_going_into_walls_and_wraps_through_the_tunnel():
    env = game([0, 0, 0, 0])
    park_ghosts(env)
    reward, terminal, _ = step(env, LEFT)  # (12, 23) has a pellet
    assert (reward, terminal) == (1.0, False) and env.state[0, P.SCORE] == 1
    k = P.PICKUP[23 * P.WIDTH + 12]
    assert env.pickups[0, k] == 0 and env.observations[0, P.PICKUP_OBS + k] == 0
    assert step(env, DOWN)[0] == 1.0 and env.state[0, P.PDIR] == LEFT  # down is a wall: on to the left
    assert (env.state[0, P.PX], env.state[0, P.PY]) == (11, 23)
    put(env, 1, 1, LEFT)
    step(env, LEFT)  # left and on: both walls
    assert (env.state[0, P.PX], env.state[0, P.PY]) == (1, 1)
    put(env, 0, 14, LEFT)
    step(env, LEFT)
    assert (env.state[0, P.PX], env.state[0, P.PY]) == (27, 14)
    assert step(env, RIGHT)[0] == 0.0 and env.state[0, P.PX] == 0


def test_modes_alternate_scatter_first_and_stop_after_max_mode_changes():
    env = game([0, 0, 0, 0], scatter_mode_length=3, chase_mode_length=5, max_mode_changes=2)
    park_ghosts(env)
    modes = []
    for _ in range(20):
        step(env, LEFT if env.state[0, P.PX] > 10 else RIGHT)
        modes.append(int(env.state[0, P.SCATTER]))
    # Changes at steps 1 (scatter), 4 (chase), 9 (scatter); 3 changes > 2: it stays.
    assert modes == [1, 1, 1, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]
    assert env.state[0, P.MODE_CHANGES] == 3


def test_a_mode_change_reverses_the_ghosts():
    env = game([0, 0, 0, 0], scatter_mode_length=3)
    park_ghosts(env)
    directions = [env.state[0, ghost(0, P.GDIR)]]
    for _ in range(4):
        step(env, LEFT)
        directions.append(int(env.state[0, ghost(0, P.GDIR)]))
    # Step 1 (scatter begins) and step 4 (chase) reverse Pinky; between, it picks its way.
    assert directions[1] == directions[0] ^ 1 and directions[4] == directions[3] ^ 1


def test_a_ghost_heads_for_its_target_with_ties_broken_down_up_right_left():
    env = game([0, 0, 0, 0])
    park_ghosts(env)
    env.state[0, P.MODE_LEFT] = 100  # no mode change for now: chase, no reversal
    env.state[0, P.MODE_CHANGES] = 1
    b = ghost(1, 0)  # Blinky chases Pac-Man himself
    env.state[0, b + P.GX], env.state[0, b + P.GY], env.state[0, b + P.GDIR] = 6, 5, RIGHT
    env.state[0, b + P.GTIMEOUT] = -1
    put(env, 6, 8, RIGHT)  # straight below (6, 5): down is nearest
    step(env, RIGHT)
    assert (env.state[0, b + P.GX], env.state[0, b + P.GY], env.state[0, b + P.GDIR]) == (6, 6, DOWN)
    env.state[0, b + P.GX], env.state[0, b + P.GY], env.state[0, b + P.GDIR] = 6, 5, DOWN
    put(env, 6, 1, DOWN)  # Pac-Man above, but up is straight back: right and left tie (17), right wins
    step(env, RIGHT)
    assert (env.state[0, b + P.GX], env.state[0, b + P.GY], env.state[0, b + P.GDIR]) == (7, 5, RIGHT)


def test_a_power_pellet_frightens_the_ghosts_which_flee_at_half_speed_and_can_be_eaten():
    env = game([0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1], frightened_time=10)
    park_ghosts(env)
    env.state[0, P.MODE_LEFT], env.state[0, P.MODE_CHANGES] = 1000, 1
    b = ghost(1, 0)
    env.state[0, b + P.GX], env.state[0, b + P.GY], env.state[0, b + P.GDIR] = 6, 5, LEFT
    env.state[0, b + P.GTIMEOUT], env.state[0, b + P.GHALF] = -1, 1
    put(env, 2, 3, UP)  # the power pellet at (1, 3) is to the left
    reward, _, _ = step(env, LEFT)
    assert reward == 1.0 and env.state[0, P.FRIGHT_LEFT] == 10
    assert all(env.state[0, ghost(i, P.GFRIGHT)] for i in range(4))
    assert env.observations[0, 10] == 1.0 and env.observations[0, P.PLAYER_OBS + 9 + 7] == 1
    # Fright cleared Blinky's half step at the start of this step: it reverses and moves now,
    # then moves every other step, in random directions.
    assert (env.state[0, b + P.GX], env.state[0, b + P.GY], env.state[0, b + P.GDIR]) == (7, 5, RIGHT)
    positions = []
    for _ in range(4):
        step(env, DOWN)
        positions.append((int(env.state[0, b + P.GX]), int(env.state[0, b + P.GY])))
    assert positions[0] == (7, 5) and positions[1] != positions[0]
    assert positions[2] == positions[1] and positions[3] != positions[2]
    assert env.observations[0, 10] == F32(6) / F32(10)
    # Pac-Man steps onto a frightened Blinky: reward 1, it returns home.
    gx, gy = positions[-1]
    env.state[0, b + P.GHALF] = 1  # it will not move this step
    cell = gy * P.WIDTH + gx
    direction = next(d for d in range(4) if P.OPEN[cell] >> (d ^ 1) & 1)
    put(env, (gx - P.MOVE_X[direction]) % P.WIDTH, gy - P.MOVE_Y[direction], direction)
    before = env.state[0, P.SCORE]
    reward, terminal, _ = step(env, direction)
    assert not terminal and env.state[0, b + P.GRETURN] == 1 and env.state[0, b + P.GFRIGHT] == 0
    assert reward == 1.0 + (env.state[0, P.SCORE] - before)
    assert env.observations[0, P.PLAYER_OBS + 9 + 8] == 1
    for _ in range(200):  # it goes home and is normal again
        step(env, DOWN)
        if not env.state[0, b + P.GRETURN]:
            break
    assert (env.state[0, b + P.GX], env.state[0, b + P.GY]) == (13, 11) and not env.state[0, b + P.GFRIGHT]


def test_a_normal_ghost_next_to_pacman_catches_him():
    env = game([0, 0, 0, 0, 0, 0, 0, 0])
    env.report_each_episode()
    park_ghosts(env)
    b = ghost(2, 0)
    env.state[0, b + P.GX], env.state[0, b + P.GY] = 9, 5
    put(env, 7, 5, RIGHT)  # Pac-Man steps to (8, 5): Inky is next to him
    _, rewards, terminals, truncations, infos = env.step(np.array([RIGHT]))
    assert terminals[0] and not truncations[0] and rewards[0] == 1.0
    assert infos[0]["score"] == 1 and infos[0]["episode_length"] == 1 and infos[0]["episode_return"] == 1
    assert env.state[0, P.STEPS] == 0 and env.pickups[0].all()  # a new game


def test_eating_the_last_pellet_wins_and_the_step_limit_truncates():
    env = game([0] * 12)
    env.report_each_episode()
    park_ghosts(env)
    env.pickups[0] = 0
    env.pickups[0, P.PICKUP[23 * P.WIDTH + 12]] = 1
    env.state[0, P.REMAINING] = 1
    _, rewards, terminals, truncations, infos = env.step(np.array([LEFT]))
    assert terminals[0] and not truncations[0] and rewards[0] == 1
    park_ghosts(env)
    env.state[0, P.STEPS] = P.MAX_STEPS - 1
    _, _, terminals, truncations, infos = env.step(np.array([LEFT]))
    assert truncations[0] and not terminals[0] and infos[0]["episode_length"] == P.MAX_STEPS


def test_bad_options_are_api_usage_errors():
    with pytest.raises(APIUsageError, match="max_start_timeout"):
        Pacman(min_start_timeout=10, max_start_timeout=5)
    with pytest.raises(APIUsageError, match="frightened_time"):
        Pacman(frightened_time=0)


# -- replays of 3.0's C game --------------------------------------------------------------


@pytest.mark.parametrize("fixture", ["pacman", "pacman_long"])
def test_replays_pufferlib3_step_for_step(fixture):
    """The C game's recordings with their rand() streams (the scripted player of
    bench/pufferlib3/policy_pacman.py; ``pacman``: 5000 steps at the defaults, 21 games, one won;
    ``pacman_long``: 4000 steps, random starts, ghosts held 150-400 steps, 2 mode changes, 20 steps
    of fright, 15 games, two won): observations, rewards and terminals are equal to the bit (no
    recorded game reaches the 10000-step limit, where 3.0 would flag terminal instead of
    truncation)."""
    kwargs = json.loads(str(load(fixture)["kwargs"]))
    run = replay(fixture, Pacman(num_envs=1, **kwargs))
    expected, actual = run.expected, run.actual
    assert run.draws == len(expected["tape"])
    assert first_mismatch(expected["observations"], actual["observations"]) is None
    assert first_mismatch(expected["rewards"], actual["rewards"]) is None
    assert first_mismatch(expected["terminals"], actual["terminals"]) is None
    assert not actual["truncations"].any() and actual["terminals"].sum() >= 15
    assert (actual["rewards"] >= 2).any()  # a pellet and a ghost in one step


# -- learning -----------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_pacman_learns_to_eat_pellets(tmp_path):
    """The shipped ``ocean:pacman`` config on a 1M-step budget (it ships 5M) scores clearly more
    per game than random play (27.4 against 19.8 measured)."""
    from short_training import play_stats, train

    policy, config = train("pacman", 1_000_000, tmp_path)
    random, trained = play_stats(config, None, 1000), play_stats(config, policy, 1000)
    assert trained["score"] >= random["score"] + 5, (trained, random)
