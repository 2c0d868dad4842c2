"""Pong: PufferLib 3.0's ``puffer_pong``, ``num_envs`` games per kernel call.

A port of 3.0.0's C game (``ocean/pong/pong.h``) with the same rules, observations, rewards
and random numbers. Coordinates: x to the right, y up, the field ``width x height`` (500 x
640). The agent's paddle guards the right edge, a scripted opponent's the left; paddles are
``paddle_height`` (70) high, the ball a ``ball_width x ball_height`` (32 x 32) box.

A point starts with both paddles centred and the ball at ``(width / 5, height / 2 -
ball_height / 2)`` moving right (towards the agent) at ``ball_initial_speed_x`` (10) per
frame, with vertical speed ``(rand() % 2 - 1) * ball_initial_speed_y``: 0 or -1 (3.0's serve).
Every agent step runs ``frameskip`` frames (1; 3.0's config trains with 8) with the same
action. In a frame: the agent's paddle moves by ``paddle_speed * dir`` (8; ``dir`` +1 for
action 1 UP, -1 for 2 DOWN, 0 for 0 STILL; with ``continuous`` the action, clipped to
[-1, 1]); the opponent moves its centre towards the ball's y by at most ``paddle_speed``;
both are kept within half a paddle of the field; the ball moves by its velocity and its
vertical speed flips when it is outside the field's height. A ball past the left edge is
returned by the opponent's paddle if they overlap vertically, else the agent scores (reward
+1). A ball past the right edge is returned by the agent's paddle (reward 0.1; its vertical
speed gains ``ball_speed_y_increment * dir`` (3), clamped to ``ball_max_speed_y`` (13), and
a nearly flat ball gets ``ball_speed_y_increment``) and clamped back inside the field, else
the opponent scores (reward -1). A point ends the step. The game ends (terminal) when a side
reaches ``max_score`` (21); the next game starts at once. A step's reward is the last of its
frames' (a return then a point in one step: the point's +-1).

Actions: ``Discrete(3)`` or, with ``continuous=True``, ``Box(-1, 1, (1,))``. Observations
(float32, 8): the opponent's and the agent's paddle, ``(y - min) / (max - min)`` over the
paddle's range; ball x / width, ball y / height; ``(vx + ball_initial_speed_x) / (2 *
ball_initial_speed_x)``, ``(vy + ball_max_speed_y) / (2 * ball_max_speed_y)``; the
opponent's and the agent's points / ``max_score``. Episode stats: ``score`` the agent's
points minus the opponent's (3.0's score), ``perf`` the agent's share of the points,
``episode_return`` the sum of the rewards (hits included), ``episode_length`` in agent
steps.

Differences from PufferLib 3.0:

- 3.0's score observations divide unsigned integers (``score / max_score``: always 0); here
  they are the fractions.
- 3.0 returns from a step that scores a point before recomputing the observations, so that
  step shows the frame before the point (a frame the agent never sees otherwise); here it
  shows the new serve, the state the next action acts on.
- 3.0 logs its ``episode_return`` as the score difference (not the rewards' sum) and its
  ``episode_length`` as the steps of the last point only (its counter restarts each point);
  here ``episode_return`` is the sum of the rewards and ``episode_length`` the episode's steps.
- 3.0 treats an action outside 0-2 as STILL; here it raises ``APIUsageError``, as it does for a
  NaN continuous action.

The game is never truncated (no time limit, as in 3.0): ``truncations`` stay False.
"""

from __future__ import annotations

from typing import Any, ClassVar

import gymnasium
import numba
import numpy as np
from numba.extending import overload

from pufferlib.environments.ocean.native import core, draw
from pufferlib.environments.ocean.native.base import NativeEnv, check_positive_int
from pufferlib.exceptions import APIUsageError

F32 = np.float32
_ZERO, _ONE, _TWO, _FLAT = F32(0), F32(1), F32(2), F32(0.01)
_HIT_REWARD = F32(0.1)

# Per-game state, one float64 row per game (float values are float32 numbers, exactly).
PADDLE_L, PADDLE_R, BALL_X, BALL_Y, BALL_VX, BALL_VY, SCORE_L, SCORE_R, STEPS, RETURN = range(10)
# Parameters, one small float64 array.
(P_WIDTH, P_HEIGHT, P_PADDLE_W, P_PADDLE_H, P_BALL_W, P_BALL_H, P_PADDLE_SPEED, P_SPEED_X, P_SPEED_Y,
 P_SPEED_Y_INCREMENT, P_MAX_SPEED_Y, P_MAX_SCORE, P_FRAMESKIP, P_RESET) = range(14)  # the __init__ order
