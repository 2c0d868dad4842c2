"""NetHack binding (NLE): pufferlib.environments.nethack."""

from __future__ import annotations

import numpy as np
import pytest
from helpers_b import check_episode_stats, check_missing_dependency, check_policy, collect_batch, run_vecenv

from pufferlib.environments import nethack
from pufferlib.exceptions import APIUsageError

REASON = "needs the nethack extra: pip install -e '.[nethack]'"


@pytest.fixture
def nle():
    return pytest.importorskip("nle", reason=REASON)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("backend", ["serial", "multiprocessing"])
def test_random_steps_through_vector_backends(nle, backend):
    # A short step limit so that episodes end (by truncation) within the 200 steps.
    infos, obs, driver = run_vecenv(nethack.env_creator("nethack"), backend,
                                    env_kwargs={"max_episode_steps": 80})
    assert driver.single_action_space.n == 23
    assert obs.dtype == np.uint8 and obs.shape == (2, 3792)
    check_episode_stats(infos, extra_keys=["is_ascended"])


def test_observation_keeps_glyphs_blstats_message(nle):
    env = nethack.make_env("nethack")
    assert sorted(env.emulated.observation_space.spaces) == ["blstats", "glyphs", "message"]
    assert env.emulated.observation_space["glyphs"].shape == (21, 79)


def test_seeded_reset_replays_the_same_game(nle):
    first, second = nethack.make_env("nethack"), nethack.make_env("nethack")
    trajectories = []
    for env in (first, second):
        obs, _ = env.reset(seed=11)
        frames = [obs.copy()]
        for action in [1, 2, 3, 4, 5, 6, 7, 0]:
            obs, *_ = env.step(action)
            frames.append(obs.copy())
        trajectories.append(np.stack(frames))
    assert np.array_equal(*trajectories)
    other, _ = nethack.make_env("nethack").reset(seed=12)
    assert not np.array_equal(other, trajectories[0][0])


def test_policy_and_recurrent_on_a_real_batch(nle):
    env = nethack.make_env("nethack")
    check_policy(env, nethack.Policy, nethack.Recurrent, collect_batch(env, 8))


def test_missing_dependency_names_the_extra(monkeypatch):
    check_missing_dependency(monkeypatch, ["nle"], nethack.make_env, "nethack")


def test_unknown_name_lists_valid_names():
    with pytest.raises(APIUsageError, match="nethack, score, staircase"):
        nethack.env_creator("nethack_hard")
