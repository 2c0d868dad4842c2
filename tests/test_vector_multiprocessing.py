"""Multiprocessing backend: failures, shutdown, CPU use, start methods (real processes)."""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import psutil
import pytest
from hypothesis import given
from hypothesis import strategies as st

import catalogue
import vector_envs
from pufferlib.exceptions import APIUsageError
from pufferlib.vector import Multiprocessing, WorkerError
from pufferlib.vector.config import physical_cores
from pufferlib.vector.multiprocess import WORKER_POLL_S, AdaptiveSpin
from shared_memory import semaphore_files, still_there

TESTS = Path(__file__).parent


def _children() -> set[int]:
    tracker = getattr(__import__("multiprocessing.resource_tracker").resource_tracker._resource_tracker,
                      "_pid", None)
    return {p.pid for p in psutil.Process().children(recursive=True) if p.pid != tracker and p.is_running()
            and p.status() != psutil.STATUS_ZOMBIE}


def _wait_gone(pids, timeout: float = 5.0) -> set[int]:
    """The pids still running after up to ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        alive = set()
        for pid in pids:
            try:
                if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                    alive.add(pid)
            except psutil.NoSuchProcess:
                pass
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.05)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("start_method", ["fork", "spawn"])
def test_close_leaves_no_processes_or_shared_memory(start_method: str) -> None:
    before_children = _children()
    vecenv = Multiprocessing(vector_envs.counting, num_envs=4, num_workers=2, start_method=start_method,
                             batch_size=2, zero_copy=False)
    semaphores = semaphore_files(vecenv)
    assert still_there(semaphores) == semaphores and bool(semaphores) == (start_method == "spawn")
    workers = _children() - before_children
    assert len(workers) == 2
    vecenv.reset()
    vecenv.step(np.zeros(2, np.int64))
    vecenv.close()
    vecenv.close()
    assert _children() - before_children == set()
    assert not _wait_gone(workers, 0)
    assert still_there(semaphores) == set()


@pytest.mark.timeout(60)
@pytest.mark.parametrize("start_method", ["fork", "spawn", "forkserver"])
def test_start_methods_match_manual_stepping(start_method: str) -> None:
    from test_vector import assert_matches_manual

    creator = vector_envs.wrap_single(catalogue.SINGLE_AGENT["nested-nested"])
    kwargs = dict(num_envs=4, num_workers=2, batch_size=2, start_method=start_method)
    with Multiprocessing(creator, **kwargs) as vecenv:
        assert vecenv.start_method == start_method
        time.sleep(2.5 * WORKER_POLL_S)  # idle workers keep waiting (their parent checks pass)
        assert_matches_manual(vecenv, creator)


def test_spawn_needs_picklable_creators() -> None:
    with pytest.raises(APIUsageError, match="cannot be pickled.*'spawn' start method.*module level"):
        Multiprocessing(lambda: vector_envs.counting(), num_envs=2, start_method="spawn")
    with pytest.raises(APIUsageError, match="start_method must be one of"):
        Multiprocessing(vector_envs.counting, num_envs=2, start_method="threads")


@pytest.mark.timeout(30)
def test_fork_accepts_lambdas() -> None:
    with Multiprocessing(lambda: vector_envs.counting(tag=5), num_envs=2, start_method="fork") as vecenv:
        obs, _ = vecenv.reset()
        assert (obs[:, 1] == 5).all()


def test_default_workers_are_physical_cores_not_envs() -> None:
    with Multiprocessing(vector_envs.counting, num_envs=8) as vecenv:
        cores = physical_cores()
        assert vecenv.num_workers == max(d for d in (1, 2, 4, 8) if d <= cores)
        assert len(_children()) >= vecenv.num_workers
    with Multiprocessing(vector_envs.counting, num_envs=8, batch_size=1) as vecenv:
        assert vecenv.num_workers == 8  # a batch of one env needs one env per worker


@pytest.mark.timeout(60)
@pytest.mark.parametrize("where", ["step", "reset", "init"])
def test_env_exception_is_reraised_with_traceback_and_worker(where: str) -> None:
    before = _children()
    if where == "init":
        creators = [vector_envs.counting, vector_envs.counting, vector_envs.broken_init, vector_envs.counting]
        with pytest.raises(RuntimeError, match="cannot build this env") as info:
            Multiprocessing(creators, num_envs=4, num_workers=2)
        worker, function = 1, "__init__"
    else:
        fail_at = 2 if where == "step" else 4  # FailingEnv steps through resets: count continues
        failing = functools.partial(vector_envs.failing, fail=True, fail_at=fail_at)
        creators = [vector_envs.failing] * 3 + [failing]
        vecenv = Multiprocessing(creators, num_envs=4, num_workers=2)
        vecenv.reset()
        with pytest.raises(ValueError, match=f"boom at step {fail_at}") as info:
            for _ in range(fail_at):
                vecenv.step(np.zeros(4, np.int64))
        with pytest.raises(APIUsageError, match="raised an error"):
            vecenv.step(np.zeros(4, np.int64))
        vecenv.close()
        worker, function = 1, "step"
    assert info.value.worker_index == worker
    cause = str(info.value.__cause__)
    assert f"worker {worker}" in cause and "envs 2-3" in cause
    assert "Traceback" in cause and f"in {function}" in cause and "vector_envs.py" in cause
    assert f"worker {worker}" in "".join(getattr(info.value, "__notes__", [f"worker {worker}"]))
    assert _children() - before == set()


@pytest.mark.timeout(30)
def test_unrebuildable_exception_becomes_worker_error() -> None:
    stubborn = functools.partial(vector_envs.failing, fail=True, fail_at=1, unpicklable=True)
    creators = [vector_envs.failing, stubborn]
    with Multiprocessing(creators, num_envs=2, num_workers=2) as vecenv:
        vecenv.reset()
        match = "An env in worker 1 .* raised StubbornError: stubborn 7: ghost"
        with pytest.raises(WorkerError, match=match) as info:
            vecenv.step(np.zeros(2, np.int64))
        assert info.value.worker_index == 1
        assert "Traceback" in str(info.value.__cause__)


@pytest.mark.timeout(30)
@pytest.mark.parametrize("while_waiting", [False, True])
def test_killed_worker_is_detected_quickly(while_waiting: bool) -> None:
    before = _children()
    delay = 30.0 if while_waiting else 0.0
    creators = [vector_envs.counting, functools.partial(vector_envs.counting, length=100, delay=delay)]
    vecenv = Multiprocessing(creators, num_envs=2, num_workers=2)
    vecenv.reset()
    worker_pid = vecenv._processes[1].pid
    if while_waiting:
        vecenv.send(np.zeros(2, np.int64))  # worker 1 now sleeps inside env.step
        time.sleep(0.2)
    os.kill(worker_pid, signal.SIGKILL)
    start = time.monotonic()
    with pytest.raises(WorkerError, match="worker 1 .*died with signal SIGKILL") as info:
        if while_waiting:
            vecenv.recv()
        else:
            vecenv.step(np.zeros(2, np.int64))
    assert time.monotonic() - start < 1.5
    assert info.value.worker_index == 1
    vecenv.close()
    assert _children() - before == set()


@pytest.mark.timeout(30)
def test_close_kills_a_worker_stuck_in_a_step() -> None:
    before = _children()
    vecenv = Multiprocessing(functools.partial(vector_envs.counting, delay=60.0), num_envs=1)
    vecenv.reset()
    vecenv.send(np.zeros(1, np.int64))
    time.sleep(0.1)
    start = time.monotonic()
    vecenv.close()
    assert time.monotonic() - start < 5
    assert _children() - before == set()


@pytest.mark.timeout(30)
def test_idle_vecenv_uses_no_cpu() -> None:
    with Multiprocessing(vector_envs.counting, num_envs=4, num_workers=2) as vecenv:
        vecenv.reset()
        for _ in range(100):
            vecenv.step(np.zeros(4, np.int64))
        processes = [psutil.Process()] + [psutil.Process(p.pid) for p in vecenv._processes]

        def cpu() -> float:
            return sum(sum(p.cpu_times()[:2]) for p in processes)

        time.sleep(0.2)  # past every spin window
        start = cpu()
        time.sleep(1.0)
        used = cpu() - start
    assert used < 0.05, f"idle vecenv used {used:.3f}s of CPU in 1s"


@pytest.mark.timeout(30)
def test_large_infos_do_not_deadlock() -> None:
    with Multiprocessing(vector_envs.big_info, num_envs=2, num_workers=2) as vecenv:
        vecenv.reset()
        for step in range(1, 4):
            *_, infos = vecenv.step(np.zeros(2, np.int64))
            assert len(infos) == 2 and all(info["blob"][0] == step for info in infos)


def _run_script(body: str) -> subprocess.Popen:
    script = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(TESTS)!r})
        import numpy as np
        import vector_envs
        from shared_memory import semaphore_files
        from pufferlib.vector import Multiprocessing
    """) + textwrap.dedent(body)
    return subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("start_method", ["fork", "spawn"])
