"""ocean:pong, PufferLib 3.0's puffer_pong: rules on hand-built states, replays of the C game
(step for step, with the documented fixes asserted exactly), and learning."""

from __future__ import annotations

import numpy as np
import pytest
from replay import first_mismatch, replay

from pufferlib.environments.ocean.native import pong as pg
from pufferlib.environments.ocean.native.pong import Pong
from pufferlib.exceptions import APIUsageError

F32 = np.float32
STILL, UP, DOWN = 0, 1, 2


def started(tape: list[int] | None = None, **kwargs) -> Pong:
    """One game after reset (with ``tape`` as its rand() values, if given)."""
    env = Pong(num_envs=1, **kwargs)
    if tape is not None:
        env.use_random_tape(np.array([tape], dtype=np.uint64))
    env.reset(seed=0)
    return env


def place(env: Pong, **columns: float) -> np.ndarray:
    s = env.state[0]
    for name, value in columns.items():
        s[getattr(pg, name)] = value
    env.sync_observations()
    return s


def step(env: Pong, action: int = STILL) -> tuple[float, bool]:
    _, rewards, terminals, truncations, _ = env.step(np.array([action]))
    assert not truncations[0]
    return float(rewards[0]), bool(terminals[0])


def serve_observation(vy: float, score_l: int = 0, score_r: int = 0) -> np.ndarray:
    """The observation of a new point: paddles centred, the ball at (100, 304) moving right."""
    values = [0.5, 0.5, 0.2, 304 / 640, 1.0, (vy + 13) / 26, score_l / 21, score_r / 21]
    return np.array(values, dtype=np.float32)


@pytest.mark.parametrize("draw, vy", [(0, -1.0), (1, 0.0)])
def test_a_point_starts_with_the_ball_moving_right_and_rand_picks_its_vertical_speed(draw, vy):
    env = started(tape=[draw])
    np.testing.assert_array_equal(env.observations[0], serve_observation(vy))
    s = env.state[0]
    assert (s[pg.PADDLE_L], s[pg.PADDLE_R], s[pg.BALL_X], s[pg.BALL_Y], s[pg.BALL_VX], s[pg.BALL_VY]) == (
        285, 285, 100, 304, 10, vy)


def test_the_paddles_move_at_paddle_speed_and_stay_in_range():
    env = started(tape=[1], frameskip=4)
    s = place(env, BALL_Y=600.0, BALL_VY=0.0)
    step(env, UP)
    assert s[pg.PADDLE_R] == 285 + 32 and s[pg.PADDLE_L] == 285 + 32  # the opponent chases at 8 px per frame
    step(env, DOWN)
    assert s[pg.PADDLE_R] == 285
    place(env, PADDLE_R=600.0, PADDLE_L=530.0, BALL_Y=560.0)
    step(env, UP)
    assert s[pg.PADDLE_R] == 605  # height - paddle_height / 2
    # The opponent centres itself on the ball's y (its bottom edge), by at most 8 px a frame.
    assert s[pg.PADDLE_L] == 560 - 35
    place(env, PADDLE_R=-30.0)
    step(env, DOWN)
    assert s[pg.PADDLE_R] == -35 and env.observations[0, 1] == 0


def test_the_ball_bounces_off_the_top_and_bottom():
    env = started(tape=[1])
    s = place(env, BALL_X=250.0, BALL_Y=2.0, BALL_VY=-5.0)
    step(env)
    assert s[pg.BALL_Y] == -3 and s[pg.BALL_VY] == 5  # flipped once outside, not clamped
    place(env, BALL_Y=640.0 - 32 - 1, BALL_VY=4.0)
    step(env)
    assert s[pg.BALL_VY] == -4


@pytest.mark.parametrize("action, vy, bent", [(UP, 2.0, 5.0), (DOWN, 2.0, -1.0), (STILL, 2.0, 2.0),
                                              (UP, 12.0, 13.0), (DOWN, 3.0, 3.0)])
