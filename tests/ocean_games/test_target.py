"""Target (ocean:target): rules on hand-built states, a replay of PufferLib 3.0's C game, learning."""

from __future__ import annotations

import math

import gymnasium
import numpy as np
import pytest
from replay import first_mismatch, replay

from pufferlib.environments import ocean
from pufferlib.environments.ocean.native import target
from pufferlib.exceptions import APIUsageError

STILL = (4, 2)  # no turn, no acceleration


def make(num_agents: int = 2, num_goals: int = 1, **kwargs) -> target.Target:
    env = ocean.make_env("target", num_envs=1, num_agents=num_agents, num_goals=num_goals, **kwargs)
    env.reset(seed=0)
    return env


def step(env: target.Target, *actions: tuple[int, int]):
    return env.step(np.array(actions, dtype=np.int64))


def test_replays_the_c_game_exactly():
    """A 1500-step recording of 3.0's C game (3 puffers, 2 stars; puffer 0 random, so it is
    teleported twice, the others chasing stars): same observations, rewards and flags, to the
    bit, with the C game's own rand() stream."""
    env = ocean.make_env("target", num_envs=1, num_agents=3, num_goals=2)
    run = replay("target", env)
    assert run.kwargs == {"num_agents": 3, "num_goals": 2}
    for key in ("observations", "rewards", "terminals"):
        assert first_mismatch(run.expected[key], run.actual[key]) is None, key
    assert not run.actual["truncations"].any()
    assert run.draws == len(run.expected["tape"])  # every random number drawn, none more
    assert run.expected["rewards"][:, 1:].sum() > 10 and run.expected["rewards"][:, 0].sum() == 0


def test_the_eating_distance_is_the_float_rounded_sqrt():
    """C eats a star when (float)sqrt(dd) <= 32: the threshold on dd is 1024 + 2**-13."""
    dd = np.float32(1024.0)
    for _ in range(8):
        eaten = np.float32(math.sqrt(float(dd))) <= 32
        assert eaten == (dd <= target.EAT_DD)
        dd = np.nextafter(dd, np.float32(2000.0))
    assert np.nextafter(np.float32(1024.0), np.float32(2000.0)) == target.EAT_DD


def test_moves_turns_and_clips():
    env = make()
    env.x[0], env.y[0] = (100.0, 200.0), (100.0, 200.0)
    env.goal_x[0], env.goal_y[0] = 900.0, 600.0
    step(env, (8, 4), (0, 0))
    # heading += 4/12, speed += 2 (agent 0); heading clipped at 0, speed -2 (agent 1)
    assert env.heading[0, 0] == np.float32(4.0) / np.float32(12.0) and env.speed[0, 0] == 2
    assert env.heading[0, 1] == 0 and env.speed[0, 1] == -2
    assert env.x[0, 0] == np.float32(100.0) + np.float32(2.0) * np.cos(np.float32(1 / 3))
    assert env.x[0, 1] == 198 and env.y[0, 1] == 200
    for _ in range(20):
        step(env, (8, 4), (0, 0))
    assert env.heading[0, 0] == np.float32(2 * np.pi) and env.speed[0, 0] == 20
    assert env.speed[0, 1] == -20 and env.x[0, 1] == 0  # clipped at the field's edge
    obs = env.observations[1]
    np.testing.assert_array_equal(obs[-4:], [0.0, 0.0, 0.0, np.float32(200.0) / np.float32(720.0)])


def test_stars_are_eaten_within_32_pixels_once_per_step():
    env = make(num_agents=2, num_goals=2)
    env.x[0], env.y[0] = (500.0, 10.0), (300.0, 10.0)
    env.goal_x[0], env.goal_y[0] = (500.0, 530.0), (332.0, 300.0)  # both within 32 of puffer 0
    env.ticks[0] = (6, 3)
    _, rewards, terminals, truncations, _ = step(env, STILL, STILL)
    assert list(rewards) == [1.0, 0.0] and not terminals.any() and not truncations.any()
    assert env.log[0, 0] == 2 and env.log[0, 2] == 7  # two "episodes": 7 steps, then 0
    assert env.log[0, 1] == 2 and env.log[0, 3] == 2 and env.log[0, target.LOG_PERF] == 2
    assert env.ticks[0, 0] == 0 and env.ticks[0, 1] == 4
    assert env.observations[0, -3] == 1.0 and env.observations[1, -3] == 0.0
    # 32.5 pixels away: not eaten
    env.goal_x[0], env.goal_y[0] = (532.5, 900.0), (300.0, 600.0)
    _, rewards, _, _, _ = step(env, STILL, STILL)
    assert rewards[0] == 0.0


def test_a_puffer_is_teleported_every_512_steps_without_a_star():
    env = make(num_agents=1)
    env.goal_x[0], env.goal_y[0] = 1000.0, 700.0
    env.x[0], env.y[0] = 5.0, 5.0
    env.ticks[0] = 510
    step(env, STILL)
    assert (env.x[0, 0], env.y[0, 0]) == (5.0, 5.0)
    draws = env.rng.copy()
    step(env, STILL)
    assert (env.x[0, 0], env.y[0, 0]) != (5.0, 5.0) and env.ticks[0, 0] == 512
    assert not np.array_equal(draws, env.rng)


def test_reset_starts_puffers_at_rest():
    """Differs from 3.0, whose reset keeps the previous heading, speed and reward."""
    env = make()
    for _ in range(5):
        step(env, (8, 4), (8, 4))
    env.reset(seed=3)
    assert not env.heading.any() and not env.speed.any() and not env.ticks.any()
    assert not env.observations[:, -3].any()


def test_observation_layout():
    env = make(num_agents=2, num_goals=1)
    env.x[0], env.y[0] = (108.0, 540.0), (72.0, 360.0)
    env.goal_x[0], env.goal_y[0] = 1080.0, 0.0
    step(env, STILL, STILL)
    np.testing.assert_allclose(
        env.observations[0], [0.9, -0.1, 0.0, 0.0, 0.4, 0.4, 0.0, 0.0, 0.1, 0.1], rtol=1e-6
    )
    np.testing.assert_allclose(
        env.observations[1], [0.5, -0.5, -0.4, -0.4, 0.0, 0.0, 0.0, 0.0, 0.5, 0.5], rtol=1e-6
    )


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_learns_to_reach_stars(tmp_path):
    from short_training import play_stats, train

    policy, config = train("target", 600_000, tmp_path)
    random, trained = play_stats(config, None, 1000), play_stats(config, policy, 1000)
    assert trained["n"] >= 1.5 * random["n"]  # n: the stars eaten in as many steps


def test_bad_arguments_and_actions():
    with pytest.raises(APIUsageError, match="num_agents"):
        ocean.make_env("target", num_agents=0)
    with pytest.raises(APIUsageError, match="num_goals"):
        ocean.make_env("target", num_goals=0)
    with pytest.raises(APIUsageError, match="width"):
        ocean.make_env("target", width=0)
    env = make()
    with pytest.raises(APIUsageError, match="out of range"):
        step(env, (9, 2), STILL)
    with pytest.raises(APIUsageError, match="out of range"):
        step(env, STILL, (0, 5))
    assert env.single_action_space == gymnasium.spaces.MultiDiscrete([9, 5])
