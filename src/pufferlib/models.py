"""Default policies: plain ``torch.nn.Module``s following one convention.

``encode_observations(obs) -> (hidden, lookup)`` maps a ``(B, *obs_shape)`` batch of
flat observations to ``(B, hidden)`` features (no time dimension); ``lookup`` carries
anything the decoder needs besides them (``None`` here). ``decode_actions(hidden,
lookup) -> (logits, value)``; ``forward(obs)`` chains the two. That split is what lets
``LSTMWrapper`` slot a recurrent core between any encoder and decoder.

``logits`` is ``(B, n)`` for ``Discrete`` actions, a list of ``(B, n_i)`` for
``MultiDiscrete`` and a ``torch.distributions.Normal`` over ``(B, *shape)`` (learned
state-independent log-std) for ``Box``; ``value`` is ``(B, 1)``.
``pufferlib.frameworks.cleanrl.sample_logits`` samples from all three.

``env`` is anything with ``single_observation_space``, ``single_action_space`` and
``emulated``: a puffer env or a vecenv.
"""

from __future__ import annotations

import math
from typing import Any, Protocol

import gymnasium
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.distributions import Normal

from pufferlib import pytorch, spaces
from pufferlib.emulation import leaf_layout, struct_fields
from pufferlib.exceptions import APIUsageError
from pufferlib.pytorch import layer_init

# A Discrete/MultiDiscrete leaf is one-hot encoded when that takes at most this many
# features; larger ones (ids, counters) are fed as plain numbers.
MAX_ONE_HOT_FEATURES = 4096


class EncoderDecoder(Protocol):
    """A policy split at its hidden features, as every model here is: what ``LSTMWrapper`` wraps
    (an ``nn.Module``, so that its parameters are the wrapper's too)."""

    def encode_observations(self, observations: torch.Tensor) -> tuple[torch.Tensor, Any]: ...

    def decode_actions(self, hidden: torch.Tensor, lookup: Any = None) -> tuple[Any, torch.Tensor]: ...


class SizedEncoderDecoder(EncoderDecoder, Protocol):
    """An ``EncoderDecoder`` whose encoder outputs ``hidden_size`` features."""

    hidden_size: int


class ActionHead(nn.Module):
    """Linear action logits for a flat action space (Discrete, MultiDiscrete or Box)."""

    def __init__(self, input_size: int, action_space: Any, std: float = 0.01):
        super().__init__()
        self.is_continuous = isinstance(action_space, spaces.Box)
        self.is_multidiscrete = isinstance(action_space, spaces.MultiDiscrete)
        if isinstance(action_space, spaces.Discrete):
            out = int(action_space.n)
        elif self.is_multidiscrete:
            self.sizes = [int(n) for n in np.asarray(action_space.nvec).reshape(-1)]
            out = sum(self.sizes)
        elif self.is_continuous:
            self.shape = tuple(int(s) for s in action_space.shape)
            out = math.prod(self.shape)
            self.log_std = nn.Parameter(torch.zeros(1, *self.shape))
        else:
            raise APIUsageError(
                f"Unsupported action space {action_space}: models act in Discrete, MultiDiscrete "
                "or Box spaces. Wrap the env with pufferlib.emulation to flatten it."
            )
        self.linear = layer_init(nn.Linear(input_size, out), std=std)

    def forward(self, hidden: torch.Tensor) -> Any:
        # F.linear, not a module call: a small head costs more in per-call overhead than in arithmetic.
        logits = F.linear(hidden, self.linear.weight, self.linear.bias)
        if self.is_multidiscrete:
            return list(logits.split(self.sizes, dim=1))
        if self.is_continuous:
            mean = logits.view(hidden.shape[0], *self.shape)
            return Normal(mean, self.log_std.exp().expand_as(mean), validate_args=False)
        return logits


