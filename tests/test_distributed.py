"""Multi-process training with torch.distributed: gloo on CPU, 2 real ranks.

The ranks are real processes: launched by ``torchrun`` itself, or started by the test with
the environment torchrun sets (so that the test can watch one rank while another crashes).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from torch import nn

import distributed_train
from pufferlib import distributed
from pufferlib.exceptions import APIUsageError
from pufferlib.trainer import TrainConfig

TESTS = Path(__file__).parent
TORCHRUN = Path(sys.executable).parent / "torchrun"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def reports(out_dir: Path, world_size: int = 2) -> list[dict]:
    return [json.loads((out_dir / f"rank{r}.json").read_text()) for r in range(world_size)]


def start_ranks(scenario: str, out_dir: Path, timeout_s: float, world_size: int = 2) -> list:
    context = multiprocessing.get_context("spawn")
    port = free_port()
    processes = [context.Process(target=distributed_train.spawned_rank,
                                 args=(r, world_size, port, scenario, str(out_dir), timeout_s))
                 for r in range(world_size)]
    for p in processes:
        p.start()
    return processes


def stop(processes: list, grace_s: float = 20.0) -> None:
    """Join the ranks, killing any still running after ``grace_s`` (a test never leaves one behind)."""
    deadline = time.monotonic() + grace_s
    for p in processes:
        p.join(max(0.0, deadline - time.monotonic()))
        if p.is_alive():
            p.kill()
            p.join(10)


def test_single_process_needs_no_process_group() -> None:
    context = distributed.init_from_env(environ={})
    assert (context.rank, context.world_size, context.backend, context.is_main) == (0, 1, None, True)
    assert distributed.world_size() == 1 and distributed.is_main_process()
    assert distributed.rank_seed(7, 16) == 7  # one rank: the seed is unchanged
    assert distributed.broadcast_object("exp") == "exp"
    config = TrainConfig()
    assert distributed.prepare_run(config, "exp")[:2] == (config, "exp")
    with pytest.raises(APIUsageError, match="RANK"):
        distributed.init_from_env(environ={"WORLD_SIZE": "2"})
    with pytest.raises(APIUsageError, match="outside"):
        distributed.init_from_env(environ={"WORLD_SIZE": "2", "RANK": "2"})
    with pytest.raises(APIUsageError, match="integer"):
        distributed.init_from_env(environ={"WORLD_SIZE": "two"})
    with pytest.raises(APIUsageError, match="timeout_s"):
        distributed.init_from_env(timeout_s=0, environ={})


def _average_in_rank(rank: int, port: int, queue) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE="2")
    distributed.init_from_env(timeout_s=30)
    try:
        torch.manual_seed(rank)
        model = nn.Sequential(nn.Linear(3, 2), nn.Linear(2, 1))
        distributed.broadcast_module(model)
        averager = distributed.GradientAverager(model.parameters())
        for i, p in enumerate(model.parameters()):
            if i != 3:  # the last bias has no gradient on either rank: it must count as zero
                p.grad = torch.full_like(p, float(rank + 1) * (i + 1))
        averager.average()
        config, exp_id, context = distributed.prepare_run(TrainConfig(), f"run-of-rank-{rank}")
        assert config.device == "cpu" and context.backend == "gloo" and context.rank == rank
        queue.put((rank, [p.grad.tolist() for p in model.parameters()],
                   distributed.flat_parameters(model).tolist(), distributed.rank_seed(5, 8),
                   distributed.is_main_process(), exp_id))
    finally:
        distributed.destroy()


@pytest.mark.timeout(120)
def test_gradient_averaging_and_broadcast_across_two_ranks() -> None:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    port = free_port()
    processes = [context.Process(target=_average_in_rank, args=(r, port, queue)) for r in range(2)]
    for p in processes:
        p.start()
    try:
        results = dict((r, rest) for r, *rest in (queue.get(timeout=90) for _ in processes))
    finally:
        stop(processes)
    assert [p.exitcode for p in processes] == [0, 0]
    (grads0, weights0, seed0, main0, id0), (grads1, weights1, seed1, main1, id1) = results[0], results[1]
    assert id0 == id1 == "run-of-rank-0"
    assert weights0 == weights1  # rank 1 started from rank 0's weights
    assert grads0 == grads1
    for i, grad in enumerate(grads0):
        expected = 0.0 if i == 3 else 1.5 * (i + 1)  # mean of (1, 2) * (i + 1)
        assert torch.allclose(torch.tensor(grad), torch.full_like(torch.tensor(grad), expected))
    assert (seed0, seed1) == (5, 13)  # seeded apart by num_envs
    assert (main0, main1) == (True, False)


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_torchrun_two_ranks_learn_with_identical_weights(tmp_path) -> None:
    """Real ``torchrun --nproc-per-node 2``: squared learns within its step budget."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run(
        [str(TORCHRUN), "--standalone", "--nproc-per-node", "2", str(TESTS / "distributed_train.py"), "learn",
         str(tmp_path), "60"],
        env=env, capture_output=True, text=True, timeout=360)
    assert result.returncode == 0, result.stderr[-3000:]
    rank0, rank1 = reports(tmp_path)
    assert rank0["world_size"] == 2
    updates = len(rank0["weights_equal"])
    assert updates >= 10 and rank0["weights_equal"] == [True] * updates == rank1["weights_equal"]
    assert rank0["weight_norms"] == rank1["weight_norms"]
    assert len(set(rank0["weight_norms"])) == updates  # the weights move on every update
    # Each rank collects 512 agent steps per update (plus, once, each of its 16 agents' bootstrap
    # step); the step count covers both ranks.
    expected = [2 * (512 * (i + 1) + 16) for i in range(updates)]
    assert rank0["global_steps"] == rank1["global_steps"] == expected
    assert rank0["global_steps"][-1] <= 30_000 + 1024
    assert rank0["seed"] != rank1["seed"] and rank0["first_rollout"] != rank1["first_rollout"]
    assert rank0["score"] >= 0.9 and rank1["score"] >= 0.9
    # Only rank 0 checkpoints (checkpoint_interval=1, and close() on every rank), into one folder.
    assert len(rank0["saves"]) >= updates and rank1["saves"] == []
    assert [p.name for p in (tmp_path / "experiments").iterdir()] == ["distributed"]
    assert (tmp_path / "experiments" / "distributed" / "model.pt").is_file()


