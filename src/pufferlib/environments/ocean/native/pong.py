"""Pong against a scripted opponent, ``num_envs`` games per kernel call.

The field is ``WIDTH = 16`` wide and ``HEIGHT = 12`` high. The agent's paddle guards the
left edge, the opponent's the right; paddles are ``2 * paddle_half`` high. Each step the
agent's paddle moves (0 stay, 1 up, 2 down) by ``paddle_speed``, the opponent's moves toward
the ball's height by at most ``opponent_speed`` (slower than a steep ball: it can be beaten),
then the ball moves by its velocity (length ``ball_speed``), bouncing off the top and bottom.
A ball reaching a paddle's edge within the paddle's height bounces back at up to 60 degrees
from horizontal, steeper the farther from the paddle's centre it hits; otherwise the other
side scores: reward +1 for the agent's point, -1 for the opponent's, and the ball is served
again from the centre toward a random side at up to 30 degrees. The episode ends (terminal)
when a side reaches ``points_to_win``, or (truncation) after ``max_episode_steps`` steps.

Observations (float32): agent y / HEIGHT, opponent y / HEIGHT, ball x / WIDTH, ball y /
HEIGHT, ball velocity / ``ball_speed`` (2). Episode stats: ``score`` = the fraction of the
episode's points the agent won.
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

WIDTH = 16.0
HEIGHT = 12.0
MAX_BOUNCE = math.radians(60)
MAX_SERVE = math.radians(30)
# Per-game state columns.
AGENT_Y, OPPONENT_Y, BALL_X, BALL_Y, BALL_VX, BALL_VY, POINTS_FOR, POINTS_AGAINST, TICKS, RETURN = range(10)


@numba.njit(cache=True)
def _serve(state: np.ndarray, rng: np.ndarray, g: int, speed: float) -> None:
    state[g, BALL_X] = WIDTH / 2
    state[g, BALL_Y] = HEIGHT * (0.25 + 0.5 * core.uniform(rng, g))
    angle = MAX_SERVE * (2.0 * core.uniform(rng, g) - 1.0)
    side = 1.0 if core.uniform(rng, g) < 0.5 else -1.0
    state[g, BALL_VX] = side * speed * math.cos(angle)
    state[g, BALL_VY] = speed * math.sin(angle)


@numba.njit(cache=True)
def _start(state: np.ndarray, rng: np.ndarray, g: int, speed: float) -> None:
    state[g, AGENT_Y] = HEIGHT / 2
    state[g, OPPONENT_Y] = HEIGHT / 2
    state[g, POINTS_FOR] = 0
    state[g, POINTS_AGAINST] = 0
    state[g, TICKS] = 0
    state[g, RETURN] = 0
    _serve(state, rng, g, speed)


@numba.njit(cache=True)
def step_kernel(
    state: np.ndarray,
    rng: np.ndarray,
    actions: np.ndarray,
    speed: float,
    paddle_half: float,
    paddle_speed: float,
    opponent_speed: float,
    points_to_win: int,
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
    bad = 0
    for g in range(state.shape[0]):
        if reset_all:
            _start(state, rng, g, speed)
        else:
            action = actions[g]
            if action < 0 or action > 2:
                bad = 1
            agent = state[g, AGENT_Y]
            if action == 1:
                agent -= paddle_speed
            elif action == 2:
                agent += paddle_speed
            agent = min(max(agent, paddle_half), HEIGHT - paddle_half)
            state[g, AGENT_Y] = agent

            x, y = state[g, BALL_X], state[g, BALL_Y]
            opponent = state[g, OPPONENT_Y]
            opponent += min(max(y - opponent, -opponent_speed), opponent_speed)
            opponent = min(max(opponent, paddle_half), HEIGHT - paddle_half)
            state[g, OPPONENT_Y] = opponent

            vx, vy = state[g, BALL_VX], state[g, BALL_VY]
            x += vx
            y += vy
            if y < 0.0:
                y, vy = -y, -vy
            elif y > HEIGHT:
                y, vy = 2 * HEIGHT - y, -vy
            reward = 0.0
            scored = False
            if x <= 0.0:
                if abs(y - agent) <= paddle_half:
                    angle = MAX_BOUNCE * (y - agent) / paddle_half
                    vx, vy = speed * math.cos(angle), speed * math.sin(angle)
                    x = -x
                else:
                    reward = -1.0
                    state[g, POINTS_AGAINST] += 1
                    scored = True
            elif x >= WIDTH:
                if abs(y - opponent) <= paddle_half:
                    angle = MAX_BOUNCE * (y - opponent) / paddle_half
                    vx, vy = -speed * math.cos(angle), speed * math.sin(angle)
                    x = 2 * WIDTH - x
                else:
                    reward = 1.0
                    state[g, POINTS_FOR] += 1
                    scored = True
            state[g, BALL_X], state[g, BALL_Y], state[g, BALL_VX], state[g, BALL_VY] = x, y, vx, vy
            if scored:
                _serve(state, rng, g, speed)

            state[g, TICKS] += 1
            state[g, RETURN] += reward
            terminal = max(state[g, POINTS_FOR], state[g, POINTS_AGAINST]) >= points_to_win
            truncated = state[g, TICKS] >= max_steps and not terminal
            rewards[g] = reward
            terminals[g] = terminal
            truncations[g] = truncated
            if terminal or truncated:
                points = state[g, POINTS_FOR] + state[g, POINTS_AGAINST]
                score = state[g, POINTS_FOR] / points if points > 0 else 0.0
                core.log_episode(log, g, state[g, RETURN], state[g, TICKS], score)
                _start(state, rng, g, speed)
        obs[g, 0] = state[g, AGENT_Y] / HEIGHT
        obs[g, 1] = state[g, OPPONENT_Y] / HEIGHT
        obs[g, 2] = state[g, BALL_X] / WIDTH
        obs[g, 3] = state[g, BALL_Y] / HEIGHT
        obs[g, 4] = state[g, BALL_VX] / speed
        obs[g, 5] = state[g, BALL_VY] / speed
    return bad


class Pong(NativeEnv):
    """``num_envs`` Pong games against the scripted opponent (see the module docstring)."""

    def __init__(
        self,
        num_envs: int = 1,
        paddle_half: float = 1.0,
        paddle_speed: float = 0.5,
        opponent_speed: float = 0.25,
        ball_speed: float = 0.5,
        points_to_win: int = 5,
        max_episode_steps: int = 2000,
        render_mode: str | None = None,
        report_interval: int = 32,
        buf: Any = None,
    ):
        values = (paddle_half, paddle_speed, opponent_speed, ball_speed)
        if not all(isinstance(v, int | float) and v > 0 for v in values) or paddle_half >= HEIGHT / 2:
            raise APIUsageError(
                f"Pong: paddle_half (< {HEIGHT / 2}), paddle_speed, opponent_speed and ball_speed must be "
                f"positive numbers, got {values}."
            )
        self.paddle_half, self.paddle_speed = float(paddle_half), float(paddle_speed)
        self.opponent_speed, self.ball_speed = float(opponent_speed), float(ball_speed)
        self.points_to_win = check_positive_int("points_to_win", points_to_win)
        self.max_episode_steps = check_positive_int("max_episode_steps", max_episode_steps)
        self.single_observation_space = gymnasium.spaces.Box(-1.0, 1.0, (6,), np.float32)
        self.single_action_space = gymnasium.spaces.Discrete(3)
        super().__init__(num_envs, render_mode, report_interval, buf)
        self.state = np.zeros((self.num_envs, 10), dtype=np.float64)

    def _step_games(self, actions: np.ndarray, reset_all: bool = False) -> int:
        return step_kernel(
            self.state,
            self.rng,
            actions,
            self.ball_speed,
            self.paddle_half,
            self.paddle_speed,
            self.opponent_speed,
            self.points_to_win,
            self.max_episode_steps,
            self.observations,
            self.rewards,
            self.terminals,
            self.truncations,
            self.log,
            reset_all,
        )

    def render_ansi(self) -> str:
        cols, rows = int(WIDTH * 2), int(HEIGHT)
        lines = [[" "] * (cols + 2) for _ in range(rows)]
        state = self.state[0]
        for side, paddle in ((0, state[AGENT_Y]), (cols + 1, state[OPPONENT_Y])):
            for r in range(int(paddle - self.paddle_half), int(math.ceil(paddle + self.paddle_half))):
                if 0 <= r < rows:
                    lines[r][side] = "█"
        ball_r = min(max(int(state[BALL_Y]), 0), rows - 1)
        lines[ball_r][1 + min(max(int(state[BALL_X] * 2), 0), cols - 1)] = "o"
        border = "-" * (cols + 2)
        body = "\n".join("".join(line) for line in lines)
        return (
            f"{border}\n{body}\n{border}\nagent {int(state[POINTS_FOR])} - {int(state[POINTS_AGAINST])} "
            f"opponent t={int(state[TICKS])}\n"
        )

    def render_rgb(self) -> np.ndarray:
        unit = 16
        image = draw.canvas(int(HEIGHT * unit), int(WIDTH * unit))
        state = self.state[0]
        size = 2 * self.paddle_half * unit
        draw.fill_rect(
            image, (state[AGENT_Y] - self.paddle_half) * unit, 0, size, unit / 3, draw.COLOURS["agent"]
        )
        draw.fill_rect(
            image,
            (state[OPPONENT_Y] - self.paddle_half) * unit,
            WIDTH * unit - unit / 3,
            size,
            unit / 3,
            draw.COLOURS["other"],
        )
        draw.fill_rect(image, state[BALL_Y] * unit - 3, state[BALL_X] * unit - 3, 6, 6, draw.COLOURS["ball"])
        return image