class FlattenObservations(nn.Module):
    """``(B, *obs_shape)`` flat observations -> ``(B, size)`` float features.

    A ``Box`` observation is flattened and cast to float. A structured one is
    nativized (see ``pufferlib.pytorch.nativize_dtype``): small ``Discrete`` and
    ``MultiDiscrete`` leaves are one-hot encoded (this needs the native space,
    ``env.emulated.observation_space``), every other leaf is cast to float, and the
    leaves are concatenated. The layout is computed once, here.
    """

    def __init__(self, env: Any):
        super().__init__()
        obs_space = env.single_observation_space
        emulated = getattr(env, "emulated", None)
        native_space = getattr(emulated, "observation_space", None)
        if isinstance(native_space, spaces.Box):
            native_space = None
        struct_dtype = np.dtype(getattr(emulated, "emulated_observation_dtype", obs_space.dtype))
        self.is_structured = native_space is not None or struct_dtype.fields is not None
        if not self.is_structured:
            self.size = math.prod(obs_space.shape)
            return
        assert emulated is not None  # a Box with a plain dtype is structured only when emulated
        unit = np.dtype(emulated.observation_dtype).base.itemsize  # 1.0 passes subarray dtypes
        # (torch dtype, shape, offset, delta, name of the one-hot codes buffer or None)
        self._leaves: list[tuple[torch.dtype, tuple, int, int, str | None]] = []
        self.size = 0
        layout: list[tuple[np.dtype, tuple[int, ...], int, gymnasium.Space | None]]
        if native_space is not None:
            layout = [(leaf.dtype, leaf.shape, leaf.offset, leaf.space)
                      for leaf in leaf_layout(native_space, struct_dtype)]
        else:
            layout = [(dtype, shape, offset, None) for _, dtype, shape, offset in struct_fields(struct_dtype)]
        for i, (dtype, shape, offset, leaf_space) in enumerate(layout):
            count = math.prod(shape)
            delta = dtype.itemsize * count // unit
            codes = _one_hot_codes(leaf_space)
            name = None
            if codes is not None:
                name = f"_codes{i}"
                self.register_buffer(name, codes, persistent=False)
                self.size += codes.numel()
            else:
                self.size += count
            self._leaves.append((pytorch.torch_dtype(dtype), tuple(shape), offset // unit, delta, name))

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        batch = observations.shape[0]
        if not self.is_structured:
            return observations.reshape(batch, -1).float()
        features = []
        for dtype, shape, offset, delta, codes_name in self._leaves:
            leaf = pytorch._leaf_view(observations, dtype, shape, offset, delta)
            if codes_name is not None:
                # Comparison against a code table: no data-dependent checks, no host sync.
                leaf = leaf.unsqueeze(-1) == getattr(self, codes_name)
            features.append(leaf.reshape(batch, -1).float())
        return torch.cat(features, dim=1) if len(features) > 1 else features[0]


def _one_hot_codes(space: Any) -> torch.Tensor | None:
    """The value each one-hot column stands for, shaped ``(*leaf_shape, n)``; None if the
    leaf is not a small Discrete/MultiDiscrete."""
    if isinstance(space, spaces.Discrete):
        n, start = int(space.n), int(space.start)
        if n > MAX_ONE_HOT_FEATURES:
            return None
        return torch.arange(start, start + n)
    if isinstance(space, spaces.MultiDiscrete):
        nvec, starts = np.asarray(space.nvec), np.asarray(space.start)
        width = int(nvec.max())
        if width * nvec.size > MAX_ONE_HOT_FEATURES:
            return None
        # Components with fewer values than the widest pad with codes they never take.
        return torch.as_tensor(starts[..., None] + np.arange(width), dtype=torch.int64)
    return None


class Default(nn.Module):
    """A one-hidden-layer MLP over flattened (nativized) observations.

    ``encode_observations``: features -> ``Linear(hidden_size)`` -> ReLU.
    ``decode_actions``: linear action head(s) (std 0.01) and a linear value head (std 1).
    """

    def __init__(self, env: Any, hidden_size: int = 128):
        super().__init__()
        self.hidden_size = hidden_size
        self.flatten = FlattenObservations(env)
        self.encoder = layer_init(nn.Linear(self.flatten.size, hidden_size))
        self.actor = ActionHead(hidden_size, env.single_action_space)
        self.value_head = layer_init(nn.Linear(hidden_size, 1), std=1.0)
        self.is_continuous = self.actor.is_continuous

    def forward(self, observations: torch.Tensor) -> tuple[Any, torch.Tensor]:
        hidden, lookup = self.encode_observations(observations)
        return self.decode_actions(hidden, lookup)

    def encode_observations(self, observations: torch.Tensor) -> tuple[torch.Tensor, None]:
        return torch.relu(self.encoder(self.flatten(observations))), None

    def decode_actions(self, hidden: torch.Tensor, lookup: Any = None) -> tuple[Any, torch.Tensor]:
        return self.actor(hidden), self.value_head(hidden)


class LSTMWrapper(nn.Module):
    """Puts an LSTM between ``policy.encode_observations`` and ``policy.decode_actions``.

    ``forward(x, state) -> (logits, value, state)``. ``x`` is ``(B, *obs_shape)`` (one
    step) or ``(B, T, *obs_shape)`` (a sequence, e.g. a BPTT segment; the LSTM runs
    over ``T`` starting from ``state``). ``state`` is ``None`` (zeros) or ``(h, c)``
    each ``(num_layers, B, hidden_size)``. ``logits`` and ``value`` are flattened over
    batch and time: row ``b * T + t``. The policy's encoder must output
    ``input_size`` features and its decoder must take ``hidden_size``.
    """

    def __init__(self, env: Any, policy: EncoderDecoder, input_size: int = 128, hidden_size: int = 128,
                 num_layers: int = 1):
        super().__init__()
        self.obs_shape = tuple(env.single_observation_space.shape)
        self.policy = policy
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.is_continuous = getattr(policy, "is_continuous", False)
        self.recurrent = nn.LSTM(input_size, hidden_size, num_layers)
        for name, param in self.recurrent.named_parameters():
            if "bias" in name:
                nn.init.constant_(param, 0)
            else:
                nn.init.orthogonal_(param, 1.0)

    @property
    def lstm(self) -> nn.LSTM:
        return self.recurrent

    def forward(self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None = None
                ) -> tuple[Any, torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        obs_shape = self.obs_shape
        obs_dims = len(obs_shape)
        if x.dim() == obs_dims + 1 and tuple(x.shape[1:]) == obs_shape:
            batch, horizon = x.shape[0], 1
        elif x.dim() == obs_dims + 2 and tuple(x.shape[2:]) == obs_shape:
            batch, horizon = x.shape[0], x.shape[1]
        else:
            raise ValueError(
                f"LSTMWrapper: observations of shape {tuple(x.shape)} match neither (B, *obs_shape) "
                f"= (B, {', '.join(map(str, obs_shape))}) nor (B, T, *obs_shape) = "
                f"(B, T, {', '.join(map(str, obs_shape))})."
            )
        if state is not None:
            expected = (self.num_layers, batch, self.hidden_size)
            if len(state) != 2 or tuple(state[0].shape) != expected or tuple(state[1].shape) != expected:
                got = [tuple(s.shape) for s in state]
                raise ValueError(
                    f"LSTMWrapper: state must be None or (h, c), each of shape (num_layers, B, "
                    f"hidden_size) = {expected}; got shapes {got}."
                )
        hidden, lookup = self.policy.encode_observations(x.reshape(batch * horizon, *obs_shape))
        # nn.LSTM is time-major: (T, B, features).
        hidden = hidden.reshape(batch, horizon, self.input_size).transpose(0, 1)
        hidden, state = self.recurrent(hidden, state)
        hidden = hidden.transpose(0, 1).reshape(batch * horizon, self.hidden_size)
        logits, value = self.policy.decode_actions(hidden, lookup)
        return logits, value, state


class PolicySizedLSTM(LSTMWrapper):
    """``LSTMWrapper`` sized to the policy it wraps.

    By default the LSTM reads the policy's ``hidden_size`` encoder features and hands
    its heads ``output_size`` features (``hidden_size`` when the policy has no
    ``output_size``), so a binding's ``Recurrent`` needs no sizes of its own.
    """

    def __init__(self, env: Any, policy: SizedEncoderDecoder, input_size: int | None = None,
                 hidden_size: int | None = None, num_layers: int = 1):
        input_size = input_size or policy.hidden_size
        if not hidden_size:
            hidden_size = getattr(policy, "output_size", policy.hidden_size)
        super().__init__(env, policy, input_size=input_size, hidden_size=hidden_size, num_layers=num_layers)


def conv_flat_size(shape: tuple[int, int, int], downsample: int = 1) -> int:
    """``Convolutional``'s ``flat_size`` for ``(C, H, W)`` observations: the conv stack's output size."""
    _, height, width = shape
    height, width = -(-height // downsample), -(-width // downsample)
    for kernel, stride in ((8, 4), (4, 2), (3, 1)):
        height, width = (height - kernel) // stride + 1, (width - kernel) // stride + 1
    return 64 * height * width


class Convolutional(nn.Module):
    """NatureCNN (Mnih et al. 2015): 8x8/4 32, 4x4/2 64, 3x3/1 64, Linear(hidden_size).

    Observations are ``(B, framestack, H, W)`` (or ``(B, H, W, framestack)`` with
    ``channels_last``), scaled by 1/255 and subsampled by ``downsample``. ``flat_size``
    is the conv stack's output size (3136 for 84x84 inputs); a wrong one is reported
    at construction. The encoder outputs ``hidden_size`` features; the action and
    value heads both take ``output_size`` features. Under ``LSTMWrapper(input_size=hidden_size,
    hidden_size=output_size)`` (``PolicySizedLSTM``'s default) the LSTM feeds them; used alone
    with ``hidden_size != output_size``, a ``Linear(hidden_size, output_size)`` + ReLU
    (``project``) feeds them. ``input_size`` is accepted for signature compatibility.
    """

    def __init__(self, env: Any, *args: Any, framestack: int, flat_size: int, input_size: int = 512,
                 hidden_size: int = 512, output_size: int = 512, channels_last: bool = False,
                 downsample: int = 1, **kwargs: Any):
        super().__init__()
        self.channels_last = channels_last
        self.downsample = downsample
        self.hidden_size = hidden_size
        self.output_size = output_size
        self.conv = nn.Sequential(
            layer_init(nn.Conv2d(framestack, 32, 8, stride=4)),
            nn.ReLU(),
            layer_init(nn.Conv2d(32, 64, 4, stride=2)),
            nn.ReLU(),
            layer_init(nn.Conv2d(64, 64, 3, stride=1)),
            nn.ReLU(),
            nn.Flatten(),
        )
        self._check_flat_size(env.single_observation_space.shape, framestack, flat_size)
        self.network = nn.Sequential(self.conv, layer_init(nn.Linear(flat_size, hidden_size)), nn.ReLU())
        # Heads are sized by what feeds them: output_size features, from the LSTM when wrapped,
        # else from this projection (absent when the sizes agree, so state dicts are unchanged).
        self.project = (nn.Sequential(layer_init(nn.Linear(hidden_size, output_size)), nn.ReLU())
                        if hidden_size != output_size else None)
        self.actor = ActionHead(output_size, env.single_action_space)
        self.value_fn = layer_init(nn.Linear(output_size, 1), std=1.0)
        self.is_continuous = self.actor.is_continuous

    def _check_flat_size(self, obs_shape: tuple, framestack: int, flat_size: int) -> None:
        if len(obs_shape) != 3:
            raise APIUsageError(f"Convolutional needs image observations (3-D), got shape {obs_shape}.")
        channels, height, width = (obs_shape[2], *obs_shape[:2]) if self.channels_last else obs_shape
        if channels != framestack:
            raise APIUsageError(
                f"Convolutional: framestack={framestack} but observations of shape {obs_shape} have "
                f"{channels} channels (channels_last={self.channels_last})."
            )
        d = self.downsample
        with torch.no_grad():
            actual = self.conv(torch.zeros(1, channels, -(-height // d), -(-width // d))).shape[1]
        if actual != flat_size:
            raise APIUsageError(
                f"Convolutional: flat_size={flat_size}, but the conv stack outputs {actual} features "
                f"for observations of shape {obs_shape} (downsample={d}). Pass flat_size={actual}."
            )

    def forward(self, observations: torch.Tensor) -> tuple[Any, torch.Tensor]:
        hidden, lookup = self.encode_observations(observations)
        if self.project is not None:
            hidden = self.project(hidden)
        return self.decode_actions(hidden, lookup)

    def encode_observations(self, observations: torch.Tensor) -> tuple[torch.Tensor, None]:
        x = observations
        if self.channels_last:
            x = x.permute(0, 3, 1, 2)
        if self.downsample > 1:
            x = x[:, :, ::self.downsample, ::self.downsample]
        return self.network(x.float() / 255.0), None

    def decode_actions(self, hidden: torch.Tensor, lookup: Any = None) -> tuple[Any, torch.Tensor]:
        return self.actor(hidden), self.value_fn(hidden)


class ResidualBlock(nn.Module):
    """IMPALA residual block: x + conv(relu(conv(relu(x)))), 3x3 convs, same channels."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv0 = nn.Conv2d(channels, channels, kernel_size=3, padding=1)
        self.conv1 = nn.Conv2d(channels, channels, kernel_size=3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv1(F.relu(self.conv0(F.relu(x))))


class ConvSequence(nn.Module):
    """IMPALA conv sequence: 3x3 conv, 3x3/2 max-pool, two residual blocks.

    ``input_shape`` is ``(channels, height, width)``; the output is ``(out_channels,
    ceil(height / 2), ceil(width / 2))``.
    """

    def __init__(self, input_shape: tuple[int, int, int], out_channels: int):
        super().__init__()
        self.input_shape = tuple(input_shape)
        self.out_channels = out_channels
        self.conv = nn.Conv2d(input_shape[0], out_channels, kernel_size=3, padding=1)
        self.res_block0 = ResidualBlock(out_channels)
        self.res_block1 = ResidualBlock(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(self.conv(x), kernel_size=3, stride=2, padding=1)
        return self.res_block1(self.res_block0(x))

    def get_output_shape(self) -> tuple[int, int, int]:
        _, height, width = self.input_shape
        return (self.out_channels, (height + 1) // 2, (width + 1) // 2)


class ProcgenResnet(nn.Module):
    """IMPALA ResNet (Espeholt et al. 2018) of three ``ConvSequence``s, as used for Procgen.

    Observations are ``(B, H, W, C)`` images (Procgen's layout), scaled by 1/255.
    Channel widths ``cnn_width, 2 * cnn_width, 2 * cnn_width``, then
    ``Linear(mlp_width)``.
    """

    def __init__(self, env: Any, cnn_width: int = 16, mlp_width: int = 256):
        super().__init__()
        obs_shape = tuple(env.single_observation_space.shape)
        if len(obs_shape) != 3:
            raise APIUsageError(f"ProcgenResnet needs (H, W, C) image observations, got shape {obs_shape}.")
        height, width, channels = obs_shape
        shape = (channels, height, width)
        layers: list[nn.Module] = []
        for out_channels in (cnn_width, 2 * cnn_width, 2 * cnn_width):
            sequence = ConvSequence(shape, out_channels)
            shape = sequence.get_output_shape()
            layers.append(sequence)
        layers += [nn.Flatten(), nn.ReLU(), nn.Linear(math.prod(shape), mlp_width), nn.ReLU()]
        self.network = nn.Sequential(*layers)
        self.actor = ActionHead(mlp_width, env.single_action_space)
        self.value = layer_init(nn.Linear(mlp_width, 1), std=1.0)
        self.is_continuous = self.actor.is_continuous

    def forward(self, observations: torch.Tensor) -> tuple[Any, torch.Tensor]:
        hidden, lookup = self.encode_observations(observations)
        return self.decode_actions(hidden, lookup)

    def encode_observations(self, observations: torch.Tensor) -> tuple[torch.Tensor, None]:
        return self.network(observations.permute(0, 3, 1, 2).float() / 255.0), None

    def decode_actions(self, hidden: torch.Tensor, lookup: Any = None) -> tuple[Any, torch.Tensor]:
        return self.actor(hidden), self.value(hidden)
