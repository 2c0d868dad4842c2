"""Hung workers (issue 9, item 2) and semaphore cleanup under spawn (item 5), with real processes.

A worker that stops answering (SIGSTOP, an env step or constructor that never returns) must
not hang the parent: with ``timeout=`` the wait raises ``WorkerTimeoutError`` naming the
worker, its pid and its process state; the vecenv stays closable and ``close()`` returns in
seconds. Without a timeout the parent warns once about the silent worker.
"""

from __future__ import annotations

import functools
import gc
import multiprocessing.resource_tracker
import os
import signal
import time

import numpy as np
import psutil
import pytest

import vector_envs
from pufferlib.emulation import GymnasiumPufferEnv
from pufferlib.exceptions import APIUsageError
from pufferlib.vector import Multiprocessing, Serial, WorkerError, make
from pufferlib.vector import multiprocess as mp_backend
from pufferlib.vector.multiprocess import WorkerTimeoutError
from shared_memory import SHM, semaphore_files, still_there


def hanging_init() -> GymnasiumPufferEnv:
    """A constructor stuck forever (as in a C call that never returns)."""
    time.sleep(3600)
    return vector_envs.counting()


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _close_quickly(vecenv, pids: list[int]) -> None:
    start = time.monotonic()
    vecenv.close()
    assert time.monotonic() - start < 5.0
    assert not any(_alive(pid) for pid in pids)


@pytest.mark.timeout(60)
def test_sigstopped_worker_times_out_naming_worker_pid_and_state() -> None:
    vecenv = make(vector_envs.counting, backend=Multiprocessing, num_envs=2, num_workers=2, timeout=0.5)
    vecenv.reset()
    pid = vecenv._processes[1].pid
    pids = [p.pid for p in vecenv._processes]
    os.kill(pid, signal.SIGSTOP)
    try:
        start = time.monotonic()
        with pytest.raises(WorkerTimeoutError) as info:
            vecenv.step(np.zeros(2, np.int64))
        assert time.monotonic() - start < 3.0
        error = info.value
        assert isinstance(error, WorkerError) and isinstance(error, TimeoutError)
        assert error.worker_index == 1 and error.pid == pid and error.state.startswith("T")
        message = str(error)
        assert "worker 1" in message and f"pid {pid}" in message and "stopped" in message
        assert "stepping" in message and "timeout=0.5s" in message
        with pytest.raises(APIUsageError, match="raised an error"):
            vecenv.step(np.zeros(2, np.int64))
        _close_quickly(vecenv, pids)
    finally:
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("zero_copy", [True, False])
def test_step_that_sleeps_forever_times_out(zero_copy: bool) -> None:
    slow = functools.partial(vector_envs.counting, delay=3600.0)
    creators = [vector_envs.counting, vector_envs.counting, vector_envs.counting, slow]
    vecenv = Multiprocessing(creators, num_envs=4, num_workers=4, batch_size=2, zero_copy=zero_copy,
                             timeout=0.6)
    pids = [p.pid for p in vecenv._processes]
    vecenv.async_reset(0)
    with pytest.raises(WorkerTimeoutError, match=r"worker 3 .*has not answered .*stepping") as info:
        for _ in range(20):
            vecenv.recv()
            vecenv.send(np.zeros(2, np.int64))
    assert info.value.worker_index == 3 and info.value.pid == pids[3]
    assert info.value.state.startswith("S")  # asleep in time.sleep, not stopped
    _close_quickly(vecenv, pids)


@pytest.mark.timeout(60)
def test_constructor_that_hangs_times_out_and_leaves_nothing() -> None:
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    start = time.monotonic()
    with pytest.raises(WorkerTimeoutError, match=r"worker 1 .*building its envs") as info:
        Multiprocessing([vector_envs.counting, hanging_init], num_envs=2, num_workers=2, timeout=0.5)
    assert time.monotonic() - start < 5.0
    assert info.value.worker_index == 1
    assert not _alive(info.value.pid)
    tracker = getattr(multiprocessing.resource_tracker._resource_tracker, "_pid", None)
    leftover = {p.pid for p in psutil.Process().children(recursive=True) if _alive(p.pid)}
    assert leftover - before - {tracker} == set()


@pytest.mark.timeout(60)
def test_without_timeout_a_silent_worker_is_warned_about_once(monkeypatch) -> None:
    monkeypatch.setattr(mp_backend, "SILENT_WARNING_S", 0.5)
    creators = [vector_envs.counting, functools.partial(vector_envs.counting, delay=1.5)]
    with Multiprocessing(creators, num_envs=2, num_workers=2) as vecenv:
        vecenv.reset()
        with pytest.warns(RuntimeWarning, match=r"worker 1 .*has not answered.*timeout=SECONDS") as record:
            vecenv.step(np.zeros(2, np.int64))
            vecenv.step(np.zeros(2, np.int64))
        assert len([w for w in record if "has not answered" in str(w.message)]) == 1


@pytest.mark.parametrize("timeout", [0, -1.0, float("inf"), float("nan"), "5", True])
def test_bad_timeout_is_an_api_usage_error(timeout) -> None:
    with pytest.raises(APIUsageError, match="timeout must be a positive number"):
        Multiprocessing(vector_envs.counting, num_envs=1, timeout=timeout)


def test_timeout_is_accepted_by_make_and_documented() -> None:
    assert "timeout" in Multiprocessing.options
    assert "timeout" in (make.__doc__ or "") and "timeout" in (Multiprocessing.__doc__ or "")
    with make(vector_envs.counting, backend="multiprocessing", num_envs=1, timeout=30) as vecenv:
        assert vecenv.timeout == 30.0
        vecenv.reset()
        vecenv.step(np.zeros(1, np.int64))
    with pytest.raises(APIUsageError, match="timeout"):
        make(vector_envs.counting, backend=Serial, num_envs=1, timeout=1.0)


@pytest.mark.timeout(60)
@pytest.mark.skipif(not SHM.exists(), reason="named semaphores live in /dev/shm on Linux")
def test_spawn_semaphores_are_freed_while_a_caught_worker_error_is_referenced() -> None:
    failing = functools.partial(vector_envs.failing, fail=True, fail_at=1)
    vecenv = Multiprocessing([vector_envs.failing, failing], num_envs=2, num_workers=2, start_method="spawn")
    semaphores = semaphore_files(vecenv)
    assert still_there(semaphores) == semaphores != set()  # spawn names its semaphores in /dev/shm
    vecenv.reset()
    caught = None
    try:
        vecenv.step(np.zeros(2, np.int64))
    except ValueError as error:
        caught = error  # kept: its traceback references the frames that waited on a semaphore
    assert caught is not None and caught.__traceback__ is not None
    vecenv.close()
    gc.collect()
    assert still_there(semaphores) == set()
