"""A catalogue of small raw (unwrapped) environments covering every space family.

``SINGLE_AGENT`` maps a name to a zero-argument creator of a ``gymnasium.Env``;
``MULTI_AGENT`` maps a name to a creator of a ``pettingzoo.ParallelEnv``. Between them
they cover every observation space family (Box of several dtypes, Discrete,
MultiDiscrete, MultiBinary, Tuple, Dict, nested) and every action space family
(Discrete, MultiDiscrete, Box, Tuple, Dict, nested, composites of Boxes).

The envs are deterministic given ``reset(seed=...)``: observations, episode lengths
and endings all come from the env's seeded generator. Episodes end by termination or
by truncation, at lengths that vary from episode to episode; rewards depend on the
action, so a wrapper that mangles actions shows up as a reward mismatch. Every env
validates its action and raises ``ValueError`` on one outside its action space. Info
dicts carry the step count, plus ``score`` on the last step. Multi-agent envs kill
their agents at different steps. Creators are module-level partials: picklable.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import gymnasium
import numpy as np
from gymnasium.spaces import Box, Dict, Discrete, MultiBinary, MultiDiscrete, Tuple
from pettingzoo import ParallelEnv

# ------------------------------------------------------------------------------------
# Spaces


def _observation_spaces() -> dict[str, Callable[[], gymnasium.Space]]:
    return {
        "box": lambda: Box(-1.0, 1.0, (4,), np.float32),
        "box_image": lambda: Box(0, 255, (6, 6, 3), np.uint8),
        "box_float64": lambda: Box(-5.0, 5.0, (3, 2), np.float64),
        "box_int": lambda: Box(-3, 3, (5,), np.int32),
        "discrete": lambda: Discrete(5),
        "discrete_start": lambda: Discrete(4, start=-2),
        "multidiscrete": lambda: MultiDiscrete([3, 5, 2]),
        "multibinary": lambda: MultiBinary(6),
        "tuple": lambda: Tuple((Discrete(3), Discrete(4))),
        "tuple_mixed": lambda: Tuple((
            Box(-1.0, 1.0, (2,), np.float32),
            Discrete(3),
            Dict({"baz": Box(0.0, 1.0, (1,), np.float32), "qux": Box(0.0, 1.0, (1,), np.float32)}),
        )),
        "dict": lambda: Dict({"image": Box(0.0, 1.0, (5, 5), np.float32), "flat": Box(-2, 2, (5,), np.int8)}),
        "dict_float": lambda: Dict({"a": Box(-1.0, 1.0, (2,), np.float32),
                                    "b": Box(0.0, 2.0, (2,), np.float32)}),
        "nested": lambda: Dict({
            "pos": Box(-10.0, 10.0, (2,), np.float64),
            "inventory": Tuple((MultiBinary(3), MultiDiscrete([4, 4]), Discrete(7, start=1))),
            "deep": Dict({"grid": Box(0, 3, (3, 3), np.uint8), "flag": Discrete(2)}),
        }),
    }


def _action_spaces() -> dict[str, Callable[[], gymnasium.Space]]:
    return {
        "discrete": lambda: Discrete(4),
        "discrete_start": lambda: Discrete(3, start=1),
        "multidiscrete": lambda: MultiDiscrete([3, 2, 4]),
        "box": lambda: Box(-1.0, 1.0, (2,), np.float32),
        "tuple": lambda: Tuple((Discrete(2), Discrete(3))),
        "dict": lambda: Dict({"move": Discrete(4), "fire": Discrete(2)}),
        "nested": lambda: Dict({
            "bar": Dict({"baz": Discrete(2), "qux": Discrete(4)}),
            "foo": Tuple((Discrete(2), MultiDiscrete([3, 2]), MultiBinary(2))),
        }),
        "dict_box": lambda: Dict({"steer": Box(-1.0, 1.0, (1,), np.float32),
                                  "gas": Box(0.0, 1.0, (2,), np.float32)}),
    }


OBSERVATION_SPACES = _observation_spaces()
ACTION_SPACES = _action_spaces()


def sample_space(space: gymnasium.Space, rng: np.random.Generator) -> Any:
    """A sample of ``space`` drawn from ``rng`` (deterministic, unlike ``space.sample``)."""
    if isinstance(space, Dict):
        return {key: sample_space(sub, rng) for key, sub in space.spaces.items()}
    if isinstance(space, Tuple):
        return tuple(sample_space(sub, rng) for sub in space.spaces)
    if isinstance(space, Discrete):
        return np.int64(space.start + rng.integers(space.n))
    if isinstance(space, MultiDiscrete):
        return (space.start + rng.integers(space.nvec)).astype(space.dtype)
    if isinstance(space, MultiBinary):
        return rng.integers(0, 2, space.shape).astype(space.dtype)
    if isinstance(space, Box):
        if np.issubdtype(space.dtype, np.integer):
            return rng.integers(space.low, space.high, endpoint=True).astype(space.dtype)
        return rng.uniform(space.low, space.high).astype(space.dtype)
    raise TypeError(f"Unsupported space {space}")


def action_value(action: Any) -> float:
    """A number that depends on every leaf of a native action (the reward signal)."""
    if isinstance(action, dict):
        return sum((i + 1) * action_value(v) for i, v in enumerate(action.values()))
    if isinstance(action, tuple):
        return sum((i + 1) * action_value(v) for i, v in enumerate(action))
    array = np.asarray(action, dtype=np.float64).reshape(-1)
    return float(np.dot(array, np.arange(1, array.size + 1)))


# ------------------------------------------------------------------------------------
# Single agent


class CatalogueEnv(gymnasium.Env):
    """A cheap env with the given spaces and seeded, varying-length episodes.

    Each episode lasts between ``min_length`` and ``max_length`` steps and ends by
    termination or, with probability one half, by truncation.
    """

    metadata = {"render_modes": []}

    def __init__(self, observation_space: gymnasium.Space, action_space: gymnasium.Space,
                 min_length: int = 2, max_length: int = 12):
        self.observation_space = observation_space
        self.action_space = action_space
        self.min_length, self.max_length = min_length, max_length
        self._rng = np.random.default_rng(0)
        self._tick = 0
        self._length = min_length
        self._truncates = False
        self._score = 0.0

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[Any, dict]:
        super().reset(seed=seed)
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        self._tick = 0
        self._score = 0.0
        self._length = int(self._rng.integers(self.min_length, self.max_length + 1))
        self._truncates = bool(self._rng.integers(2))
        return sample_space(self.observation_space, self._rng), {"step": 0}

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict]:
        if not self.action_space.contains(action):
            raise ValueError(f"{action!r} is not in the action space {self.action_space}")
        self._tick += 1
        reward = action_value(action) + float(self._rng.uniform())
        self._score += reward
        end = self._tick >= self._length
        terminal, truncated = end and not self._truncates, end and self._truncates
        info: dict[str, Any] = {"step": self._tick}
        if end:
            info["score"] = self._score
        return sample_space(self.observation_space, self._rng), reward, terminal, truncated, info


def make_single(observation: str, action: str, **kwargs: Any) -> CatalogueEnv:
    """A ``CatalogueEnv`` with the named spaces of ``OBSERVATION_SPACES``/``ACTION_SPACES``."""
    return CatalogueEnv(OBSERVATION_SPACES[observation](), ACTION_SPACES[action](), **kwargs)


_SINGLE_COMBINATIONS = [
    ("box", "discrete"),
    ("box_image", "multidiscrete"),
    ("box_float64", "box"),
    ("box_int", "discrete_start"),
    ("discrete", "discrete"),
    ("discrete_start", "tuple"),
    ("multidiscrete", "dict"),
    ("multibinary", "multidiscrete"),
    ("tuple", "discrete"),
    ("tuple_mixed", "nested"),
    ("dict", "dict"),
    ("dict_float", "dict_box"),
    ("nested", "nested"),
    ("nested", "box"),
    ("box", "tuple"),
    ("dict", "discrete"),
]

SINGLE_AGENT: dict[str, Callable[[], gymnasium.Env]] = {
    f"{obs}-{atn}": functools.partial(make_single, obs, atn) for obs, atn in _SINGLE_COMBINATIONS
}


# ------------------------------------------------------------------------------------
# Multi agent


class CatalogueParallelEnv(ParallelEnv):
    """A PettingZoo parallel env whose agents share spaces and die at different steps.

    At reset every agent draws a death step in ``[1, horizon]``; it terminates on that
    step unless the horizon truncates everyone first. With ``late_agents`` the last
    ``late_agents`` possible agents are absent at reset and join on step 1.
    """

    metadata = {"render_modes": [], "name": "catalogue_parallel_v0"}

    def __init__(self, observation_space: gymnasium.Space, action_space: gymnasium.Space,
                 num_agents: int = 4, horizon: int = 10, late_agents: int = 0):
        self.possible_agents = [f"agent_{i}" for i in range(num_agents)]
        self.agents: list[str] = []
        self._observation_space = observation_space
        self._action_space = action_space
        self.horizon = horizon
        self.late_agents = late_agents
        self._rng = np.random.default_rng(0)
        self._death: dict[str, int] = {}
        self._tick = 0

    def observation_space(self, agent: str) -> gymnasium.Space:
        return self._observation_space

    def action_space(self, agent: str) -> gymnasium.Space:
        return self._action_space

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        self._tick = 0
        self._death = {agent: int(self._rng.integers(1, self.horizon + 3)) for agent in self.possible_agents}
        num_present = len(self.possible_agents) - self.late_agents
        self.agents = self.possible_agents[:num_present]
        obs = {agent: sample_space(self._observation_space, self._rng) for agent in self.agents}
        return obs, {agent: {"step": 0} for agent in self.agents}

    def step(self, actions: dict) -> tuple[dict, dict, dict, dict, dict]:
        for agent, action in actions.items():
            if agent not in self.agents:
                raise ValueError(f"{agent!r} is not alive: agents are {self.agents}")
            if not self._action_space.contains(action):
                raise ValueError(f"{action!r} is not in the action space {self._action_space}")
        self._tick += 1
        if self._tick == 1 and self.late_agents:
            self.agents = list(self.possible_agents)
        obs, rewards, terminals, truncations, infos = {}, {}, {}, {}, {}
        for agent in self.agents:
            obs[agent] = sample_space(self._observation_space, self._rng)
            action = actions.get(agent)
            rewards[agent] = (0.0 if action is None else action_value(action)) + float(self._rng.uniform())
            terminals[agent] = self._tick >= self._death[agent]
            truncations[agent] = not terminals[agent] and self._tick >= self.horizon
            infos[agent] = {"step": self._tick}
        self.agents = [a for a in self.agents if not (terminals[a] or truncations[a])]
        return obs, rewards, terminals, truncations, infos


def make_multi(observation: str, action: str, **kwargs: Any) -> CatalogueParallelEnv:
    """A ``CatalogueParallelEnv`` with the named spaces."""
    return CatalogueParallelEnv(OBSERVATION_SPACES[observation](), ACTION_SPACES[action](), **kwargs)


_MULTI_COMBINATIONS = [
    ("box", "discrete", {}),
    ("box_image", "multidiscrete", {"num_agents": 3}),
    ("dict", "dict", {}),
    ("nested", "nested", {"num_agents": 5, "horizon": 14}),
    ("tuple_mixed", "box", {"num_agents": 2}),
    ("multibinary", "dict_box", {}),
    ("discrete", "tuple", {"num_agents": 3, "horizon": 6}),
]

MULTI_AGENT: dict[str, Callable[[], ParallelEnv]] = {
    f"{obs}-{atn}": functools.partial(make_multi, obs, atn, **kwargs)
    for obs, atn, kwargs in _MULTI_COMBINATIONS
}

# Agents absent at reset (spec 2.4): kept out of MULTI_AGENT because PettingZoo's own API
# test and some frameworks assume every agent is present at reset.
LATE_JOINER = functools.partial(make_multi, "box", "discrete", num_agents=4, late_agents=2)
