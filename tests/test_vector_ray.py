"""Ray backend on a real local Ray cluster (one cluster shared by the module: startup is slow)."""

from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np
import pytest

import catalogue
import pufferlib.vector
import vector_envs
from pufferlib.exceptions import APIUsageError
from pufferlib.vector import Ray, WorkerError

ray = pytest.importorskip("ray", reason="the ray extra is not installed")


@pytest.fixture(scope="module")
def cluster():
    # Actors import the test helper modules (catalogue, vector_envs) from tests/.
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": str(Path(__file__).parent)}})
    yield
    ray.shutdown()


@pytest.mark.timeout(180)
@pytest.mark.parametrize("env_name, kwargs", [
    ("single:nested-nested", dict(num_workers=2, batch_size=2, zero_copy=False)),
    ("multi:nested-nested", dict(num_workers=2)),
])
def test_matches_manual_stepping(cluster, env_name: str, kwargs: dict) -> None:
    from test_vector import CATALOGUE, assert_matches_manual

    creator = CATALOGUE[env_name]
    with pufferlib.vector.make(creator, backend="ray", num_envs=4, **kwargs) as vecenv:
        assert isinstance(vecenv, Ray)
        assert_matches_manual(vecenv, creator)


@pytest.mark.timeout(180)
def test_pool_steps_every_env_with_its_own_seed_and_reports_errors(cluster) -> None:
    creator = vector_envs.wrap_single(catalogue.SINGLE_AGENT["box-discrete"])
    with Ray(creator, num_envs=4, num_workers=4, batch_size=2) as vecenv:
        vecenv.async_reset(seed=3)
        first_obs = {}
        for _ in range(8):
            obs, _, _, _, _, env_ids, _ = vecenv.recv()
            for env, row in zip(env_ids, obs):
                first_obs.setdefault(int(env), row.copy())
            vecenv.send(np.zeros(2, np.int64))
        assert sorted(first_obs) == [0, 1, 2, 3]  # every env stepped in pool mode
        assert len({row.tobytes() for row in first_obs.values()}) == 4  # each env its own seed
    creators = [vector_envs.failing] * 3 + [functools.partial(vector_envs.failing, fail=True, fail_at=3)]
    with pytest.raises(ValueError, match="boom at step 3") as info, Ray(creators, num_envs=4,
                                                                         num_workers=2) as vecenv:
        vecenv.reset()
        for _ in range(3):
            vecenv.step(np.zeros(4, np.int64))
    assert "Ray worker 1" in "".join(getattr(info.value, "__notes__", ["Ray worker 1"]))


@pytest.mark.timeout(120)
def test_dead_actor_and_bad_envs_raise(cluster) -> None:
    creators = [vector_envs.counting, functools.partial(vector_envs.wide, 3)]
    with pytest.raises(APIUsageError, match="Env 1 differs from env 0"):
        Ray(creators, num_envs=2, num_workers=2)
    vecenv = Ray(vector_envs.counting, num_envs=2, num_workers=2)
    vecenv.reset()
    ray.kill(vecenv._actors[1])
    with pytest.raises(WorkerError, match="Ray worker 1"):
        vecenv.step(np.zeros(2, np.int64))
    vecenv.close()
    assert os.environ.get("RAY_ADDRESS") is None or ray.is_initialized()
