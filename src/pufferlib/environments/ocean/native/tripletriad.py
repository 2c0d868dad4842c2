"""Triple Triad against a scripted random opponent: a port of PufferLib 3.0's ``puffer_tripletriad``.

Each player (the agent, then the opponent) holds 5 cards; a card has four values, north,
south, east and west, each drawn uniformly from 1-7 (``rand() % 7 + 1``, the agent's 20
then the opponent's, card by card) when a game starts. The board is 3 x 3 cells (numbered
0-8 row-major). The agent first selects a card, then places it on an empty cell; the opponent
then selects one of its unplaced cards and an empty cell, each uniformly at random
(``rand() % count``, the card first). A placed card captures each orthogonally adjacent
card of the other player whose facing value is lower (its north value against the northern
neighbour's south value, and so on): that card changes owner. A player's score is the
number of cards it owns, in hand and on the board (5 each at the start). When the agent
fills the ninth cell the game ends.

Actions (``Discrete(14)``): 0-4 select card 0-4 of the agent's hand (a placed card cannot be
selected: nothing happens); 5-13 place the selected card on cell ``action - 5`` (without a
selected card, or on an occupied cell, nothing happens).

Rewards (float32): -0.1 for every selection and every failed placement; when the game ends,
+1 if the agent's score is higher, -1 if lower, 0 for a draw (5 each). The 30th step of an
episode ends it (truncation) whatever the action: reward -1.

Observations (float32, 114), as 3.0 lays them out: the 9 cells' owners (1 agent, -1
opponent, 0 empty); 15 action masks (1 for "place on cell ``k``", entry ``5 + k``, once the
cell is taken; the others stay 0); the selected card of each player (-1: none; the
opponent's is always -1 between steps); both scores; the 9 cells' card values (N, S, E, W;
0 when empty); both hands' card values (player, card, N/S/E/W; placed cards keep theirs);
where each player's cards lie (0 in hand, else 1 + cell). Episode stats: ``score`` is the
agent's final score (0-10), ``perf`` 1 when it beat the opponent's.

Differences from PufferLib 3.0:

- 3.0 keeps a finished game on the board for one more step (the step that ends it shows the
  final position with the terminal flag) and restarts it in the next step, whatever that
  step's action; if that extra step is the episode's 30th, it also adds the time-limit
  penalty to the finished episode. Here the step that ends a game already carries the next
  game's first observation (the native convention), so the extra step does not exist; the
  episode length logged is the number of steps played (3.0 counts the extra one).
- 3.0 ends an episode at its 30th step with the -1 penalty but with neither flag set; here
  that step is a truncation.
- 3.0 declares the observations ``Box(0, 1)``; they range over -1-10, so here ``Box(-1, 10)``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import gymnasium
import numba
import numpy as np

from pufferlib.environments.ocean.native import core, draw
from pufferlib.environments.ocean.native.base import NativeEnv
from pufferlib.exceptions import APIUsageError

MAX_EPISODE_LENGTH = 30
CARDS, SIDES, CELLS = 5, 4, 9
NUM_ACTIONS = CARDS + CELLS
PLACE = CARDS  # actions PLACE + k place on cell k
AGENT, OPPONENT = 1, -1  # cell owners, as 3.0 numbers them
# The per-game state is the observation itself, as integers (3.0's layout): offsets.
OWNERS = 0  # 9 cells
MASKS = OWNERS + CELLS  # 15 = NUM_ACTIONS + 1: 1 at MASKS + PLACE + k when cell k is taken
SELECTED = MASKS + NUM_ACTIONS + 1  # 2: each player's selected card, -1 for none
SCORES = SELECTED + 2  # 2
VALUES = SCORES + 2  # 9 cells x 4 sides (N, S, E, W)
HANDS = VALUES + CELLS * SIDES  # 2 players x 5 cards x 4 sides
LOCATIONS = HANDS + 2 * CARDS * SIDES  # 2 players x 5 cards: 0 in hand, else 1 + cell
OBS_SIZE = LOCATIONS + 2 * CARDS  # 114
NORTH, SOUTH, EAST, WEST = range(4)
# Each cell's neighbours in the directions N, S, E, W (-1: off the board); the neighbour's
# facing side is the opposite one (S, N, W, E).
NEIGHBOURS = np.array(
    [
        [
            r * 3 + c - 3 if r > 0 else -1,
            r * 3 + c + 3 if r < 2 else -1,
            r * 3 + c + 1 if c < 2 else -1,
            r * 3 + c - 1 if c > 0 else -1,
        ]
        for r in range(3)
        for c in range(3)
    ],
    dtype=np.int64,
)
FACING = np.array([SOUTH, NORTH, WEST, EAST], dtype=np.int64)
LOG_PERF = core.LOG_EXTRA
_F0 = np.float32(0.0)
_F1 = np.float32(1.0)
_PENALTY = 0.1  # a double in 3.0: subtracted in double precision, then rounded to float


@numba.njit(cache=True, inline="always")
def _less(value: np.float32, amount: float) -> np.float32:
    """3.0's ``float -= double``: computed in double precision, rounded to float."""
    return np.float32(np.float64(value) - amount)


