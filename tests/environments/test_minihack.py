"""MiniHack binding (NLE): pufferlib.environments.minihack."""

from __future__ import annotations

import numpy as np
import pytest
from helpers_b import check_episode_stats, check_missing_dependency, check_policy, collect_batch, run_vecenv

from pufferlib.environments import minihack
from pufferlib.exceptions import APIUsageError

REASON = "needs the minihack extra: pip install -e '.[minihack]'"
ROOM_KEYS = ("glyphs_crop", "blstats")


@pytest.fixture
def minihack_package():
    return pytest.importorskip("minihack", reason=REASON)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("backend", ["serial", "multiprocessing"])
def test_random_steps_through_vector_backends(minihack_package, backend):
    infos, obs, driver = run_vecenv(minihack.env_creator("room"), backend,
                                    env_kwargs={"max_episode_steps": 50})
    assert driver.single_action_space.n == 8
    assert obs.dtype == np.uint8 and obs.shape[0] == 2
    check_episode_stats(infos, extra_keys=["end_status"])


def test_policy_and_recurrent_on_a_real_batch(minihack_package):
    env = minihack.make_env("corridor")
    assert {"glyphs", "glyphs_crop", "blstats", "message"} == set(env.emulated.observation_space.spaces)
    check_policy(env, minihack.Policy, minihack.Recurrent, collect_batch(env, 6))


def test_seeded_reset_gives_the_same_level(minihack_package):
    first, _ = minihack.make_env("room_random", observation_keys=ROOM_KEYS).reset(seed=5)
    second, _ = minihack.make_env("room_random", observation_keys=ROOM_KEYS).reset(seed=5)
    assert np.array_equal(first, second)


def test_full_minihack_ids_are_accepted_and_checked(minihack_package):
    env = minihack.make_env("MiniHack-MazeWalk-9x9-v0", observation_keys=ROOM_KEYS)
    assert env.single_action_space.n == 8
    with pytest.raises(APIUsageError, match="Registered ids"):
        minihack.make_env("MiniHack-Nonexistent-v0")


def test_missing_dependency_names_the_extra(monkeypatch):
    check_missing_dependency(monkeypatch, ["minihack"], minihack.make_env, "minihack")


def test_unknown_name_lists_valid_names():
    with pytest.raises(APIUsageError, match="room, room_random"):
        minihack.env_creator("dungeon")


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_ppo_learns_to_reach_the_goal_in_a_small_room(minihack_package, tmp_path):
    """PPO on MiniHack-Room-5x5: random play needs ~50 steps to find the stairs, a trained
    agent ~5 (about 50 s of CPU for 16k steps; episode lengths drop below 10 by ~9k)."""
    import pufferlib.vector
    from pufferlib.trainer import TrainConfig, Trainer, seed_everything

    seed_everything(1)
    vecenv = pufferlib.vector.make(minihack.env_creator("room"), env_kwargs={"observation_keys": ROOM_KEYS},
                                   backend=pufferlib.vector.Serial, num_envs=8)
    policy = minihack.Policy(vecenv, hidden_size=128)
    config = TrainConfig(total_timesteps=16_384, batch_size=1024, minibatch_size=256, bptt_horizon=8,
                         learning_rate=1e-3, ent_coef=0.01, torch_threads=1, data_dir=str(tmp_path), seed=1)
    trainer = Trainer(vecenv, policy, config)
    lengths = []
    try:
        while not trainer.done:
            trainer.evaluate()
            trainer.train()
            if "episode_length" in trainer.stats:
                lengths.append(trainer.stats["episode_length"])
    finally:
        trainer.close(save=False)
        vecenv.close()
    assert lengths[0] > 30, lengths
    assert np.mean(lengths[-3:]) < 10, lengths