# P_RESET: 1 asks the kernel to start every game instead of stepping (a flag, not an argument:
# Numba's dispatcher takes ~120 ns per scalar argument, as long as for two arrays).
LOG_PERF = core.LOG_EXTRA


def _paddle_dir(actions: np.ndarray, g: int) -> tuple[float, bool]:
    """``(dir, bad)`` for game ``g``'s action (compiled: see the overload)."""
    raise NotImplementedError("_paddle_dir runs compiled, inside a Numba kernel")


@overload(_paddle_dir, inline="always")
def _paddle_dir_impl(actions, g):
    if actions.ndim == 2:  # continuous: clipped as 3.0's Python does

        def continuous(actions, g):
            act = F32(actions[g, 0])
            if act != act:  # NaN
                return _ZERO, True
            return min(max(act, F32(-1)), _ONE), False

        return continuous

    def discrete(actions, g):
        action = actions[g]
        if action == 1:
            return _ONE, False
        if action == 2:
            return F32(-1), False
        return _ZERO, action != 0

    return discrete


@numba.njit(cache=True, inline="always")
def _reset_round(s: np.ndarray, p: np.ndarray, rng: np.ndarray, g: int) -> None:
    height, paddle_h = F32(p[P_HEIGHT]), F32(p[P_PADDLE_H])
    s[PADDLE_L] = s[PADDLE_R] = height / _TWO - paddle_h / _TWO
    s[BALL_X] = F32(p[P_WIDTH]) / F32(5)
    s[BALL_Y] = height / _TWO - F32(p[P_BALL_H]) / _TWO
    s[BALL_VX] = p[P_SPEED_X]
    s[BALL_VY] = F32(core.randint(rng, g, 2) - 1) * F32(p[P_SPEED_Y])


@numba.njit(cache=True, inline="always")
def _reset_game(s: np.ndarray, p: np.ndarray, rng: np.ndarray, g: int) -> None:
    _reset_round(s, p, rng, g)
    s[SCORE_L] = 0
    s[SCORE_R] = 0
    s[STEPS] = 0
    s[RETURN] = 0


@numba.njit(cache=True, inline="always")
def _obs_scales(p: np.ndarray) -> tuple:
    """``(low, span, width, height, speed_x, max_speed_y, max_score)``: the observations'
    offsets and scales, in float32 as 3.0 computes them."""
    paddle_h = F32(p[P_PADDLE_H])
    low = -paddle_h / _TWO
    span = (F32(p[P_HEIGHT]) - paddle_h / _TWO) - low
    return low, span, F32(p[P_WIDTH]), F32(p[P_HEIGHT]), F32(p[P_SPEED_X]), F32(p[P_MAX_SPEED_Y]), F32(
        p[P_MAX_SCORE]
    )


@numba.njit(cache=True, inline="always")
def _observe(s: np.ndarray, scales: tuple, obs: np.ndarray, g: int) -> None:
    low, span, width, height, speed_x, max_speed_y, max_score = scales
    o = obs[g]
    o[0] = (F32(s[PADDLE_L]) - low) / span
    o[1] = (F32(s[PADDLE_R]) - low) / span
    o[2] = F32(s[BALL_X]) / width
    o[3] = F32(s[BALL_Y]) / height
    o[4] = (F32(s[BALL_VX]) + speed_x) / (_TWO * speed_x)
    o[5] = (F32(s[BALL_VY]) + max_speed_y) / (_TWO * max_speed_y)
    o[6] = F32(s[SCORE_L]) / max_score
    o[7] = F32(s[SCORE_R]) / max_score


@numba.njit(cache=True)
def observe(state: np.ndarray, params: np.ndarray, obs: np.ndarray) -> None:
    """Write every game's observation from ``state``."""
    scales = _obs_scales(params)
    for g in range(state.shape[0]):
        _observe(state[g], scales, obs, g)


