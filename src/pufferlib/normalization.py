"""Run-level normalisation for continuous control: observations and return-based reward scaling.

CleanRL's PPO for MuJoCo normalises inputs and rewards with Gymnasium's per-env wrappers
(``NormalizeObservation``, ``NormalizeReward``, both clipped to [-10, 10]). Under a vector
backend those keep one set of statistics per worker, which no checkpoint records, so a
resumed run restarts them and an evaluated policy sees differently scaled inputs than it
was trained on. Here the statistics belong to the run:

- ``ObservationNormalizer`` is a layer of the policy (its running mean and variance are
  buffers), so every ``model.pt``/``checkpoint.pt`` carries them and ``puffer eval``
  applies exactly the transformation training used. The trainer finds it in the policy
  (``observation_normalizers``) and updates it from each collected rollout, *after* that
  rollout's PPO update: the statistics are constant while a rollout is collected and
  learned from, so the stored log-probabilities and values match the training pass.
- ``RewardNormalizer`` is kept by the trainer (``TrainConfig.normalize_rewards``): each
  agent's discounted return, the running variance of those returns, and rewards divided
  by its square root and clipped before GAE. Its state goes into ``checkpoint.pt``.

Under ``torch.distributed`` every rank merges the same all-reduced batch moments, so all
ranks keep identical statistics (one set for the whole run).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import torch
from torch import nn

from pufferlib import distributed
from pufferlib.exceptions import APIUsageError

CLIP = 10.0
"""CleanRL's clip for normalised observations and rewards."""
EPSILON = 1e-8