@pytest.mark.timeout(180)
@pytest.mark.parametrize("scenario, timeout_s", [("crash", 60.0), ("hang", 8.0)])
def test_a_failed_rank_makes_the_others_exit_with_an_error(tmp_path, scenario: str, timeout_s: float) -> None:
    """Rank 1 crashes (or stops answering) after one update; rank 0 raises instead of hanging."""
    processes = start_ranks(scenario, tmp_path, timeout_s)
    try:
        processes[0].join(150)
        assert not processes[0].is_alive(), "rank 0 hung after rank 1 failed"
    finally:
        stop(processes, grace_s=0)
    assert processes[0].exitcode != 0
    rank0 = json.loads((tmp_path / "rank0.json").read_text())
    assert rank0["error_type"] == "DistributedError", rank0.get("traceback")
    assert "Rank 0 of 2" in rank0["error"] and "another rank crashed" in rank0["error"]
    assert len(rank0["weights_equal"]) == 1  # it failed at the next collective, not later
    if scenario == "crash":
        assert "rank 1 crashed on purpose" in json.loads((tmp_path / "rank1.json").read_text())["error"]
        # A peer that exits closes its sockets: rank 0 notices well before the timeout.
        assert rank0["elapsed_s"] < 50
    else:
        assert rank0["elapsed_s"] < 100


@pytest.mark.timeout(180)
def test_every_rank_resumes_from_rank_0s_checkpoint(tmp_path) -> None:
    processes = start_ranks("resume", tmp_path, 60.0)
    try:
        for p in processes:
            p.join(150)
    finally:
        stop(processes, grace_s=0)
    assert [p.exitcode for p in processes] == [0, 0]
    for report in reports(tmp_path):
        assert "error" not in report, report.get("traceback")
        assert report["resumed_from"] == report["global_steps"][-1]  # the step count is restored
        assert report["resumed_to"] > report["resumed_from"]
        # The resumed policy is the one trained, on every rank, and stays identical across ranks.
        assert all(report["resumed_weights_equal"]) and len(report["resumed_weights_equal"]) > 1


@pytest.mark.timeout(120)
def test_ranks_with_different_setups_are_refused(tmp_path) -> None:
    """A rank with another number of envs would deadlock the collectives: refused at once."""
    processes = start_ranks("mismatch", tmp_path, 30.0)
    try:
        for p in processes:
            p.join(100)
        assert not any(p.is_alive() for p in processes)
    finally:
        stop(processes)
    for report in reports(tmp_path):
        assert report["error_type"] == "APIUsageError" and "differs across ranks" in report["error"]
