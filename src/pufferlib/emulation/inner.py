"""Calling and checking the inner env, shared by both wrappers."""

from __future__ import annotations

import functools
import inspect
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import gymnasium

from pufferlib.exceptions import APIUsageError


def _make_env(env: Any, env_creator: Any, env_args: Sequence, env_kwargs: dict) -> Any:
    if (env is None) == (env_creator is None):
        raise ValueError("Pass exactly one of env (an instance) or env_creator (a callable).")
    if env is not None:
        if inspect.isclass(env) or inspect.isroutine(env) or isinstance(env, functools.partial):
            raise TypeError(
                f"env must be an environment instance, not {env!r}. "
                "Pass a class or function as env_creator instead."
            )
        return env
    if not callable(env_creator):
        raise TypeError(f"env_creator must be callable, got {env_creator!r}.")
    return env_creator(*env_args, **env_kwargs)


def _accepts_seed(reset: Callable) -> bool:
    try:
        parameters = inspect.signature(reset).parameters
    except (TypeError, ValueError):
        return True
    return "seed" in parameters or any(
        p.kind == inspect.Parameter.VAR_KEYWORD for p in parameters.values()
    )


def _reset_inner(env: Any, seed: int | None, options: dict | None, accepts_seed: bool) -> Any:
    kwargs: dict[str, Any] = {} if options is None else {"options": options}
    if seed is not None:
        if accepts_seed:
            kwargs["seed"] = seed
        else:
            warnings.warn(
                f"{type(env).__name__}.reset() takes no seed; seed={seed} was ignored.",
                stacklevel=3,
            )
    result = env.reset(**kwargs)
    if not isinstance(result, tuple) or len(result) != 2:
        raise APIUsageError(
            f"{type(env).__name__}.reset() returned {_describe(result)}, not (observation, info): "
            "pufferlib needs the Gymnasium / PettingZoo >= 1.24 API."
        )
    return result


def _describe(result: Any) -> str:
    if isinstance(result, tuple):
        return f"a tuple of {len(result)}"
    return f"a {type(result).__name__}"


def _check_step_result(env: Any, result: Any) -> None:
    if not isinstance(result, tuple) or len(result) != 5:
        raise APIUsageError(
            f"{type(env).__name__}.step() returned {_describe(result)}, not (observation, reward, "
            "terminated, truncated, info): pufferlib needs the Gymnasium / PettingZoo >= 1.24 API. An env "
            "on the old Gym API (4 values with `done`) can be wrapped: "
            "pufferlib.wrappers.GymToGymnasium(env)."
        )


def _check_native_observation(space: gymnasium.Space, obs: Any, who: str = "") -> None:
    try:
        ok = space.contains(obs)
    except Exception:  # noqa: BLE001 - a malformed value can make contains() raise anything
        ok = False
    if not ok:
        raise APIUsageError(
            f"Observation{who} {obs!r} is not in the observation space {space}. "
            "Fix the env so that its observations match its declared observation_space."
        )