def test_the_agent_returns_the_ball_for_0_1_and_its_motion_bends_it(action, vy, bent):
    """vy gains 3 * direction, clamped to 13; a nearly flat ball (3 - 3 = 0) gets +3."""
    env = started(tape=[1])
    s = place(env, BALL_X=500.0 - 32 - 5, BALL_Y=300.0, BALL_VX=10.0, BALL_VY=vy, PADDLE_R=300.0)
    reward, terminal = step(env, action)
    assert reward == F32(0.1) and not terminal
    assert s[pg.BALL_VX] == -10 and s[pg.BALL_VY] == bent
    assert s[pg.BALL_X] == 500 - 32  # clamped back into the field


def test_the_opponent_returns_what_it_reaches_and_misses_the_rest():
    env = started(tape=[1, 0])
    s = place(env, BALL_X=5.0, BALL_Y=300.0, BALL_VX=-10.0, BALL_VY=0.0, PADDLE_L=280.0)
    reward, _ = step(env)
    assert reward == 0 and s[pg.BALL_VX] == 10 and s[pg.BALL_X] == -5  # returned, not clamped
    place(env, BALL_X=5.0, BALL_Y=100.0, BALL_VX=-10.0, BALL_VY=0.0, PADDLE_L=400.0)
    reward, terminal = step(env)
    assert reward == 1 and not terminal and s[pg.SCORE_R] == 1
    np.testing.assert_array_equal(env.observations[0], serve_observation(-1.0, 0, 1))


def test_a_miss_costs_a_point_and_ends_the_step_with_the_new_serve():
    env = started(tape=[1, 1], frameskip=8)
    s = place(env, BALL_X=500.0 - 32 - 5, BALL_Y=100.0, BALL_VX=10.0, BALL_VY=0.0, PADDLE_R=400.0)
    reward, terminal = step(env, UP)
    assert reward == -1 and not terminal and s[pg.SCORE_L] == 1
    # The step's remaining frames are not played: the ball waits at the serve.
    assert (s[pg.BALL_X], s[pg.BALL_Y], s[pg.PADDLE_R]) == (100, 304, 285)
    np.testing.assert_array_equal(env.observations[0], serve_observation(0.0, 1, 0))


def test_the_game_ends_at_21_and_logs_it():
    env = started(tape=[1] * 4)
    place(env, SCORE_L=20.0, SCORE_R=9.0, STEPS=99.0, RETURN=-10.5)
    place(env, BALL_X=500.0 - 32 - 5, BALL_Y=100.0, BALL_VX=10.0, BALL_VY=0.0, PADDLE_R=400.0)
    reward, terminal = step(env)
    assert reward == -1 and terminal
    n, episode_return, length, score, perf = env.log[0]
    assert (n, length, score) == (1, 100, 9 - 21)
    assert episode_return == pytest.approx(-11.5) and perf == F32(9) / F32(30)
    np.testing.assert_array_equal(env.observations[0], serve_observation(0.0))
    assert env.state[0, pg.STEPS] == 0 and env.state[0, pg.RETURN] == 0


def test_the_episode_return_counts_the_returns():
    env = started(tape=[1] * 4)
    place(env, BALL_X=500.0 - 32 - 5, BALL_Y=300.0, BALL_VX=10.0, BALL_VY=2.0, PADDLE_R=300.0)
    step(env)
    assert env.state[0, pg.RETURN] == F32(0.1)


def test_continuous_actions_move_and_bend_by_their_value_clipped():
    env = started(tape=[1], continuous=True)
    s = place(env, BALL_X=500.0 - 32 - 5, BALL_Y=300.0, BALL_VX=10.0, BALL_VY=2.0, PADDLE_R=300.0)
    env.step(np.array([[0.5]], dtype=np.float32))
    assert s[pg.PADDLE_R] == 304 and s[pg.BALL_VY] == 2 + 1.5
    env.step(np.array([[-7.0]], dtype=np.float32))
    assert s[pg.PADDLE_R] == 296
    with pytest.raises(APIUsageError, match="out of range"):
        env.step(np.array([[np.nan]], dtype=np.float32))


