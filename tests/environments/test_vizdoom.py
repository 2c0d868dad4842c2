"""ViZDoom binding: pufferlib.environments.vizdoom."""

from __future__ import annotations

import numpy as np
import pytest
from helpers_b import check_episode_stats, check_missing_dependency, check_policy, collect_batch, run_vecenv

from pufferlib.environments import vizdoom
from pufferlib.exceptions import APIUsageError

REASON = "needs the vizdoom extra: pip install -e '.[vizdoom]'"


@pytest.fixture
def vizdoom_package():
    return pytest.importorskip("vizdoom", reason=REASON)


@pytest.mark.timeout(180)
@pytest.mark.parametrize("backend", ["serial", "multiprocessing"])
def test_random_steps_through_vector_backends(vizdoom_package, backend):
    infos, obs, driver = run_vecenv(vizdoom.env_creator("basic"), backend)
    assert driver.single_action_space.n == 4
    assert obs.dtype == np.uint8 and obs.shape == (2, 1, 60, 80)
    assert obs.std() > 0, "the screen is not blank"
    check_episode_stats(infos)  # Basic ends after at most 300 tics = 75 steps


def test_the_engine_folder_exists_before_any_game_starts(vizdoom_package, tmp_path, monkeypatch):
    # Two engines starting at once in a fresh folder race to create it; the loser crashed.
    monkeypatch.chdir(tmp_path)
    env = vizdoom.make_env("basic")
    try:
        assert (tmp_path / vizdoom.environment.ENGINE_FOLDER).is_dir()
    finally:
        env.close()


def test_downsample_sets_the_screen_size(vizdoom_package):
    env = vizdoom.make_env("basic", downsample=2)
    obs, _ = env.reset(seed=0)
    assert obs.shape == env.single_observation_space.shape == (1, 120, 160)
    with pytest.raises(APIUsageError, match="downsample"):
        vizdoom.make_env("basic", downsample=0)


def test_policy_and_recurrent_on_a_real_batch(vizdoom_package):
    env = vizdoom.make_env("health_gathering")
    check_policy(env, vizdoom.Policy, vizdoom.Recurrent, collect_batch(env, 6))


def test_missing_dependency_names_the_extra(monkeypatch):
    hidden = ["vizdoom", "vizdoom.gymnasium_wrapper"]
    check_missing_dependency(monkeypatch, hidden, vizdoom.make_env, "vizdoom")


def test_unknown_name_lists_valid_names():
    with pytest.raises(APIUsageError, match="basic, deadly_corridor"):
        vizdoom.env_creator("doom3")
