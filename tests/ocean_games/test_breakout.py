"""ocean:breakout, PufferLib 3.0's puffer_breakout: rules on hand-built states, replays of the C
game (same observations, rewards and terminals, step for step), and learning."""

from __future__ import annotations

import math

import numpy as np
import pytest
from replay import first_mismatch, replay

from pufferlib.environments.ocean.native import breakout as bo
from pufferlib.environments.ocean.native.breakout import Breakout
from pufferlib.exceptions import APIUsageError

F32 = np.float32
NOOP, LEFT, RIGHT = 0, 1, 2


def started(tape: list[int] | None = None, **kwargs) -> Breakout:
    """One game after reset (with ``tape`` as its rand() values, if given)."""
    env = Breakout(num_envs=1, **kwargs)
    if tape is not None:
        env.use_random_tape(np.array([tape], dtype=np.uint64))
    env.reset(seed=0)
    return env


def in_play(env: Breakout, x: float, y: float, vx: float, vy: float, **columns: float) -> np.ndarray:
    """Put game 0's ball in play at (x, y) with velocity (vx, vy) (and any other state columns)."""
    s = env.state[0]
    s[bo.BALLS_FIRED] = 1
    s[bo.BALL_X], s[bo.BALL_Y], s[bo.BALL_VX], s[bo.BALL_VY] = x, y, vx, vy
    for name, value in columns.items():
        s[getattr(bo, name)] = value
    env.sync_observations()
    return s


def step(env: Breakout, action: int = NOOP) -> tuple[float, bool]:
    _, rewards, terminals, truncations, _ = env.step(np.array([action]))
    assert not truncations[0]
    return float(rewards[0]), bool(terminals[0])


def break_column(env: Breakout, col: int, below_row: int = -1) -> None:
    """Break the bricks of column ``col`` in the rows after ``below_row``."""
    for row in range(below_row + 1, env.brick_rows):
        env.state[0, bo.BRICKS + row * env.brick_cols + col] = 1.0
    env.sync_observations()


def test_the_first_observation():
    env = started()
    obs = env.observations[0]
    assert obs.shape == (118,) and env.single_observation_space.shape == (118,)
    expected = [257 / 576, 312 / 330, 272 / 576, 135 / 330, 0, 0, 0, 0, 1, 1]
    np.testing.assert_array_equal(obs[:10], np.array(expected, dtype=np.float32))
    assert not obs[10:].any()  # 0: intact
    assert env.max_score == 864 and env.single_action_space.n == 3


@pytest.mark.parametrize("draw, sign", [(0, -1), (1, 1)])
def test_a_new_ball_is_fired_in_the_first_frame_and_the_action_waits(draw, sign):
    env = started(tape=[draw], frameskip=1)
    step(env, RIGHT)  # the firing frame ignores the paddle
    s = env.state[0]
    angle = float(F32(math.pi / 3.25))
    vx, vy = F32(math.sin(angle) * 256 / 60), F32(math.cos(angle) * 256 / 60)
    assert s[bo.BALL_VX] == sign * vx and s[bo.BALL_VY] == vy
    assert s[bo.PADDLE_X] == 257 and s[bo.BALL_X] == F32(272 + sign * vx) and s[bo.BALL_Y] == F32(135 + vy)
    assert env.observations[0, 6] == F32(0.2)  # balls_fired / 5
    step(env, RIGHT)
    assert s[bo.PADDLE_X] == F32(257 + F32(620) / F32(60))
    assert env.rng[0, 0] == 1  # one rand() per ball


def test_the_paddle_moves_620_px_per_second_and_stays_in_the_field():
    env = started(frameskip=4)
    s = in_play(env, 300.0, 200.0, 0.0, -1.0, PADDLE_X=30.0)
    step(env, LEFT)
    assert s[bo.PADDLE_X] == 0  # 30 - 4 * 10.33
    step(env, NOOP)
    assert s[bo.PADDLE_X] == 0
    s[bo.PADDLE_X] = 500.0
    step(env, RIGHT)
    assert s[bo.PADDLE_X] == 576 - 62
    assert env.observations[0, 0] == F32(514) / F32(576)


