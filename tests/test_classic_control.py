"""Classic-control binding: pufferlib.environments.classic_control."""

from __future__ import annotations

import pickle

import gymnasium
import numpy as np
import pytest

from pufferlib.emulation import GymnasiumPufferEnv
from pufferlib.environments import classic_control
from pufferlib.exceptions import APIUsageError
from pufferlib.postprocess import EpisodeStats


def run_until_done(env, rng, max_steps=1000):
    env.reset(seed=0)
    total, steps = 0.0, 0
    while not env.done and steps < max_steps:
        _, reward, terminal, truncated, info = env.step(env.single_action_space.sample())
        total += reward
        steps += 1
    return total, steps, terminal, truncated, info


def test_cartpole_reports_episode_stats():
    env = classic_control.make_env("cartpole")
    assert isinstance(env, GymnasiumPufferEnv) and isinstance(env.env, EpisodeStats)
    assert env.single_action_space == gymnasium.spaces.Discrete(2)
    assert env.single_observation_space.shape == (4,)
    env.single_action_space.seed(0)
    total, steps, terminal, truncated, info = run_until_done(env, np.random.default_rng(0))
    assert terminal and not truncated
    assert info == {"episode_return": total, "episode_length": steps} and total == steps


def test_pendulum_is_continuous_and_truncates_at_200():
    env = classic_control.make_env("Pendulum-v1")
    assert isinstance(env.single_action_space, gymnasium.spaces.Box)
    assert env.single_action_space.shape == (1,)
    env.single_action_space.seed(0)
    total, steps, terminal, truncated, info = run_until_done(env, np.random.default_rng(0))
    assert truncated and not terminal and steps == 200
    assert info["episode_length"] == 200 and info["episode_return"] == pytest.approx(total) and total < 0


def test_mountaincar_continuous_with_gymnasium_make_kwargs():
    env = classic_control.make_env("mountaincar_continuous", max_episode_steps=25)
    assert isinstance(env.single_action_space, gymnasium.spaces.Box)
    env.single_action_space.seed(0)
    _, steps, _, truncated, info = run_until_done(env, np.random.default_rng(0))
    assert truncated and steps == 25 and info["episode_length"] == 25


@pytest.mark.parametrize("name", ["cartpole", "pendulum", "mountaincar_continuous",
                                  "CartPole-v1", "Pendulum-v1", "MountainCarContinuous-v0"])
def test_env_creator_is_picklable_and_seeded(name):
    creator = pickle.loads(pickle.dumps(classic_control.env_creator(name)))
    first, second = creator(), creator()
    obs_1, _ = first.reset(seed=3)
    obs_2, _ = second.reset(seed=3)
    assert np.array_equal(obs_1, obs_2)


def test_rgb_render():
    env = classic_control.make_env("cartpole", render_mode="rgb_array")
    env.reset(seed=0)
    frame = env.render()
    assert frame.ndim == 3 and frame.shape[2] == 3 and frame.dtype == np.uint8


@pytest.mark.parametrize("name", ["CartPole-v0", "mountaincar", "breakout"])
def test_unknown_name_lists_valid_names(name):
    with pytest.raises(APIUsageError, match="cartpole, pendulum, mountaincar_continuous"):
        classic_control.env_creator(name)
    with pytest.raises(APIUsageError, match="Unknown classic_control environment"):
        classic_control.make_env(name)


@pytest.mark.parametrize("name", ["cartpole", "pendulum"])
def test_policy_and_recurrent(name):
    import torch

    env = classic_control.make_env(name)
    obs, _ = env.reset(seed=0)
    policy = classic_control.Policy(env)
    logits, value = policy(torch.as_tensor(obs)[None])
    assert value.shape == (1, 1)
    if name == "pendulum":
        assert isinstance(logits, torch.distributions.Normal)
    recurrent = classic_control.Recurrent(env, classic_control.Policy(env))
    _, value, (h, _) = recurrent(torch.as_tensor(obs)[None], None)
    assert value.shape == (1, 1) and h.shape == (1, 1, 64)
