"""PettingZoo butterfly binding: pufferlib.environments.butterfly."""

from __future__ import annotations

import numpy as np
import pytest
from helpers_b import check_episode_stats, check_missing_dependency, check_policy, collect_batch, run_vecenv

from pufferlib.emulation import PettingZooPufferEnv
from pufferlib.environments import butterfly
from pufferlib.exceptions import APIUsageError

REASON = "needs the butterfly extra: pip install -e '.[butterfly]'"
FAST_KWARGS = {
    "pistonball": {"n_pistons": 4, "max_cycles": 40},
    "knights_archers_zombies": {"max_cycles": 60},
    "cooperative_pong": {"max_cycles": 60},
}


@pytest.fixture
def pymunk():
    pytest.importorskip("pygame", reason=REASON)
    return pytest.importorskip("pymunk", reason=REASON)


@pytest.mark.timeout(240)
@pytest.mark.parametrize("backend", ["serial", "multiprocessing"])
@pytest.mark.parametrize("name", list(FAST_KWARGS))
def test_random_steps_through_vector_backends(pymunk, name, backend):
    infos, obs, driver = run_vecenv(butterfly.env_creator(name), backend, env_kwargs=FAST_KWARGS[name])
    assert isinstance(driver, PettingZooPufferEnv)
    assert obs.shape == (2 * driver.num_agents, *driver.single_observation_space.shape)
    check_episode_stats(infos)


def test_spaces_are_compact(pymunk):
    pistonball = butterfly.make_env("pistonball")
    assert pistonball.num_agents == 20 and pistonball.single_action_space.n == 3
    assert pistonball.single_observation_space.shape == (1, 229, 60)
    kaz = butterfly.make_env("knights_archers_zombies")
    assert kaz.single_observation_space.dtype == np.float32 and kaz.single_observation_space.shape == (27, 5)
    pong = butterfly.make_env("cooperative_pong", downsample=2)
    assert pong.single_observation_space.shape == (1, 140, 240)


def test_dead_agents_are_padded_with_zero_rows(pymunk):
    env = butterfly.make_env("knights_archers_zombies", max_cycles=400, spawn_delay=1, max_zombies=20)
    env.reset(seed=0)
    standing_still = np.zeros(env.num_agents, dtype=np.int64)  # zombies walk down and kill everyone
    dead: list[str] = []
    for _ in range(400):
        dead = [agent for agent in env.possible_agents if agent not in env.agents]
        if dead or env.done:
            break
        env.step(standing_still)
    assert dead, "no agent died"
    obs, rewards, terminals, truncations, _ = env.step(standing_still)
    for agent in dead:
        assert not obs[agent].any() and rewards[agent] == 0 and terminals[agent] and not truncations[agent]


@pytest.mark.parametrize("name", list(FAST_KWARGS))
def test_policy_and_recurrent_on_a_real_batch(pymunk, name):
    env = butterfly.make_env(name, **FAST_KWARGS[name])
    check_policy(env, butterfly.Policy, butterfly.Recurrent, collect_batch(env, 2))


def test_missing_dependency_names_the_extra(monkeypatch):
    check_missing_dependency(monkeypatch, ["pymunk"], butterfly.make_env, "butterfly")


def test_unknown_name_lists_valid_names():
    with pytest.raises(APIUsageError, match="pistonball, knights_archers_zombies, cooperative_pong"):
        butterfly.env_creator("prison")