@pytest.mark.parametrize("row, points, fast", [(0, 7, True), (1, 7, True), (2, 4, True), (3, 4, False),
                                               (4, 1, False), (5, 1, False)])
def test_bricks_are_worth_7_4_1_by_row_pair_and_the_top_three_rows_speed_the_ball_up(row, points, fast):
    env = started(frameskip=1)
    col = 5
    break_column(env, col, below_row=row)
    bottom = 50 + 12 * (row + 1)
    s = in_play(env, 32.0 * col, bottom + 1.0, 0.0, -3.0)
    reward, terminal = step(env, NOOP)
    k = row * 18 + col
    assert reward == points and not terminal and s[bo.SCORE] == points
    assert s[bo.BRICKS + k] == 1 and env.observations[0, 10 + k] == 1
    assert env.observations[0, 10:].sum() == env.brick_rows - row  # this brick and the column below it
    assert s[bo.BALL_Y] == bottom and s[bo.BALL_VY] == 3  # moved to the contact and reflected
    assert s[bo.BALL_SPEED] == (448 if fast else 256)
    assert env.observations[0, 7] == F32(points) / F32(864)


def test_collisions_are_swept_and_the_earliest_contact_wins():
    """A ball fast enough to pass a brick's whole height in one frame still hits it, and of two
    bricks in its path the nearer one breaks."""
    env = started(frameskip=1)
    break_column(env, 3, below_row=2)  # rows 0-2 of column 3 stay
    bottom = 50 + 12 * 3
    s = in_play(env, 96.0, bottom + 2.0, 0.0, -30.0)  # crosses rows 2 and 1 this frame
    reward, _ = step(env, NOOP)
    assert reward == 4 and s[bo.BRICKS + 2 * 18 + 3] == 1 and s[bo.BRICKS + 1 * 18 + 3] == 0
    assert s[bo.BALL_Y] == bottom and s[bo.BALL_VY] == 30


def test_the_side_walls_reflect_and_the_back_wall_halves_the_paddle():
    env = started(frameskip=1)
    s = in_play(env, 540.0, 200.0, 6.0, 2.0)
    step(env)
    assert s[bo.BALL_X] == 576 - 32 and s[bo.BALL_VX] == -6 and s[bo.BALL_Y] == F32(200 + F32(2) * F32(4 / 6))
    break_column(env, 0)
    s = in_play(env, 0.0, 2.0, 0.0, -4.0)
    reward, _ = step(env)
    assert reward == 0 and s[bo.BALL_Y] == 0 and s[bo.BALL_VY] == 4
    assert s[bo.PADDLE_W] == 31 and env.observations[0, 9] == 0.5


def paddle_bounce(offset: float, speed: int) -> tuple[np.float32, np.float32]:
    """3.0's bounce: the angle from where the ball's centre meets the paddle (float), then the
    velocity in double from libm's sin and cos."""
    base = F32(math.pi / 4)
    angle = float(-base + F32(offset) * F32(2) * base)
    return F32(math.sin(angle) * speed / 60), F32(-math.cos(angle) * speed / 60)


def test_the_paddle_sends_the_ball_off_at_an_angle_and_every_4th_hit_speeds_it_up():
    env = started(frameskip=1)
    s = in_play(env, 240.0, 312.0 - 32 - 1, 0.0, 3.0, PADDLE_X=250.0, HITS=2)
    reward, _ = step(env)
    assert reward == 0 and s[bo.HITS] == 3 and s[bo.BALL_SPEED] == 256
    assert s[bo.BALL_Y] == 279 and s[bo.BALL_X] == 240  # the ball waits a frame where it is
    offset = (F32(240 + 16) - F32(250)) / F32(62)
    assert (s[bo.BALL_VX], s[bo.BALL_VY]) == paddle_bounce(offset, 256)
    assert s[bo.BALL_VX] < 0 < -s[bo.BALL_VY]  # left of centre: up and to the left
    in_play(env, 300.0, 312.0 - 32 - 1, 0.0, 3.0, PADDLE_X=250.0)
    step(env)
    assert s[bo.HITS] == 4 and s[bo.BALL_SPEED] == 320
    assert s[bo.BALL_VX] > 0 and (s[bo.BALL_VX], s[bo.BALL_VY]) == paddle_bounce(
        (F32(300 + 16) - F32(250)) / F32(62), 256
    )


