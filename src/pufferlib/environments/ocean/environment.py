"""Ocean: first-party sanity environments, each isolating one skill (spec 4.1).

``env_creator(name)`` returns the module-level factory ``make_<name>`` (picklable, so
``spawn`` workers can use it); ``make_env(name, **kwargs)`` builds one env. Every
factory wraps its env in ``EpisodeStats`` (``MultiagentEpisodeStats``) and the right
Puffer wrapper, except the natively vectorized ``PufferEnv``s: ``squared_native`` (numpy)
and the Numba-compiled games of ``ocean.native`` (``cartpole``, ``cartpole_continuous``,
``snake``, ``breakout``, ``pong``, ``connect4``), which simulate ``num_envs`` games each and
report their own episode statistics. Their factories import ``ocean.native`` (and so numba)
only when first called. On the command line they are ``ocean:NAME`` (``ocean:cartpole`` is
the native CartPole, ``cartpole`` Gymnasium's).
"""

from __future__ import annotations

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


def make_cartpole(num_envs: int = 1, continuous: bool = False, max_episode_steps: int = 500,
                  report_interval: int = 32, render_mode: str | None = None) -> Any:
    """``num_envs`` native CartPole-v1 games (Gymnasium's dynamics, compiled with Numba)."""
    from pufferlib.environments.ocean.native.cartpole import CartPole

    return CartPole(num_envs=num_envs, continuous=continuous, max_episode_steps=max_episode_steps,
                    report_interval=report_interval, render_mode=render_mode)


def make_cartpole_continuous(num_envs: int = 1, max_episode_steps: int = 500, report_interval: int = 32,
                             render_mode: str | None = None) -> Any:
    """Native CartPole with one continuous action in [-1, 1] (the push, times 10 N)."""
    return make_cartpole(num_envs=num_envs, continuous=True, max_episode_steps=max_episode_steps,
                         report_interval=report_interval, render_mode=render_mode)


def make_snake(num_envs: int = 1, width: int = 20, height: int = 20, num_snakes: int = 4, num_food: int = 8,
               vision: int = 4, max_snake_length: int = 64, reward_food: float = 0.1,
               reward_death: float = -1.0, max_episode_steps: int = 1000, report_interval: int = 32,
               render_mode: str | None = None) -> Any:
    """``num_envs`` native Snake grids of ``num_snakes`` snakes each (one agent per snake)."""
    from pufferlib.environments.ocean.native.snake import Snake

    return Snake(num_envs=num_envs, width=width, height=height, num_snakes=num_snakes, num_food=num_food,
                 vision=vision, max_snake_length=max_snake_length, reward_food=reward_food,
                 reward_death=reward_death, max_episode_steps=max_episode_steps,
                 report_interval=report_interval, render_mode=render_mode)


def make_breakout(num_envs: int = 1, brick_rows: int = 6, brick_cols: int = 12,
                  paddle_width: float = 2.0, paddle_speed: float = 0.4, ball_speed: float = 0.3,
                  lives: int = 3, max_episode_steps: int = 2000, report_interval: int = 32,
                  render_mode: str | None = None) -> Any:
    """``num_envs`` native Breakout games."""
    from pufferlib.environments.ocean.native.breakout import Breakout

    return Breakout(num_envs=num_envs, brick_rows=brick_rows, brick_cols=brick_cols,
                    paddle_width=paddle_width, paddle_speed=paddle_speed, ball_speed=ball_speed, lives=lives,
                    max_episode_steps=max_episode_steps, report_interval=report_interval,
                    render_mode=render_mode)


def make_pong(num_envs: int = 1, paddle_half: float = 1.0, paddle_speed: float = 0.5,
              opponent_speed: float = 0.25, ball_speed: float = 0.5, points_to_win: int = 5,
              max_episode_steps: int = 2000, report_interval: int = 32,
              render_mode: str | None = None) -> Any:
    """``num_envs`` native Pong games against a scripted opponent."""
    from pufferlib.environments.ocean.native.pong import Pong

    return Pong(num_envs=num_envs, paddle_half=paddle_half, paddle_speed=paddle_speed,
                opponent_speed=opponent_speed, ball_speed=ball_speed, points_to_win=points_to_win,
                max_episode_steps=max_episode_steps, report_interval=report_interval, render_mode=render_mode)


def make_connect4(num_envs: int = 1, report_interval: int = 32, render_mode: str | None = None) -> Any:
    """``num_envs`` native Connect Four games against a scripted opponent."""
    from pufferlib.environments.ocean.native.connect4 import Connect4

    return Connect4(num_envs=num_envs, report_interval=report_interval, render_mode=render_mode)


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
    "cartpole": make_cartpole,
    "cartpole_continuous": make_cartpole_continuous,
    "snake": make_snake,
    "breakout": make_breakout,
    "pong": make_pong,
    "connect4": make_connect4,
}

# The Numba-compiled native envs (``ocean.native``); on the command line: ``ocean:NAME``.
NATIVE_ENVS = ("cartpole", "cartpole_continuous", "snake", "breakout", "pong", "connect4")

# Envs that a feed-forward policy cannot solve: train them with ``Recurrent``.
NEEDS_RECURRENCE = frozenset({"memory"})


def env_creator(name: str = "squared") -> Callable[..., Any]:
    """The factory for Ocean env ``name``: call it with the env's keyword arguments."""
    try:
        return MAKE_FNS[name]
    except (KeyError, TypeError):
        raise APIUsageError(
            f"Unknown Ocean environment {name!r}. Valid names: {', '.join(MAKE_FNS)}."
        ) from None


def make_env(name: str = "squared", **kwargs: Any) -> Any:
    """Build one Ocean env by name, e.g. ``make_env('memory', mem_length=3)``."""
    return env_creator(name)(**kwargs)


make = make_env