@numba.njit(cache=True, error_model="numpy")
def step_kernel(
    state: np.ndarray,
    params: np.ndarray,
    rng: np.ndarray,
    actions: np.ndarray,
    obs: np.ndarray,
    rewards: np.ndarray,
    terminals: np.ndarray,
    log: np.ndarray,
) -> int:
    """Advance every game one agent step of ``frameskip`` frames (``params[P_RESET]`` set:
    start every game instead, and clear it); 1 if an action was out of range, else 0.
    Truncations are never set."""
    p = params
    scales = _obs_scales(p)
    if p[P_RESET]:
        p[P_RESET] = 0.0
        for g in range(state.shape[0]):
            _reset_game(state[g], p, rng, g)
            _observe(state[g], scales, obs, g)
        return 0
    width, height = F32(p[P_WIDTH]), F32(p[P_HEIGHT])
    paddle_h, ball_w, ball_h = F32(p[P_PADDLE_H]), F32(p[P_BALL_W]), F32(p[P_BALL_H])
    speed = F32(p[P_PADDLE_SPEED])
    increment, max_speed_y = F32(p[P_SPEED_Y_INCREMENT]), F32(p[P_MAX_SPEED_Y])
    low, high = -paddle_h / _TWO, height - paddle_h / _TWO
    max_score = p[P_MAX_SCORE]
    frameskip = int(p[P_FRAMESKIP])
    bad = False
    for g in range(state.shape[0]):
        s = state[g]
        direction, wrong = _paddle_dir(actions, g)
        bad |= wrong
        left, right = F32(s[PADDLE_L]), F32(s[PADDLE_R])
        x, y, vx, vy = F32(s[BALL_X]), F32(s[BALL_Y]), F32(s[BALL_VX]), F32(s[BALL_VY])
        reward = _ZERO
        point = 0  # +1 the agent scored, -1 the opponent did
        for _ in range(frameskip):
            right += speed * direction
            left += min(max(y - (left + paddle_h / _TWO), -speed), speed)
            right = min(max(right, low), high)
            left = min(max(left, low), high)
            x += vx
            y += vy
            if y < _ZERO or y + ball_h > height:
                vy = -vy
            if x < _ZERO:
                if y + ball_h > left and y < left + paddle_h:
                    vx = -vx
                else:
                    point = 1
                    break
            if x + ball_w > width:
                if y + ball_h > right and y < right + paddle_h:
                    vx = -vx
                    reward = _HIT_REWARD
                    vy = min(max(vy + increment * direction, -max_speed_y), max_speed_y)
                    if abs(vy) < _FLAT:  # no horizontal balls
                        vy = increment
                    x = min(max(x, _ZERO), width - ball_w)
                    y = min(max(y, _ZERO), height - ball_h)
                else:
                    point = -1
                    break
        s[STEPS] += 1
        terminal = False
        if point == 0:
            s[PADDLE_L], s[PADDLE_R] = left, right
            s[BALL_X], s[BALL_Y], s[BALL_VX], s[BALL_VY] = x, y, vx, vy
        else:
            reward = F32(point)
            score = s[SCORE_R] if point > 0 else s[SCORE_L]
            score += 1
            if point > 0:
                s[SCORE_R] = score
            else:
                s[SCORE_L] = score
            if score == max_score:
                terminal = True
                points = s[SCORE_L] + s[SCORE_R]
                core.log_episode(log, g, s[RETURN] + reward, s[STEPS], s[SCORE_R] - s[SCORE_L])
                log[g, LOG_PERF] += F32(s[SCORE_R]) / F32(points)
                _reset_game(s, p, rng, g)
            else:
                _reset_round(s, p, rng, g)
        if not terminal:
            s[RETURN] += reward
        rewards[g] = reward
        terminals[g] = terminal
        _observe(s, scales, obs, g)
    return int(bad)


