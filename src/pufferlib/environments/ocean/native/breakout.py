"""Breakout: PufferLib 3.0's ``puffer_breakout``, ``num_envs`` games per kernel call.

A port of 3.0.0's C game (``ocean/breakout/breakout.h``) with the same rules, observations,
rewards and random numbers. Coordinates are pixels, y down. The field is ``width x height``
(576 x 330); ``brick_rows x brick_cols`` bricks (6 x 18) of ``brick_width x brick_height``
(32 x 12) fill the rows from y = 50. The paddle (``paddle_width x paddle_height``, 62 x 8)
slides along y = ``height - paddle_height - 10``; the ball is a ``ball_width x ball_height``
(32 x 32) box.

Every agent step runs ``frameskip`` (4) frames with the same action. In a frame:

- A new ball waits at ``(paddle centre - ball_width // 2, height // 2 - 30)`` (``balls_fired``
  0); its first frame fires it at 256 px/s (a frame is 1/60 s), ``pi / 3.25`` from vertical,
  downwards, to the left when ``rand() % 2 == 0``, and ignores a discrete action.
- The paddle moves by ``act * 620 / 60`` px (``act`` -1 for action 1 LEFT, +1 for 2 RIGHT, 0
  for 0 NOOP; with ``continuous`` the action itself, clipped to [-1, 1], also while firing)
  and is kept inside the field.
- Swept collisions: the ball's box is moved along its velocity to the earliest contact (the
  greatest overlap on ties) with an intact brick's side, the side walls or the back wall
  (y = 0), and reflected there; a contact with the paddle's top instead leaves the ball where
  it is and sends it off at ``-pi/4 + pi/2 * r`` from vertical, ``r`` the ball centre's
  position along the paddle (0 left edge, 1 right edge). Without a contact the ball moves by
  its velocity.
- A brick hit is broken and worth 7, 4 or 1 points (rows 0-1, 2-3, 4-5; reward = points);
  breaking one of the top three rows sets the ball's speed to 448 px/s. Every 4th paddle
  hit adds 64 px/s (below 448). The speed applies from the next paddle hit.
- Touching the back wall halves the paddle (until the next ball).
- When the score is exactly half the maximum (the first wall cleared) at a paddle hit, the
  wall is rebuilt (once: the next clear ends the game).
- A ball below the paddle's bottom is lost: ``num_balls`` drops by one and a new ball
  starts (paddle and speed reset). The game ends (terminal) when a ball is lost with
  ``num_balls`` 0 (six balls in all: ``num_balls`` counts the spares, from 5) or the score
  reaches the maximum (864: both walls). The next game starts within the same step (the
  step's remaining frames play it).

Actions: ``Discrete(3)`` (0 NOOP, 1 LEFT, 2 RIGHT), or with ``continuous=True`` a
``Box(-1, 1, (1,))`` paddle velocity. Rewards: the points of the bricks broken in the step.
Observations (float32, ``10 + brick_rows * brick_cols``): paddle x / width, paddle y /
height, ball x / width, ball y / height, ball vx / 512, ball vy / 512 (px per frame),
balls_fired / 5, score / 864, num_balls / 5, paddle width / ``paddle_width``, then each brick
(0 intact, 1 broken, row-major). Episode stats: ``score`` (= ``episode_return``) the points,
``perf`` the points over the maximum, ``episode_length`` in agent steps.

Differences from PufferLib 3.0:

- 3.0 ignores its ``paddle_width`` argument (every ball starts with a 62 px paddle, halved to
  31); here ``paddle_width`` is the paddle's width (halved after the back wall), 62 by
  default, and observation 9 is the width over ``paddle_width`` (3.0: over 62).
- 3.0 logs ``episode_length`` in frames (``frameskip`` per step, counting the frames the next
  game played in the last step); here it is agent steps.
- 3.0 treats an action outside 0-2 as NOOP; here it raises ``APIUsageError``, as it does for
  a NaN continuous action (3.0 clips it to NaN and loses the paddle).

The game is never truncated (no time limit, as in 3.0): ``truncations`` stay False.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import gymnasium
import numba
import numpy as np
from numba.extending import overload

from pufferlib.environments.ocean.native import core, draw
from pufferlib.environments.ocean.native.base import NativeEnv, check_positive_int
from pufferlib.exceptions import APIUsageError

F32 = np.float32
MAX_BALL_SPEED = 448
BALL_START_SPEED = 256
HALF_PADDLE_WIDTH = 31  # 3.0's paddle is always 2 * 31 wide (see the module docstring)
Y_OFFSET = 50
SCORE_SCALE = 864  # the observation's score scale (3.0's, whatever the wall)
NUM_FEATURES = 10
NOOP, LEFT, RIGHT = 0, 1, 2
# Constants as the C code computes them: `float` where it declares float, double where the
# expression is double (the ball's launch and bounce speeds: libm's cos/sin in double).
_LAUNCH_ANGLE = float(F32(math.pi / 3.25))
_LAUNCH_COS, _LAUNCH_SIN = math.cos(_LAUNCH_ANGLE), math.sin(_LAUNCH_ANGLE)
_BASE_ANGLE = F32(math.pi / 4.0)
_PADDLE_STEP = F32(620)  # px per second at full speed; a frame is 1/60 s
_UNSTICK = F32(F32(MAX_BALL_SPEED) * F32(1.1)) / F32(60)  # the nudge back into the field
_SIXTY = F32(60)
_ZERO, _ONE, _TWO = F32(0), F32(1), F32(2)

# Per-game state, one float64 row per game (float values are float32 numbers, exactly).
(PADDLE_X, BALL_X, BALL_Y, BALL_VX, BALL_VY, PADDLE_W, BALL_SPEED, SCORE, BALLS_FIRED, HITS,
 NUM_BALLS, TICKS, STEPS) = range(13)
BRICKS = 13  # column of brick 0: 0.0 intact, 1.0 broken
# Parameters, one small float64 array.
(P_FRAMESKIP, P_WIDTH, P_HEIGHT, P_PADDLE_W, P_PADDLE_H, P_BALL_W, P_BALL_H, P_BRICK_W, P_BRICK_H,
 P_ROWS, P_COLS, P_HALF_MAX, P_PADDLE_Y, P_RESET) = range(14)
# P_RESET: 1 asks the kernel to start every game instead of stepping (a flag, not an argument:
# Numba's dispatcher takes ~120 ns per scalar argument, as long as for two arrays).
# Collision targets (the brick's index when >= 0), as 3.0 numbers them.
NO_COLLISION, SIDEWALL, BACKWALL, PADDLE = -4, -3, -2, -1
LOG_PERF = core.LOG_EXTRA


def _paddle_input(actions: np.ndarray, g: int) -> tuple[np.float32, bool, bool]:
    """``(act, continuous, bad)`` for game ``g``'s action (compiled: see the overload)."""
    raise NotImplementedError("_paddle_input runs compiled, inside a Numba kernel")


