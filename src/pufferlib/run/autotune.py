"""``autotune``: ``pufferlib.vector.autotune`` on a configured env, and the ``puffer train`` flags it "
  "suggests."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pufferlib.run.config import RunConfig

# autotune's result keys that are the vec section's, under another name.
VEC_KEYS = {"num_envs": "num_copies"}


def autotune(config: RunConfig, batch_size: int | None = None, **kwargs: Any) -> dict[str, Any]:
    """The fastest vectorization of the configured env; ``batch_size`` defaults to agents per batch.

    ``kwargs`` go to ``pufferlib.vector.autotune`` (``max_envs``, ``time_per_test``, ...).
    """
    import pufferlib.vector

    creator, env_kwargs = config.target.creator, dict(config.env.kwargs)
    if batch_size is None:
        # autotune's batch_size counts agents: num_copies envs carry num_copies times the agents
        # of one env (several for multi-agent and native vectorized envs).
        env = creator(**env_kwargs)
        try:
            agents_per_env = int(getattr(env, "num_agents", 1))
        finally:
            env.close()
        batch_size = config.vec.num_copies * agents_per_env
    return pufferlib.vector.autotune(creator, env_kwargs=env_kwargs, batch_size=batch_size, **kwargs)


def autotune_flags(best: Mapping[str, Any]) -> list[str]:
    """``puffer train`` flags for an autotune result (booleans as ``--vec.KEY``/``--vec.no-KEY``)."""
    flags = []
    for key, value in best.items():
        flag = VEC_KEYS.get(key, key).replace("_", "-")
        if key == "backend":
            flags.append(f"--vec.backend {str(getattr(value, '__name__', value)).lower()}")
        elif isinstance(value, bool):
            flags.append(f"--vec.{flag}" if value else f"--vec.no-{flag}")
        else:
            flags.append(f"--vec.{flag} {value}")
    return flags