def test_the_wall_is_rebuilt_once_when_the_first_is_cleared():
    env = started(frameskip=1)
    env.state[0, bo.BRICKS:] = 1.0
    s = in_play(env, 240.0, 312.0 - 32 - 1, 0.0, 3.0, PADDLE_X=250.0, SCORE=432)
    step(env)
    assert not s[bo.BRICKS:].any() and not env.observations[0, 10:].any()
    # At any other score a paddle hit leaves the wall as it is.
    env.state[0, bo.BRICKS:] = 1.0
    in_play(env, 240.0, 312.0 - 32 - 1, 0.0, 3.0, PADDLE_X=250.0, SCORE=431)
    step(env)
    assert s[bo.BRICKS:].all()


def test_a_lost_ball_starts_the_next_and_the_sixth_ends_the_game():
    env = started(frameskip=1)
    s = in_play(env, 100.0, 318.0, 0.0, 3.0, PADDLE_X=400.0, PADDLE_W=31.0, BALL_SPEED=448, SCORE=12)
    reward, terminal = step(env)
    assert reward == 0 and not terminal and s[bo.NUM_BALLS] == 4
    assert s[bo.BALLS_FIRED] == 0 and s[bo.PADDLE_W] == 62 and s[bo.BALL_SPEED] == 256 and s[bo.SCORE] == 12
    assert (s[bo.PADDLE_X], s[bo.BALL_X], s[bo.BALL_Y], s[bo.BALL_VX]) == (257, 272, 135, 0)
    assert env.observations[0, 8] == F32(0.8)
    in_play(env, 100.0, 318.0, 0.0, 3.0, PADDLE_X=400.0, NUM_BALLS=0, STEPS=41)
    reward, terminal = step(env)
    assert terminal and s[bo.NUM_BALLS] == 5 and s[bo.SCORE] == 0 and s[bo.STEPS] == 0
    log = env.log[0]
    assert log[0] == 1 and log[1] == 12 and log[2] == 42 and log[3] == 12 and log[4] == F32(12) / F32(864)


def test_the_maximum_score_ends_the_game():
    env = started(frameskip=4)
    env.state[0, bo.BRICKS:] = 1.0
    env.state[0, bo.BRICKS + 7] = 0.0  # one brick left, in row 0: 7 points
    s = in_play(env, 32.0 * 7, 50.0 + 12 + 1, 0.0, -3.0, SCORE=857)
    reward, terminal = step(env)
    assert reward == 7 and terminal
    assert env.log[0, 3] == 864 and env.log[0, 4] == 1.0
    assert s[bo.SCORE] == 0 and not s[bo.BRICKS:].any()
    assert s[bo.BALLS_FIRED] == 1  # the next game's ball was fired in the step's remaining frames


def test_frameskip_repeats_the_action_for_that_many_frames():
    one, four = started(tape=[1], frameskip=1), started(tape=[1], frameskip=4)
    actions = [RIGHT, RIGHT, LEFT, NOOP, RIGHT, LEFT, LEFT, RIGHT] * 10
    for t in range(0, len(actions), 4):
        total = sum(step(one, actions[t])[0] for _ in range(4))
        reward, _ = step(four, actions[t])
        assert reward == total
        np.testing.assert_array_equal(one.observations, four.observations)


