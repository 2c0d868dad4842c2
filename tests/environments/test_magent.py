"""MAgent2 binding: pufferlib.environments.magent."""

from __future__ import annotations

import numpy as np
import pytest
from helpers_b import check_episode_stats, check_missing_dependency, check_policy, collect_batch, run_vecenv

from pufferlib.environments import magent
from pufferlib.exceptions import APIUsageError

REASON = "needs the magent extra: pip install -e '.[magent]'"


@pytest.fixture
def magent2():
    return pytest.importorskip("magent2", reason=REASON)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("backend", ["serial", "multiprocessing"])
def test_random_steps_through_vector_backends(magent2, backend):
    infos, obs, driver = run_vecenv(magent.env_creator("battle"), backend,
                                    env_kwargs={"map_size": 20, "max_cycles": 50})
    assert driver.num_agents == 24 and driver.single_action_space.n == 21
    assert obs.shape == (48, 13, 13, 5) and obs.dtype == np.float32
    check_episode_stats(infos)


def test_gather_hosts_hundreds_of_agents(magent2):
    env = magent.make_env("gather", max_cycles=20)
    obs, _ = env.reset(seed=0)
    assert env.num_agents == 495 and len(obs) == 495
    assert env.single_observation_space.shape == (15, 15, 5)


@pytest.mark.parametrize("name", ["battle", "battlefield", "gather"])
def test_policy_and_recurrent_on_a_real_batch(magent2, name):
    env = magent.make_env(name, max_cycles=20)
    check_policy(env, magent.Policy, magent.Recurrent, collect_batch(env, 2)[:64])


def test_missing_dependency_names_the_extra(monkeypatch):
    check_missing_dependency(monkeypatch, ["magent2"], magent.make_env, "magent")


@pytest.mark.parametrize("name", ["tiger_deer", "battle_v4"])
def test_unknown_name_lists_valid_names(name):
    with pytest.raises(APIUsageError, match="battle, battlefield, gather"):
        magent.env_creator(name)
