"""The PPO minibatch update: forward, loss, backward, gradient clip and Adam step, eager or compiled.

``Learner.step`` is one gradient step on one minibatch; ``TrainConfig.learner`` picks how it runs:

- ``"eager"``: PyTorch op by op (``loss.backward()``, ``clip_grad_norm_``, fused
  ``torch.optim.Adam``). Works for every policy, recurrent ones and multi-rank runs included.
- ``"compiled"``: the whole step as one ``torch.compile`` graph (``fullgraph=True``): the policy's
  forward, action scoring (``sample_logits``), ``ppo.ppo_loss``, the backward pass
  (``torch.func.grad``), the gradient norm and clip, and Adam's update written out in the graph.
  Small models are bound by per-op overhead, not arithmetic: fused, the step costs a fraction of
  eager's hundred-odd kernel launches. It updates the ``torch.optim.Adam``'s own state tensors
  (``exp_avg``, ``exp_avg_sq``, ``step``) in place, so checkpoints are the same either way and a
  run may resume under the other learner. Feed-forward policies in a single process only: a
  recurrent policy's replay and the multi-rank gradient average run eagerly (``Learner`` says so
  once, on stderr, and uses eager).

Both compute the same update up to floating-point rounding (``tests/test_learner.py``). The
non-finite guard holds in both: when the gradient norm is not finite no weight and no optimizer
statistic changes, and ``step`` raises ``NonFiniteError``. The compiled graph computes the norm,
keeps the old values with ``torch.where`` when it is not finite, and the check runs outside.

The first compiled step traces and compiles (tens of seconds on a small CPU); its time is printed
once on stderr. Inductor keeps what it compiled on disk (its FX graph and autograd caches, under
``TORCHINDUCTOR_CACHE_DIR``), so later starts with the same policy and shapes skip the code
generation and the C++ compiler; the tracing is redone every start.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn

from pufferlib import ppo
from pufferlib.distributions import sample_logits
from pufferlib.exceptions import APIUsageError, NonFiniteError

LEARNERS = ("eager", "compiled")
# Weight gradients of narrow layers are tall-skinny products A.T @ B (a reduction over the batch);
# on CPU they run several times faster with the smaller output dimension first (for a 4-input
# layer at 4096 rows, 0.09 ms instead of 0.69 ms): see _NarrowWeightGradients.
_LONG_REDUCTION = 256
BACKEND = "inductor"
"""``torch.compile``'s backend for compiled learners (the test suite swaps in ``aot_eager``)."""
_CLIP_EPSILON = 1e-6  # clip_grad_norm_'s: max_norm / (norm + 1e-6)