def test_continuous_actions_move_the_paddle_by_their_value_clipped():
    env = started(tape=[1], frameskip=1, continuous=True)
    assert env.single_action_space.shape == (1,)
    s = env.state[0]
    env.step(np.array([[0.5]], dtype=np.float32))  # also in the firing frame
    assert s[bo.PADDLE_X] == F32(257 + F32(0.5) * F32(620) / F32(60))
    x = s[bo.PADDLE_X]
    env.step(np.array([[-3.0]], dtype=np.float32))
    assert s[bo.PADDLE_X] == F32(x - F32(620) / F32(60))
    with pytest.raises(APIUsageError, match="out of range"):
        env.step(np.array([[np.nan]], dtype=np.float32))


@pytest.mark.parametrize("kwargs, match", [
    ({"frameskip": 0}, "frameskip"), ({"brick_rows": 7}, "brick_rows"), ({"height": 200}, "height"),
    ({"brick_cols": 19}, "brick_cols"), ({"paddle_width": 20}, "paddle_width"), ({"width": 1.5}, "width"),
])
def test_bad_parameters_are_api_usage_errors(kwargs, match):
    with pytest.raises(APIUsageError, match=match):
        Breakout(**kwargs)


# -- replays of 3.0's C game --------------------------------------------------------------


@pytest.mark.parametrize("fixture", ["breakout", "breakout_noisy", "breakout_continuous"])
def test_replays_the_c_game_step_for_step(fixture):
    """Our port fed the C game's actions and rand() values reproduces its observations (to the
    bit), rewards and terminals at every step.

    ``breakout``: a steady scripted tracker (``bench/pufferlib3/policy_breakout.py``), 8000
    steps: both walls, the rebuild, the halved paddle, the top speed, two games.
    ``breakout_noisy``: a noisier tracker, 4000 steps, three games. ``breakout_continuous``:
    continuous actions (some past [-1, 1]), frameskip 2, two games.
    """
    env_kwargs = {"breakout_continuous": {"continuous": True, "frameskip": 2}}.get(fixture, {})
    run = replay(fixture, Breakout(num_envs=1, **env_kwargs))
    assert run.kwargs == env_kwargs
    expected, actual = run.expected, run.actual
    for key in ("observations", "rewards", "terminals"):
        assert first_mismatch(expected[key], actual[key]) is None, key
    assert run.draws == len(expected["tape"])
    assert not actual["truncations"].any()
    # What the recording covers (so that the comparison means something).
    obs = expected["observations"][:, 0]
    assert expected["terminals"].sum() >= 2 and (expected["rewards"] > 0).sum() >= 80
    if fixture != "breakout_continuous":
        assert (obs[:, 9] == 0.5).any()  # the back wall was reached
    if fixture == "breakout":
        score = obs[:, 7] * 864
        assert score.max() > 800 and (obs[:, 5] * 512).max() > 7  # the second wall, at top speed
        rebuilt = np.flatnonzero((score >= 432) & (obs[:, 10:].sum(axis=1) == 0))
        assert len(rebuilt) > 0


# -- learning -----------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_breakout_learns_to_beat_random_play(tmp_path):
    """The shipped ["ocean:breakout"] configuration, trained for 600_000 steps (its table's budget
    is 3.0's reference budget), beats random play by a clear margin."""
    from test_ocean_native import play_stats, train_shipped

    policy, config = train_shipped("breakout", tmp_path, total_timesteps=600_000)
    random, trained = play_stats(config, None, 2000), play_stats(config, policy, 2000)
    assert trained["score"] >= 3 * random["score"] + 5, (random, trained)


def test_the_shipped_policy_normalizes_observations():
    """3.0's velocity observations are below 0.02: the shipped table normalizes them (without,
    training stalls at ~7 points, a paddle parked at a wall)."""
    from pufferlib.environments import ocean
    from pufferlib.normalization import observation_normalizers
    from test_ocean_native import shipped_config

    config = shipped_config("breakout")
    env = ocean.make_env("breakout", num_envs=2)
    policy = ocean.Policy(env, **{k: v for k, v in config["policy"].items() if k != "recurrent"})
    assert len(observation_normalizers(policy)) == 1
    assert ocean.Policy(env).normalizer is None
