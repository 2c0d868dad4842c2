"""Freeway (ocean:freeway), a port of PufferLib 3.0's ``freeway``: rules, replays of recorded 3.0
games, and learning."""

from __future__ import annotations

import json

import numpy as np
import pytest
from replay import first_mismatch, load, replay

from pufferlib.environments.ocean.native import freeway
from pufferlib.environments.ocean.native.freeway import (
    BEST,
    CAR_VX,
    CAR_X,
    HITS,
    HUMAN_Y,
    LEVEL,
    PLAYER,
    SCORE,
    SPEED,
    STUN,
    TICK,
    Freeway,
    Y,
)

NOOP, UP, DOWN = freeway.NOOP, freeway.UP, freeway.DOWN
START_Y = 720 - 32  # the chicken's start, below the road
STEP_Y = np.float32(np.float32(np.float32(1.0) / np.float32(3.5)) * np.float32(720)) / np.float32(60)


def quiet_road(**kwargs) -> Freeway:
    """One game at level 0 whose cars stand still far from the chicken's column."""
    env = Freeway(num_envs=1, **kwargs)
    env.reset(seed=0)
    env.floats[0, CAR_VX:] = 0.0
    env.floats[0, CAR_X:CAR_VX] = 1000.0
    return env


def step(env: Freeway, action: int) -> tuple[float, bool]:
    _, rewards, terminals, truncations, _ = env.step(np.array([action]))
    assert not truncations[0]
    return float(rewards[0]), bool(terminals[0])


# -- constants ------------------------------------------------------------------------------


def test_speeds_and_lanes_are_3_0s():
    """3.0's speeds: 1.0f / 13.0f, then 1.35 ** k / 13 (in double, stored as float)."""
    expected = [np.float32(1.0) / np.float32(13.0)] + [np.float32(1.35 ** k / 13.0) for k in range(1, 6)]
    np.testing.assert_allclose(freeway.SPEEDS, expected, rtol=1e-7)
    table = freeway.car_table(1216, 720, 64, 64, 40)
    np.testing.assert_array_equal(table[0, freeway.T_Y, ::3], 648 - 64 * np.arange(10))
    assert table[3, freeway.T_HALF_W, 0] == 64 and table[0, freeway.T_HALF_W, 0] == 32  # trucks are longer
    assert table[1, freeway.T_PRESENT].sum() == freeway.CARS[1].sum() == 20
    assert table[2, freeway.T_START_X, 1] == np.float32(0.2) * np.float32(1216)


# -- rules ----------------------------------------------------------------------------------


def test_the_chicken_moves_a_frame_at_a_time_and_stays_on_screen():
    env = quiet_road()
    step(env, UP)
    expected = np.float32(START_Y)
    for _ in range(4):
        expected = expected - STEP_Y
    assert env.floats[0, Y] == expected
    assert env.observations[0, 0] == expected / np.float32(720)
    step(env, DOWN)
    step(env, DOWN)  # clipped at the bottom
    assert env.floats[0, Y] == START_Y


def test_each_new_lane_gives_a_tenth_and_the_crossing_a_point():
    env = quiet_road()
    total, lanes = 0.0, []
    for _ in range(60):
        reward, _ = step(env, UP)
        total += reward
        lanes.append(int(env.ints[0, BEST]))
        if env.ints[0, SCORE]:
            break
    # Back at the start mid-step, then up again for the step's remaining frames.
    assert env.ints[0, SCORE] == 1 and env.ints[0, BEST] == 0 and env.floats[0, Y] > START_Y - 4 * STEP_Y
    assert max(lanes) == 9 and total == pytest.approx(2.0, abs=1e-5)  # 10 lanes x 0.1, + 1
    assert env.observations[0, 2] == np.float32(1 / 25)  # score / level 0's human high score
    down = step(env, DOWN)[0]
    assert down == 0.0


def test_sparse_rewards_pay_2_for_a_crossing_only():
    env = quiet_road(use_dense_rewards=False)
    rewards = [step(env, UP)[0] for _ in range(60)]
    assert sorted(set(rewards)) == [0.0, 2.0] and rewards.count(2.0) == 1


