"""Training one policy with several learner processes (``torch.distributed``).

Launch any training script (or ``puffer train``) under ``torchrun``::

    torchrun --standalone --nproc-per-node 2 -m pufferlib train --env squared
    torchrun --nnodes 2 --node-rank 0 --master-addr HOST --master-port 29500 \\
        --nproc-per-node 4 -m pufferlib train --env squared   # one line per host

Every rank is a full trainer with its own vecenv. ``pufferlib.trainer.Trainer`` notices an
initialized process group and then:

- starts every rank from rank 0's weights (``broadcast_module``);
- seeds each rank apart (``rank_seed``): env ``i`` of rank ``r`` gets seed
  ``seed + r * num_envs + i``, the seeds one process with ``world_size * num_envs`` envs
  would use;
- averages gradients over the ranks before every optimizer step (``GradientAverager``,
  one all-reduce per minibatch), so the weights stay identical on every rank;
- counts steps over all ranks (``global_step``, ``sps``, ``total_timesteps``): each rank
  collects ``train.batch_size`` agent steps per update, one update learns from
  ``world_size * batch_size``.

Only rank 0 logs, prints and checkpoints (``is_main_process``, ``silence_other_ranks``).

A rank that crashes or hangs must not hang the others: the process group is created with a
timeout (``timeout_s``), and a collective that fails (a peer's connection closed) or times
out (a peer stopped answering) raises ``DistributedError`` naming the rank and the
operation, so every surviving rank exits with an error; ``torchrun`` then stops the rest.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from pufferlib.exceptions import APIUsageError

DEFAULT_TIMEOUT_S = 300.0
"""How long a collective waits for a silent peer before raising (process-group timeout)."""


class DistributedError(RuntimeError):
    """A collective failed: another rank crashed, hung past the timeout, or disagrees on shapes."""


@dataclass(frozen=True)
class DistributedContext:
    """Where this process sits in the job: ``rank`` of ``world_size`` (``local_rank`` on its host)."""

    rank: int
    world_size: int
    local_rank: int
    device: str
    backend: str | None
    """``gloo`` or ``nccl`` when a process group was created, else ``None`` (one process)."""

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def _env_int(environ: Mapping[str, str], name: str, default: int | None) -> int:
    text = environ.get(name)
    if text is None:
        if default is None:
            raise APIUsageError(
                f"WORLD_SIZE is set but {name} is not: launch every rank with torchrun "
                "(torchrun --nproc-per-node N -m pufferlib train ...), which sets RANK, LOCAL_RANK, "
                "MASTER_ADDR and MASTER_PORT."
            )
        return default
    try:
        return int(text)
    except ValueError:
        raise APIUsageError(f"{name}={text!r} is not an integer; it is set by torchrun.") from None


def init_from_env(device: str = "cpu", timeout_s: float = DEFAULT_TIMEOUT_S,
                  environ: Mapping[str, str] | None = None) -> DistributedContext:
    """Join the process group that ``torchrun`` describes in the environment, if any.

    Without ``WORLD_SIZE`` (or with ``WORLD_SIZE=1``) this is a single process: nothing is
    initialized and ``device`` is returned unchanged. Otherwise it calls
    ``init_process_group`` (``nccl`` for CUDA devices, ``gloo`` for CPU) with ``timeout_s``
    as the collective timeout, and gives each rank its own GPU (``cuda:LOCAL_RANK``) when
    ``device`` is ``"cuda"``. Idempotent: a second call returns the existing context.
    Raises ``APIUsageError`` for an incomplete or inconsistent launch environment.
    """
    environ = os.environ if environ is None else environ
    if not (isinstance(timeout_s, int | float) and timeout_s > 0):
        raise APIUsageError(f"timeout_s must be a positive number of seconds, got {timeout_s!r}.")
    world = _env_int(environ, "WORLD_SIZE", 1)
    if world < 1:
        raise APIUsageError(f"WORLD_SIZE must be >= 1, got {world}.")
    if world == 1:
        return DistributedContext(0, 1, 0, device, None)
    rank = _env_int(environ, "RANK", None)
    local_rank = _env_int(environ, "LOCAL_RANK", rank)
    if not 0 <= rank < world:
        raise APIUsageError(f"RANK={rank} lies outside [0, WORLD_SIZE={world}).")
    cuda = torch.device(device).type == "cuda"
    if cuda:
        if local_rank >= torch.cuda.device_count():
            raise APIUsageError(
                f"LOCAL_RANK {local_rank} has no GPU ({torch.cuda.device_count()} visible): start at "
                "most one rank per GPU (--nproc-per-node), or train on --train.device cpu."
            )
        device = f"cuda:{local_rank}"
        torch.cuda.set_device(device)
    backend = "nccl" if cuda else "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend, timeout=datetime.timedelta(seconds=timeout_s),
                                rank=rank, world_size=world)
    return DistributedContext(rank, world, local_rank, device, backend)


def prepare_run(config: Any, exp_id: str, timeout_s: float = DEFAULT_TIMEOUT_S
                ) -> tuple[Any, str, DistributedContext]:
    """The start of a training command under torchrun, in one call (a no-op in one process).

    Joins the process group (``init_from_env(config.device)``), gives this rank its device
    (``cuda:LOCAL_RANK`` for CUDA) and rank 0's ``exp_id`` (ids drawn from the clock differ
    across ranks). Returns ``(config with this rank's device, exp_id, context)``; the caller
    lets only ``context.is_main`` log, print and save, and calls ``destroy()`` at the end.
    """
    context = init_from_env(config.device, timeout_s)
    if context.world_size == 1:
        return config, exp_id, context
    return dataclasses.replace(config, device=context.device), broadcast_object(exp_id), context


def is_initialized() -> bool:
    """Whether this process is one rank of several (a process group of size > 1 exists)."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def rank() -> int:
    """This process's rank; 0 when not distributed."""
    return dist.get_rank() if is_initialized() else 0


def world_size() -> int:
    """Number of ranks; 1 when not distributed."""
    return dist.get_world_size() if is_initialized() else 1


def is_main_process() -> bool:
    """True on rank 0 (and in a single process): the one rank that logs, prints and checkpoints."""
    return rank() == 0


def rank_seed(seed: int, num_envs: int) -> int:
    """This rank's base seed: ``seed + rank * num_envs``, so no two envs of the job share a seed."""
    return int(seed) + rank() * int(num_envs)


@contextlib.contextmanager
def silence_other_ranks() -> Iterator[None]:
    """Send stdout of every rank but 0 to ``os.devnull`` (stderr stays: errors must be seen)."""
    if is_main_process():
        yield
        return
    with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
        yield


def destroy() -> None:
    """Leave the process group (call once at exit; harmless when there is none)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


@contextlib.contextmanager
def _collective(what: str) -> Iterator[None]:
    """Turn a failed or timed-out collective into a ``DistributedError`` naming this rank."""
    try:
        yield
    except RuntimeError as e:  # DistBackendError and gloo's errors are RuntimeErrors
        raise DistributedError(
            f"Rank {rank()} of {world_size()}: {what} failed, so another rank crashed, stopped "
            f"answering past the process-group timeout, or runs a different configuration "
            f"(see that rank's own error). {type(e).__name__}: {_first_line(e)}"
        ) from e


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else ""


def broadcast_module(module: nn.Module, src: int = 0) -> None:
    """Overwrite ``module``'s parameters and buffers with rank ``src``'s, in place."""
    tensors = [t for t in (*module.parameters(), *module.buffers())]
    with _collective("broadcasting the initial weights"), torch.no_grad():
        for tensor in tensors:
            dist.broadcast(tensor.data, src)


def check_same_on_every_rank(name: str, values: Iterable[int]) -> None:
    """Raise ``APIUsageError`` unless every rank passes the same ``values`` (e.g. buffer sizes).

    Collectives must match across ranks: a rank with a different layout would otherwise
    deadlock or average unrelated numbers.
    """
    local = torch.tensor(list(values), dtype=torch.int64)
    gathered = [torch.zeros_like(local) for _ in range(world_size())]
    with _collective(f"comparing {name} across ranks"):
        dist.all_gather(gathered, local)
    if any(not torch.equal(g, local) for g in gathered):
        per_rank = {r: g.tolist() for r, g in enumerate(gathered)}
        raise APIUsageError(
            f"Every rank must train the same setup, but {name} differs across ranks: {per_rank}. "
            "Launch all ranks with the same configuration."
        )


def barrier() -> None:
    """Wait until every rank gets here (e.g. rank 0 has written a checkpoint the others read)."""
    if is_initialized():
        with _collective("waiting for the other ranks"):
            dist.barrier()


def broadcast_object(obj: Any, src: int = 0) -> Any:
    """Rank ``src``'s ``obj`` (picklable) on every rank, e.g. an experiment id drawn from the clock.

    Returns ``obj`` unchanged in a single process.
    """
    if not is_initialized():
        return obj
    holder = [obj]
    with _collective("broadcasting a value from rank 0"):
        dist.broadcast_object_list(holder, src)
    return holder[0]


def all_reduce_mean(value: float) -> float:
    """The mean of ``value`` over all ranks (e.g. a statistic a decision depends on)."""
    tensor = torch.tensor([float(value)], dtype=torch.float64)
    with _collective("averaging a statistic"):
        dist.all_reduce(tensor)
    return float(tensor.item()) / world_size()


class GradientAverager:
    """Average the gradients of ``parameters`` over all ranks with one all-reduce.

    The gradients are packed into one flat buffer (one collective per minibatch instead of
    one per tensor), summed across ranks, divided by the world size and written back. A
    parameter without a gradient on this rank counts as a zero gradient, so every rank
    always contributes the same buffer layout.
    """

    def __init__(self, parameters: Iterable[nn.Parameter]):
        self.parameters = [p for p in parameters if p.requires_grad]
        if not self.parameters:
            raise APIUsageError("GradientAverager needs at least one parameter that requires grad.")
        dtypes = {p.dtype for p in self.parameters}
        if len(dtypes) != 1:
            raise APIUsageError(
                f"GradientAverager needs parameters of one dtype, got {sorted(map(str, dtypes))}.")
        self.world_size = world_size()
        first = self.parameters[0]
        self.buffer = torch.zeros(sum(p.numel() for p in self.parameters), dtype=first.dtype,
                                  device=first.device)
        self._views = []
        offset = 0
        for p in self.parameters:
            self._views.append(self.buffer[offset:offset + p.numel()].view_as(p))
            offset += p.numel()
        check_same_on_every_rank("the policy's parameter shapes",
                                 [n for p in self.parameters for n in (p.numel(), *p.shape)])

    def average(self) -> None:
        """All-reduce the current gradients; afterwards every rank holds their mean."""
        with torch.no_grad():
            for p, view in zip(self.parameters, self._views):
                if p.grad is None:
                    view.zero_()
                else:
                    view.copy_(p.grad)
            with _collective("averaging gradients"):
                dist.all_reduce(self.buffer)
            self.buffer.div_(self.world_size)
            for p, view in zip(self.parameters, self._views):
                if p.grad is None:
                    p.grad = view.clone()
                else:
                    p.grad.copy_(view)


def flat_parameters(module: nn.Module) -> torch.Tensor:
    """All of ``module``'s parameters as one flat CPU tensor (for comparing ranks)."""
    return torch.cat([p.detach().reshape(-1).cpu() for p in module.parameters()])


def parameters_equal_on_every_rank(module: nn.Module) -> bool:
    """Whether every rank holds bit-identical parameters (collective: call on every rank)."""
    local = flat_parameters(module)
    gathered = [torch.zeros_like(local) for _ in range(world_size())]
    with _collective("comparing weights across ranks"):
        dist.all_gather(gathered, local)
    return all(torch.equal(g, local) for g in gathered)
