"""The envs hosted by one worker, stepped in place into their rows of the shared buffers.

Every backend runs the same code here (in the calling process for ``Serial``, in a worker
process for ``Multiprocessing``, in an actor for ``Ray``), so auto-reset, seeding and info
collection behave identically everywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import gymnasium

from pufferlib.emulation import GymnasiumPufferEnv, PettingZooPufferEnv
from pufferlib.exceptions import APIUsageError
from pufferlib.puffer_env import PufferEnv
from pufferlib.vector.buffers import Buffers

PUFFER_ENV_TYPES = (GymnasiumPufferEnv, PettingZooPufferEnv, PufferEnv)


def create_env(creator: Callable, args: Sequence, kwargs: dict) -> Any:
    """Call ``creator`` and check that it built a Puffer env."""
    env = creator(*args, **kwargs)
    if isinstance(env, PUFFER_ENV_TYPES):
        return env
    if isinstance(env, gymnasium.Env):
        hint = ("wrap it: lambda: pufferlib.emulation.GymnasiumPufferEnv(env_creator=your_creator) "
                "(or functools.partial of it, which also pickles)")
    elif hasattr(env, "possible_agents"):
        hint = ("wrap it: lambda: pufferlib.emulation.PettingZooPufferEnv(env_creator=your_creator) "
                "(or functools.partial of it, which also pickles)")
    else:
        hint = "return a GymnasiumPufferEnv, PettingZooPufferEnv or pufferlib.PufferEnv"
    raise APIUsageError(
        f"Env creator {creator!r} returned {type(env).__name__}, not a Puffer env "
        f"(GymnasiumPufferEnv, PettingZooPufferEnv or PufferEnv): {hint}."
    )


def env_signature(env: Any) -> tuple:
    """What must agree between all envs of a vecenv: spaces and agents per env."""
    return env.single_observation_space, env.single_action_space, int(env.num_agents)


def check_compatible(env: Any, reference: tuple, index: int) -> None:
    obs, atn, agents = env_signature(env)
    ref_obs, ref_atn, ref_agents = reference
    problems = []
    if obs != ref_obs:
        problems.append(f"observation space {obs} != {ref_obs}")
    if atn != ref_atn:
        problems.append(f"action space {atn} != {ref_atn}")
    if agents != ref_agents:
        problems.append(f"num_agents {agents} != {ref_agents}")
    if problems:
        raise APIUsageError(
            f"Env {index} differs from env 0: {'; '.join(problems)}. All envs of a vecenv must share "
            "spaces and agent counts; make separate vecenvs for different envs."
        )


def _append_agent_infos(infos: list, info: dict) -> None:
    for agent_info in info.values():
        if agent_info:
            infos.append(agent_info)


class EnvGroup:
    """``envs`` writing into ``buffers`` rows from ``first_row`` on, ``env.num_agents`` rows each.

    ``step()`` reads every env's actions from ``buffers.actions`` and steps it, except an
    env whose episode ended on its previous step, which is reset instead (its action is
    ignored). ``reset`` and ``step`` return the non-empty info dicts, flattened per agent.
    """

    def __init__(self, envs: list, buffers: Buffers, first_row: int = 0):
        self.envs = envs
        self._slots: list[tuple[Any, Any, Callable[[list, dict], None]]] = []
        row = 0  # rows are counted from first_row: actions are read from this group's rows only
        for env in envs:
            agents = int(env.num_agents)
            env.buf = buffers.rows(first_row + row, first_row + row + agents)
            if isinstance(env, GymnasiumPufferEnv):
                self._slots.append((env, row, list.append))
            elif isinstance(env, PettingZooPufferEnv):
                self._slots.append((env, slice(row, row + agents), _append_agent_infos))
            else:
                self._slots.append((env, slice(row, row + agents), list.extend))
            row += agents
        self._actions = buffers.actions[first_row:first_row + row]
        # Scalar integer actions of single-agent envs: one tolist() per step hands every env
        # its action as a Python int, much cheaper than indexing a numpy scalar per env.
        self._actions_as_ints = (self._actions.ndim == 1 and self._actions.dtype.kind in "iu"
                                 and all(isinstance(env, GymnasiumPufferEnv) for env in envs))

    def reset(self, seeds: Sequence[int | None]) -> list[dict]:
        infos: list[dict] = []
        for (env, _, collect), seed in zip(self._slots, seeds):
            info = env.reset(seed=seed)[1]
            if info:
                collect(infos, info)
        return infos

    def step(self) -> list[dict]:
        infos: list[dict] = []
        if self._actions_as_ints:
            for env, action in zip(self.envs, self._actions.tolist()):
                if env.done:
                    info = env.reset()[1]
                else:
                    info = env.step(action)[4]
                if info:
                    infos.append(info)
            return infos
        actions = self._actions
        for env, row, collect in self._slots:
            if env.done:
                info = env.reset()[1]
            else:
                info = env.step(actions[row])[4]
            if info:
                collect(infos, info)
        return infos

    def close(self) -> None:
        for env in self.envs:
            env.close()


def create_envs(creators: Sequence[Callable], args: Sequence, kwargs: Sequence, first_env: int,
                reference: tuple | None) -> list:
    """Create envs ``first_env, first_env + 1, ...`` and check each against ``reference``.

    ``reference`` is the ``env_signature`` every env must match (``None``: the first env's).
    If one fails, the envs already created are closed.
    """
    envs: list = []
    try:
        for i, (creator, a, k) in enumerate(zip(creators, args, kwargs)):
            env = create_env(creator, a, k)
            envs.append(env)
            if reference is None:
                reference = env_signature(env)
            check_compatible(env, reference, first_env + i)
    except BaseException:
        for env in envs:
            env.close()
        raise
    return envs
