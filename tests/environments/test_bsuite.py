"""bsuite binding: pufferlib.environments.bsuite (dm_env adapted to Gymnasium)."""

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
    run_vecenv,
)

import pufferlib.vector
from pufferlib.environments import bsuite
from pufferlib.exceptions import APIUsageError
from pufferlib.trainer import TrainConfig, Trainer, seed_everything


@pytest.fixture
def installed():
    require("bsuite", "bsuite")


needs_bsuite = pytest.mark.usefixtures("installed")


@needs_bsuite
@pytest.mark.timeout(120)
def test_catch_through_serial_and_multiprocessing():
    infos = check_backends_agree(bsuite.env_creator("catch"))
    episodes = check_episode_infos(infos)
    # Catch: the ball falls for 9 steps, then +1 or -1.
    assert all(e["episode_length"] == 9 and e["episode_return"] in (-1.0, 1.0) for e in episodes)
    assert len(episodes) == 2 * (200 // 10)


@needs_bsuite
@pytest.mark.timeout(120)
def test_factories_survive_spawn():
    _, infos = run_vecenv(bsuite.env_creator("catch"), "multiprocessing", steps=20, start_method="spawn")
    assert len(check_episode_infos(infos)) == 2 * 2


@pytest.mark.parametrize("name, shape, actions", [
    ("catch/0", (10, 5), 3), ("deep_sea/2", (14, 14), 2), ("memory_len/0", (1, 3), 2), ("bandit", (1, 1), 11),
])
@needs_bsuite
def test_spaces_follow_the_experiment_specs(name, shape, actions):
    env = bsuite.make_env(name)
    obs, info = env.reset(seed=0)
    assert info == {}
    assert env.single_observation_space.shape == shape and obs.dtype == np.float32
    assert env.single_action_space == gymnasium.spaces.Discrete(actions)


@needs_bsuite
def test_seeded_resets_replay_the_experiment():
    creator = pickle.loads(pickle.dumps(bsuite.env_creator("catch/0")))
    first, second = creator(), creator()
    for seed in (3, 3, 4):
        a, b = first.reset(seed=seed)[0].copy(), second.reset(seed=seed)[0]
        np.testing.assert_array_equal(a, b)
    # Catch drops the ball in a random column: some seed must place it elsewhere.
    columns = {int(np.argmax(first.reset(seed=s)[0][0])) for s in range(10)}
    assert len(columns) > 1


@needs_bsuite
def test_episodes_terminate_and_keep_going():
    env = bsuite.make_env("catch")
    env.reset(seed=0)
    lengths = []
    for _ in range(3):
        steps = 0
        while not env.done:
            _, _, terminal, truncated, info = env.step(1)
            steps += 1
        assert terminal and not truncated and info["episode_length"] == steps == 9
        lengths.append(steps)
        env.reset()
    assert lengths == [9, 9, 9]


@needs_bsuite
def test_policy_forward_and_recurrent():
    check_policy(bsuite, bsuite.env_creator("catch"))


@needs_bsuite
@pytest.mark.parametrize("name", ["catchy", "catch/999", ""])
def test_unknown_name_lists_the_experiments(name):
    with pytest.raises(APIUsageError, match="catch, catch_noise"):
        bsuite.env_creator(name)


def test_missing_dependency_names_the_extra(monkeypatch):
    check_missing_dependency(monkeypatch, ["bsuite", "bsuite.sweep"], "bsuite",
                             [lambda: bsuite.env_creator("catch"), lambda: bsuite.make_env("catch")])


@needs_bsuite
@pytest.mark.slow
@pytest.mark.timeout(900)
def test_ppo_learns_catch():
    seed_everything(1)
    vecenv = pufferlib.vector.make(bsuite.env_creator("catch"), backend="serial", num_envs=8)
    policy = bsuite.Policy(vecenv, hidden_size=64)
    config = TrainConfig(total_timesteps=40_960, batch_size=1024, minibatch_size=256, bptt_horizon=8,
                         learning_rate=3e-3, ent_coef=0.01, seed=1, data_dir="unused")
    trainer = Trainer(vecenv, policy, config, exp_id="catch")
    returns = []
    while not trainer.done:
        trainer.evaluate()
        trainer.train()
        returns.append(trainer.stats["episode_return"])
    trainer.close(save=False)
    # Catch pays +1 for a caught ball and -1 for a miss: random play averages about -0.6.
    assert np.mean(returns[:2]) < 0
    assert np.mean(returns[-3:]) > 0.7