class Learner:
    """One PPO gradient step on a minibatch, with ``optimizer`` (a ``torch.optim.Adam``).

    ``forward(observations) -> (logits, values)`` is the eager path's forward (the policy, or a
    ``torch.compile``d copy of it); ``averager`` (multi-rank runs) averages gradients between the
    backward pass and the clip. ``kind`` is ``"eager"`` or ``"compiled"``; a compiled learner
    that cannot run compiled (``recurrent``, or an ``averager``) runs eagerly and ``kind`` says so.
    ``backend`` is ``torch.compile``'s (default ``BACKEND``; ``"aot_eager"`` skips code generation).
    ``skip_guards``: once a step has run, later steps with inputs shaped alike skip Dynamo's guard
    checks (``torch.compiler.set_stance``, a process-wide setting: off while other compiled code
    runs concurrently, e.g. an overlapped rollout's compiled policy).
    """

    def __init__(self, policy: nn.Module, optimizer: torch.optim.Optimizer, config: Any, kind: str = "eager",
                 forward: Callable | None = None, recurrent: bool = False, averager: Any = None,
                 backend: str | None = None, skip_guards: bool = True):
        if kind not in LEARNERS:
            raise APIUsageError(f"train.learner = {kind!r}: choose one of {', '.join(LEARNERS)}.")
        self.policy, self.optimizer, self.config = policy, optimizer, config
        self.forward = forward if forward is not None else policy
        self.averager = averager
        if kind == "compiled" and (recurrent or averager is not None):
            why = "a recurrent policy" if recurrent else "a multi-rank run"
            print(f"pufferlib: train.learner = 'compiled' covers feed-forward policies in one process; "
                  f"{why} learns eagerly.", file=sys.stderr)
            kind = "eager"
        self.kind = kind
        backend = backend or BACKEND
        self.compile_seconds: float | None = None
        self._signature: list | None = None
        self._skip_guards = skip_guards
        if kind == "compiled":
            self._check_optimizer()
            self._names = [name for name, _ in policy.named_parameters()]
            self._params = [p for _, p in policy.named_parameters()]
            self._lr = torch.zeros((), device=self._params[0].device)
            group = optimizer.param_groups[0]
            # Python constants in the graph; the learning rate (annealed) is a tensor input instead.
            (self._beta1, self._beta2), self._eps = group["betas"], group["eps"]
            # On CPU, inductor's C++ wrapper calls the step's kernels and matrix products without a
            # Python line per call (a fifth off a 64-sample MuJoCo step; longer first compile).
            options = ({"post_grad_custom_post_pass": _narrow_weight_gradients(), "cpp_wrapper": True}
                       if backend == "inductor" and self._params[0].device.type == "cpu" else None)
            self._compiled = torch.compile(self._update, fullgraph=True, backend=backend, options=options)

    def step(self, observations: torch.Tensor | None, minibatch: torch.Tensor, advantages: torch.Tensor,
             weights: torch.Tensor, actions: torch.Tensor,
             forward: Callable[[], tuple[Any, torch.Tensor]] | None = None,
             describe: Callable[[torch.Tensor, torch.Tensor], str] | None = None) -> torch.Tensor:
        """One gradient step; returns the minibatch's ``ppo.STAT_NAMES`` vector.

        ``minibatch``, ``advantages``, ``weights`` and ``actions`` are ``ppo.ppo_loss``'s and
        ``sample_logits``' inputs for the rows of ``observations``. ``forward()`` (eager only)
        replaces ``self.forward(observations)``: the trainer's recurrent replay.
        ``describe(stats, norm)`` words the ``NonFiniteError`` raised when the gradient norm is
        not finite, in which case nothing was updated.
        """
        if self.kind == "compiled":
            assert observations is not None, "the compiled learner takes the minibatch's observations"
            return self._step_compiled(observations, minibatch, advantages, weights, actions, describe)
        logits, values = forward() if forward is not None else self.forward(observations)[:2]
        _, new_logprobs, entropy = sample_logits(logits, actions)
        loss, stats = ppo.ppo_loss(new_logprobs, entropy, values, minibatch, advantages, weights, self.config)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.averager is not None:
            self.averager.average()
        norm = nn.utils.clip_grad_norm_(self.policy.parameters(), self.config.max_grad_norm)
        if not torch.isfinite(norm):
            raise NonFiniteError(describe(stats, norm) if describe else f"gradient norm {float(norm)}")
        self.optimizer.step()
        return stats

    # -- compiled ----------------------------------------------------------------------

    def _check_optimizer(self) -> None:
        groups = self.optimizer.param_groups
        group = groups[0]
        plain = (isinstance(self.optimizer, torch.optim.Adam) and len(groups) == 1
                 and not group["amsgrad"] and not group["maximize"] and group["weight_decay"] == 0
                 and len(group["params"]) == len(list(self.policy.parameters())))
        if not plain:
            raise APIUsageError("train.learner = 'compiled' writes Adam's update into its graph: it needs "
                                "the trainer's own torch.optim.Adam over every policy parameter (one group, "
                                "no amsgrad, weight decay or maximize).")

    def _adam_state(self) -> tuple[list[torch.Tensor], list[torch.Tensor], list[torch.Tensor]]:
        """The optimizer's per-parameter state, created as ``torch.optim.Adam`` would on its first step.

        Looked up on every step: ``load_state_dict`` (a resumed run) replaces the tensors.
        """
        state = self.optimizer.state
        group = self.optimizer.param_groups[0]
        fused = group.get("fused") or group.get("capturable")
        for p in self._params:
            if not state[p]:
                state[p]["step"] = (torch.zeros((), dtype=torch.float32, device=p.device) if fused
                                    else torch.tensor(0.0, dtype=torch.float32))
                state[p]["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                state[p]["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        return ([state[p]["exp_avg"] for p in self._params], [state[p]["exp_avg_sq"] for p in self._params],
                [state[p]["step"] for p in self._params])

    def _step_compiled(self, observations: torch.Tensor, minibatch: torch.Tensor, advantages: torch.Tensor,
                       weights: torch.Tensor, actions: torch.Tensor,
                       describe: Callable[[torch.Tensor, torch.Tensor], str] | None) -> torch.Tensor:
        self._lr.fill_(self.optimizer.param_groups[0]["lr"])
        exp_avgs, exp_avg_sqs, steps = self._adam_state()
        first = self.compile_seconds is None
        start = time.perf_counter()
        inputs = (observations, minibatch, advantages, weights, actions)
        signature = [(t.shape, t.stride(), t.dtype, t.device) for t in inputs]
        args: tuple[Any, ...] = (self._params, exp_avgs, exp_avg_sqs, steps, self._lr, *inputs)
        if signature == self._signature and self._skip_guards:
            # Dynamo's guards cost as much as the step itself on small models (about a thousand
            # checks); inputs shaped as the last call's cannot need another graph.
            with torch.compiler.set_stance(skip_guard_eval_unsafe=True):
                stats, norm = self._compiled(*args)
        else:
            stats, norm = self._compiled(*args)
            self._signature = signature
        if first:
            self.compile_seconds = time.perf_counter() - start
            print(f"pufferlib: compiled the PPO update in {self.compile_seconds:.1f} s (train.learner = "
                  "'compiled'; later starts reuse inductor's on-disk cache)", file=sys.stderr, flush=True)
        if not torch.isfinite(norm):
            raise NonFiniteError(describe(stats, norm) if describe else f"gradient norm {float(norm)}")
        return stats

    def _loss(self, params: Sequence[torch.Tensor], observations: torch.Tensor, minibatch: torch.Tensor,
              advantages: torch.Tensor, weights: torch.Tensor, actions: torch.Tensor
              ) -> tuple[torch.Tensor, torch.Tensor]:
        tensors = dict(zip(self._names, params, strict=True))
        logits, values = torch.func.functional_call(self.policy, tensors, (observations,), strict=False)[:2]
        _, new_logprobs, entropy = sample_logits(logits, actions)
        return ppo.ppo_loss(new_logprobs, entropy, values, minibatch, advantages, weights, self.config)

    def _update(self, params: list[torch.Tensor], exp_avgs: list[torch.Tensor],
                exp_avg_sqs: list[torch.Tensor], steps: list[torch.Tensor], lr: torch.Tensor,
                observations: torch.Tensor, minibatch: torch.Tensor, advantages: torch.Tensor,
                weights: torch.Tensor, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The traced step: gradients, ``clip_grad_norm_``'s clip, then ``torch.optim.Adam``'s update."""
        detached = [p.detach() for p in params]
        grads, stats = torch.func.grad(self._loss, has_aux=True)(detached, observations, minibatch,
                                                                 advantages, weights, actions)
        norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))
        finite = torch.isfinite(norm)
        clip = (self.config.max_grad_norm / (norm + _CLIP_EPSILON)).clamp(max=1.0)
        beta1, beta2, eps = self._beta1, self._beta2, self._eps
        with torch.no_grad():
            state = zip(params, grads, exp_avgs, exp_avg_sqs, steps, strict=True)
            for p, g, exp_avg, exp_avg_sq, step in state:
                g = g * clip
                new_step = step + 1
                new_avg = exp_avg.lerp(g, 1 - beta1)
                new_avg_sq = exp_avg_sq * beta2 + g * g * (1 - beta2)
                step_size = lr / (1 - beta1 ** new_step)
                denom = new_avg_sq.sqrt() / (1 - beta2 ** new_step).sqrt() + eps
                new_p = p - step_size * new_avg / denom
                # A non-finite norm changes nothing (the caller raises): the same rule as eager's.
                p.copy_(torch.where(finite, new_p, p))
                exp_avg.copy_(torch.where(finite, new_avg, exp_avg))
                exp_avg_sq.copy_(torch.where(finite, new_avg_sq, exp_avg_sq))
                step.copy_(torch.where(finite, new_step, step))
        return stats, norm


def _narrow_weight_gradients() -> Any:
    """Inductor's custom pass that rewrites ``mm(A.T, B)`` as ``mm(B.T, A).T`` where that is the
    faster order on CPU: a long reduction (the batch) and more output rows than columns."""
    from torch._inductor.custom_graph_pass import CustomGraphPass, get_hash_for_files

    class NarrowWeightGradients(CustomGraphPass):
        def __call__(self, graph: torch.fx.Graph) -> None:
            mm = torch.ops.aten.mm.default
            permute = torch.ops.aten.permute.default
            for node in list(graph.nodes):
                if node.target is not mm:
                    continue
                a, b = node.args
                a_val, b_val = a.meta.get("val"), b.meta.get("val")
                if a_val is None or b_val is None or a_val.device.type != "cpu":
                    continue
                (rows, reduction), columns = a_val.shape, b_val.shape[1]
                transposed = a_val.stride(0) == 1 and b_val.stride(1) == 1
                if not (transposed and reduction >= _LONG_REDUCTION and rows > columns):
                    continue
                with graph.inserting_before(node):
                    swapped = graph.call_function(mm, (graph.call_function(permute, (b, [1, 0])),
                                                       graph.call_function(permute, (a, [1, 0]))))
                    result = graph.call_function(permute, (swapped, [1, 0]))
                node.replace_all_uses_with(result)
                graph.erase_node(node)

        def uuid(self) -> Any:
            return get_hash_for_files((__file__,))

    return NarrowWeightGradients()
