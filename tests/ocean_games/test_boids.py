"""Boids (ocean:boids): rules on hand-built states, a replay of PufferLib 3.0's C game, learning."""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest
from replay import first_mismatch, replay

from pufferlib.environments import ocean
from pufferlib.environments.ocean.native import boids
from pufferlib.exceptions import APIUsageError

STILL = (2, 2)


def make(num_boids: int = 2, **kwargs) -> boids.Boids:
    env = ocean.make_env("boids", num_envs=1, num_boids=num_boids, **kwargs)
    env.reset(seed=0)
    return env


def place(env: boids.Boids, *rows: tuple[float, float, float, float]) -> None:
    env.boids[0] = np.array(rows, dtype=np.float32)


def test_replays_the_c_game_exactly():
    """A 400-step recording of 3.0's C game (6 boids, avoid_factor 1, margin_turn_factor 0.5,
    random actions: crowding at the walls, boids in and out of the margins): the same
    observations and rewards, to the bit, with the C game's own rand() stream."""
    env = ocean.make_env("boids", num_envs=1, num_boids=6, avoid_factor=1.0, margin_turn_factor=0.5)
    run = replay("boids", env)
    assert run.kwargs == {"num_boids": 6, "avoid_factor": 1.0, "margin_turn_factor": 0.5}
    for key in ("observations", "rewards", "terminals"):
        assert first_mismatch(run.expected[key], run.actual[key]) is None, key
    assert not run.actual["truncations"].any()
    assert run.draws == len(run.expected["tape"]) == 12  # x and y of each boid, at reset
    rewards = run.expected["rewards"]
    assert (rewards < 0).any() and (rewards == 0.5).any() and (rewards == 0.0).any()


def test_the_crowding_distance_is_the_float_sqrt():
    """C counts a neighbour when sqrtf(dd) < 100: exactly when dd < AVOID_DD (10000)."""
    dd = np.nextafter(boids.AVOID_DD, np.float32(0.0))
    for _ in range(6):
        assert np.sqrt(dd) < 100
        dd = np.nextafter(dd, np.float32(0.0))
    dd = boids.AVOID_DD
    for _ in range(6):
        assert not np.sqrt(dd) < 100
        dd = np.nextafter(dd, np.float32(1e9))


def test_moves_accelerate_and_clip():
    env = make(num_boids=2)
    place(env, (500.0, 300.0, 4.5, -5.0), (20.0, 690.0, 0.0, 0.0))
    step = env.step(np.array([(4, 0), (0, 4)]))
    assert tuple(env.boids[0, 0]) == (505.0, 295.0, 5.0, -5.0)  # velocity clipped at 5
    assert tuple(env.boids[0, 1]) == (19.0, 688.0, -1.0, 1.0)  # position clipped at 688
    obs = step[0][0].reshape(2, 4)
    np.testing.assert_array_equal(obs[0], 0.0)
    np.testing.assert_allclose(obs[1], [-486 / 1080, 393 / 720, -6 / 5, 6 / 5], rtol=1e-6)
    env.step(np.array([(1, 3), STILL]))
    assert tuple(env.boids[0, 0, 2:]) == (4.5, -4.5)


def test_rewards_for_crowding_and_margins():
    env = make(num_boids=4, avoid_factor=1.0, margin_turn_factor=0.25)
    # Boid 0 has two neighbours within 100 px (one at 99.9, one at 60) and is inside the margins;
    # boid 3 is alone, in the left margin.
    place(env, (500.0, 300.0, 0, 0), (599.9, 300.0, 0, 0), (500.0, 360.0, 0, 0), (10.0, 600.0, 0, 0))
    _, rewards, terminals, truncations, _ = env.step(np.array([STILL] * 4))
    # (-2/5 + 0.25 + 0.25) / 2; boids 1 and 2 have one neighbour each; boid 3: (-0.25 + 0.25) / 2
    np.testing.assert_allclose(rewards, [0.05, 0.15, 0.15, 0.0], rtol=1e-6)
    assert not terminals.any() and not truncations.any()
    assert env.log[:, 0].tolist() == [1, 1, 1, 1]  # one one-step "episode" per boid and step
    np.testing.assert_allclose(env.log[:, 3], rewards)
    # 100 px exactly is not crowding; six neighbours count as five
    place(env, (500.0, 300.0, 0, 0), (600.0, 300.0, 0, 0), (1000.0, 100.0, 0, 0), (1000.0, 600.0, 0, 0))
    _, rewards, _, _, _ = env.step(np.array([STILL] * 4))
    assert rewards[0] == 0.25
    crowd = make(num_boids=7, avoid_factor=1.0, margin_turn_factor=0.0)
    crowd.boids[0] = np.array([(500.0 + i, 300.0, 0, 0) for i in range(7)], dtype=np.float32)
    _, rewards, _, _, _ = crowd.step(np.array([STILL] * 7))
    np.testing.assert_array_equal(rewards, -0.5)


def test_boids_move_in_order():
    """Boid 0 is rewarded against boid 1's old position, boid 1 against boid 0's new one."""
    env = make(num_boids=2, avoid_factor=1.0, margin_turn_factor=0.0)
    place(env, (500.0, 300.0, 0, 0), (500.0, 399.5, 0.0, 1.0))
    _, rewards, _, _, _ = env.step(np.array([STILL, STILL]))
    assert rewards[0] == np.float32(-0.1) and rewards[1] == 0.0  # boid 1 moved on to 400.5


def test_matching_and_centering_change_nothing():
    """As in 3.0 (its visual range lies inside its protected range)."""
    runs = []
    for factor in (0.0, 3.0):
        env = ocean.make_env("boids", num_envs=2, num_boids=8, avoid_factor=1.0, matching_factor=factor,
                             centering_factor=factor)
        env.reset(seed=1)
        rng = np.random.default_rng(0)
        total = 0.0
        for _ in range(200):
            total += float(env.step(rng.integers(0, 5, (16, 2)))[1].sum())
        runs.append((total, env.observations.copy()))
    assert runs[0][0] == runs[1][0] and np.array_equal(runs[0][1], runs[1][1])


def test_bad_arguments_and_actions():
    with pytest.raises(APIUsageError, match="num_boids"):
        ocean.make_env("boids", num_boids=0)
    with pytest.raises(APIUsageError, match="avoid_factor"):
        ocean.make_env("boids", avoid_factor=float("nan"))
    env = make()
    with pytest.raises(APIUsageError, match="out of range"):
        env.step(np.array([(5, 2), STILL]))
    assert env.single_action_space == gymnasium.spaces.MultiDiscrete([5, 5])
