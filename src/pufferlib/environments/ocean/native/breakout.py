"""Breakout: break a wall of bricks with a ball kept in play by a paddle, ``num_envs`` games per call.

Geometry, in brick units: the field is ``WIDTH = brick_cols`` wide and ``HEIGHT = 14``
high (y grows downward); bricks are 1 wide and 0.5 high, ``brick_rows`` rows of them from
y = 2. The paddle's top is at y = 13. Each step the paddle moves (0 stay, 1 left, 2 right)
by ``paddle_speed``, then the ball (a point) moves by its velocity, whose length is
``ball_speed`` (< 0.5, so it never skips a brick row): it bounces off the side and top walls
and off each brick it enters, breaking it (reward 1). Off the paddle it leaves at up to 60
degrees from vertical, steeper the farther from the paddle's centre it hits. Below the field
the ball is lost; with lives left a new ball starts at y = 8, x uniform in the middle half,
heading down at up to 45 degrees. The episode ends (terminal) when the last life is lost or
every brick is broken, or (truncation) after ``max_episode_steps`` steps.

Observations (float32): paddle x / WIDTH, ball x / WIDTH, ball y / HEIGHT, ball velocity /
``ball_speed`` (2), lives left / ``lives``, then one 0/1 per brick (row-major). Episode
stats: ``score`` = bricks broken.
"""

from __future__ import annotations

import math
from typing import Any

import gymnasium
import numba
import numpy as np

from pufferlib.environments.ocean.native import core, draw
from pufferlib.environments.ocean.native.base import NativeEnv, check_positive_int
from pufferlib.exceptions import APIUsageError

HEIGHT = 14.0
BRICK_TOP = 2.0
BRICK_HEIGHT = 0.5
PADDLE_Y = 13.0
SERVE_Y = 8.0
MAX_BOUNCE = math.radians(60)
MAX_SERVE = math.radians(45)
NUM_FEATURES = 6
# Per-game state columns.
PADDLE_X, BALL_X, BALL_Y, BALL_VX, BALL_VY, LIVES, BRICKS_LEFT, TICKS, SCORE = range(9)


@numba.njit(cache=True)
def _serve(state: np.ndarray, rng: np.ndarray, g: int, width: float, speed: float) -> None:
    state[g, BALL_X] = width * (0.25 + 0.5 * core.uniform(rng, g))
    state[g, BALL_Y] = SERVE_Y
    angle = MAX_SERVE * (2.0 * core.uniform(rng, g) - 1.0)
    state[g, BALL_VX] = speed * math.sin(angle)
    state[g, BALL_VY] = speed * math.cos(angle)


@numba.njit(cache=True)
def _start(
    state: np.ndarray, bricks: np.ndarray, rng: np.ndarray, g: int, width: float, speed: float, lives: int
) -> None:
    bricks[g, :] = 1
    state[g, PADDLE_X] = width / 2
    state[g, LIVES] = lives
    state[g, BRICKS_LEFT] = bricks.shape[1]
    state[g, TICKS] = 0
    state[g, SCORE] = 0
    _serve(state, rng, g, width, speed)


