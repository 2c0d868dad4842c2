"""Freeway: PufferLib 3.0's ``freeway`` (after Atari's), ``num_envs`` games per kernel call.

Rules (3.0's): a chicken crosses a ten-lane road, ``height`` pixels high, from its start below
the road (y grows downward); cars and trucks drive through the lanes, rightward in the lower
five and leftward in the upper five, wrapping around the ``width``-pixel screen. Each step runs
``frameskip`` frames of 1/60 s: the chicken moves (action 0 stay, 1 up, 2 down, at 1/3.5 of
the screen height per second), then every car moves. A car touching the chicken stuns it for
40 frames (with ``difficulty`` 0 it is pushed 1.5 lanes back meanwhile; with 1 it goes back to
the start instead) and costs 0.01 (dense rewards). Each lane reached for the first time on a
crossing gives 0.1 (dense rewards); the top of the road scores a point, gives 1 (plus, with
sparse rewards, another 1 for the crossing) and puts the chicken back at the start. The game
lasts 136 s (8160 frames): then it is over (terminal, as in 3.0 and Atari's Freeway: the
game's own end, not a limit put on it).

Levels 0-7 (``level``; -1 draws one per game at ``reset``, kept for its later episodes) set the
traffic: cars per lane (1-3), trucks (twice as long), speeds (six values from 1/13 of the screen
width per second, each 1.35 times the last), and for levels 4-7 a random speed change of each
lane by -1, 0 or +1 step every 360 frames (a lane's speed stays within 2 steps of its level's,
give or take one). With ``env_randomization`` each lane's cars start shifted by a random
fraction of the screen. As in 3.0, changed speeds carry over to the next episode, and the speed
change also runs on the step that restarts a game.

Observations (float32, 34): the chicken's y / ``height``, the furthest lane reached on this
crossing / 10, score / the level's human high score, whether it is stunned (0/1), then each
car's x / ``width`` (3 per lane, lanes bottom to top; 0 for a lane's missing cars). Cars start
up to a screen width off-screen, so car values lie roughly in [-0.1, 2].

Episode stats: ``score`` (crossings), ``perf`` (score / the level's human high score),
``up_action_frac`` (the fraction of frames with the up action) and ``hits``.

With ``enable_human_player`` a second chicken stands at the start in the right half of the
screen (3.0's slot for a human player, whose action is always 0 there: no key moves it); it
is simulated and drawn, and affects nothing else.

Differences from PufferLib 3.0:

- 3.0 adds the second chicken's hit penalties to the agent's reward and return; here they
  affect nothing.
- Speed changes (levels 4-7): 3.0 tests each car's level flag through a pointer that is
  uninitialized for the first car (undefined behaviour). In 3.0's build the speeds then never
  change during a game, only on the step that restarts one (the random steps are drawn all
  the same). Here they change every 360 frames, as the levels intend.
- ``episode_length`` counts steps (3.0 logs frames, ``frameskip`` times as many).
"""

from __future__ import annotations

from typing import Any, ClassVar

import gymnasium
import numba
import numpy as np

from pufferlib.environments.ocean.native import core, draw
from pufferlib.environments.ocean.native.base import NativeEnv, check_positive_int
from pufferlib.exceptions import APIUsageError

NOOP, UP, DOWN = 0, 1, 2
NUM_LANES, CARS_PER_LANE, NUM_LEVELS = 10, 3, 8
NUM_CARS = NUM_LANES * CARS_PER_LANE
FRAMES_PER_SECOND = 60.0
GAME_FRAMES_SECONDS = 136.0
SPEED_CHANGE_FRAMES = 360
STUN_FRAMES = 40
PENALTY_HIT = np.float32(-0.01)
NUM_FEATURES = 4

