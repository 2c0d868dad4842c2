"""Ray backend on a real local Ray cluster (one cluster shared by the module: startup is slow)."""

from __future__ import annotations

import functools
import os
import time
from pathlib import Path

import numpy as np
import pytest

import catalogue
import pufferlib.vector
import vector_envs
from pufferlib.environments import classic_control
from pufferlib.exceptions import APIUsageError
from pufferlib.vector import Ray, WorkerError
from pufferlib.vector.buffers import Buffers, BufferSpec
from pufferlib.vector.group import env_signature
from pufferlib.vector.ray_actors import RESULT_FIELDS, RayWorker, result_span

ray = pytest.importorskip("ray", reason="the ray extra is not installed")


@pytest.fixture(scope="module")
def cluster():
    # Actors import the test helper modules (catalogue, vector_envs) from tests/.
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": str(Path(__file__).parent)}})
    yield
    ray.shutdown()


@pytest.mark.timeout(180)
@pytest.mark.parametrize("env_name, kwargs", [
    ("single:nested-nested", dict(num_workers=2, batch_size=2, zero_copy=False)),
    ("multi:nested-nested", dict(num_workers=2)),
    ("single:nested-box", dict(num_workers=2, batch_size=2, zero_copy=True)),  # float actions, packed
])
def test_matches_manual_stepping(cluster, env_name: str, kwargs: dict) -> None:
    from test_vector import CATALOGUE, assert_matches_manual

    creator = CATALOGUE[env_name]
    with pufferlib.vector.make(creator, backend="ray", num_envs=4, **kwargs) as vecenv:
        assert isinstance(vecenv, Ray)
        assert_matches_manual(vecenv, creator)


def test_worker_packs_results_into_one_buffer() -> None:
    """Each step call moves one bytes object each way; infos are None unless an env reported one."""
    creator = classic_control.env_creator("cartpole")  # infos only where an episode ends
    driver = creator()
    spec = BufferSpec.for_env(driver, 3, 1)
    worker = RayWorker(spec)
    worker.start([creator] * 3, [()] * 3, [{}] * 3, 0, env_signature(driver))
    results, _ = worker.reset([1, 2, 3])
    staged = Buffers(spec)
    start, stop = result_span(spec)
    packed = staged.observations.base  # the block behind every view
    assert isinstance(results, bytes) and len(results) == stop - start
    infos_seen = []
    for _ in range(40):
        results, infos = worker.step(np.ones(3, np.int64).tobytes())
        assert infos is None or (isinstance(infos, list) and infos)
        infos_seen.append(infos)
        np.frombuffer(packed, np.uint8)[start:stop] = np.frombuffer(results, np.uint8)
        for name in RESULT_FIELDS:
            np.testing.assert_array_equal(getattr(staged, name), getattr(worker.buffers, name))
    np.testing.assert_array_equal(worker.buffers.actions, [1, 1, 1])
    assert any(infos is None for infos in infos_seen) and any(infos for infos in infos_seen)
    worker.close()
    driver.close()


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
    # ray.kill is asynchronous: a step may still complete before the actor dies, but the
    # death must surface as an error soon after, never as a hang.
    deadline = time.monotonic() + 30
    with pytest.raises(WorkerError, match="Ray worker 1"):
        while time.monotonic() < deadline:
            vecenv.step(np.zeros(2, np.int64))
    vecenv.close()
    assert os.environ.get("RAY_ADDRESS") is None or ray.is_initialized()


@pytest.mark.timeout(120)
def test_options_are_checked_and_passed_through_make(cluster) -> None:
    for bad, match in ((dict(timeout=0), "timeout must be a positive"), (dict(timeout="5"), "timeout"),
                       (dict(placement="everywhere"), "placement must be"),
                       (dict(placement={"sim": -1}), "placement must be"),
                       (dict(address=""), "address must be"), (dict(recover=1), "recover must be")):
        with pytest.raises(APIUsageError, match=match):
            pufferlib.vector.make(vector_envs.counting, backend="ray", num_envs=2, **bad)
    with pufferlib.vector.make(vector_envs.counting, backend="ray", num_envs=2, num_workers=2, timeout=30,
                               placement="default", recover=False) as vecenv:
        assert vecenv.timeout == 30.0
        assert [set(location) for location in vecenv.worker_locations] == [{"node_id", "ip", "pid"}] * 2
        assert all(location["pid"] != os.getpid() for location in vecenv.worker_locations)


@pytest.mark.timeout(120)
def test_a_silent_worker_is_named_in_one_warning_without_a_timeout(cluster, monkeypatch) -> None:
    from pufferlib.vector import ray_actors

    monkeypatch.setattr(ray_actors, "SILENT_WARNING_S", 0.3)
    creators = [vector_envs.counting, functools.partial(vector_envs.counting, length=100, delay=1.0)]
    for batch_size in (2, 1):  # the synchronous path and the ray.wait pool path
        with Ray(creators, num_envs=2, num_workers=2, batch_size=batch_size, zero_copy=False) as vecenv:
            vecenv.async_reset(seed=1)
            vecenv.recv()
            message = r"Ray worker 1 \(env 1, pid \d+.*\) has not answered for 0.3s while stepping its envs"
            with pytest.warns(RuntimeWarning, match=message) as warned:
                for _ in range(3):
                    vecenv.send(np.zeros(batch_size, np.int64))
                    vecenv.recv()
            assert len([w for w in warned if "has not answered" in str(w.message)]) == 1