@numba.njit(cache=True)
def step_kernel(
    state: np.ndarray,
    bricks: np.ndarray,
    rng: np.ndarray,
    actions: np.ndarray,
    width: float,
    speed: float,
    paddle_width: float,
    paddle_speed: float,
    lives: int,
    brick_rows: int,
    max_steps: int,
    obs: np.ndarray,
    rewards: np.ndarray,
    terminals: np.ndarray,
    truncations: np.ndarray,
    log: np.ndarray,
    reset_all: bool,
) -> int:
    """Advance every game one step (``reset_all``: start every game instead); 1 if an action
    was out of range, else 0."""
    cols = int(width)
    half = paddle_width / 2
    bad = 0
    for g in range(state.shape[0]):
        if reset_all:
            _start(state, bricks, rng, g, width, speed, lives)
        else:
            action = actions[g]
            if action < 0 or action > 2:
                bad = 1
            paddle = state[g, PADDLE_X]
            if action == 1:
                paddle -= paddle_speed
            elif action == 2:
                paddle += paddle_speed
            paddle = min(max(paddle, half), width - half)
            state[g, PADDLE_X] = paddle

            x, y = state[g, BALL_X], state[g, BALL_Y]
            vx, vy = state[g, BALL_VX], state[g, BALL_VY]
            previous_y = y
            x += vx
            y += vy
            if x < 0.0:
                x, vx = -x, -vx
            elif x > width:
                x, vx = 2 * width - x, -vx
            if y < 0.0:
                y, vy = -y, -vy
            reward = 0.0
            row = int((y - BRICK_TOP) / BRICK_HEIGHT) if y >= BRICK_TOP else -1
            if 0 <= row < brick_rows:
                k = row * cols + min(int(x), cols - 1)
                if bricks[g, k]:
                    bricks[g, k] = 0
                    reward = 1.0
                    vy = -vy
                    state[g, BRICKS_LEFT] -= 1
            if vy > 0.0 and previous_y < PADDLE_Y <= y and abs(x - paddle) <= half:
                angle = MAX_BOUNCE * (x - paddle) / half
                vx = speed * math.sin(angle)
                vy = -speed * math.cos(angle)
                y = 2 * PADDLE_Y - y
            state[g, BALL_X], state[g, BALL_Y], state[g, BALL_VX], state[g, BALL_VY] = x, y, vx, vy

            terminal = False
            if y > HEIGHT:
                state[g, LIVES] -= 1
                if state[g, LIVES] <= 0:
                    terminal = True
                else:
                    _serve(state, rng, g, width, speed)
            if state[g, BRICKS_LEFT] <= 0:
                terminal = True
            state[g, TICKS] += 1
            state[g, SCORE] += reward
            truncated = state[g, TICKS] >= max_steps and not terminal
            rewards[g] = reward
            terminals[g] = terminal
            truncations[g] = truncated
            if terminal or truncated:
                core.log_episode(log, g, state[g, SCORE], state[g, TICKS], state[g, SCORE])
                _start(state, bricks, rng, g, width, speed, lives)
        obs[g, 0] = state[g, PADDLE_X] / width
        obs[g, 1] = state[g, BALL_X] / width
        obs[g, 2] = state[g, BALL_Y] / HEIGHT
        obs[g, 3] = state[g, BALL_VX] / speed
        obs[g, 4] = state[g, BALL_VY] / speed
        obs[g, 5] = state[g, LIVES] / lives
        for k in range(bricks.shape[1]):
            obs[g, NUM_FEATURES + k] = bricks[g, k]
    return bad


