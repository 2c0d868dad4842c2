"""``Multiprocessing``: envs in worker processes, every array in shared memory (spec 3.3).

Data path: one shared block (``buffers.Buffers``) holds observations, rewards, flags,
masks and actions for every agent, plus per-worker command and message words. Envs write
their results straight into their rows; workers read actions from theirs. Nothing per step
is pickled: only info dicts (when an episode ends) and errors travel through a pipe.

Synchronisation: per worker, a ``go`` semaphore (parent -> worker: the command word is
ready) and a ``done`` semaphore (worker -> parent: results are in the buffers). Waiting
on either side first spins, yielding the core on every try (``sched_yield``), because the
answer usually comes fast: the parent for a few tens of microseconds, a worker for about as
long as its recent waits took (``AdaptiveSpin``, at most a millisecond); then it blocks in
``sem_timedwait``, so an idle vecenv costs no CPU. The blocking waits time out
periodically: the parent checks that every worker is alive, a worker that its parent is.
When batches may be formed from any ready workers (``zero_copy=False``), workers also
post a shared ``wake`` semaphore so the parent can block on "any worker finished".

Hung workers: with ``timeout=SECONDS`` a worker that has not answered a command (building
its envs, reset or step) within that time raises ``WorkerTimeoutError``; without it, a
worker silent for ``SILENT_WARNING_S`` gets one warning naming it. Either way ``close()``
kills a worker that does not stop by itself.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import multiprocessing.connection
import os
import pickle
import signal
import time
import traceback
import warnings
import weakref
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from pufferlib.exceptions import APIUsageError
from pufferlib.memory import require
from pufferlib.vector.base import VecEnv
from pufferlib.vector.buffers import Buffers, BufferSpec
from pufferlib.vector.config import (
    check_picklable,
    default_num_workers,
    normalize_creators,
    physical_cores,
    resolve_pool,
)
from pufferlib.vector.group import EnvGroup, create_env, create_envs, env_signature
from pufferlib.vector.workers import (  # noqa: F401 (WorkerError, WorkerTimeoutError: importable from here too)
    SILENT_WARNING_S,
    WorkerError,
    WorkerTimeoutError,
    check_timeout,
    process_state,
)

STEP, RESET, CLOSE = 1, 2, 3
NO_MESSAGE, INFOS, ERROR = 0, 1, 2

# Measured on the 2-core dev machine (semaphore ping-pong between processes): a round trip
# costs ~7 us through sleeping futexes and ~4 us when the waiter spins with sched_yield; a
# synchronous step of two idle workers costs ~49 us blocking-only but 5-7 us with a 20-50 us
# yielding spin. Spinning *without* yielding was the worst (17-74 us): the spinner steals
# the core of the process it waits for. Longer spins only take cores from workers and model.
PARENT_SPIN_S = 50e-6
WORKER_SPIN_S = 50e-6
# A worker that blocks costs more than that whenever the parent answers within a few hundred
# microseconds (a fast env stepped in a tight loop): waking a sleeping process took 100-200 us
# here (a virtual machine: the host must interrupt a halted vCPU). So a worker spins for about
# as long as its recent waits for the parent took, up to WORKER_SPIN_MAX_S; a trainer's
# millisecond-long forward passes keep the window at WORKER_SPIN_S, costing no CPU.
WORKER_SPIN_MAX_S = 1e-3
PARENT_POLL_S = 0.2  # how often a blocked parent checks that its workers are alive
WORKER_POLL_S = 0.5  # how often a blocked worker checks that its parent is alive
CLOSE_GRACE_S = 2.0  # close(): how long workers get to exit by themselves

_DOING = {STEP: "stepping its envs", RESET: "resetting its envs"}


class RemoteTraceback(Exception):
    """The original traceback of an exception raised in a worker (set as ``__cause__``)."""

    def __str__(self) -> str:
        return self.args[0]


def _spin_acquire(sem: Any, seconds: float) -> bool:
    """Acquire ``sem`` if it is released within ``seconds``, yielding the core between tries."""
    acquire = sem.acquire
    if acquire(False):
        return True
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        os.sched_yield()
        if acquire(False):
            return True
    return False


class AdaptiveSpin:
    """A spin window that follows the recent waits: ``2 x`` their moving average within
    ``[floor, cap]``, or ``floor`` once that average exceeds ``cap`` (spinning would not pay)."""

    def __init__(self, floor: float, cap: float):
        self.floor, self.cap = floor, cap
        self.window = floor
        self._typical = cap  # start sceptical: long waits until shown otherwise

    def record(self, waited: float) -> None:
        """Fold in how long the last wait took (seconds) and set the next ``window``."""
        self._typical += 0.2 * (waited - self._typical)
        if self._typical > self.cap:
            self.window = self.floor
        else:
            self.window = min(self.cap, max(self.floor, 2 * self._typical))


def _alive(parent_pid: int, spawner_pid: int) -> bool:
    """Whether the vecenv's process still exists (seen from one of its workers)."""
    if os.getppid() != spawner_pid:  # reparented: the process that started us is gone
        return False
    try:
        os.kill(parent_pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "no exit code"
    if code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"exit code {code}"


def _error_payload(error: BaseException) -> tuple:
    try:
        exc = pickle.dumps(error)
    except Exception:
        exc = None
    return exc, f"{type(error).__name__}: {error}", traceback.format_exc()


# -------------------------------------------------------------------------------------
# Worker process


def _worker_main(index: int, creators: Sequence[Callable], args: Sequence, kwargs: Sequence,
                 spec: BufferSpec, memory: Any, go: Any, done: Any, wake: Any,
                 conn: multiprocessing.connection.Connection, parent_pid: int, reference: tuple) -> None:
    # Ctrl-C reaches the whole process group: the parent handles it and closes the workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    buffers = Buffers(spec, memory)
    envs_per_worker = spec.num_envs // spec.num_workers
    first_env = index * envs_per_worker
    try:
        group = EnvGroup(create_envs(creators, args, kwargs, first_env, reference), buffers,
                         first_env * spec.agents_per_env)
    except BaseException as e:
        conn.send(_error_payload(e))
        conn.close()
        return
    conn.send(None)
    # Under forkserver our parent process is the fork server, not the vecenv's process.
    spawner_pid = os.getppid()
    commands, messages = buffers.commands, buffers.messages
    env_slice = slice(first_env, first_env + envs_per_worker)
    spin = AdaptiveSpin(WORKER_SPIN_S, WORKER_SPIN_MAX_S)
    try:
        while True:
            waiting_since = time.perf_counter()
            if not _spin_acquire(go, spin.window):
                while not go.acquire(True, WORKER_POLL_S):
                    if not _alive(parent_pid, spawner_pid):
                        return
            spin.record(time.perf_counter() - waiting_since)
            command = commands.item(index)  # a Python int: cheaper to compare than numpy's
            if command == CLOSE:
                return
            try:
                if command == STEP:
                    infos = group.step()
                else:
                    infos = group.reset([int(s) if given else None for s, given in
                                         zip(buffers.seeds[env_slice], buffers.seeded[env_slice])])
                payload = pickle.dumps(infos) if infos else None
                messages[index] = INFOS if infos else NO_MESSAGE
            except Exception as e:
                payload = pickle.dumps(_error_payload(e))
                messages[index] = ERROR
            done.release()
            if wake is not None:
                wake.release()
            if payload is not None:
                # After `done`: the parent reads the pipe while we write, so a payload larger
                # than the pipe buffer cannot deadlock.
                conn.send_bytes(payload)
    finally:
        try:
            group.close()
        finally:
            conn.close()


# -------------------------------------------------------------------------------------
# Parent side


class _Workers:
    """The processes, semaphores and pipes of one vecenv. ``shutdown`` is idempotent and
    runs from ``close()``, from garbage collection, or at interpreter exit."""

    def __init__(self, ctx: Any, num_workers: int, notify_any: bool, commands: np.ndarray, driver: Any):
        self.owner_pid = os.getpid()
        self.go = [ctx.Semaphore(0) for _ in range(num_workers)]
        self.done = [ctx.Semaphore(0) for _ in range(num_workers)]
        self.wake = ctx.Semaphore(0) if notify_any else None
        self.processes: list = []
        self.conns: list = []
        self.commands = commands
        self.driver = driver
        self.closed = False
        self.stuck: set[int] = set()  # workers that timed out: killed at once on shutdown

    def shutdown(self) -> None:
        if self.closed or os.getpid() != self.owner_pid:
            return
        self.closed = True
        for w in self.stuck:
            if w < len(self.processes) and self.processes[w].is_alive():
                self.processes[w].kill()  # SIGKILL also ends a stopped (SIGSTOP) process
        self.commands[:] = CLOSE
        for go in self.go:
            go.release()
        deadline = time.monotonic() + CLOSE_GRACE_S
        for process in self.processes:
            process.join(max(0.0, deadline - time.monotonic()))
        for process in self.processes:
            if process.is_alive():
                process.terminate()
                process.join(1.0)
            if process.is_alive():
                process.kill()
                process.join()
        for conn in self.conns:
            conn.close()
        try:
            self.driver.close()
        finally:
            # Dropping the semaphores unlinks their names (spawn) right away. The lists are
            # emptied in place: a caught exception's traceback may still hold them.
            for items in (self.processes, self.conns, self.go, self.done):
                items.clear()
            self.wake = None


class Multiprocessing(VecEnv):
    """Envs in ``num_workers`` processes, all data in shared memory (spec 3.3).

    "Use this for most applications." ``num_workers`` defaults to the physical cores
    (and a count that divides ``num_envs``); each worker steps its
    ``num_envs / num_workers`` envs on every command. ``batch_size < num_envs`` turns on
    the asynchronous env pool: ``recv`` returns the next ``batch_size`` envs while the
    others keep simulating. With ``zero_copy=True`` batches are fixed blocks of workers
    returned round robin as views of shared memory; with ``zero_copy=False`` a batch is
    whichever workers finish first (copied), each worker still returned once per cycle.

    An exception in an env is re-raised by ``recv``/``reset`` with its original traceback
    (as ``__cause__``) and the worker index; a worker that dies raises ``WorkerError``
    within ``PARENT_POLL_S``. ``timeout`` (seconds, default ``None``: no limit) bounds how
    long a worker may take to build its envs or to answer a reset or step; past it,
    ``WorkerTimeoutError`` names the worker, its pid and its process state, and the vecenv
    can only be closed. Without a timeout, a worker silent for ``SILENT_WARNING_S`` seconds
    gets one ``RuntimeWarning``. ``close()`` (also at exit) stops every worker, then frees the
    shared memory. ``start_method`` is ``'fork'``, ``'spawn'`` or ``'forkserver'``
    (default: the platform's); the latter two need picklable creators.
    """

    options = (*VecEnv.options, "start_method", "timeout")

    def __init__(self, env_creators: Callable | Sequence[Callable], env_args: Any = None,
                 env_kwargs: Any = None, num_envs: int = 1, num_workers: int | None = None,
                 batch_size: int | None = None, zero_copy: bool = True, start_method: str | None = None,
                 timeout: float | None = None):
        self.timeout = check_timeout(timeout)
        self._warned_silent = False
        creators, args, kwargs = normalize_creators(env_creators, env_args, env_kwargs, num_envs)
        cores = physical_cores()
        pool = resolve_pool(num_envs, num_workers, batch_size, zero_copy,
                            lambda n, b: default_num_workers(n, b, cores))
        if start_method not in (None, *multiprocessing.get_all_start_methods()):
            raise APIUsageError(
                f"start_method must be one of {multiprocessing.get_all_start_methods()} or None, "
                f"got {start_method!r}."
            )
        ctx = multiprocessing.get_context(start_method)
        self.start_method = ctx.get_start_method()
        if self.start_method != "fork":
            check_picklable((creators, args, kwargs), self.start_method)

        driver = create_env(creators[0], args[0], kwargs[0])
        spec = BufferSpec.for_env(driver, pool.num_envs, pool.num_workers)
        require(spec.nbytes, "The vecenv's shared buffers",
                "lower vec.num_copies or the env's number of games")
        memory = ctx.RawArray(ctypes.c_uint8, spec.nbytes)
        buffers = Buffers(spec, memory)
        workers = _Workers(ctx, pool.num_workers, not pool.block_batches, buffers.commands, driver)
        self._workers = workers
        self._finalizer = weakref.finalize(self, workers.shutdown)
        try:
            self._setup(driver, pool, buffers)
            self._ready = [False] * pool.num_workers
            self._wake_debt = 0
            self._go, self._done, self._wake = workers.go, workers.done, workers.wake
            self._commands, self._messages = buffers.commands, buffers.messages
            self._sent_at = [time.monotonic()] * pool.num_workers  # when each was last commanded
            self._processes = workers.processes
            reference = env_signature(driver)
            per_worker = pool.envs_per_worker
            for w in range(pool.num_workers):
                envs = slice(w * per_worker, (w + 1) * per_worker)
                parent_conn, child_conn = ctx.Pipe(duplex=False)
                process = ctx.Process(
                    target=_worker_main, name=f"pufferlib-worker-{w}", daemon=True,
                    args=(w, creators[envs], args[envs], kwargs[envs], spec, memory, workers.go[w],
                          workers.done[w], workers.wake, child_conn, os.getpid(), reference),
                )
                process.start()
                child_conn.close()
                workers.processes.append(process)
                workers.conns.append(parent_conn)
            self._processes, self._conns = workers.processes, workers.conns
            self._await_ready()
        except BaseException:
            self._finalizer()
            raise

    # ---------------------------------------------------------------------------------
    # Hooks

    def _launch(self, workers: Sequence[int], seeds: list[int | None] | None) -> None:
        command = STEP
        if seeds is not None:
            command = RESET
            b = self._buffers
            b.seeded[:] = [s is not None for s in seeds]
            b.seeds[:] = [0 if s is None else s for s in seeds]
        commands, go, sent_at = self._commands, self._go, self._sent_at
        now = time.monotonic()
        for w in workers:
            commands[w] = command
            sent_at[w] = now
            go[w].release()

    def _wait(self, candidates: Sequence[int], count: int) -> list[int]:
        if count < len(candidates):
            return self._wait_any(list(candidates), count)
        ready, done_semaphores, messages = self._ready, self._done, self._messages
        for w in candidates:
            if ready[w]:
                ready[w] = False
                continue
            if not _spin_acquire(done_semaphores[w], PARENT_SPIN_S):
                self._block(w)
            if messages.item(w) != NO_MESSAGE:
                self._collect(w)
        return list(candidates)

    def _shutdown(self) -> None:
        finalizer = getattr(self, "_finalizer", None)
        if finalizer is not None:
            finalizer()
        self._go = self._done = self._wake = None

    # ---------------------------------------------------------------------------------
    # Internals

    def _block(self, w: int) -> None:
        """Sleep until worker ``w`` posts ``done``, checking liveness and the timeout."""
        # No local holds the semaphore: a raised error's traceback must not keep it alive.
        while not self._done[w].acquire(True, self._poll_s()):
            self._check_alive()
            self._check_silent([w])

    def _poll_s(self) -> float:
        return PARENT_POLL_S if self.timeout is None else min(PARENT_POLL_S, self.timeout / 4)

    def _wait_any(self, candidates: list[int], count: int) -> list[int]:
        """Collect finished workers among ``candidates`` until ``count`` are ready."""
        wake = self._wake
        while self._wake_debt and wake.acquire(False):
            self._wake_debt -= 1
        ready = [w for w in candidates if self._ready[w]]
        pending = [w for w in candidates if not self._ready[w]]
        deadline = time.perf_counter() + PARENT_SPIN_S
        while len(ready) < count:
            for w in list(pending):
                if self._done[w].acquire(False):
                    self._collect(w)
                    self._ready[w] = True
                    pending.remove(w)
                    ready.append(w)
                    if not wake.acquire(False):
                        self._wake_debt += 1
            if len(ready) >= count:
                break
            if time.perf_counter() < deadline:
                os.sched_yield()
            elif not wake.acquire(True, self._poll_s()):
                self._check_alive()
                self._check_silent(pending)
            elif self._wake_debt:
                self._wake_debt -= 1
        chosen = ready[:count]
        for w in chosen:
            self._ready[w] = False
        return chosen

    def _collect(self, w: int) -> None:
        """Worker ``w`` posted ``done``: pick up its infos, or raise its error."""
        message = self._messages.item(w)
        if message == NO_MESSAGE:
            return
        conn = self._conns[w]
        # The worker writes its payload right after posting done; wait for it under the timeout.
        while not conn.poll(self._poll_s()):
            self._check_alive()
            self._check_silent([w])
        try:
            payload = pickle.loads(conn.recv_bytes())
        except (EOFError, OSError) as e:
            raise self._died(w) from e
        if message == INFOS:
            self._infos[w] = payload
        else:
            self._raise_remote(w, *payload)

    def _worker_label(self, w: int) -> str:
        envs = self._worker_envs(w)
        return f"worker {w} (pid {self._processes[w].pid}, envs {envs.start}-{envs.stop - 1})"

    def _died(self, w: int) -> WorkerError:
        code = self._processes[w].exitcode
        return WorkerError(
            f"Env {self._worker_label(w)} died with {_describe_exit(code)} (killed, crashed or out "
            "of memory). Close this vecenv and make a new one.", w)

    def _check_alive(self) -> None:
        for w, process in enumerate(self._processes):
            if process.exitcode is not None:
                raise self._died(w)

    def _check_silent(self, pending: Sequence[int], doing: str | None = None) -> None:
        """Raise ``WorkerTimeoutError`` (or warn once, without a timeout) when the longest
        silent of the ``pending`` workers has exceeded the limit."""
        if not pending:
            return
        w = min(pending, key=self._sent_at.__getitem__)
        silent = time.monotonic() - self._sent_at[w]
        if doing is None:
            doing = _DOING.get(int(self._commands[w]), "answering")
        if self.timeout is not None and silent > self.timeout:
            pid = self._processes[w].pid
            state = process_state(pid)
            self._workers.stuck.add(w)
            raise WorkerTimeoutError(
                f"Env {self._worker_label(w)} has not answered for {silent:.1f}s while {doing} "
                f"(timeout={self.timeout:g}s); its process state is {state}. Close this vecenv "
                "(close() kills the stuck worker) and make a new one, or raise timeout if the "
                "env is this slow.", w, pid, state)
        if self.timeout is None and silent > SILENT_WARNING_S and not self._warned_silent:
            self._warned_silent = True
            warnings.warn(
                f"Env {self._worker_label(w)} has not answered for {silent:.0f}s while {doing}; its "
                f"process state is {process_state(self._processes[w].pid)}. It may be stuck: pass "
                "timeout=SECONDS to pufferlib.vector.make / Multiprocessing to raise an error instead "
                "of waiting forever.", RuntimeWarning, stacklevel=2)

    def _raise_remote(self, w: int, exc_bytes: bytes | None, summary: str, remote_tb: str) -> None:
        label = self._worker_label(w)
        cause = RemoteTraceback(f'\n"""\nTraceback from env {label}:\n{remote_tb}"""')
        error = None
        if exc_bytes is not None:
            try:
                error = pickle.loads(exc_bytes)
            except Exception:
                error = None
        if not isinstance(error, BaseException):
            error = WorkerError(f"An env in {label} raised {summary}", w)
        else:
            with contextlib.suppress(AttributeError):  # exceptions with __slots__
                error.worker_index = w
            if hasattr(error, "add_note"):
                error.add_note(f"Raised by an env in {label}.")
        raise error from cause

    def _await_ready(self) -> None:
        """Wait until every worker has built its envs; re-raise the first failure."""
        pending = dict(enumerate(self._conns))
        while pending:
            waitables = list(pending.values()) + [self._processes[w].sentinel for w in pending]
            if not multiprocessing.connection.wait(waitables, self._poll_s()):
                self._check_silent(list(pending), "building its envs")
                continue
            for w, conn in list(pending.items()):
                if conn.poll():
                    try:
                        message = conn.recv()
                    except (EOFError, OSError) as e:
                        raise self._died(w) from e
                    if message is not None:
                        self._raise_remote(w, *message)
                    del pending[w]
                elif self._processes[w].exitcode is not None:
                    raise self._died(w)
