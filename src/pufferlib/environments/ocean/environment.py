"""Ocean: first-party sanity environments, each isolating one skill (spec 4.1).

``env_creator(name)`` returns the module-level factory ``make_<name>`` (picklable, so
``spawn`` workers can use it); ``make_env(name, **kwargs)`` builds one env. Every
factory wraps its env in ``EpisodeStats`` (``MultiagentEpisodeStats``) and the right
Puffer wrapper, except the natively vectorized ``PufferEnv``s: ``squared_native`` (numpy)
and the Numba-compiled games of ``ocean.native`` (``native_names()``, registered in
``NATIVE_GAMES``), which simulate ``num_envs`` games each and report their own episode
statistics. Their classes are imported (and so numba) only when first asked for. On the
command line they are ``ocean:NAME`` (``ocean:cartpole`` is the native CartPole,
``cartpole`` Gymnasium's).
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable
from typing import Any

from pufferlib.emulation import GymnasiumPufferEnv, PettingZooPufferEnv
from pufferlib.environments.ocean.bandit import Bandit
from pufferlib.environments.ocean.memory import Memory
from pufferlib.environments.ocean.multiagent import Multiagent
from pufferlib.environments.ocean.password import Password
from pufferlib.environments.ocean.performance import Performance, PerformanceEmpiric
from pufferlib.environments.ocean.spaces import Spaces
from pufferlib.environments.ocean.squared import Squared, SquaredNative
from pufferlib.environments.ocean.stochastic import Stochastic
from pufferlib.exceptions import APIUsageError
from pufferlib.postprocess import EpisodeStats, MultiagentEpisodeStats


def _puffer(env: Any) -> GymnasiumPufferEnv:
    return GymnasiumPufferEnv(env=EpisodeStats(env))


def make_squared(distance_to_target: int = 3, num_targets: int = 1,
                 render_mode: str | None = None) -> GymnasiumPufferEnv:
    """Reach targets on the perimeter of a grid (spatial reasoning)."""
    return _puffer(Squared(distance_to_target=distance_to_target, num_targets=num_targets,
                           render_mode=render_mode))


def make_squared_native(num_envs: int = 1, distance_to_target: int = 3, num_targets: int = 1,
                        render_mode: str | None = None) -> SquaredNative:
    """``num_envs`` Squared games in one native ``PufferEnv``, stepped in one numpy call."""
    return SquaredNative(num_envs=num_envs, distance_to_target=distance_to_target,
                         num_targets=num_targets, render_mode=render_mode)


def make_bandit(num_actions: int = 10, reward_scale: float = 1, reward_noise: float = 1,
                hard_fixed_seed: int | None = 42, render_mode: str | None = None) -> GymnasiumPufferEnv:
    """Find the winning arm under reward noise (credit assignment under noise)."""
    return _puffer(Bandit(num_actions=num_actions, reward_scale=reward_scale, reward_noise=reward_noise,
                          hard_fixed_seed=hard_fixed_seed, render_mode=render_mode))


def make_memory(mem_length: int = 2, mem_delay: int = 2,
                render_mode: str | None = None) -> GymnasiumPufferEnv:
    """Repeat a bit string after a delay (needs a recurrent policy)."""
    return _puffer(Memory(mem_length=mem_length, mem_delay=mem_delay, render_mode=render_mode))


def make_password(password_length: int = 5, hard_fixed_seed: int | None = 42,
                  render_mode: str | None = None) -> GymnasiumPufferEnv:
    """Guess a fixed binary password (sparse-reward exploration)."""
    return _puffer(Password(password_length=password_length, hard_fixed_seed=hard_fixed_seed,
                            render_mode=render_mode))


def make_stochastic(p: float = 0.7, horizon: int = 100, render_mode: str | None = None) -> GymnasiumPufferEnv:
    """Learn a stochastic optimal policy (take action 0 with probability p)."""
    return _puffer(Stochastic(p=p, horizon=horizon, render_mode=render_mode))


def make_multiagent(render_mode: str | None = None) -> PettingZooPufferEnv:
    """Two agents, each with its own right action (multi-agent plumbing)."""
    return PettingZooPufferEnv(env=MultiagentEpisodeStats(Multiagent(render_mode=render_mode)))


def make_spaces(render_mode: str | None = None) -> GymnasiumPufferEnv:
    """Dict observations and actions (the whole flatten/unflatten path)."""
    return _puffer(Spaces(render_mode=render_mode))


def make_performance(delay_mean: float = 0, delay_std: float = 0, bandwidth: int = 1) -> GymnasiumPufferEnv:
    """Synthetic CPU cost per step (seconds) and observation size, for benchmarks."""
    return _puffer(Performance(delay_mean=delay_mean, delay_std=delay_std, bandwidth=bandwidth))


def make_performance_empiric(count_n: int = 0, count_std: float = 0,
                             bandwidth: int = 1) -> GymnasiumPufferEnv:
    """Synthetic per-step cost (empty-loop iterations) and observation size, for benchmarks."""
    return _puffer(PerformanceEmpiric(count_n=count_n, count_std=count_std, bandwidth=bandwidth))


MAKE_FNS: dict[str, Callable[..., Any]] = {
    "squared": make_squared,
    "squared_native": make_squared_native,
    "bandit": make_bandit,
    "memory": make_memory,
    "password": make_password,
    "stochastic": make_stochastic,
    "multiagent": make_multiagent,
    "spaces": make_spaces,
    "performance": make_performance,
    "performance_empiric": make_performance_empiric,
}

# The Numba-compiled native games (``ocean.native``): name -> "MODULE:CLASS" under
# ``pufferlib.environments.ocean.native``, plus fixed keyword arguments for a named variant. A
# game is its module plus one line here; its class's signature lists its options. On the
# command line: ``ocean:NAME``.
NATIVE_GAMES: dict[str, tuple[str, dict[str, Any]]] = {
    "cartpole": ("cartpole:CartPole", {}),
    "cartpole_continuous": ("cartpole:CartPole", {"continuous": True}),
    "snake": ("snake:Snake", {}),
    "breakout": ("breakout:Breakout", {}),
    "pong": ("pong:Pong", {}),
    "connect4": ("connect4:Connect4", {}),
    "tetris": ("tetris:Tetris", {}),
    "freeway": ("freeway:Freeway", {}),
    "target": ("target:Target", {}),
    "boids": ("boids:Boids", {}),
    "trash_pickup": ("trash_pickup:TrashPickup", {}),
    "convert": ("convert:Convert", {}),
    "checkers": ("checkers:Checkers", {}),
    "tripletriad": ("tripletriad:TripleTriad", {}),
    "blastar": ("blastar:Blastar", {}),
    "pacman": ("pacman:Pacman", {}),
    "rware": ("rware:Rware", {}),
    "go": ("go:Go", {}),
}
NATIVE_ENVS = tuple(NATIVE_GAMES)

# Envs that a feed-forward policy cannot solve: train them with ``Recurrent``.
NEEDS_RECURRENCE = frozenset({"memory"})


def native_names() -> list[str]:
    """The registered native games, each ``make_env(name, num_envs=N)`` and ``ocean:NAME``."""
    return list(NATIVE_GAMES)


def native_class(name: str) -> type:
    """The ``NativeEnv`` class of native game ``name`` (imports it, and so numba)."""
    target, _ = NATIVE_GAMES[name]
    module, _, attribute = target.partition(":")
    return getattr(importlib.import_module(f"pufferlib.environments.ocean.native.{module}"), attribute)


def env_creator(name: str = "squared") -> Callable[..., Any]:
    """The factory for Ocean env ``name``: call it with the env's keyword arguments.

    A native game's factory is its class (with a variant's fixed arguments bound), so its
    signature is the game's list of options.
    """
    if isinstance(name, str) and name in NATIVE_GAMES:
        variant = NATIVE_GAMES[name][1]
        cls = native_class(name)
        return functools.partial(cls, **variant) if variant else cls
    try:
        return MAKE_FNS[name]
    except (KeyError, TypeError):
        raise APIUsageError(
            f"Unknown Ocean environment {name!r}. Valid names: {', '.join([*MAKE_FNS, *NATIVE_GAMES])}."
        ) from None


def make_env(name: str = "squared", **kwargs: Any) -> Any:
    """Build one Ocean env by name, e.g. ``make_env('memory', mem_length=3)``."""
    return env_creator(name)(**kwargs)


make = make_env