class Breakout(NativeEnv):
    """``num_envs`` Breakout games (see the module docstring)."""

    def __init__(
        self,
        num_envs: int = 1,
        brick_rows: int = 6,
        brick_cols: int = 12,
        paddle_width: float = 2.0,
        paddle_speed: float = 0.4,
        ball_speed: float = 0.3,
        lives: int = 3,
        max_episode_steps: int = 2000,
        render_mode: str | None = None,
        report_interval: int = 32,
        buf: Any = None,
    ):
        self.brick_rows = check_positive_int("brick_rows", brick_rows)
        self.brick_cols = check_positive_int("brick_cols", brick_cols, 2)
        if self.brick_rows * BRICK_HEIGHT > PADDLE_Y - BRICK_TOP - 4:
            raise APIUsageError(f"Breakout: brick_rows must be at most 14, got {brick_rows}.")
        self.width = float(self.brick_cols)
        if not 0 < paddle_width < self.width or not paddle_speed > 0 or not 0 < ball_speed < BRICK_HEIGHT:
            raise APIUsageError(
                f"Breakout: need 0 < paddle_width < brick_cols ({self.brick_cols}), paddle_speed > 0 and "
                f"0 < ball_speed < {BRICK_HEIGHT}; got {paddle_width}, {paddle_speed}, {ball_speed}."
            )
        self.paddle_width, self.paddle_speed = float(paddle_width), float(paddle_speed)
        self.ball_speed = float(ball_speed)
        self.lives = check_positive_int("lives", lives)
        self.max_episode_steps = check_positive_int("max_episode_steps", max_episode_steps)
        num_bricks = self.brick_rows * self.brick_cols
        self.single_observation_space = gymnasium.spaces.Box(
            -1.0, 1.0, (NUM_FEATURES + num_bricks,), np.float32
        )
        self.single_action_space = gymnasium.spaces.Discrete(3)
        super().__init__(num_envs, render_mode, report_interval, buf)
        self.state = np.zeros((self.num_envs, 9), dtype=np.float64)
        self.bricks = np.zeros((self.num_envs, num_bricks), dtype=np.uint8)

    def _step_games(self, actions: np.ndarray, reset_all: bool = False) -> int:
        return step_kernel(
            self.state,
            self.bricks,
            self.rng,
            actions,
            self.width,
            self.ball_speed,
            self.paddle_width,
            self.paddle_speed,
            self.lives,
            self.brick_rows,
            self.max_episode_steps,
            self.observations,
            self.rewards,
            self.terminals,
            self.truncations,
            self.log,
            reset_all,
        )

    def render_ansi(self) -> str:
        cols, scale = self.brick_cols, 2  # two characters per brick unit
        lines = [[" "] * (cols * scale) for _ in range(int(HEIGHT * 2))]
        bricks = self.bricks[0].reshape(self.brick_rows, cols)
        for r in range(self.brick_rows):
            for c in range(cols):
                if bricks[r, c]:
                    lines[int((BRICK_TOP + r * BRICK_HEIGHT) * 2)][c * scale : (c + 1) * scale] = [
                        "█"
                    ] * scale
        state = self.state[0]
        left = int((state[PADDLE_X] - self.paddle_width / 2) * scale)
        paddle_row = lines[int(PADDLE_Y * 2)]
        for c in range(max(left, 0), min(left + int(self.paddle_width * scale), cols * scale)):
            paddle_row[c] = "="
        ball_r = min(int(state[BALL_Y] * 2), len(lines) - 1)
        lines[ball_r][min(int(state[BALL_X] * scale), cols * scale - 1)] = "o"
        border = "+" + "-" * (cols * scale) + "+"
        body = "\n".join("|" + "".join(line) + "|" for line in lines)
        return (
            f"{border}\n{body}\n{border}\nscore {int(state[SCORE])} lives {int(state[LIVES])} "
            f"t={int(state[TICKS])}\n"
        )

    def render_rgb(self) -> np.ndarray:
        unit = 16
        image = draw.canvas(int(HEIGHT * unit), int(self.width * unit))
        bricks = self.bricks[0].reshape(self.brick_rows, self.brick_cols)
        for r in range(self.brick_rows):
            colour = (230, 60 + 30 * r, 60)
            for c in range(self.brick_cols):
                if bricks[r, c]:
                    draw.fill_rect(
                        image,
                        (BRICK_TOP + r * BRICK_HEIGHT) * unit + 1,
                        c * unit + 1,
                        BRICK_HEIGHT * unit - 2,
                        unit - 2,
                        colour,
                    )
        state = self.state[0]
        draw.fill_rect(
            image,
            PADDLE_Y * unit,
            (state[PADDLE_X] - self.paddle_width / 2) * unit,
            unit / 3,
            self.paddle_width * unit,
            draw.COLOURS["other"],
        )
        draw.fill_rect(image, state[BALL_Y] * unit - 3, state[BALL_X] * unit - 3, 6, 6, draw.COLOURS["ball"])
        return image