@numba.njit(cache=True)
def _start(state: np.ndarray, length: np.ndarray, ret: np.ndarray, rng: np.ndarray, g: int) -> None:
    state[g, :] = 0
    for k in range(2 * CARDS * SIDES):  # agent's cards, then the opponent's; N, S, E, W each
        state[g, HANDS + k] = core.randint(rng, g, 7) + 1
    state[g, SELECTED] = -1
    state[g, SELECTED + 1] = -1
    state[g, SCORES] = 5
    state[g, SCORES + 1] = 5
    length[g] = 0
    ret[g] = _F0


@numba.njit(cache=True)
def _place(state: np.ndarray, g: int, cell: int, player: int) -> None:
    """Put ``player``'s selected card on ``cell``, capture weaker neighbours, mark the cell taken."""
    index = 0 if player == AGENT else 1
    card = state[g, SELECTED + index]
    state[g, LOCATIONS + index * CARDS + card] = cell + 1
    state[g, OWNERS + cell] = player
    hand = HANDS + (index * CARDS + card) * SIDES
    for side in range(SIDES):
        state[g, VALUES + cell * SIDES + side] = state[g, hand + side]
    for side in range(SIDES):
        other = NEIGHBOURS[cell, side]
        if other < 0:
            continue
        facing = state[g, VALUES + other * SIDES + FACING[side]]
        if facing != 0 and facing < state[g, hand + side] and state[g, OWNERS + other] == -player:
            state[g, OWNERS + other] = player
            state[g, SCORES + index] += 1
            state[g, SCORES + 1 - index] -= 1
    state[g, MASKS + PLACE + cell] = 1
    state[g, SELECTED + index] = -1


@numba.njit(cache=True)
def _board_full(state: np.ndarray, g: int) -> bool:
    filled = 0
    for cell in range(CELLS):
        filled += state[g, OWNERS + cell] != 0
    return filled == CELLS


@numba.njit(cache=True)
def _opponent_turn(state: np.ndarray, rng: np.ndarray, g: int) -> None:
    """A random unplaced card of the opponent on a random empty cell (3.0's bot)."""
    count = 0
    for card in range(CARDS):
        count += state[g, LOCATIONS + CARDS + card] == 0
    if count == 0:
        return
    pick = core.randint(rng, g, count)
    for card in range(CARDS):
        if state[g, LOCATIONS + CARDS + card] == 0:
            if pick == 0:
                state[g, SELECTED + 1] = card
                break
            pick -= 1
    count = 0
    for cell in range(CELLS):
        count += state[g, MASKS + PLACE + cell] == 0
    # With no empty cell 3.0 "places" on cell -1 (out of its arrays); a game never gets there:
    # the agent fills the ninth cell.
    pick = core.randint(rng, g, count) if count > 0 else 0
    for cell in range(CELLS):
        if state[g, MASKS + PLACE + cell] == 0:
            if pick == 0:
                _place(state, g, cell, OPPONENT)
                return
            pick -= 1


@numba.njit(cache=True)
def step_kernel(
    state: np.ndarray,
    length: np.ndarray,
    ret: np.ndarray,
    rng: np.ndarray,
    actions: np.ndarray,
    obs: np.ndarray,
    rewards: np.ndarray,
    terminals: np.ndarray,
    truncations: np.ndarray,
    log: np.ndarray,
    reset_all: bool,
) -> int:
    """Step every game (``reset_all``: start every game instead); 1 if an action was out of range."""
    num_games = state.shape[0]
    if reset_all:
        for g in range(num_games):
            _start(state, length, ret, rng, g)
            for k in range(OBS_SIZE):
                obs[g, k] = state[g, k]
        return 0
    bad = 0
    for g in range(num_games):
        action = actions[g]
        if action < 0 or action >= NUM_ACTIONS:
            bad = 1
            action = 0
        length[g] += 1
        reward = _F0
        terminal = truncated = False
        if length[g] >= MAX_EPISODE_LENGTH:  # the action is ignored
            reward = -_F1
            ret[g] = _less(ret[g], 1.0)
            truncated = True
        elif action < PLACE:
            reward = _less(reward, _PENALTY)
            ret[g] = _less(ret[g], _PENALTY)
            if state[g, LOCATIONS + action] == 0:
                state[g, SELECTED] = action
        else:
            cell = action - PLACE
            if state[g, SELECTED] >= 0 and state[g, OWNERS + cell] == 0:
                _place(state, g, cell, AGENT)
                if _board_full(state, g):
                    terminal = True
                    mine, theirs = state[g, SCORES], state[g, SCORES + 1]
                    if mine != theirs:
                        reward = _F1 if mine > theirs else -_F1
                        ret[g] += reward
                else:
                    _opponent_turn(state, rng, g)
            else:
                reward = _less(reward, _PENALTY)
                ret[g] = _less(ret[g], _PENALTY)
        rewards[g] = reward
        terminals[g] = terminal
        truncations[g] = truncated
        if terminal or truncated:
            mine = state[g, SCORES]
            core.log_episode(log, g, ret[g], length[g], mine)
            log[g, LOG_PERF] += 1.0 if mine > state[g, SCORES + 1] else 0.0
            _start(state, length, ret, rng, g)
        for k in range(OBS_SIZE):
            obs[g, k] = state[g, k]
    return bad