@pytest.mark.parametrize("kwargs, match", [
    ({"frameskip": 0}, "frameskip"), ({"max_score": 0}, "max_score"), ({"paddle_speed": -1}, "paddle_speed"),
    ({"ball_height": 700}, "ball"), ({"width": "wide"}, "width"),
])
def test_bad_parameters_are_api_usage_errors(kwargs, match):
    with pytest.raises(APIUsageError, match=match):
        Pong(**kwargs)


# -- replays of 3.0's C game --------------------------------------------------------------


def scores(rewards: np.ndarray, terminals: np.ndarray) -> np.ndarray:
    """Each side's points after reset and after each step, ``(steps + 1, 2)``: (opponent, agent)."""
    points = np.zeros((len(rewards) + 1, 2))
    for t, (reward, terminal) in enumerate(zip(rewards, terminals)):
        points[t + 1] = 0 if terminal else points[t] + (reward == -1, reward == 1)
    return points


@pytest.mark.parametrize("fixture, kwargs", [
    ("pong", {"frameskip": 8}),
    ("pong_frameskip1", {}),
    ("pong_continuous", {"frameskip": 4, "continuous": True}),
])
def test_replays_the_c_game_with_its_two_observation_fixes(fixture, kwargs):
    """Our port fed the C game's actions and rand() values reproduces its rewards and terminals
    at every step, and its observations except where 3.0 is wrong (module docstring):

    - the score observations: 3.0's are always 0 (integer division), ours the points / 21;
    - a step that scores a point (not the last): 3.0 shows the frame before the point (with
      frameskip 1, the previous step's observation again), ours the new serve.

    Recordings by a scripted tracker (``bench/pufferlib3/policy_pong.py``): ``pong``, 3.0's
    training setting (frameskip 8), ten games; ``pong_frameskip1`` (3.0's default), long
    rallies; ``pong_continuous``, continuous actions (some past [-1, 1]), frameskip 4.
    """
    run = replay(fixture, Pong(num_envs=1, **kwargs))
    assert run.kwargs == kwargs and run.draws == len(run.expected["tape"])
    expected, actual = run.expected, run.actual
    for key in ("rewards", "terminals"):
        assert first_mismatch(expected[key], actual[key]) is None, key
    rewards, terminals = expected["rewards"][:, 0], expected["terminals"][:, 0]
    c_obs, our_obs = expected["observations"][:, 0], actual["observations"][:, 0]
    point = np.zeros(len(c_obs), dtype=bool)
    point[1:] = (np.abs(rewards) == 1) & ~terminals
    assert first_mismatch(c_obs[~point, :6], our_obs[~point, :6]) is None
    serves = our_obs[point]
    np.testing.assert_array_equal(serves[:, :5], np.tile(serve_observation(0.0)[:5], (len(serves), 1)))
    assert set(serves[:, 5]) <= {F32(12 / 26), F32(13 / 26)}
    if kwargs.get("frameskip", 1) == 1:
        np.testing.assert_array_equal(c_obs[point, :6], c_obs[np.flatnonzero(point) - 1, :6])
    assert not c_obs[:, 6:].any()
    np.testing.assert_array_equal(our_obs[:, 6:], (scores(rewards, terminals) / 21).astype(np.float32))
    # What the recording covers.
    assert point.sum() >= 12 and (rewards == F32(0.1)).sum() >= 50 and (rewards == 1).any()
    if fixture == "pong":
        assert terminals.sum() >= 5


# -- learning -----------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_pong_learns_to_beat_random_play(tmp_path):
    """The shipped ["ocean:pong"] configuration, trained for 800_000 steps (its table's budget
    is 3.0's reference budget), beats random play by a clear margin."""
    from test_ocean_native import play_stats, train_shipped

    policy, config = train_shipped("pong", tmp_path, total_timesteps=800_000)
    random, trained = play_stats(config, None, 2000), play_stats(config, policy, 2000)
    assert trained["score"] >= random["score"] + 10, (random, trained)