HUMAN_HIGH_SCORE = np.array([25, 20, 18, 20, 25, 18, 15, 18], dtype=np.int64)
CARS = np.array([  # cars per lane, lanes bottom to top
    [1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
    [1, 2, 2, 3, 2, 1, 2, 3, 2, 2],
    [3, 3, 1, 3, 1, 1, 3, 1, 3, 1],
    [1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
    [1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
    [1, 2, 2, 3, 2, 1, 2, 3, 2, 2],
    [3, 3, 1, 3, 1, 1, 3, 1, 3, 1],
    [1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
])
TRUCKS = np.array([  # 1: the lane's vehicles are trucks
    [0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    [0, 0, 0, 0, 0, 1, 0, 0, 0, 0],
    [0, 0, 0, 0, 1, 0, 0, 0, 0, 0],
    [1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
    [0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    [0, 0, 0, 0, 0, 1, 0, 0, 0, 0],
    [0, 0, 0, 0, 1, 0, 0, 0, 0, 0],
    [1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
])
SPEED_CHANGES = np.array([0, 0, 0, 0, 1, 1, 1, 1])
START_SPEED = np.array([  # index into SPEEDS, per lane
    [0, 1, 2, 3, 4, 4, 3, 2, 1, 0],
    [0, 1, 3, 4, 5, 5, 4, 3, 1, 0],
    [0, 1, 3, 4, 5, 5, 4, 3, 1, 0],
    [5, 4, 2, 4, 5, 5, 4, 2, 4, 5],
    [0, 1, 2, 3, 4, 4, 3, 2, 1, 0],
    [0, 1, 3, 4, 5, 5, 4, 3, 1, 0],
    [0, 1, 3, 4, 5, 5, 4, 3, 1, 0],
    [5, 4, 2, 4, 5, 5, 4, 2, 4, 5],
])
# Each lane's cars start at these fractions of the width (from the right edge, leftward, in
# the upper five lanes); levels 1 and 5, and 2 and 6, share their layouts, the others have one
# car per lane at 0.
_SPREAD_1 = [[0.0], [0.0, 0.1], [0.0, 0.2], [0.0, 0.1, 0.2], [0.0, 0.4],
             [0.0], [0.0, 0.4], [0.0, 0.1, 0.2], [0.0, 0.2], [0.0, 0.1]]
_SPREAD_2 = [[0.0, 0.2, 0.4]] * 2 + [[0.0], [0.0, 0.2, 0.4], [0.0], [0.0], [0.0, 0.2, 0.4], [0.0],
                                     [0.0, 0.2, 0.4], [0.0, 0.2, 0.4]]
START_X = np.zeros((NUM_LEVELS, NUM_LANES, CARS_PER_LANE), dtype=np.float32)
for _level, _spread in ((1, _SPREAD_1), (5, _SPREAD_1), (2, _SPREAD_2), (6, _SPREAD_2)):
    for _lane, _xs in enumerate(_spread):
        START_X[_level, _lane, : len(_xs)] = _xs


def _speeds() -> np.ndarray:
    """The six speeds in screen widths per second, as 3.0's constants evaluate them: 1.0f / 13.0f,
    then 1.35 * ... * 1.35 * 1.0f / 13.0f in double precision, stored as float."""
    speeds = [np.float32(1.0) / np.float32(13.0)]
    for k in range(1, 6):
        factor = 1.0
        for _ in range(k):
            factor *= 1.35
        speeds.append(np.float32(factor * 1.0 / 13.0))
    return np.array(speeds, dtype=np.float32)


SPEEDS = _speeds()

# Per-game integer state columns: the level, the frame count, the frames with "up", then each
# chicken's furthest lane, stun frames left, score and hits (agent first, second chicken at
# +PLAYER), then each car's speed index (SPEED + car).
LEVEL, TICK, UP_COUNT = 0, 1, 2
BEST, STUN, SCORE, HITS = 3, 4, 5, 6
PLAYER = 4
SPEED = 11
# Per-game float32 state columns: the episode's return, each chicken's y; then the cars' x
# (CAR_X + car) and x velocities in pixels per frame (CAR_VX + car; 0 for missing cars).
RETURN, Y, HUMAN_Y = 0, 1, 2
CAR_X = 3
CAR_VX = CAR_X + NUM_CARS
# Options, in the kernel's ``params`` array.
(P_WIDTH, P_HEIGHT, P_PLAYER_W, P_PLAYER_H, P_LANE, P_FRAMESKIP, P_DIFFICULTY, P_DENSE, P_SHIFT,
 P_HUMAN, P_LEVEL, P_CAR_H) = range(12)
# Rows of the per-level car table: present, start x (pixels), y, half width, half height,
# start speed index; then the lane tops (LANE_TOP + lane: road_start - (lane + 1) * lane_size).
T_PRESENT, T_START_X, T_Y, T_HALF_W, T_HALF_H, T_SPEED = range(6)
LOG_PERF, LOG_UP, LOG_HITS = range(3)
_JIT = {"cache": True, "error_model": "numpy"}


def car_table(width: int, height: int, lane_size: int, car_width: int, car_height: int) -> np.ndarray:
    """``(NUM_LEVELS, 6, NUM_CARS)`` float32: each level's cars (see the T_* rows), with 3.0's
    float arithmetic."""
    f32 = np.float32
    road_start = f32(height // 2 + (NUM_LANES * lane_size) // 2)
    road_end = road_start - f32(NUM_LANES * lane_size)
    table = np.zeros((NUM_LEVELS, 6, NUM_CARS), dtype=np.float32)
    for level in range(NUM_LEVELS):
        for lane in range(NUM_LANES):
            truck = TRUCKS[level, lane]
            y = (road_start + (road_end - road_start) * f32(lane) / f32(NUM_LANES)) - f32(lane_size // 2)
            for i in range(CARS_PER_LANE):
                car = lane * CARS_PER_LANE + i
                table[level, T_PRESENT, car] = i < CARS[level, lane]
                table[level, T_START_X, car] = START_X[level, lane, i] * f32(width)
                table[level, T_Y, car] = y
                table[level, T_HALF_W, car] = (2 * car_width if truck else car_width) // 2
                table[level, T_HALF_H, car] = car_height // 2
                table[level, T_SPEED, car] = START_SPEED[level, lane]
    return table


@numba.njit(inline="always", **_JIT)
def _velocity(speed: int, lane: int, width: int) -> np.float32:
    v = (SPEEDS[speed] / np.float32(FRAMES_PER_SECOND)) * np.float32(width)
    return v if lane < NUM_LANES // 2 else -v


@numba.njit(**_JIT)
def _set_level(ints: np.ndarray, floats: np.ndarray, table: np.ndarray, g: int, level: int,
               width: int) -> None:
    ints[g, LEVEL] = level
    for car in range(NUM_CARS):
        speed = int(table[level, T_SPEED, car])
        ints[g, SPEED + car] = speed
        present = table[level, T_PRESENT, car] != 0
        floats[g, CAR_VX + car] = _velocity(speed, car // CARS_PER_LANE, width) if present else 0.0
        floats[g, CAR_X + car] = 0.0


@numba.njit(**_JIT)
def _restart(ints: np.ndarray, floats: np.ndarray, table: np.ndarray, rng: np.ndarray, params: np.ndarray,
             g: int) -> None:
    """3.0's c_reset: the chickens to the start, the cars to their starting places."""
    width, height, player_h = params[P_WIDTH], params[P_HEIGHT], params[P_PLAYER_H]
    for p in (0, PLAYER):
        ints[g, BEST + p] = 0
        ints[g, STUN + p] = 0
        ints[g, SCORE + p] = 0
        ints[g, HITS + p] = 0
    ints[g, TICK] = 0
    ints[g, UP_COUNT] = 0
    floats[g, RETURN] = 0.0
    floats[g, Y] = np.float32(height - player_h // 2)
    floats[g, HUMAN_Y] = np.float32(height - player_h // 2)
    level = ints[g, LEVEL]
    for lane in range(NUM_LANES):
        shift = np.float32(width) * (np.float32(core.rand31(rng, g)) / np.float32(core.RAND_MAX))
        for i in range(CARS_PER_LANE):
            car = lane * CARS_PER_LANE + i
            if table[level, T_PRESENT, car] != 0:
                x = table[level, T_START_X, car]
                if lane >= NUM_LANES // 2:
                    x = np.float32(width) - x
                if params[P_SHIFT]:
                    x += shift
                floats[g, CAR_X + car] = x


@numba.njit(**_JIT)
def _change_speeds(ints: np.ndarray, floats: np.ndarray, table: np.ndarray, rng: np.ndarray, width: int,
                   g: int) -> None:
    """Every lane draws a speed step of -1, 0 or +1 (levels without speed changes draw too)."""
    level = ints[g, LEVEL]
    for lane in range(NUM_LANES):
        delta = core.randint(rng, g, 3) - 1
        if not SPEED_CHANGES[level]:
            continue
        for i in range(CARS_PER_LANE):
            car = lane * CARS_PER_LANE + i
            start = int(table[level, T_SPEED, car])
            speed = min(max(start - 2, ints[g, SPEED + car]), start + 2)
            speed = min(max(0, speed + delta), 5)
            ints[g, SPEED + car] = speed
            if table[level, T_PRESENT, car] != 0:
                floats[g, CAR_VX + car] = _velocity(speed, lane, width)


@numba.njit(inline="always", **_JIT)
def _hit(floats: np.ndarray, table: np.ndarray, params: np.ndarray, level: int, g: int, x: np.float32,
         y: np.float32) -> bool:
    """Whether the chicken at (x, y) overlaps a car (strict inequalities, as 3.0)."""
    half_w = np.float32(params[P_PLAYER_W] // 2)
    half_h = np.float32(params[P_PLAYER_H] // 2)
    left, right, top, bottom = x - half_w, x + half_w, y - half_h, y + half_h
    for lane in range(NUM_LANES):
        first = lane * CARS_PER_LANE
        car_y, car_h = table[level, T_Y, first], table[level, T_HALF_H, first]
        if not (top < car_y + car_h and bottom > car_y - car_h):
            continue  # the chicken is not level with this lane's cars
        for car in range(first, first + CARS_PER_LANE):
            if table[level, T_PRESENT, car] != 0:
                car_x, car_w = floats[g, CAR_X + car], table[level, T_HALF_W, car]
                if left < car_x + car_w and right > car_x - car_w:
                    return True
    return False


@numba.njit(**_JIT)
def _move_chicken(ints: np.ndarray, floats: np.ndarray, table: np.ndarray, params: np.ndarray,
                  rewards: np.ndarray, g: int, p: int, action: int) -> None:
    """One frame of 3.0's step_player for chicken ``p`` (0: the agent, PLAYER: the second one,
    whose rewards go nowhere)."""
    width, height, lane_size = params[P_WIDTH], params[P_HEIGHT], params[P_LANE]
    half_h = params[P_PLAYER_H] // 2
    agent = p == 0
    column = Y if agent else HUMAN_Y
    y = floats[g, column]
    if ints[g, STUN + p] == 0:
        if action != NOOP:
            step = ((np.float32(1.0) / np.float32(3.5)) * np.float32(height)) / np.float32(FRAMES_PER_SECOND)
            y = y - step if action == UP else y + step
    else:
        ints[g, STUN + p] -= 1
        if params[P_DIFFICULTY] == 0:
            y += (np.float32(1.5) * np.float32(lane_size)) / np.float32(STUN_FRAMES)
    if y <= np.float32(half_h):
        y = np.float32(half_h)
    else:
        y = min(np.float32(height - half_h), y)
    if ints[g, STUN + p] == 0:
        x = np.float32(width // 4) if agent else np.float32(3 * width // 4)
        if _hit(floats, table, params, ints[g, LEVEL], g, x, y):
            ints[g, HITS + p] += 1
            ints[g, STUN + p] = STUN_FRAMES
            if params[P_DENSE] and agent:
                rewards[g] += PENALTY_HIT
                floats[g, RETURN] += PENALTY_HIT
            if params[P_DIFFICULTY] == 1:
                y = np.float32(height - half_h)
                ints[g, STUN + p] = 0
    road_start = np.float32(height // 2 + (NUM_LANES * lane_size) // 2)
    if y <= road_start - np.float32((ints[g, BEST + p] + 1) * lane_size):
        ints[g, BEST + p] += 1
        if agent:
            if params[P_DENSE]:  # 3.0 adds the double 1.0 / 10 to its float totals
                rewards[g] = np.float32(np.float64(rewards[g]) + 1.0 / NUM_LANES)
                floats[g, RETURN] = np.float32(np.float64(floats[g, RETURN]) + 1.0 / NUM_LANES)
            elif ints[g, BEST + p] == NUM_LANES:
                rewards[g] = 1.0
                floats[g, RETURN] += np.float32(1.0)
    if ints[g, BEST + p] == NUM_LANES:
        y = np.float32(height - half_h)
        ints[g, STUN + p] = 0
        ints[g, BEST + p] = 0
        ints[g, SCORE + p] += 1
        if agent:
            rewards[g] += np.float32(1.0)
            floats[g, RETURN] += np.float32(1.0)
    floats[g, column] = y


@numba.njit(**_JIT)
def _observe(ints: np.ndarray, floats: np.ndarray, table: np.ndarray, params: np.ndarray, obs: np.ndarray,
             g: int) -> None:
    width = np.float32(params[P_WIDTH])
    level = ints[g, LEVEL]
    out = obs[g]
    out[0] = floats[g, Y] / np.float32(params[P_HEIGHT])
    out[1] = np.float32(ints[g, BEST]) / np.float32(NUM_LANES)
    out[2] = np.float32(ints[g, SCORE]) / np.float32(HUMAN_HIGH_SCORE[level])
    out[3] = np.float32(ints[g, STUN] > 0)
    # 3.0 adds car_height / (2 * width) to each x, an integer division (0 unless cars are taller
    # than twice the width), negated in the upper lanes.
    lift = params[P_CAR_H] // (2 * params[P_WIDTH])
    up, down = np.float32(lift), np.float32(-lift)
    for car in range(NUM_CARS):
        x = floats[g, CAR_X + car] / width
        x = x + up if car < NUM_CARS // 2 else x + down
        out[NUM_FEATURES + car] = x if table[level, T_PRESENT, car] != 0 else np.float32(0.0)


@numba.njit(**_JIT)
def step_kernel(
    ints: np.ndarray,
    floats: np.ndarray,
    table: np.ndarray,
    params: np.ndarray,
    rng: np.ndarray,
    actions: np.ndarray,
    obs: np.ndarray,
    rewards: np.ndarray,
    terminals: np.ndarray,
    truncations: np.ndarray,
    log: np.ndarray,
    reset_all: bool,
) -> int:
    """Advance every game one step of ``frameskip`` frames (``reset_all``: start every game
    instead, drawing its level first when ``level`` is -1); 1 if an action was out of range."""
    width, frameskip = params[P_WIDTH], params[P_FRAMESKIP]
    bad = 0
    for g in range(ints.shape[0]):
        if reset_all:
            level = params[P_LEVEL] if params[P_LEVEL] >= 0 else core.randint(rng, g, NUM_LEVELS)
            _set_level(ints, floats, table, g, level, width)
            _restart(ints, floats, table, rng, params, g)
            _observe(ints, floats, table, params, obs, g)
            continue
        action = actions[g]
        if action < 0 or action > 2:
            bad = 1
            action = NOOP
        rewards[g] = 0.0
        for _ in range(frameskip):
            ints[g, TICK] += 1
            if action == UP:
                ints[g, UP_COUNT] += 1
            _move_chicken(ints, floats, table, params, rewards, g, 0, action)
            if params[P_HUMAN]:
                _move_chicken(ints, floats, table, params, rewards, g, PLAYER, NOOP)
            level = ints[g, LEVEL]
            for car in range(NUM_CARS):  # branch-free, so that LLVM vectorizes it
                x = floats[g, CAR_X + car] + floats[g, CAR_VX + car]
                half_w = table[level, T_HALF_W, car]
                x = x - np.float32(width) if x > np.float32(width) + half_w else x
                x = x + np.float32(width) if x < -half_w else x
                floats[g, CAR_X + car] = x
        tick = ints[g, TICK]
        over = np.float32(tick) / np.float32(FRAMES_PER_SECOND) >= np.float32(GAME_FRAMES_SECONDS)
        terminals[g] = over
        truncations[g] = False
        if over:
            level = ints[g, LEVEL]
            score = ints[g, SCORE]
            core.log_episode(log, g, floats[g, RETURN], tick // frameskip, score)
            log[g, core.LOG_EXTRA + LOG_PERF] += np.float32(score) / np.float32(HUMAN_HIGH_SCORE[level])
            log[g, core.LOG_EXTRA + LOG_UP] += np.float32(ints[g, UP_COUNT]) / np.float32(tick)
            log[g, core.LOG_EXTRA + LOG_HITS] += ints[g, HITS]
            _restart(ints, floats, table, rng, params, g)
        if ints[g, TICK] % SPEED_CHANGE_FRAMES == 0:
            _change_speeds(ints, floats, table, rng, width, g)
        _observe(ints, floats, table, params, obs, g)
    return bad


class Freeway(NativeEnv):
    """``num_envs`` games of Freeway (see the module docstring)."""

    LOG_EXTRA_KEYS: ClassVar[tuple[str, ...]] = ("perf", "up_action_frac", "hits")

    def __init__(
        self,
        num_envs: int = 1,
        frameskip: int = 4,
        width: int = 1216,
        height: int = 720,
        player_width: int = 64,
        player_height: int = 64,
        car_width: int = 64,
        car_height: int = 40,
        lane_size: int = 64,
        difficulty: int = 0,
        level: int = 0,
        use_dense_rewards: bool = True,
        env_randomization: bool = True,
        enable_human_player: bool = False,
        render_mode: str | None = None,
        report_interval: int = 32,
        buf: Any = None,
    ):
        self.frameskip = check_positive_int("frameskip", frameskip)
        self.width = check_positive_int("width", width, 2)
        self.height = check_positive_int("height", height, 2)
        self.player_width = check_positive_int("player_width", player_width)
        self.player_height = check_positive_int("player_height", player_height)
        self.car_width = check_positive_int("car_width", car_width)
        self.car_height = check_positive_int("car_height", car_height)
        self.lane_size = check_positive_int("lane_size", lane_size)
        if NUM_LANES * self.lane_size > self.height:
            raise APIUsageError(
                f"Freeway: the road ({NUM_LANES} lanes of lane_size={lane_size}) must fit in height={height}."
            )
        if difficulty not in (0, 1):
            raise APIUsageError(
                f"Freeway: difficulty must be 0 (pushed back) or 1 (sent back), got {difficulty!r}."
            )
        if isinstance(level, bool) or not isinstance(level, int | np.integer) or not -1 <= level < NUM_LEVELS:
            raise APIUsageError(
                f"Freeway: level must be an integer in 0..7, or -1 (one per game), got {level!r}."
            )
        self.difficulty, self.level = int(difficulty), int(level)
        self.use_dense_rewards = bool(use_dense_rewards)
        self.env_randomization = bool(env_randomization)
        self.enable_human_player = bool(enable_human_player)
        self.single_observation_space = gymnasium.spaces.Box(
            -np.inf, np.inf, (NUM_FEATURES + NUM_CARS,), np.float32
        )
        self.single_action_space = gymnasium.spaces.Discrete(3)
        super().__init__(num_envs, render_mode, report_interval, buf)
        self.ints = np.zeros((self.num_envs, SPEED + NUM_CARS), dtype=np.int64)
        self.floats = np.zeros((self.num_envs, CAR_VX + NUM_CARS), dtype=np.float32)
        self.table = car_table(self.width, self.height, self.lane_size, self.car_width, self.car_height)
        self.params = np.array(
            [self.width, self.height, self.player_width, self.player_height, self.lane_size, self.frameskip,
             self.difficulty, self.use_dense_rewards, self.env_randomization, self.enable_human_player,
             self.level, self.car_height],
            dtype=np.int64,
        )

    def _reset_games(self) -> None:
        # The buffers are final now (a vector backend may have swapped them): bind the kernel's
        # arguments once, so that a step passes them without looking up a dozen attributes.
        self._before = (self.ints, self.floats, self.table, self.params, self.rng)
        self._after = (self.observations, self.rewards, self.terminals, self.truncations, self.log)
        self._step_games(self.actions, reset_all=True)

    def _step_games(self, actions: np.ndarray, reset_all: bool = False) -> int:
        return step_kernel(*self._before, actions, *self._after, reset_all)

    def render_ansi(self) -> str:
        """The road at one character per ``lane_size / 2`` pixels: cars ``>``/``<``, trucks
        doubled, the chicken ``C`` (the second one ``H``)."""
        scale = max(1, self.lane_size // 2)
        cols, rows = self.width // scale, self.height // scale
        canvas = [[" "] * cols for _ in range(rows)]
        level = int(self.ints[0, LEVEL])
        road_start = self.height // 2 + (NUM_LANES * self.lane_size) // 2
        for r in range((road_start - NUM_LANES * self.lane_size) // scale, min(rows, road_start // scale)):
            canvas[r] = ["." for _ in range(cols)]
        for car in range(NUM_CARS):
            if self.table[level, T_PRESENT, car]:
                lane = car // CARS_PER_LANE
                x, half = float(self.floats[0, CAR_X + car]), float(self.table[level, T_HALF_W, car])
                r = int(self.table[level, T_Y, car]) // scale
                for c in range(int((x - half) // scale), int((x + half) // scale) + 1):
                    if 0 <= r < rows and 0 <= c < cols:
                        canvas[r][c] = ">" if lane < NUM_LANES // 2 else "<"
        chickens = [("C", self.width // 4, Y)] + ([("H", 3 * self.width // 4, HUMAN_Y)]
                                                 if self.enable_human_player else [])
        for mark, x, column in chickens:
            r, c = int(self.floats[0, column]) // scale, x // scale
            if 0 <= r < rows and 0 <= c < cols:
                canvas[r][c] = mark
        text = "\n".join("".join(row) for row in canvas)
        seconds = GAME_FRAMES_SECONDS - self.ints[0, TICK] / FRAMES_PER_SECOND
        return text + f"\nlevel {level}  score {self.ints[0, SCORE]}  time {seconds:.0f}s\n"

    def render_rgb(self) -> np.ndarray:
        """The screen at a quarter of its size."""
        scale = 4
        image = draw.canvas(self.height // scale, self.width // scale)
        image[:] = (170, 170, 170)
        road_start = self.height // 2 + (NUM_LANES * self.lane_size) // 2
        road_end = road_start - NUM_LANES * self.lane_size
        road = (90, 90, 90)
        draw.fill_rect(image, road_end / scale, 0, (road_start - road_end) / scale, image.shape[1], road)
        level = int(self.ints[0, LEVEL])
        for car in range(NUM_CARS):
            if self.table[level, T_PRESENT, car]:
                x, y = float(self.floats[0, CAR_X + car]), float(self.table[level, T_Y, car])
                half_w = float(self.table[level, T_HALF_W, car])
                half_h = float(self.table[level, T_HALF_H, car])
                colour = CAR_COLOURS[(car // CARS_PER_LANE) % len(CAR_COLOURS)]
                draw.fill_rect(image, (y - half_h) / scale, (x - half_w) / scale, 2 * half_h / scale,
                               2 * half_w / scale, colour)
        chickens = [(self.width // 4, Y, (250, 250, 250))]
        if self.enable_human_player:
            chickens.append((3 * self.width // 4, HUMAN_Y, (250, 220, 120)))
        for x, column, colour in chickens:
            y = float(self.floats[0, column])
            draw.fill_rect(image, (y - self.player_height / 2) / scale, (x - self.player_width / 2) / scale,
                           self.player_height / scale, self.player_width / scale, colour)
        return image


# 3.0's lane colours: dark red, orange, yellow, green, blue.
CAR_COLOURS = ((139, 0, 0), (255, 140, 0), (204, 204, 0), (0, 100, 0), (0, 0, 139))