class Pong(NativeEnv):
    """``num_envs`` Pong games against 3.0's scripted opponent (see the module docstring).

    ``state`` is ``(num_envs, 10)`` float64 (columns ``PADDLE_L`` ... ``RETURN``); tests may
    set it and call ``sync_observations``.
    """

    LOG_EXTRA_KEYS: ClassVar[tuple[str, ...]] = ("perf",)
    # The field and its pieces (validated in ``__init__``, in pixels per frame).
    width: float
    height: float
    paddle_width: float
    paddle_height: float
    ball_width: float
    ball_height: float
    paddle_speed: float
    ball_initial_speed_x: float
    ball_initial_speed_y: float
    ball_speed_y_increment: float
    ball_max_speed_y: float

    def __init__(
        self,
        num_envs: int = 1,
        width: float = 500,
        height: float = 640,
        paddle_width: float = 20,
        paddle_height: float = 70,
        ball_width: float = 32,
        ball_height: float = 32,
        paddle_speed: float = 8,
        ball_initial_speed_x: float = 10,
        ball_initial_speed_y: float = 1,
        ball_speed_y_increment: float = 3,
        ball_max_speed_y: float = 13,
        max_score: int = 21,
        frameskip: int = 1,
        continuous: bool = False,
        render_mode: str | None = None,
        report_interval: int = 32,
        buf: Any = None,
    ):
        sizes = {
            "width": width, "height": height, "paddle_width": paddle_width, "paddle_height": paddle_height,
            "ball_width": ball_width, "ball_height": ball_height, "paddle_speed": paddle_speed,
            "ball_initial_speed_x": ball_initial_speed_x, "ball_initial_speed_y": ball_initial_speed_y,
            "ball_speed_y_increment": ball_speed_y_increment, "ball_max_speed_y": ball_max_speed_y,
        }
        for name, value in sizes.items():
            if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating) or (
                not value > 0
            ):
                raise APIUsageError(f"Pong: {name} must be a positive number, got {value!r}.")
            setattr(self, name, float(value))
        if not self.ball_height < self.height or not self.ball_width < self.width / 5 * 4:
            raise APIUsageError(
                f"Pong: the ball ({self.ball_width} x {self.ball_height}) must fit in the field "
                f"({self.width} x {self.height}) and start (at x = width / 5) inside it."
            )
        self.max_score = check_positive_int("max_score", max_score)
        self.frameskip = check_positive_int("frameskip", frameskip)
        self.continuous = bool(continuous)
        self.params = np.array(
            [float(F32(v)) for v in sizes.values()] + [self.max_score, self.frameskip, 0.0], dtype=np.float64
        )
        self.single_observation_space = gymnasium.spaces.Box(-1.0, 1.0, (8,), np.float32)
        if self.continuous:
            self.single_action_space = gymnasium.spaces.Box(-1.0, 1.0, (1,), np.float32)
        else:
            self.single_action_space = gymnasium.spaces.Discrete(3)
        super().__init__(num_envs, render_mode, report_interval, buf)
        self.state = np.zeros((self.num_envs, 10), dtype=np.float64)

    def _step_games(self, actions: np.ndarray, reset_all: bool = False) -> int:
        if reset_all:
            self.params[P_RESET] = 1.0
        return step_kernel(
            self.state, self.params, self.rng, actions, self.observations, self.rewards, self.terminals,
            self.log,
        )

    def sync_observations(self) -> None:
        """Rewrite the observations from ``state`` (after setting ``state`` by hand)."""
        observe(self.state, self.params, self.observations)

    def render_ansi(self) -> str:
        cell = 20  # pixels per character
        cols, rows = int(self.width) // cell + 2, int(self.height) // cell
        lines = [[" "] * cols for _ in range(rows)]
        s = self.state[0]

        def row(y: float) -> int:  # y up: the top row is y = height
            return min(max(int((self.height - y) // cell), 0), rows - 1)

        for side, paddle in ((0, s[PADDLE_L]), (cols - 1, s[PADDLE_R])):
            for r in range(row(paddle + self.paddle_height), row(paddle) + 1):
                lines[r][side] = "|"
        ball_c = 1 + min(max(int((s[BALL_X] + self.ball_width / 2) // cell), 0), cols - 3)
        lines[row(s[BALL_Y] + self.ball_height / 2)][ball_c] = "o"
        border = "-" * cols
        body = "\n".join("".join(line) for line in lines)
        return f"{border}\n{body}\n{border}\nopponent {int(s[SCORE_L])} - {int(s[SCORE_R])} agent\n"

    def render_rgb(self) -> np.ndarray:
        """Game 0 as 3.0 draws it: the field with a margin of 3 paddle widths on each side."""
        pad = 3 * self.paddle_width
        height, width = int(self.height), int(self.width + 2 * pad)
        image = draw.canvas(height, width)
        image[:] = (6, 24, 24)
        s = self.state[0]
        draw.fill_rect(image, self.height - s[PADDLE_L] - self.paddle_height, pad - self.paddle_width,
                       self.paddle_height, self.paddle_width, (255, 0, 0))
        draw.fill_rect(image, self.height - s[PADDLE_R] - self.paddle_height, self.width + pad,
                       self.paddle_height, self.paddle_width, (0, 255, 255))
        draw.fill_rect(image, self.height - s[BALL_Y] - self.ball_height, pad + s[BALL_X],
                       self.ball_height, self.ball_width, draw.COLOURS["ball"])
        return image