def batch_moments(values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(count, mean, population variance)`` over dim 0 of ``values``, in float64.

    Under ``torch.distributed`` the moments are those of every rank's rows together.
    """
    values = values.reshape(values.shape[0], -1).to(torch.float64)
    ranks = distributed.world_size() > 1
    if ranks:
        import torch.distributed as dist

        if dist.get_backend() == "nccl":  # NCCL reduces GPU tensors only
            values = values.to(torch.device("cuda", torch.cuda.current_device()))
    count = torch.tensor(float(values.shape[0]), dtype=torch.float64, device=values.device)
    total = values.sum(dim=0)
    if ranks:
        packed = torch.cat([count.view(1), total])
        dist.all_reduce(packed)
        count, total = packed[0], packed[1:]
    mean = total / count.clamp(min=1.0)
    squares = (values - mean).square().sum(dim=0)
    if ranks:
        dist.all_reduce(squares)
    return count, mean, squares / count.clamp(min=1.0)


def merge_moments(mean: Any, var: Any, count: Any, batch_mean: Any, batch_var: Any, batch_count: Any
                  ) -> tuple[Any, Any, Any]:
    """Chan et al.'s parallel update: the moments of two samples' union (tensors or arrays)."""
    delta = batch_mean - mean
    total = count + batch_count
    new_mean = mean + delta * (batch_count / total)
    m2 = var * count + batch_var * batch_count + delta * delta * (count * batch_count / total)
    return new_mean, m2 / total, total


class ObservationNormalizer(nn.Module):
    """``clip((x - mean) / sqrt(var + eps), -clip, clip)`` with running statistics as buffers.

    Input ``(B, *shape)`` observations of any numeric dtype; output ``(B, prod(shape))``
    float32. Starts as the identity (mean 0, variance 1, count 1e-4, as CleanRL's
    ``RunningMeanStd``); ``update`` merges a batch of raw observations into the statistics.
    The statistics (``mean``, ``var``, ``count``, float64) are saved in the policy's
    ``state_dict``; the float32 affine map the forward pass uses is derived from them.
    """

    mean: torch.Tensor
    var: torch.Tensor
    count: torch.Tensor
    scale: torch.Tensor
    shift: torch.Tensor

    def __init__(self, shape: int | Iterable[int], clip: float = CLIP, epsilon: float = EPSILON):
        super().__init__()
        size = int(np.prod(tuple(shape) if not isinstance(shape, int) else (shape,)))
        if size < 1:
            raise APIUsageError(f"ObservationNormalizer needs a non-empty observation shape, got {shape!r}.")
        if not clip > 0:
            raise APIUsageError(f"The observation clip must be positive, got {clip}.")
        self.size, self.clip, self.epsilon = size, float(clip), float(epsilon)
        self.register_buffer("mean", torch.zeros(size, dtype=torch.float64))
        self.register_buffer("var", torch.ones(size, dtype=torch.float64))
        self.register_buffer("count", torch.tensor(1e-4, dtype=torch.float64))
        # x * scale + shift is one fused op per forward pass (small models are overhead-bound).
        self.register_buffer("scale", torch.ones(size), persistent=False)
        self.register_buffer("shift", torch.zeros(size), persistent=False)
        self.register_load_state_dict_post_hook(lambda module, _keys: module._refresh())

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        flat = observations.reshape(observations.shape[0], -1).float()
        return torch.addcmul(self.shift, flat, self.scale).clamp_(-self.clip, self.clip)

    @torch.no_grad()
    def update(self, observations: torch.Tensor | np.ndarray) -> None:
        """Merge a batch of raw ``(N, *shape)`` observations (all ranks' together) into the statistics."""
        observations = torch.as_tensor(observations, device=self.mean.device)
        if observations.numel() == 0 and distributed.world_size() == 1:
            return
        batch_count, batch_mean, batch_var = (m.to(self.mean.device) for m in
                                              batch_moments(observations.reshape(-1, self.size)))
        if float(batch_count) == 0:
            return
        mean, var, count = merge_moments(self.mean, self.var, self.count, batch_mean, batch_var, batch_count)
        self.mean.copy_(mean)
        self.var.copy_(var)
        self.count.copy_(count)
        self._refresh()

    @torch.no_grad()
    def _refresh(self) -> None:
        scale = torch.rsqrt(self.var + self.epsilon)
        self.scale.copy_(scale.to(self.scale.dtype))
        self.shift.copy_((-self.mean * scale).to(self.shift.dtype))

    def extra_repr(self) -> str:
        return f"size={self.size}, clip={self.clip}"


def observation_normalizers(module: nn.Module) -> list[ObservationNormalizer]:
    """Every ``ObservationNormalizer`` inside ``module`` (the ones a trainer must update)."""
    return [m for m in module.modules() if isinstance(m, ObservationNormalizer)]


class RewardNormalizer:
    """CleanRL's ``NormalizeReward`` for a whole run: rewards over the spread of the discounted return.

    Each agent keeps its discounted return ``G <- gamma * G + r`` (reset after the step
    that ends its episode); the running variance of every ``G`` seen so far scales the
    rewards, ``clip(r / sqrt(var + eps), -clip, clip)``. ``normalize`` works on the
    trainer's ``(agents, T + 1)`` arrival-convention buffers (column 0 repeats the last
    column of the previous rollout, so it is skipped).
    """

    def __init__(self, num_agents: int, gamma: float, clip: float = CLIP, epsilon: float = EPSILON):
        if num_agents < 1:
            raise APIUsageError(f"RewardNormalizer needs at least one agent, got {num_agents}.")
        if not 0.0 <= gamma <= 1.0:
            raise APIUsageError(f"The reward normalisation's gamma must lie in [0, 1], got {gamma}.")
        self.gamma, self.clip, self.epsilon = float(gamma), float(clip), float(epsilon)
        self.returns = np.zeros(num_agents, dtype=np.float64)
        self.mean, self.var, self.count = 0.0, 1.0, 1e-4

    def normalize(self, rewards: np.ndarray, dones: np.ndarray, masks: np.ndarray) -> np.ndarray:
        """Update the statistics with this rollout's returns; return the scaled ``rewards`` (float32).

        ``dones`` marks steps that end an episode (terminal or truncated); ``masks``
        excludes padded agents' steps from the statistics.
        """
        shapes_differ = rewards.shape != dones.shape or rewards.shape != masks.shape
        if shapes_differ or rewards.shape[0] != len(self.returns):
            raise APIUsageError(
                f"RewardNormalizer for {len(self.returns)} agents got rewards {rewards.shape}, dones "
                f"{dones.shape} and masks {masks.shape}; all must be (agents, steps)."
            )
        steps = rewards.shape[1] - 1
        returns = np.empty((len(self.returns), steps), dtype=np.float64)
        for t in range(steps):
            self.returns = self.returns * self.gamma + rewards[:, t + 1]
            returns[:, t] = self.returns
            self.returns[dones[:, t + 1]] = 0.0
        seen = torch.from_numpy(returns[masks[:, 1:]].reshape(-1, 1))
        batch_count, batch_mean, batch_var = batch_moments(seen)
        if float(batch_count) > 0:
            mean, var, count = merge_moments(self.mean, self.var, self.count, float(batch_mean[0]),
                                             float(batch_var[0]), float(batch_count))
            self.mean, self.var, self.count = mean, var, count
        scaled = rewards / np.sqrt(self.var + self.epsilon)
        return np.clip(scaled, -self.clip, self.clip).astype(np.float32)

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume exactly (tensors, for ``torch.load(weights_only=True)``)."""
        return {"returns": torch.from_numpy(self.returns.copy()),
                "moments": torch.tensor([self.mean, self.var, self.count], dtype=torch.float64)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        returns = torch.as_tensor(state["returns"], dtype=torch.float64).cpu().numpy()
        if returns.shape != self.returns.shape:
            raise APIUsageError(
                f"The checkpoint's reward normalisation tracks {returns.shape[0]} agents, this run "
                f"{len(self.returns)}: resume with the same number of environments."
            )
        self.returns = returns.copy()
        self.mean, self.var, self.count = (float(v) for v in torch.as_tensor(state["moments"]).tolist())