def test_a_car_stuns_and_pushes_the_chicken_back():
    env = quiet_road()
    step(env, UP)
    y = env.floats[0, Y]
    env.floats[0, CAR_X] = 1216 // 4  # lane 0's car onto the chicken (its lane overlaps the start)
    reward, _ = step(env, UP)
    assert reward == pytest.approx(-0.01) and env.ints[0, HITS] == 1 and env.observations[0, 3] == 1
    # The hit came on the first frame; then 3 frames of stun, pushed back 2.4 pixels each.
    push = (np.float32(1.5) * np.float32(64)) / np.float32(40)
    expected = y - STEP_Y
    for _ in range(3):
        expected = expected + push
    assert env.floats[0, Y] == expected
    assert env.ints[0, STUN] == freeway.STUN_FRAMES - 3
    env.floats[0, CAR_X] = 1000.0
    for _ in range(9):
        step(env, UP)  # stunned: "up" does nothing
    assert env.ints[0, STUN] == 1 and env.floats[0, Y] == START_Y
    step(env, UP)
    assert env.ints[0, STUN] == 0 and env.floats[0, Y] < START_Y and env.ints[0, HITS] == 1


def test_difficulty_1_sends_the_chicken_back_without_a_stun():
    env = quiet_road(difficulty=1)
    for _ in range(20):
        step(env, UP)
    lane = int(env.ints[0, BEST])
    assert lane >= 3
    env.floats[0, CAR_X + 3 * (lane - 1)] = 1216 // 4  # the car of the lane just below
    env.floats[0, CAR_X + 3 * lane] = 1216 // 4
    step(env, UP)
    assert env.ints[0, HITS] >= 1 and env.ints[0, STUN] == 0 and env.observations[0, 3] == 0
    assert env.ints[0, BEST] == lane  # the furthest lane of this crossing is kept


def test_the_game_is_over_after_136_seconds():
    env = Freeway(num_envs=2, report_interval=10**9)
    env.reset(seed=1)
    for t in range(1, 2041):
        _, _, terminals, truncations, _ = env.step(np.array([UP, NOOP]))
        assert terminals.all() == (t == 2040) and not truncations.any()
    assert env.log[:, 0].tolist() == [1, 1] and (env.ints[:, TICK] == 0).all()
    info = env._means(env.log.sum(axis=0))
    assert info["episode_length"] == 2040 and {"perf", "up_action_frac", "hits"} <= set(info)
    assert env.log[0, 4 + freeway.LOG_UP] == 1.0 and env.log[1, 4 + freeway.LOG_UP] == 0.0


def test_levels_4_to_7_change_each_lanes_speed_every_360_frames():
    env = Freeway(num_envs=8, level=4)
    env.reset(seed=3)
    start = env.ints[:, SPEED:].copy()
    for _ in range(89):
        env.step(np.zeros(8, dtype=np.int64))
    assert (env.ints[:, SPEED:] == start).all()
    env.step(np.zeros(8, dtype=np.int64))  # frame 360
    changed = env.ints[:, SPEED:] != start
    assert changed.any()
    assert (np.abs(env.ints[:, SPEED:] - start) <= 1).all()
    lanes = env.ints[:, SPEED:].reshape(8, 10, 3)
    assert (lanes == lanes[:, :, :1]).all()  # a lane's cars change together
    vx = env.floats[:, CAR_VX:CAR_VX + 3 * 5:3]  # lower lanes drive right
    np.testing.assert_array_equal(vx, freeway.SPEEDS[env.ints[:, SPEED:SPEED + 15:3]] / np.float32(60) * 1216)
    still = Freeway(num_envs=8, level=0)
    still.reset(seed=3)
    before = still.ints[:, SPEED:].copy()
    for _ in range(400):
        still.step(np.zeros(8, dtype=np.int64))
    assert (still.ints[:, SPEED:] == before).all()


def test_level_minus_1_draws_a_level_per_game_and_keeps_it():
    env = Freeway(num_envs=64, level=-1)
    env.reset(seed=0)
    levels = env.ints[:, LEVEL].copy()
    assert len(set(levels.tolist())) == 8
    for _ in range(2041):
        env.step(np.zeros(64, dtype=np.int64))
    assert (env.ints[:, LEVEL] == levels).all() and env.log[:, 0].sum() == 64


