"""Griddly binding: pufferlib.environments.griddly."""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest
from helpers_b import check_episode_stats, check_missing_dependency, check_policy, collect_batch, run_vecenv

from pufferlib.environments import griddly
from pufferlib.exceptions import APIUsageError

REASON = "needs the griddly extra: pip install -e '.[griddly]'"


@pytest.fixture
def griddly_package():
    return pytest.importorskip("griddly", reason=REASON)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("backend", ["serial", "multiprocessing"])
def test_random_steps_through_vector_backends(griddly_package, backend):
    infos, obs, driver = run_vecenv(griddly.env_creator("spider_nest"), backend, env_kwargs={"max_steps": 40})
    assert driver.single_observation_space.shape == (6, 7, 7)
    assert obs.dtype == np.uint8 and obs.shape == (2, 6, 7, 7)
    assert driver.single_action_space == gymnasium.spaces.Discrete(5)
    check_episode_stats(infos, extra_keys=["win"])


def test_multidiscrete_game_steps_in_a_vecenv(griddly_package):
    infos, obs, driver = run_vecenv(griddly.env_creator("zelda"), "serial", steps=60,
                                    env_kwargs={"max_steps": 25})
    assert driver.single_action_space == gymnasium.spaces.MultiDiscrete([2, 5])
    check_episode_stats(infos)


def test_step_limit_is_a_truncation(griddly_package):
    env = griddly.make_env("spider_nest", max_steps=5)
    env.reset(seed=0)
    flags = [env.step(4)[2:4] for _ in range(5)]
    assert flags[-1] == (False, True) and all(f == (False, False) for f in flags[:-1])


def test_seeded_reset_is_reproducible(griddly_package):
    def rollout():
        env = griddly.make_env("butterflies")
        obs, _ = env.reset(seed=3)
        frames = [obs.copy()]
        for action in [1, 2, 3, 4] * 5:
            frames.append(env.step(action)[0].copy())
        return np.stack(frames)

    assert np.array_equal(rollout(), rollout())


@pytest.mark.parametrize("name", ["spider_nest", "zelda"])
def test_policy_and_recurrent_on_a_real_batch(griddly_package, name):
    env = griddly.make_env(name)
    check_policy(env, griddly.Policy, griddly.Recurrent, collect_batch(env, 8))


def test_missing_dependency_names_the_extra(monkeypatch):
    check_missing_dependency(monkeypatch, ["griddly"], griddly.make_env, "griddly")


def test_unknown_name_lists_valid_names():
    with pytest.raises(APIUsageError, match="spider_nest, sokoban"):
        griddly.env_creator("GDY-Sokoban-v0")