@overload(_paddle_input, inline="always")
def _paddle_input_impl(actions, g):
    if actions.ndim == 2:  # continuous: one velocity per game, clipped as 3.0's Python does

        def continuous(actions, g):
            act = F32(actions[g, 0])
            if act != act:  # NaN
                return _ZERO, True, True
            return min(max(act, F32(-1)), _ONE), True, False

        return continuous

    def discrete(actions, g):
        action = actions[g]
        if action == LEFT:
            return F32(-1), False, False
        if action == RIGHT:
            return _ONE, False, False
        return _ZERO, False, action != NOOP

    return discrete


@numba.njit(cache=True, inline="always")
def _serve_position(p: np.ndarray) -> tuple[np.float32, np.float32, np.float32]:
    """Where every ball starts: ``(paddle x, ball x, ball y)``, computed as 3.0's C does."""
    paddle_w = F32(p[P_PADDLE_W])
    paddle_x = F32(p[P_WIDTH] / 2.0 - np.float64(paddle_w / _TWO))  # C: width / 2.0 - paddle_width / 2
    ball_x = paddle_x + (paddle_w / _TWO - F32(int(p[P_BALL_W]) // 2))
    return paddle_x, ball_x, F32(int(p[P_HEIGHT]) // 2 - 30)


@numba.njit(cache=True)
def _reset_game(s: np.ndarray, p: np.ndarray) -> None:
    paddle_x, ball_x, ball_y = _serve_position(p)
    s[PADDLE_X], s[BALL_X], s[BALL_Y], s[BALL_VX], s[BALL_VY] = paddle_x, ball_x, ball_y, 0.0, 0.0
    s[PADDLE_W] = F32(p[P_PADDLE_W])
    s[BALL_SPEED] = BALL_START_SPEED
    s[SCORE], s[BALLS_FIRED], s[HITS], s[NUM_BALLS], s[TICKS], s[STEPS] = 0, 0, 0, 5, 0, 0
    s[BRICKS:] = 0.0


@numba.njit(cache=True, inline="always")
def _vline(xw, yw, hw, x, y, vx, vy, h, ct, co):
    """Earliest contact of the moving vertical edge (x, y..y+h) with the wall edge (xw,
    yw..yw+hw) within this frame: ``(hit, t, overlap, y at contact)``; a hit must come before
    the best so far (``ct``) or tie it with more overlap (``co``)."""
    t = (xw - x) / vx
    top = min(yw + hw, y + h + vy * t)
    bottom = max(yw, y + vy * t)
    overlap = top - bottom
    hit = overlap > _ZERO and t > _ZERO and t <= _ONE and (t < ct or (t == ct and overlap > co))
    return hit, t, overlap, y + vy * t


@numba.njit(cache=True, inline="always")
def _hline(xw, yw, ww, x, y, vx, vy, w, ct, co):
    """The horizontal counterpart of ``_vline``: ``(hit, t, overlap, x at contact)``."""
    t = (yw - y) / vy
    right = min(xw + ww, x + w + vx * t)
    left = max(xw, x + vx * t)
    overlap = right - left
    hit = overlap > _ZERO and t > _ZERO and t <= _ONE and (t < ct or (t == ct and overlap > co))
    return hit, t, overlap, x + vx * t


@numba.njit(cache=True, inline="always")
def _observe_features(s: np.ndarray, p: np.ndarray, obs: np.ndarray, g: int) -> None:
    width, height = F32(p[P_WIDTH]), F32(p[P_HEIGHT])
    o = obs[g]
    o[0] = F32(s[PADDLE_X]) / width
    o[1] = F32(p[P_PADDLE_Y]) / height
    o[2] = F32(s[BALL_X]) / width
    o[3] = F32(s[BALL_Y]) / height
    o[4] = F32(s[BALL_VX]) / F32(512)
    o[5] = F32(s[BALL_VY]) / F32(512)
    o[6] = F32(s[BALLS_FIRED]) / F32(5)
    o[7] = F32(s[SCORE]) / F32(SCORE_SCALE)
    o[8] = F32(s[NUM_BALLS]) / F32(5)
    o[9] = F32(s[PADDLE_W]) / F32(p[P_PADDLE_W])


@numba.njit(cache=True)
def observe(s: np.ndarray, p: np.ndarray, obs: np.ndarray, g: int) -> None:
    """Write game ``g``'s whole observation from its state row ``s`` (steps write the bricks
    only when they change)."""
    _observe_features(s, p, obs, g)
    for k in range(obs.shape[1] - NUM_FEATURES):
        obs[g, NUM_FEATURES + k] = s[BRICKS + k]


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
    Truncations are never set.

    Each game's state is loaded into locals for the step's frames and stored back after; the
    frame is 3.0's ``step_frame`` (see the module docstring), in its order and arithmetic.
    """
    p = params
    if p[P_RESET]:
        p[P_RESET] = 0.0
        for g in range(state.shape[0]):
            _reset_game(state[g], p)
            observe(state[g], p, obs, g)
        return 0
    frameskip = int(p[P_FRAMESKIP])
    width, height = F32(p[P_WIDTH]), F32(p[P_HEIGHT])
    ball_w, ball_h = F32(p[P_BALL_W]), F32(p[P_BALL_H])
    half_ball = F32(int(p[P_BALL_W]) // 2)
    brick_wi, brick_hi = int(p[P_BRICK_W]), int(p[P_BRICK_H])
    brick_w, brick_h = F32(brick_wi), F32(brick_hi)
    rows, cols = int(p[P_ROWS]), int(p[P_COLS])
    half_max = int(p[P_HALF_MAX])
    paddle_y = F32(p[P_PADDLE_Y])
    paddle_bottom = paddle_y + F32(p[P_PADDLE_H])
    full_w = F32(p[P_PADDLE_W])
    start_paddle_x, start_x, start_y = _serve_position(p)
    y_offset = F32(Y_OFFSET)
    bad = False
    for g in range(state.shape[0]):
        s = state[g]
        act, continuous, wrong = _paddle_input(actions, g)
        bad |= wrong
        paddle_x, paddle_w = F32(s[PADDLE_X]), F32(s[PADDLE_W])
        x, y, vx, vy = F32(s[BALL_X]), F32(s[BALL_Y]), F32(s[BALL_VX]), F32(s[BALL_VY])
        speed, score, fired = int(s[BALL_SPEED]), int(s[SCORE]), int(s[BALLS_FIRED])
        hits, balls, ticks, steps = int(s[HITS]), int(s[NUM_BALLS]), int(s[TICKS]), int(s[STEPS]) + 1
        reward = _ZERO
        ended = False
        for _ in range(frameskip):
            ticks += 1
            frame_act = act
            if fired == 0:  # fire a new ball; a discrete action waits for the next frame
                fired = 1
                vy = F32(_LAUNCH_COS * speed / 60.0)
                vx = F32(_LAUNCH_SIN * speed / 60.0)
                if core.randint(rng, g, 2) == 0:
                    vx = -vx
                if not continuous:
                    frame_act = _ZERO
            paddle_x += frame_act * _PADDLE_STEP / _SIXTY
            if paddle_x <= _ZERO:
                paddle_x = max(_ZERO, paddle_x)
            else:
                paddle_x = min(width - paddle_w, paddle_x)

            # Swept collisions (3.0's handle_collisions): the earliest contact wins.
            if x < _ZERO:  # rounding can leave the ball outside the field: nudge it back
                x += _UNSTICK
            if x > width:
                x -= _UNSTICK
            if y < _ZERO:
                y += _UNSTICK
            ct, co, cx, cy, cvx, cvy, target = _TWO, F32(-1), _ZERO, _ZERO, _ZERO, _ZERO, NO_COLLISION
            col_from = max(int(math.floor(min(x + vx, x) / brick_w)), 0)
            col_to = min(int(math.floor(max(x + ball_w + vx, x + ball_w) / brick_w)), cols - 1)
            row_from = max(int(math.floor((min(y + vy, y) - y_offset) / brick_h)), 0)
            row_to = min(int(math.floor((max(y + ball_h + vy, y + ball_h) - y_offset) / brick_h)), rows - 1)
            for row in range(row_from, row_to + 1):
                for col in range(col_from, col_to + 1):
                    k = row * cols + col
                    if s[BRICKS + k] != 0.0:
                        continue
                    bx, by = F32(col * brick_wi), F32(row * brick_hi + Y_OFFSET)
                    hit_brick = False
                    if vx > _ZERO:  # the brick's left side, the ball's right side
                        hit, t, overlap, at = _vline(bx, by, brick_h, x + ball_w, y, vx, vy, ball_h, ct, co)
                        if hit:
                            ct, co, cx, cy, cvx, cvy, hit_brick = t, overlap, bx - ball_w, at, -vx, vy, True
                    if vx < _ZERO:  # the brick's right side, the ball's left side
                        hit, t, overlap, at = _vline(bx + brick_w, by, brick_h, x, y, vx, vy, ball_h, ct, co)
                        if hit:
                            ct, co, cx, cy, cvx, cvy, hit_brick = t, overlap, bx + brick_w, at, -vx, vy, True
                    if vy > _ZERO:  # the brick's top, the ball's bottom
                        hit, t, overlap, at = _hline(bx, by, brick_w, x, y + ball_h, vx, vy, ball_w, ct, co)
                        if hit:
                            ct, co, cx, cy, cvx, cvy, hit_brick = t, overlap, at, by - ball_h, vx, -vy, True
                    if vy < _ZERO:  # the brick's bottom, the ball's top
                        hit, t, overlap, at = _hline(bx, by + brick_h, brick_w, x, y, vx, vy, ball_w, ct, co)
                        if hit:
                            ct, co, cx, cy, cvx, cvy, hit_brick = t, overlap, at, by + brick_h, vx, -vy, True
                    if hit_brick:
                        target = k
            if vx < _ZERO:
                hit, t, overlap, at = _vline(_ZERO, _ZERO, height, x, y, vx, vy, ball_h, ct, co)
                if hit:
                    ct, co, cx, cy, cvx, cvy, target = t, overlap, _ZERO, at, -vx, vy, SIDEWALL
            if vx > _ZERO:
                hit, t, overlap, at = _vline(width, _ZERO, height, x + ball_w, y, vx, vy, ball_h, ct, co)
                if hit:
                    ct, co, cx, cy, cvx, cvy, target = t, overlap, width - ball_w, at, -vx, vy, SIDEWALL
            if vy < _ZERO:
                hit, t, overlap, at = _hline(_ZERO, _ZERO, width, x, y, vx, vy, ball_w, ct, co)
                if hit:
                    ct, co, cx, cy, cvx, cvy, target = t, overlap, at, _ZERO, vx, -vy, BACKWALL
            if y + ball_h + vy >= paddle_y:
                hit, _, _, _ = _hline(paddle_x, paddle_y, paddle_w, x, y + ball_h, vx, vy, ball_w, ct, co)
                if hit:  # the ball stays put this frame and leaves at an angle set by where it hit
                    target = PADDLE
                    offset = ((x + half_ball) - paddle_x) / paddle_w
                    angle = np.float64(-_BASE_ANGLE + offset * _TWO * _BASE_ANGLE)
                    vx = F32(math.sin(angle) * speed / 60.0)
                    vy = F32(-math.cos(angle) * speed / 60.0)
                    hits += 1
                    if hits % 4 == 0 and speed < MAX_BALL_SPEED:
                        speed += 64
                    if score == half_max:  # the first wall is cleared: rebuild it
                        s[BRICKS:] = 0.0
                        obs[g, NUM_FEATURES:] = 0.0
            if target == NO_COLLISION:
                x += vx
                y += vy
            elif target != PADDLE:  # (every contact recorded has t <= 1)
                x, y, vx, vy = cx, cy, cvx, cvy
                if target >= 0:
                    points = 7 - 3 * ((target // cols) // 2)
                    score += points
                    reward += F32(points)
                    s[BRICKS + target] = 1.0
                    obs[g, NUM_FEATURES + target] = 1.0
                    if target // cols < 3:
                        speed = MAX_BALL_SPEED
                elif target == BACKWALL:
                    paddle_w = full_w / _TWO

            lost = bool(y >= paddle_bottom)
            if lost:
                balls -= 1
            if balls < 0 or score == 2 * half_max:  # game over: log it and start the next
                ended = True
                core.log_episode(log, g, score, steps, score)
                log[g, LOG_PERF] += F32(score) / F32(2 * half_max)
                score, balls, ticks, steps, lost = 0, 5, 0, 0, True
                s[BRICKS:] = 0.0
                obs[g, NUM_FEATURES:] = 0.0
            if lost:  # a new ball (3.0's reset_round)
                fired, hits, speed = 0, 0, BALL_START_SPEED
                paddle_w, paddle_x, x, y, vx, vy = full_w, start_paddle_x, start_x, start_y, _ZERO, _ZERO
        s[PADDLE_X], s[PADDLE_W] = paddle_x, paddle_w
        s[BALL_X], s[BALL_Y], s[BALL_VX], s[BALL_VY] = x, y, vx, vy
        s[BALL_SPEED], s[SCORE], s[BALLS_FIRED], s[HITS], s[NUM_BALLS] = speed, score, fired, hits, balls
        s[TICKS], s[STEPS] = ticks, steps
        rewards[g] = reward
        terminals[g] = ended
        _observe_features(s, p, obs, g)
    return int(bad)


class Breakout(NativeEnv):
    """``num_envs`` Breakout games, 3.0's ``puffer_breakout`` (see the module docstring).

    ``state`` is ``(num_envs, 13 + bricks)`` float64 (columns ``PADDLE_X`` ... ``STEPS``, then
    ``BRICKS + k``); tests may set it and call ``sync_observations``.
    """

    LOG_EXTRA_KEYS: ClassVar[tuple[str, ...]] = ("perf",)

    def __init__(
        self,
        num_envs: int = 1,
        frameskip: int = 4,
        width: int = 576,
        height: int = 330,
        paddle_width: int = 62,
        paddle_height: int = 8,
        ball_width: int = 32,
        ball_height: int = 32,
        brick_width: int = 32,
        brick_height: int = 12,
        brick_rows: int = 6,
        brick_cols: int = 18,
        continuous: bool = False,
        render_mode: str | None = None,
        report_interval: int = 32,
        buf: Any = None,
    ):
        self.frameskip = check_positive_int("frameskip", frameskip)
        self.width, self.height = check_positive_int("width", width), check_positive_int("height", height)
        self.paddle_width = check_positive_int("paddle_width", paddle_width)
        self.paddle_height = check_positive_int("paddle_height", paddle_height)
        self.ball_width = check_positive_int("ball_width", ball_width)
        self.ball_height = check_positive_int("ball_height", ball_height)
        self.brick_width = check_positive_int("brick_width", brick_width)
        self.brick_height = check_positive_int("brick_height", brick_height)
        self.brick_rows = check_positive_int("brick_rows", brick_rows)
        self.brick_cols = check_positive_int("brick_cols", brick_cols)
        self.continuous = bool(continuous)
        self._check_geometry()
        self.num_bricks = self.brick_rows * self.brick_cols
        half_max = sum(7 - 3 * (row // 2) for row in range(self.brick_rows)) * self.brick_cols
        self.max_score = 2 * half_max
        self.params = np.zeros(14, dtype=np.float64)
        self.params[[P_FRAMESKIP, P_WIDTH, P_HEIGHT, P_PADDLE_W, P_PADDLE_H, P_BALL_W, P_BALL_H]] = (
            self.frameskip, self.width, self.height, self.paddle_width, self.paddle_height,
            self.ball_width, self.ball_height,
        )
        self.params[[P_BRICK_W, P_BRICK_H, P_ROWS, P_COLS, P_HALF_MAX, P_PADDLE_Y]] = (
            self.brick_width, self.brick_height, self.brick_rows, self.brick_cols, half_max,
            self.paddle_y,
        )
        self.single_observation_space = gymnasium.spaces.Box(
            -1.0, 1.0, (NUM_FEATURES + self.num_bricks,), np.float32
        )
        if self.continuous:
            self.single_action_space = gymnasium.spaces.Box(-1.0, 1.0, (1,), np.float32)
        else:
            self.single_action_space = gymnasium.spaces.Discrete(3)
        super().__init__(num_envs, render_mode, report_interval, buf)
        self.state = np.zeros((self.num_envs, BRICKS + self.num_bricks), dtype=np.float64)

    @property
    def paddle_y(self) -> int:
        """The paddle's top (fixed)."""
        return self.height - self.paddle_height - 10

    def _check_geometry(self) -> None:
        if self.brick_rows > 6:
            raise APIUsageError(
                f"Breakout: brick_rows must be at most 6 (rows 7 on would be worth negative points), "
                f"got {self.brick_rows}."
            )
        serve_y = self.height // 2 - 30
        wall_end = Y_OFFSET + self.brick_rows * self.brick_height
        if wall_end > serve_y or serve_y + self.ball_height >= self.paddle_y:
            raise APIUsageError(
                f"Breakout: the wall (y {Y_OFFSET} to {wall_end}) must end above the serve (y = height // 2 "
                f"- 30 = {serve_y}), and the ball ({self.ball_height} high) must start above the paddle "
                f"(y {self.paddle_y}): raise height or lower brick_rows/brick_height."
            )
        wall_width = self.brick_cols * self.brick_width
        if wall_width > self.width or not self.ball_width < self.paddle_width < self.width:
            raise APIUsageError(
                f"Breakout: need brick_cols * brick_width <= width and ball_width < paddle_width < width, "
                f"got {self.brick_cols} * {self.brick_width}, width {self.width}, ball_width "
                f"{self.ball_width}, paddle_width {self.paddle_width}."
            )

    def _step_games(self, actions: np.ndarray, reset_all: bool = False) -> int:
        if reset_all:
            self.params[P_RESET] = 1.0
        return step_kernel(
            self.state, self.params, self.rng, actions, self.observations, self.rewards, self.terminals,
            self.log,
        )

    def sync_observations(self) -> None:
        """Rewrite the observations from ``state`` (after setting ``state`` by hand)."""
        for g in range(self.num_envs):
            observe(self.state[g], self.params, self.observations, g)

    def bricks(self, game: int = 0) -> np.ndarray:
        """Game ``game``'s bricks, ``(brick_rows, brick_cols)``: True where intact."""
        return self.state[game, BRICKS:].reshape(self.brick_rows, self.brick_cols) == 0.0

    def render_ansi(self) -> str:
        cell_w, cell_h = 16, 12  # pixels per character
        cols, rows = -(-self.width // cell_w), -(-self.height // cell_h)
        lines = [[" "] * cols for _ in range(rows)]
        intact = self.bricks(0)
        for r in range(self.brick_rows):
            for c in range(self.brick_cols):
                if intact[r, c]:
                    y, x = Y_OFFSET + r * self.brick_height, c * self.brick_width
                    for cc in range(x // cell_w, -(-(x + self.brick_width) // cell_w)):
                        lines[min(y // cell_h, rows - 1)][min(cc, cols - 1)] = "#"
        s = self.state[0]
        left, right = int(s[PADDLE_X]) // cell_w, int(s[PADDLE_X] + s[PADDLE_W] - 1) // cell_w
        for c in range(max(left, 0), min(right, cols - 1) + 1):
            lines[min(self.paddle_y // cell_h, rows - 1)][c] = "="
        ball_r = min(max(int(s[BALL_Y] + self.ball_height / 2) // cell_h, 0), rows - 1)
        ball_c = min(max(int(s[BALL_X] + self.ball_width / 2) // cell_w, 0), cols - 1)
        lines[ball_r][ball_c] = "o"
        border = "+" + "-" * cols + "+"
        body = "\n".join("|" + "".join(line) + "|" for line in lines)
        return f"{border}\n{body}\n{border}\nscore {int(s[SCORE])} balls {int(s[NUM_BALLS])}\n"

    def render_rgb(self) -> np.ndarray:
        """Game 0 at 3.0's window size (``width x height`` pixels), in its colours."""
        image = draw.canvas(self.height, self.width)
        image[:] = (6, 24, 24)
        colours = ((230, 41, 55), (255, 161, 0), (253, 249, 0), (0, 228, 48), (102, 191, 255), (0, 121, 241))
        intact = self.bricks(0)
        for r in range(self.brick_rows):
            for c in range(self.brick_cols):
                if intact[r, c]:
                    draw.fill_rect(image, Y_OFFSET + r * self.brick_height, c * self.brick_width,
                                   self.brick_height, self.brick_width, colours[r % len(colours)])
        s = self.state[0]
        draw.fill_rect(image, self.paddle_y, s[PADDLE_X], self.paddle_height, s[PADDLE_W], (0, 255, 255))
        draw.fill_rect(image, s[BALL_Y], s[BALL_X], self.ball_height, self.ball_width, draw.COLOURS["ball"])
        return image
