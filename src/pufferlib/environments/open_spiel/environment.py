"""OpenSpiel turn-based games as PettingZoo-style simultaneous multi-agent envs.

OpenSpiel games are sequential: one player moves at a time, chance nodes roll dice
or deal cards. ``OpenSpielParallelEnv`` presents a game through the parallel API that
the vector backends and trainer consume:

- every player is an agent (``player_0``, ``player_1``, ...) and gets an observation
  on every step, so one shared policy plays all seats (self-play);
- an observation is one float32 row: ``[observation tensor | legal-action mask |
  to-play flag]``; the tensor is the player's own view (``observation_tensor``, or
  ``information_state_tensor`` for games that only provide that), the mask marks
  the actions legal for that player now (all zero when it is not their turn), the
  flag is 1 for the player to move;
- only the player to move acts: the other agents' actions are ignored. An illegal
  action from the mover is replaced by a uniformly random legal one and counted in
  the final info's ``illegal_moves`` (policies should mask: ``Policy`` does);
- chance nodes are resolved with the env's own generator, seeded by ``reset(seed)``;
- rewards are OpenSpiel's per-transition rewards for each player; when the game
  ends every agent terminates together, with ``return`` in its final info.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import gymnasium
import numpy as np
from pettingzoo import ParallelEnv

from pufferlib.emulation import PettingZooPufferEnv
from pufferlib.environments import try_import
from pufferlib.exceptions import APIUsageError, EnvironmentSetupError
from pufferlib.postprocess import MultiagentEpisodeStats

EXTRA = "open_spiel"
SUGGESTED_GAMES = ("tic_tac_toe", "connect_four", "breakthrough", "hex", "kuhn_poker", "leduc_poker")


def _pyspiel() -> Any:
    return try_import("pyspiel", EXTRA)


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not name:
        raise APIUsageError(f"open_spiel game name must be a non-empty string, got {name!r}.")
    try:
        pyspiel = _pyspiel()
    except EnvironmentSetupError:
        return  # make_env reports the missing dependency
    if name not in pyspiel.registered_names():
        raise APIUsageError(
            f"Unknown open_spiel game {name!r}. Try one of {', '.join(SUGGESTED_GAMES)}; "
            f"every name in pyspiel.registered_names() that is turn-based works."
        )


class OpenSpielParallelEnv(ParallelEnv):
    """A turn-based OpenSpiel game as a PettingZoo ``ParallelEnv`` (see the module doc)."""

    metadata = {"render_modes": ["ansi"], "name": "open_spiel"}

    def __init__(self, game: str, game_parameters: dict | None = None, render_mode: str | None = None):
        pyspiel = _pyspiel()
        self.game = pyspiel.load_game(game, game_parameters or {})
        game_type = self.game.get_type()
        if game_type.dynamics != pyspiel.GameType.Dynamics.SEQUENTIAL:
            raise APIUsageError(f"open_spiel game {game!r} is not turn-based ({game_type.dynamics}); "
                                "only sequential games are supported.")
        if game_type.provides_observation_tensor:
            self._tensor = "observation_tensor"
            tensor_size = self.game.observation_tensor_size()
        elif game_type.provides_information_state_tensor:
            self._tensor = "information_state_tensor"
            tensor_size = self.game.information_state_tensor_size()
        else:
            raise APIUsageError(f"open_spiel game {game!r} provides no observation tensor.")
        self.render_mode = render_mode
        self.num_actions = self.game.num_distinct_actions()
        self.tensor_size = tensor_size
        self.possible_agents = [f"player_{i}" for i in range(self.game.num_players())]
        self.agents: list[str] = []
        size = tensor_size + self.num_actions + 1
        flags = self.num_actions + 1  # legal-action mask and to-play flag, each in [0, 1]
        low = np.concatenate([np.full(tensor_size, -np.inf), np.zeros(flags)]).astype(np.float32)
        high = np.concatenate([np.full(tensor_size, np.inf), np.ones(flags)]).astype(np.float32)
        self._observation_space = gymnasium.spaces.Box(low, high, (size,), np.float32)
        self._action_space = gymnasium.spaces.Discrete(self.num_actions)
        self._rng = np.random.default_rng()
        self.state: Any = None
        self._returns = np.zeros(len(self.possible_agents))
        self._illegal_moves = 0

    def observation_space(self, agent: str) -> gymnasium.spaces.Box:
        return self._observation_space

    def action_space(self, agent: str) -> gymnasium.spaces.Discrete:
        return self._action_space

    def _resolve_chance(self) -> None:
        while self.state.is_chance_node():
            outcomes, probabilities = zip(*self.state.chance_outcomes())
            self.state.apply_action(int(self._rng.choice(outcomes, p=probabilities)))

    def _observations(self) -> dict[str, np.ndarray]:
        state, n = self.state, self.tensor_size
        mover = state.current_player()
        observations = {}
        for player, agent in enumerate(self.possible_agents):
            row = np.zeros(self._observation_space.shape, np.float32)
            row[:n] = getattr(state, self._tensor)(player)
            if player == mover:
                row[n + np.asarray(state.legal_actions(player), dtype=np.int64)] = 1.0
                row[-1] = 1.0
            observations[agent] = row
        return observations

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        self.state = self.game.new_initial_state()
        self._resolve_chance()
        self.agents = list(self.possible_agents)
        self._returns[:] = 0
        self._illegal_moves = 0
        return self._observations(), {agent: {} for agent in self.agents}

    def step(self, actions: dict) -> tuple[dict, dict, dict, dict, dict]:
        mover = self.state.current_player()
        legal = self.state.legal_actions(mover)
        action = actions.get(self.possible_agents[mover])
        if action is None or int(action) not in legal:
            self._illegal_moves += 1
            action = legal[int(self._rng.integers(len(legal)))]
        self.state.apply_action(int(action))
        self._resolve_chance()
        step_rewards = self.state.rewards()
        self._returns += step_rewards
        done = self.state.is_terminal()
        agents = self.possible_agents
        rewards = {agent: float(step_rewards[i]) for i, agent in enumerate(agents)}
        terminals = dict.fromkeys(agents, done)
        truncations = dict.fromkeys(agents, False)
        if done:
            infos = {agent: {"return": float(self._returns[i]), "illegal_moves": self._illegal_moves}
                     for i, agent in enumerate(agents)}
        else:
            infos = {agent: {} for agent in agents}
        observations = self._observations()
        if done:
            self.agents = []
        return observations, rewards, terminals, truncations, infos

    def render(self) -> str:
        return str(self.state)

    def close(self) -> None:
        self.state = None


def make_env(name: str = "tic_tac_toe", game_parameters: dict | None = None,
             render_mode: str | None = None) -> PettingZooPufferEnv:
    """Build one game (``game_parameters`` as accepted by ``pyspiel.load_game``)."""
    _check_name(name)
    env = OpenSpielParallelEnv(name, game_parameters, render_mode)
    return PettingZooPufferEnv(env=MultiagentEpisodeStats(env))


def env_creator(name: str = "tic_tac_toe") -> Callable[..., PettingZooPufferEnv]:
    """A picklable factory for ``name``: call it with ``make_env``'s keyword arguments."""
    _check_name(name)
    return functools.partial(make_env, name)


make = make_env
