"""The Ray backend on a real multi-node Ray cluster on one machine (several raylets).

``ray.cluster_utils.Cluster`` starts a head node and worker nodes as separate raylet
processes, each with one CPU, exactly as ``ray start --head`` / ``ray start --address`` would.
The module shares one cluster (starting nodes is slow); tests that remove a node add their
own first. Worker nodes carry a ``sim`` resource so that tests can pin actors to them.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time

import numpy as np
import pytest

from pufferlib.environments import classic_control
from pufferlib.exceptions import APIUsageError
from pufferlib.vector import Ray, Serial, WorkerError, WorkerTimeoutError

ray = pytest.importorskip("ray", reason="the ray extra is not installed")
cluster_utils = pytest.importorskip("ray.cluster_utils")

pytestmark = pytest.mark.timeout(300)

CARTPOLE = classic_control.env_creator("cartpole")
STEPS = 60


@pytest.fixture(scope="module")
def cluster():
    cluster = cluster_utils.Cluster(initialize_head=True,
                                    head_node_args={"num_cpus": 1, "include_dashboard": False})
    first = cluster.add_node(num_cpus=1, resources={"sim": 1})
    cluster.wait_for_nodes()
    ray.init(address=cluster.address, log_to_driver=False)
    yield cluster, first
    if ray.is_initialized():
        ray.shutdown()
    cluster.shutdown()


def live_actors(settle_s: float = 5.0) -> list[dict]:
    """Actors of the cluster not yet dead (waiting up to ``settle_s``: kills reach the GCS late)."""
    deadline = time.monotonic() + settle_s
    while True:
        alive = [a for a in ray._private.state.actors().values() if a["State"] != "DEAD"]
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.1)


def rollout(vecenv, steps: int = STEPS) -> list[tuple]:
    """Observations, rewards and flags of ``steps`` steps of seeded random actions."""
    rng = np.random.default_rng(0)
    obs, _ = vecenv.reset(seed=7)
    record = [(obs.copy(),)]
    for _ in range(steps):
        obs, rewards, terminals, truncations, _ = vecenv.step(rng.integers(0, 2, vecenv.num_agents))
        record.append((obs.copy(), rewards.copy(), terminals.copy(), truncations.copy()))
    return record


def close_quickly(vecenv) -> None:
    start = time.monotonic()
    vecenv.close()
    assert time.monotonic() - start < 5.0
    assert live_actors() == []


def test_workers_spread_over_nodes_and_match_serial(cluster) -> None:
    _, first = cluster
    vecenv = Ray(CARTPOLE, num_envs=4, num_workers=2)
    try:
        assert len(ray.nodes()) == 2
        nodes = {location["node_id"] for location in vecenv.worker_locations}
        assert len(nodes) == 2  # spread: one actor on each node
        ours = rollout(vecenv)
    finally:
        close_quickly(vecenv)
    with Serial(CARTPOLE, num_envs=4) as serial:
        theirs = rollout(serial)
    assert any(step[2].any() for step in theirs[1:])  # episodes ended and auto-reset within the run
    for mine, reference in zip(ours, theirs, strict=True):
        for a, b in zip(mine, reference, strict=True):
            np.testing.assert_array_equal(a, b)

    # Pinned by node resources: both actors on the node that offers "sim".
    with Ray(CARTPOLE, num_envs=4, num_workers=2, placement={"sim": 0.5}) as pinned:
        assert {location["node_id"] for location in pinned.worker_locations} == {first.node_id}
    assert live_actors() == []
    with pytest.raises(APIUsageError, match="No node of the Ray cluster has the resources"):
        Ray(CARTPOLE, num_envs=2, placement={"gpu_sim": 1})
    with pytest.raises(APIUsageError, match="placement must be"):
        Ray(CARTPOLE, num_envs=2, placement="everywhere")


def test_address_and_ray_address_join_the_cluster(cluster, monkeypatch) -> None:
    head_cluster, _ = cluster
    ray.shutdown()
    with Ray(CARTPOLE, num_envs=2, num_workers=2, address=head_cluster.address) as vecenv:
        assert len(ray.nodes()) == 2  # joined the cluster instead of starting a local one
        assert len({location["node_id"] for location in vecenv.worker_locations}) == 2
    ray.shutdown()
    monkeypatch.setenv("RAY_ADDRESS", head_cluster.address)
    with Ray(CARTPOLE, num_envs=2, num_workers=2) as vecenv:
        assert len(ray.nodes()) == 2
        assert len({location["node_id"] for location in vecenv.worker_locations}) == 2
    ray.shutdown()
    monkeypatch.delenv("RAY_ADDRESS")
    start = time.monotonic()
    with pytest.raises(APIUsageError, match="No Ray cluster answers at '127.0.0.1:1'"):
        Ray(CARTPOLE, num_envs=2, address="127.0.0.1:1")
    assert time.monotonic() - start < 15
    ray.init(address=head_cluster.address, log_to_driver=False)


def _pinned_pair(head_cluster, **kwargs) -> tuple[Ray, object, int]:
    """Two actors pinned to the two ``sim`` nodes (one CPU each); a second ``sim`` node is added
    first. Returns the vecenv, the added node and the worker on it."""
    added = head_cluster.add_node(num_cpus=1, resources={"sim": 1})
    head_cluster.wait_for_nodes()
    vecenv = Ray(CARTPOLE, num_envs=4, num_workers=2, placement={"sim": 1}, **kwargs)
    on_added = [w for w, loc in enumerate(vecenv.worker_locations) if loc["node_id"] == added.node_id]
    assert len(on_added) == 1
    return vecenv, added, on_added[0]


def test_removing_a_worker_node_raises_then_close_leaves_no_actors(cluster) -> None:
    head_cluster, _ = cluster
    vecenv, added, lost = _pinned_pair(head_cluster)
    vecenv.reset(seed=1)
    for _ in range(5):
        vecenv.step(np.zeros(4, np.int64))
    head_cluster.remove_node(added)
    start = time.monotonic()
    with pytest.raises(WorkerError, match=f"Ray worker {lost} .* died while stepping") as info:
        while time.monotonic() - start < 60:
            vecenv.step(np.zeros(4, np.int64))
    assert time.monotonic() - start < 60
    assert info.value.worker_index == lost and "recover=True" in str(info.value)
    with pytest.raises(APIUsageError, match="close"):
        vecenv.step(np.zeros(4, np.int64))
    close_quickly(vecenv)


def test_recover_restarts_a_lost_worker_and_reports_a_truncation(cluster) -> None:
    head_cluster, _ = cluster
    vecenv, added, lost = _pinned_pair(head_cluster, recover=True)
    try:
        vecenv.reset(seed=1)
        for _ in range(5):
            vecenv.step(np.zeros(4, np.int64))
        head_cluster.remove_node(added)
        rows = slice(lost * 2, lost * 2 + 2)
        truncated_at = []
        with pytest.warns(RuntimeWarning, match=f"Ray worker {lost} .* replaced a lost actor"):
            for step in range(300):
                _, rewards, terminals, truncations, _ = vecenv.step(np.ones(4, np.int64))
                if truncations[rows].all():
                    truncated_at.append(step)
                    assert not terminals[rows].any() and (rewards[rows] == 0).all()
                if truncated_at and step >= truncated_at[0] + 20:
                    break
        # One truncation (the lost episode) and then ordinary steps of the replacement's envs.
        assert vecenv.restarts == 1 and len(truncated_at) == 1
        assert vecenv.worker_locations[lost]["node_id"] != added.node_id
        alive = {n["NodeID"] for n in ray.nodes() if n["Alive"]}
        assert vecenv.worker_locations[lost]["node_id"] in alive
    finally:
        close_quickly(vecenv)


def test_timeout_names_the_silent_worker_and_close_is_quick(cluster) -> None:
    """A stopped actor (SIGSTOP: as if stuck in a C call) raises within the timeout."""
    # Starting an actor's process takes seconds on a busy machine: the timeout covers that too.
    vecenv = Ray(CARTPOLE, num_envs=2, num_workers=2, timeout=8.0)
    vecenv.reset(seed=1)
    pid = vecenv.worker_locations[1]["pid"]
    os.kill(pid, signal.SIGSTOP)
    try:
        start = time.monotonic()
        with pytest.raises(WorkerTimeoutError, match=f"Ray worker 1 .*pid {pid}.* within 8s while stepping"):
            vecenv.step(np.zeros(2, np.int64))
        assert time.monotonic() - start < 20
        close_quickly(vecenv)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGCONT)


def test_training_survives_a_lost_node_with_recover(cluster, tmp_path) -> None:
    """A PPO run on a two-node pool keeps training through a node removal (recover=True)."""
    import torch

    from pufferlib.environments import ocean
    from pufferlib.trainer import TrainConfig, Trainer

    head_cluster, _ = cluster
    added = head_cluster.add_node(num_cpus=1, resources={"sim": 1})
    head_cluster.wait_for_nodes()
    torch.manual_seed(1)
    vecenv = Ray(ocean.env_creator("squared"), num_envs=8, num_workers=2, placement={"sim": 1}, recover=True)
    assert added.node_id in {location["node_id"] for location in vecenv.worker_locations}
    config = TrainConfig(total_timesteps=6144, batch_size=512, minibatch_size=128, bptt_horizon=8,
                         data_dir=str(tmp_path))
    trainer = Trainer(vecenv, ocean.Policy(vecenv.driver_env, hidden_size=32), config, exp_id="recover")
    try:
        with pytest.warns(RuntimeWarning, match="replaced a lost actor"):
            while not trainer.done:
                trainer.evaluate()
                trainer.train()
                if trainer.update == 3:
                    head_cluster.remove_node(added)
        assert vecenv.restarts == 1 and trainer.global_step >= 6144
        assert all(np.isfinite(p.detach().numpy()).all() for p in trainer.policy.parameters())
    finally:
        trainer.close(save=False)
    assert live_actors() == []