def test_the_second_chicken_is_simulated_but_changes_nothing():
    """3.0 adds the second chicken's hit penalties to the agent's reward; here it stands apart."""
    plain, with_human = Freeway(num_envs=4), Freeway(num_envs=4, enable_human_player=True)
    plain.reset(seed=2)
    with_human.reset(seed=2)
    rng = np.random.default_rng(0)
    for _ in range(500):
        actions = rng.integers(0, 3, 4)
        a, b = plain.step(actions), with_human.step(actions)
        for x, y in zip(a[:4], b[:4]):
            np.testing.assert_array_equal(x, y)
    assert with_human.ints[:, HITS + PLAYER].sum() > 0  # lane 0's cars reach the start
    assert (with_human.floats[:, HUMAN_Y] == START_Y).all()
    assert (with_human.ints[:, SCORE + PLAYER] == 0).all()
    assert "H" in with_human.render_ansi()


def test_bad_options_are_refused():
    from pufferlib.exceptions import APIUsageError

    with pytest.raises(APIUsageError, match="level"):
        Freeway(level=8)
    with pytest.raises(APIUsageError, match="difficulty"):
        Freeway(difficulty=2)
    with pytest.raises(APIUsageError, match="road"):
        Freeway(lane_size=100)


# -- replays of PufferLib 3.0 ---------------------------------------------------------------

# 3.0's vec_log after the level-4 fixture's 2100 steps (one game), from its own C game.
C_LOG = {"perf": 0.6000000238418579, "score": 15.0, "episode_return": 30.110029220581055,
         "up_action_frac": 0.8436274528503418, "hits": 59.0}


def test_replays_pufferlib3_step_for_step():
    """A recorded 3.0 game at level 4 (up 3 times in 4: 15 crossings, 59 hits, one game over
    and restart) replays exactly with its own random numbers: every observation, reward and
    terminal, and the episode statistics.

    3.0's speed change runs through an uninitialized pointer (see the module docstring): in the
    recorded build it changes no speed during a game, only on the step that restarts one. Here
    the speeds change every 360 frames: the replay asserts that they do, then puts them back
    where 3.0 left them.
    """
    data = load("freeway")
    env = Freeway(num_envs=1, report_interval=10**9, **json.loads(str(data["kwargs"])))
    env.use_random_tape(data["tape"].astype(np.uint64)[None])
    obs, _ = env.reset(seed=0)
    observations, rewards, terminals, changes = [obs.copy()], [], [], []
    for t, action in enumerate(data["actions"]):
        speeds, velocities = env.ints[0, SPEED:].copy(), env.floats[0, CAR_VX:].copy()
        obs, reward, terminal, _, _ = env.step(action)
        if not (env.ints[0, SPEED:] == speeds).all() and not terminal[0]:
            changes.append(t)
            env.ints[0, SPEED:], env.floats[0, CAR_VX:] = speeds, velocities
        observations.append(obs.copy())
        rewards.append(reward.copy())
        terminals.append(terminal.copy())
    assert first_mismatch(data["observations"], np.array(observations)) is None
    assert first_mismatch(data["rewards"], np.array(rewards)) is None
    assert first_mismatch(data["terminals"], np.array(terminals)) is None
    assert env.rng[0, 0] == len(data["tape"])
    assert len(changes) >= 20 and all((t + 1) * 4 % 360 == 0 for t in changes)
    ours = env._means(env.log.sum(axis=0))
    assert ours["n"] == 1
    for key, value in C_LOG.items():
        assert ours[key] == pytest.approx(value, rel=1e-6), key


def test_replays_pufferlib3_with_sparse_rewards_and_difficulty_1():
    """Level 1 (two or three cars in most lanes, trucks in lane 5), sparse rewards, sent back
    on a hit: 800 steps with 2 crossings replay exactly."""
    data = load("freeway_sparse")
    env = Freeway(num_envs=1, **json.loads(str(data["kwargs"])))
    result = replay("freeway_sparse", env)
    for key in ("observations", "rewards", "terminals"):
        assert first_mismatch(result.expected[key], result.actual[key]) is None, key
    assert result.draws == len(data["tape"]) and result.expected["rewards"].sum() == 4.0


# -- learning --------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_learns_to_cross_the_road(tmp_path):
    """400k steps of the shipped configuration (~30 s on one core; it ships 5M), all levels:
    random play hardly ever crosses (score ~0); the trained chicken crosses ~9 times a game."""
    from short_training import play_stats, train

    policy, config = train("freeway", 400_000, tmp_path)
    random, trained = play_stats(config, None, 2100), play_stats(config, policy, 2100)
    assert random["score"] < 1 and trained["score"] >= 6
