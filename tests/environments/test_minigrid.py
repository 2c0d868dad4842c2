"""MiniGrid binding: pufferlib.environments.minigrid (Dict image + direction observations)."""

from __future__ import annotations

import pickle

import gymnasium
import numpy as np
import pytest
from helpers_a import (
    check_backends_agree,
    check_episode_infos,
    check_missing_dependency,
    check_policy,
    require,
)

import pufferlib.vector
from pufferlib.emulation import nativize
from pufferlib.environments import minigrid
from pufferlib.exceptions import APIUsageError
from pufferlib.trainer import TrainConfig, Trainer, seed_everything


@pytest.fixture
def installed():
    require("minigrid", "minigrid")


needs_minigrid = pytest.mark.usefixtures("installed")


@needs_minigrid
@pytest.mark.parametrize("name", ["MiniGrid-Empty-5x5-v0", "empty-5x5", "EMPTY-5x5-v0", "minigrid-empty-5x5"])
def test_names(name):
    assert minigrid.environment.env_id(name) == "MiniGrid-Empty-5x5-v0"


@needs_minigrid
@pytest.mark.parametrize("name", ["MiniGrid-Empty-4x4-v0", "empty", "breakout", "MiniGrid-Empty-5x5-v9"])
def test_unknown_name_lists_the_envs(name):
    with pytest.raises(APIUsageError, match="MiniGrid-DoorKey-5x5-v0, .*MiniGrid-Empty-5x5-v0"):
        minigrid.env_creator(name)


@needs_minigrid
def test_observation_is_direction_and_view_without_the_mission():
    env = minigrid.make_env("MiniGrid-Empty-5x5-v0")
    obs, info = env.reset(seed=0)
    native_space = env.emulated.observation_space
    assert list(native_space.keys()) == ["direction", "image"]
    assert env.single_observation_space.shape == (160,) and obs.dtype == np.uint8  # spec 2.1
    native = nativize(obs, native_space, env.emulated.emulated_observation_dtype)
    assert native["direction"] == env.env.unwrapped.agent_dir
    assert native["image"].shape == (7, 7, 3) and native["image"].any()
    assert info == {}
    assert env.single_action_space == gymnasium.spaces.Discrete(7)


@needs_minigrid
def test_reaching_the_goal_terminates_with_the_minigrid_reward():
    env = minigrid.make_env("MiniGrid-Empty-5x5-v0")
    env.reset(seed=0)
    # Agent at (1, 1) facing east, goal at (3, 3): forward, forward, right, forward, forward.
    for action in [2, 2, 1, 2]:
        assert env.step(action)[2] is False
    _, reward, terminal, truncated, info = env.step(2)
    assert terminal and not truncated
    assert reward == pytest.approx(1 - 0.9 * 5 / 100)
    assert info == {"episode_return": pytest.approx(reward), "episode_length": 5}


@needs_minigrid
@pytest.mark.timeout(120)
def test_empty_through_serial_and_multiprocessing():
    infos = check_backends_agree(minigrid.env_creator("MiniGrid-Empty-5x5-v0"))
    episodes = check_episode_infos(infos)
    assert all(e["episode_length"] <= 100 for e in episodes)


@needs_minigrid
def test_seeded_and_picklable():
    creator = pickle.loads(pickle.dumps(minigrid.env_creator("MiniGrid-DoorKey-5x5-v0")))
    first, second = creator(), creator()
    a = first.reset(seed=2)[0].copy()
    np.testing.assert_array_equal(a, second.reset(seed=2)[0])
    assert any(not np.array_equal(a, second.reset(seed=s)[0]) for s in range(3, 8))


@needs_minigrid
def test_policy_forward_and_recurrent():
    check_policy(minigrid, minigrid.env_creator("MiniGrid-DoorKey-5x5-v0"))


@needs_minigrid
def test_policy_sees_categories_not_magnitudes():
    import torch

    env = minigrid.make_env("MiniGrid-Empty-5x5-v0")
    obs, _ = env.reset(seed=0)
    policy = minigrid.Policy(env)
    batch = torch.as_tensor(np.stack([obs, obs]))
    batch[1, 0] = (batch[1, 0] + 1) % 4  # another heading only
    features, _ = policy.encode_observations(batch)
    assert not torch.equal(features[0], features[1])


def test_missing_dependency_names_the_extra(monkeypatch):
    calls = [lambda: minigrid.env_creator("empty-5x5"), lambda: minigrid.make_env("empty-5x5")]
    check_missing_dependency(monkeypatch, ["minigrid"], "minigrid", calls)


@needs_minigrid
@pytest.mark.slow
@pytest.mark.timeout(900)
def test_ppo_solves_empty_5x5():
    seed_everything(1)
    creator = minigrid.env_creator("MiniGrid-Empty-5x5-v0")
    vecenv = pufferlib.vector.make(creator, backend="serial", num_envs=8)
    policy = minigrid.Policy(vecenv, hidden_size=64)
    config = TrainConfig(total_timesteps=24_576, batch_size=1024, minibatch_size=256, bptt_horizon=8,
                         learning_rate=3e-3, ent_coef=0.01, seed=1, data_dir="unused")
    trainer = Trainer(vecenv, policy, config, exp_id="minigrid")
    returns = []
    while not trainer.done:
        trainer.evaluate()
        trainer.train()
        returns.append(trainer.stats.get("episode_return", 0.0))
    trainer.close(save=False)
    # Random play rarely reaches the goal within 100 steps; the optimum is about 0.95.
    assert np.mean(returns[:2]) < 0.5
    assert np.mean(returns[-3:]) > 0.85
