"""Env factories for specs that are not bindings, and the default policy for their envs.

``make_gymnasium_env`` and ``make_callable_env`` are the (picklable) factories of Gymnasium ids
and ``MODULE:CALLABLE`` specs: they build the env and wrap it for the vector backends with
``as_puffer_env`` (``GymnasiumPufferEnv``/``PettingZooPufferEnv``, with ``EpisodeStats`` /
``MultiagentEpisodeStats`` unless the env already reports episodes; a Gymnasium
``RecordEpisodeStatistics`` ``info["episode"]`` is translated). Such envs get
``default_policy``: an MLP over flat or nativized structured observations, a CNN over images,
an LSTM on top with ``policy.recurrent``. Torch is imported only when a policy is built.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Sequence
from typing import Any

import gymnasium

from pufferlib.exceptions import APIUsageError, EnvironmentSetupError
from pufferlib.postprocess import checked_step, final_stats
from pufferlib.run.spec import find_callable, import_packages


def _check_positive(name: str, value: Any) -> None:
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if not number or not value > 0 or not math.isfinite(value):
        raise APIUsageError(f"{name} must be a positive number, got {value!r}.")


def _inner_chain(env: Any) -> list[Any]:
    chain = []
    while env is not None and len(chain) < 64:
        chain.append(env)
        env = getattr(env, "env", None)
    return chain


def as_puffer_env(env: Any, source: str = "the env factory") -> Any:
    """``env`` wrapped for the vector backends, with episode statistics.

    Puffer envs pass through. A Gymnasium env gets ``EpisodeStats`` (or, if it already
    has ``RecordEpisodeStatistics``, a translation of its ``info["episode"]``) and
    ``GymnasiumPufferEnv``; a PettingZoo parallel env gets ``MultiagentEpisodeStats`` and
    ``PettingZooPufferEnv``.
    """
    from pettingzoo.utils.env import AECEnv, ParallelEnv

    from pufferlib.emulation import GymnasiumPufferEnv, PettingZooPufferEnv
    from pufferlib.postprocess import EpisodeStats, MultiagentEpisodeStats
    from pufferlib.puffer_env import PufferEnv

    if isinstance(env, PufferEnv | GymnasiumPufferEnv | PettingZooPufferEnv):
        return env
    if isinstance(env, gymnasium.Env):
        chain = _inner_chain(env)
        if any(isinstance(e, EpisodeStats) for e in chain):
            return GymnasiumPufferEnv(env=env)
        if any(isinstance(e, gymnasium.wrappers.RecordEpisodeStatistics) for e in chain):
            return GymnasiumPufferEnv(env=RecordedEpisodeStats(env))
        return GymnasiumPufferEnv(env=EpisodeStats(env))
    if isinstance(env, ParallelEnv):
        if any(isinstance(e, MultiagentEpisodeStats) for e in _inner_chain(env)):
            return PettingZooPufferEnv(env=env)
        return PettingZooPufferEnv(env=MultiagentEpisodeStats(env))
    if isinstance(env, AECEnv):
        raise APIUsageError(
            f"{source} returned a PettingZoo AEC env; return a parallel env instead "
            "(pettingzoo.utils.conversions.aec_to_parallel(env))."
        )
    raise APIUsageError(
        f"{source} returned {type(env).__name__}, not an environment: return a gymnasium.Env, a "
        "PettingZoo ParallelEnv or a pufferlib.PufferEnv."
    )


class RecordedEpisodeStats(gymnasium.Wrapper):
    """Reports Gymnasium ``RecordEpisodeStatistics``' ``info["episode"]`` the Puffer way.

    The final step's info becomes ``episode_return``/``episode_length`` (from
    ``episode["r"]``/``["l"]``: the returns recorded below any reward wrappers) plus the
    env's other numeric info; every other step's info is empty, as with ``EpisodeStats``.
    """

    def step(self, action: Any) -> tuple[Any, Any, bool, bool, dict]:
        observation, reward, terminated, truncated, info = checked_step(self.env, self.env.step(action))
        if not (terminated or truncated):
            return observation, reward, terminated, truncated, {}
        info = dict(info)
        episode = info.pop("episode", None) or {}
        stats = final_stats(info, float(episode.get("r", math.nan)), int(episode.get("l", 0)))
        return observation, reward, terminated, truncated, stats


def make_gymnasium_env(env_id: str, imports: Sequence[str] = (), render_mode: str | None = None,
                       **kwargs: Any) -> Any:
    """``gymnasium.make(env_id, **kwargs)`` as a Puffer env (importing ``imports`` first, also in workers)."""
    import_packages(imports)
    try:
        if render_mode is not None:  # envs without rendering need not accept the argument
            kwargs["render_mode"] = render_mode
        env = gymnasium.make(env_id, **kwargs)
    except gymnasium.error.DependencyNotInstalled as e:
        raise EnvironmentSetupError(e, env_id) from e
    except TypeError as e:
        raise APIUsageError(f"{env_id}: bad keyword arguments ({e}).") from None
    return as_puffer_env(env, f"gymnasium.make({env_id!r})")


def make_callable_env(target: str, imports: Sequence[str] = (), render_mode: str | None = None,
                      **kwargs: Any) -> Any:
    """``MODULE:CALLABLE(**kwargs)`` as a Puffer env; ``render_mode`` is passed only if set."""
    import_packages(imports)
    module, _, attribute = target.partition(":")
    factory = find_callable(module, attribute)
    if factory is None:
        raise APIUsageError(f"--env {target}: cannot find module {module!r}.")
    if render_mode is not None:
        kwargs["render_mode"] = render_mode
    try:
        inspect.signature(factory).bind(**kwargs)
    except TypeError as e:
        raise APIUsageError(f"{target}: bad keyword arguments ({e}).") from None
    except ValueError:  # builtins without a signature: let the call report problems
        pass
    return as_puffer_env(factory(**kwargs), target)



def default_policy(env: Any, hidden_size: int = 128) -> Any:
    """A policy fitting ``env``'s spaces: NatureCNN over images, else an MLP.

    Images are ``uint8`` ``(C, H, W)`` or ``(H, W, C)`` observations with at most 4
    channels and sides of at least 36 pixels; structured (Dict/Tuple) observations are
    nativized and one-hot encoded by ``pufferlib.models.Default``.
    """
    import numpy as np

    import pufferlib.models

    _check_positive("policy.hidden_size", hidden_size)
    space = env.single_observation_space
    shape = tuple(space.shape)
    structured = np.dtype(getattr(getattr(env, "emulated", None), "emulated_observation_dtype",
                                  space.dtype)).fields is not None
    if len(shape) == 3 and space.dtype == np.uint8 and not structured:
        channels_last = shape[2] <= 4 < shape[0]
        channels, height, width = (shape[2], shape[0], shape[1]) if channels_last else shape
        if channels <= 4 and min(height, width) >= 36:
            flat = pufferlib.models.conv_flat_size((channels, height, width))
            return pufferlib.models.Convolutional(env, framestack=channels, flat_size=flat,
                                                  hidden_size=hidden_size, output_size=hidden_size,
                                                  channels_last=channels_last)
    return pufferlib.models.Default(env, hidden_size=hidden_size)


def default_recurrent(env: Any, policy: Any, num_layers: int = 1) -> Any:
    """An LSTM sized to ``policy`` (``pufferlib.models.PolicySizedLSTM``)."""
    import pufferlib.models

    _check_positive("rnn.num_layers", num_layers)
    return pufferlib.models.PolicySizedLSTM(env, policy, num_layers=num_layers)