def test_workers_exit_when_the_parent_is_killed(start_method: str) -> None:
    parent = _run_script(f"""
        vecenv = Multiprocessing(vector_envs.counting, num_envs=2, num_workers=2,
                                 start_method={start_method!r})
        vecenv.reset()
        print(*[p.pid for p in vecenv._processes], flush=True)
        print(*semaphore_files(vecenv), flush=True)
        time.sleep(60)
    """)
    workers = [int(pid) for pid in parent.stdout.readline().split()]
    assert len(workers) == 2, parent.stderr.read()
    semaphores = set(parent.stdout.readline().split())
    assert still_there(semaphores) == semaphores and bool(semaphores) == (start_method == "spawn")
    parent.kill()
    parent.wait()
    assert not _wait_gone(workers, timeout=5.0), "orphaned workers kept running"
    time.sleep(0.5)  # the resource tracker unlinks what the killed parent left
    assert still_there(semaphores) == set()


@pytest.mark.timeout(60)
@pytest.mark.parametrize("start_method", ["fork", "spawn"])
def test_interpreter_exit_closes_an_open_vecenv(start_method: str) -> None:
    parent = _run_script(f"""
        vecenv = Multiprocessing(vector_envs.counting, num_envs=2, num_workers=2,
                                 start_method={start_method!r})
        vecenv.reset()
        vecenv.send(np.zeros(2, np.int64))
        print(*[p.pid for p in vecenv._processes], flush=True)
        print(*semaphore_files(vecenv), flush=True)
    """)
    out, err = parent.communicate(timeout=30)
    assert parent.returncode == 0, err
    assert "leaked" not in err and "Traceback" not in err, err
    pids, names = out.split("\n")[:2]
    workers = [int(pid) for pid in pids.split()]
    assert not _wait_gone(workers, timeout=2.0)
    assert len(workers) == 2 and bool(names.split()) == (start_method == "spawn")
    assert still_there(names.split()) == set()


# -- the worker's spin window --------------------------------------------------------------


def test_adaptive_spin_covers_short_waits_and_gives_up_on_long_ones():
    spin = AdaptiveSpin(floor=50e-6, cap=1e-3)
    assert spin.window == 50e-6  # a new worker does not spin long before it has seen a wait
    for _ in range(40):
        spin.record(150e-6)  # a tight stepping loop: the parent answers in ~150 us
    assert spin.window == pytest.approx(300e-6, rel=0.01)
    for _ in range(40):
        spin.record(5e-3)  # a trainer's forward passes: spinning would only burn CPU
    assert spin.window == 50e-6


@given(st.lists(st.floats(min_value=0.0, max_value=10.0), max_size=50))
def test_adaptive_spin_window_stays_within_its_bounds(waits):
    spin = AdaptiveSpin(floor=50e-6, cap=1e-3)
    for waited in waits:
        spin.record(waited)
        assert 50e-6 <= spin.window <= 1e-3
