"""Building a run's parts from its ``RunConfig``: the vecenv, the policy, the trainer. One place.

This is the heavy layer (it imports torch); ``pufferlib.run.config`` and the command line's
parsing stay light.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pufferlib.exceptions import APIUsageError
from pufferlib.run.config import RunConfig


def make_vecenv(config: RunConfig, env_overrides: Mapping[str, Any] | None = None,
                single: bool = False) -> Any:
    """A vecenv of the configured env; ``single``: one env object on the Serial backend (evaluation)."""
    import pufferlib.vector

    env_kwargs = {**config.env.kwargs, **(env_overrides or {})}
    if single:
        return pufferlib.vector.make(config.target.creator, env_kwargs=env_kwargs, backend="serial",
                                     num_envs=1)
    vec = config.vec
    return pufferlib.vector.make(config.target.creator, env_kwargs=env_kwargs, backend=vec.backend,
                                 num_envs=vec.num_copies, **vec.make_kwargs())


def make_policy(config: RunConfig, env: Any) -> Any:
    """The env's policy built for ``env`` (wrapped in its recurrent core with ``policy.recurrent``)."""
    target, policy_config = config.target, config.policy
    try:
        policy = target.policy(env, **policy_config.kwargs)
        if policy_config.recurrent:
            policy = target.recurrent(env, policy, **policy_config.rnn)
    except (TypeError, ValueError, RuntimeError) as e:
        text = str(e).strip().splitlines()
        reason = (text[0] if text else type(e).__name__)[:200]
        raise APIUsageError(f"Cannot build the policy for {config.name} with {policy_config.kwargs}: "
                            f"{reason}") from None
    return policy


def make_trainer(config: RunConfig, exp_id: str, vecenv: Any = None, policy: Any = None,
                 record: bool = True) -> Any:
    """A ``Trainer`` of ``config.train`` on the configured vecenv and policy (built unless given).

    The run folder is the caller's (``training.train`` claims it); with ``record`` the trainer writes
    its metrics there.
    """
    from pufferlib.trainer import Trainer

    vecenv = vecenv if vecenv is not None else make_vecenv(config)
    try:
        policy = policy if policy is not None else make_policy(config, vecenv.driver_env)
        return Trainer(vecenv, policy, config.train, exp_id=exp_id, record=record, exist_ok=True)
    except BaseException:
        vecenv.close()
        raise