class TripleTriad(NativeEnv):
    """``num_envs`` Triple Triad games against 3.0's scripted opponent (see the module docstring)."""

    LOG_EXTRA_KEYS: ClassVar[tuple[str, ...]] = ("perf",)

    def __init__(
        self, num_envs: int = 1, render_mode: str | None = None, report_interval: int = 32, buf: Any = None
    ):
        self.single_observation_space = gymnasium.spaces.Box(-1.0, 10.0, (OBS_SIZE,), np.float32)
        self.single_action_space = gymnasium.spaces.Discrete(NUM_ACTIONS)
        super().__init__(num_envs, render_mode, report_interval, buf)
        self.state = np.zeros((self.num_envs, OBS_SIZE), dtype=np.int8)
        self.length = np.zeros(self.num_envs, dtype=np.int64)
        self.ret = np.zeros(self.num_envs, dtype=np.float32)

    def _step_games(self, actions: np.ndarray, reset_all: bool = False) -> int:
        return step_kernel(
            self.state,
            self.length,
            self.ret,
            self.rng,
            actions,
            self.observations,
            self.rewards,
            self.terminals,
            self.truncations,
            self.log,
            reset_all,
        )

    def set_hands(self, game: int, agent: np.ndarray, opponent: np.ndarray) -> None:
        """Replace game ``game``'s hands (5 x 4 card values, N S E W, in 1-7) before any card is placed."""
        agent, opponent = np.asarray(agent), np.asarray(opponent)
        for hand in (agent, opponent):
            if hand.shape != (CARDS, SIDES) or hand.min() < 1 or hand.max() > 7:
                raise APIUsageError("TripleTriad.set_hands: each hand is 5 x 4 card values in 1-7.")
        if self.state[game, LOCATIONS : LOCATIONS + 2 * CARDS].any():
            raise APIUsageError("TripleTriad.set_hands: cards were already placed in this game.")
        self.state[game, HANDS : HANDS + CARDS * SIDES] = agent.ravel()
        self.state[game, HANDS + CARDS * SIDES : LOCATIONS] = opponent.ravel()
        self.observations[game] = self.state[game]

    def render_ansi(self) -> str:
        state = self.state[0]
        owner = {AGENT: "A", OPPONENT: "O", 0: "."}
        lines = []
        for r in range(3):
            cells = []
            for c in range(3):
                cell = r * 3 + c
                n, s, e, w = state[VALUES + cell * SIDES : VALUES + (cell + 1) * SIDES]
                cells.append(f"{owner[int(state[OWNERS + cell])]}[{n}{s}{e}{w}]" if n else "  .   ")
            lines.append(" ".join(cells))
        for index, name in enumerate(("agent", "opponent")):
            cards = []
            for card in range(CARDS):
                if state[LOCATIONS + index * CARDS + card] == 0:
                    start = HANDS + (index * CARDS + card) * SIDES
                    mark = "*" if state[SELECTED + index] == card else ""
                    cards.append(f"{card}:{''.join(str(v) for v in state[start : start + SIDES])}{mark}")
            lines.append(f"{name} (score {state[SCORES + index]}): {' '.join(cards)}")
        return "\n".join(lines) + "\n"

    def render_rgb(self) -> np.ndarray:
        """The board (cells in their owner's colour, each card value a bar from its side, longer
        for higher values) over the cards still in hand (agent's row, then the opponent's)."""
        state = self.state[0]
        px, gap, bar = 42, 4, 4
        image = draw.canvas(3 * px + 2 * gap + 56, 3 * px + 2 * gap)
        colours = {AGENT: (0, 187, 187), OPPONENT: (187, 0, 0), 0: (40, 48, 48)}
        white = (241, 241, 241)
        for cell in range(CELLS):
            top, left = (cell // 3) * (px + gap), (cell % 3) * (px + gap)
            draw.fill_rect(image, top, left, px, px, colours[int(state[OWNERS + cell])])
            n, s, e, w = (
                int(v) * (px // 2 - 2) / 7 for v in state[VALUES + cell * SIDES : VALUES + (cell + 1) * SIDES]
            )
            middle = (px - bar) / 2
            draw.fill_rect(image, top, left + middle, n, bar, white)
            draw.fill_rect(image, top + px - s, left + middle, s, bar, white)
            draw.fill_rect(image, top + middle, left + px - e, bar, e, white)
            draw.fill_rect(image, top + middle, left, bar, w, white)
        bottom = 3 * px + 2 * gap + 8
        for index, owner in enumerate((AGENT, OPPONENT)):
            for card in range(CARDS):
                if state[LOCATIONS + index * CARDS + card] == 0:
                    draw.fill_rect(image, bottom + index * 24, card * 27, 20, 22, colours[owner])
        return image
