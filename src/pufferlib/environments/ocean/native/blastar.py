"""Blastar: shoot down an enemy ship that sweeps across the screen, ``num_envs`` games per call.

A port of PufferLib 3.0.0's ``blastar`` (its C rules, observations, rewards and random draws).

Rules (pixels, y grows downward, a 640 x 480 screen): the player's ship (17 x 17) starts at a
random position and moves 8 pixels a step; the enemy ship (16 x 17) starts at (-30, 50) and
flies right 4 pixels a step, wrapping from past the right edge to x = -16. Actions: 0 nothing,
1 left, 2 right, 3 up, 4 down (only while the ship is inside the screen on that side), 5 fire.
Firing (allowed while no enemy bullet is in flight) puts a bullet (17 x 6) at the ship's
position, flying up 12 pixels a step; firing again replaces it. When the player's centre is
within 4 pixels of the enemy's and the enemy is above the player, the enemy attacks with
probability 1/2 (otherwise it moves on 4 more pixels): it stops and drops a bullet (10 x 12,
down 12 pixels a step), and the player is held in a "status beam" (cannot move) until that
bullet leaves the screen or hits. A bullet that hits the enemy while the player is below it
kills it (score + 1, kill streak + 1); the enemy then explodes for 30 steps and comes back,
with probability 0.9 at x = -16 and a random height (else where it died). A hit by the enemy's
bullet or a collision with the enemy ship costs a life, freezes the player for 30 steps (kill
streak 0) and sends the enemy back to x = -16 at a random height; a collision also explodes the
enemy (30 more steps). During explosions nothing else moves and the reward is 0.

Rewards (float32, as 3.0 computes them): 0.0005 for firing a new bullet, 1.5 plus
``4.5 * (1 - enemy_x / 640)`` for a kill (3.5 instead of 4.5 if the enemy wrapped around this
step), ``0.01 * (2 - (player_y - enemy_y) / 480)`` for staying below the enemy, and
``score / (tick + 1)``; the first three count only while the player is below the enemy. The
sum is multiplied by ``1 + 0.1 * kill_streak``, cut to at most 0 unless the player is below
the enemy and more than 4.8 pixels off its centre line, and is 0 while the player is in the
right half of the screen.

Episode end (terminal): no lives left (``lives``, 10) or more than 50 kills. There is no time
limit (as in 3.0): a player who keeps above the enemy is never attacked, and plays on.

Observations (float32, 10): player x / 640, player y / 480, enemy x / 640, enemy y / 480,
then the player's bullet (x / 640, y / 480, 1) and the enemy's bullet (x / 640, y / 480, 1),
each all 0 while that bullet is not in flight. Positions may leave the screen by a few pixels
(the enemy starts at x = -30), so values lie in [-0.05, 1.02].

Episode stats: ``score`` = kills; ``perf`` = kills / 50; ``lives`` = lives left and
``kill_streak`` = the kill streak, at the end; ``vertical_closeness_rew``,
``fired_bullet_rew``, ``hit_enemy_with_bullet_rew`` and ``avg_score_difference`` = the
episode's sums of those reward terms (before the streak multiplier and the cuts).

Differences from PufferLib 3.0:

- 3.0 sets ``terminals`` at the first game over and never clears it (every later step of that
  env reads terminal); here a step is terminal only when it ends a game.
- 3.0's ``reset`` does not write the observations (the first observation is all zeros);
  here it is the new game's.
- 3.0's episode log is written on every explosion step and wiped at each reset (so a finished
  game is logged with score 0), and its ``perf`` is an integer division (0 below 50 kills);
  here each finished game is logged once, with the statistics above.
- ``lives`` is an option here (3.0 fixes it at 10, the default), so that short games can be
  tested; the win threshold stays 50 kills.
"""

from __future__ import annotations

from typing import Any, ClassVar

import gymnasium
import numba
import numpy as np

from pufferlib.environments.ocean.native import core, draw
from pufferlib.environments.ocean.native.base import NativeEnv, check_positive_int

F32 = np.float32
SCREEN_WIDTH, SCREEN_HEIGHT = 640, 480
PLAYER_SIZE = 17  # width and height
ENEMY_WIDTH, ENEMY_HEIGHT = 16, 17
BULLET_WIDTH, BULLET_HEIGHT = 17, 6
ENEMY_BULLET_WIDTH, ENEMY_BULLET_HEIGHT = 10, 12
ENEMY_SPAWN_X, ENEMY_SPAWN_Y = -30, 50
PLAYER_SPEED, ENEMY_SPEED, BULLET_SPEED = F32(8.0), F32(4.0), F32(12.0)
EXPLOSION_STEPS = 30
MAX_SCORE = 50
NUM_OBS = 10
NUM_ACTIONS = 6

# Float32 constants exactly as the C code forms them.
_W, _H = F32(SCREEN_WIDTH), F32(SCREEN_HEIGHT)
_ENEMY_Y_MAX = F32(SCREEN_HEIGHT) - F32(ENEMY_HEIGHT) * F32(3.5)  # 420.5
_PLAYER_HALF, _ENEMY_HALF = F32(PLAYER_SIZE / 2.0), F32(ENEMY_WIDTH / 2.0)
_OFF_CENTRE = F32(ENEMY_WIDTH) * F32(0.3)
_RESPAWN_BIAS = F32(0.1)
_RAND_MAX = F32(core.RAND_MAX)
_FIRE_REWARD, _KILL_REWARD = F32(0.0005), F32(1.5)
_HIT_SCALE, _HIT_SCALE_WRAPPED = F32(4.5), F32(3.5)
_CLOSE_SCALE, _STREAK_SCALE = F32(0.01), F32(0.1)
_ZERO, _ONE, _TWO, _HALF_SCREEN = F32(0.0), F32(1.0), F32(2.0), F32(SCREEN_WIDTH / 2.0)

# Per-game float32 state: positions of the player, its bullet, the enemy and its bullet.
PX, PY, PBX, PBY, EX, EY, EBX, EBY = range(8)
# Per-game int32 state.
LIVES, SCORE, TICK, PLAYER_TIMER, ENEMY_TIMER, STREAK, PLAYER_BULLET, ENEMY_BULLET = range(8)
ENEMY_ACTIVE, ATTACKING, STUCK = 8, 9, 10
NUM_INTS = 11
# Per-game float64 episode sums: the return, then the logged reward terms.
RETURN, CLOSE_SUM, FIRED_SUM, HIT_SUM, AVG_SUM = range(5)
# Log slots of the extras (``Blastar.LOG_EXTRA_KEYS`` order).
LOG_PERF, LOG_LIVES, LOG_CLOSE, LOG_FIRED, LOG_STREAK, LOG_HIT, LOG_AVG = range(
    core.LOG_EXTRA, core.LOG_EXTRA + 7
)


@numba.njit(cache=True, error_model="numpy", inline="always")
def _collide(x1, y1, w1, h1, x2, y2, w2, h2) -> bool:
    # ``&``, not ``and``: four compares and no branch (the answer is nearly always False).
    return (x1 < x2 + w2) & (x1 + w1 > x2) & (y1 < y2 + h2) & (y1 + h1 > y2)


@numba.njit(cache=True, error_model="numpy", inline="always")
def _start(pos: np.ndarray, ints: np.ndarray, rng: np.ndarray, g: int, lives: int) -> None:
    """A new game (C's ``c_reset``: two draws, the player's x then y); the episode sums are
    cleared by ``_log_sums``."""
    px = F32(core.randint(rng, g, SCREEN_WIDTH - PLAYER_SIZE))
    py = F32(core.randint(rng, g, SCREEN_HEIGHT - PLAYER_SIZE))
    pos[g, PX], pos[g, PY], pos[g, PBX], pos[g, PBY] = px, py, px, py
    pos[g, EX], pos[g, EY] = F32(ENEMY_SPAWN_X), F32(ENEMY_SPAWN_Y)
    pos[g, EBX], pos[g, EBY] = F32(ENEMY_SPAWN_X), F32(ENEMY_SPAWN_Y)
    ints[g, :] = 0
    ints[g, LIVES] = lives
    ints[g, ENEMY_ACTIVE] = 1


@numba.njit(cache=True, error_model="numpy", inline="always")
def _observe(pos: np.ndarray, ints: np.ndarray, obs: np.ndarray, g: int) -> None:
    # Selects, not branches: whether a bullet flies differs from game to game.
    player_bullet, enemy_bullet = ints[g, PLAYER_BULLET] != 0, ints[g, ENEMY_BULLET] != 0
    obs[g, 0] = pos[g, PX] / _W
    obs[g, 1] = pos[g, PY] / _H
    obs[g, 2] = pos[g, EX] / _W
    obs[g, 3] = pos[g, EY] / _H
    obs[g, 4] = pos[g, PBX] / _W if player_bullet else _ZERO
    obs[g, 5] = pos[g, PBY] / _H if player_bullet else _ZERO
    obs[g, 6] = _ONE if player_bullet else _ZERO
    obs[g, 7] = pos[g, EBX] / _W if enemy_bullet else _ZERO
    obs[g, 8] = pos[g, EBY] / _H if enemy_bullet else _ZERO
    obs[g, 9] = _ONE if enemy_bullet else _ZERO


@numba.njit(cache=True, error_model="numpy", inline="always")
def _respawn_y(rng: np.ndarray, g: int) -> np.float32:
    return F32(core.randint(rng, g, SCREEN_HEIGHT - ENEMY_HEIGHT))


@numba.njit(cache=True, error_model="numpy", inline="always")
def _log_end(ints: np.ndarray, g: int, log: np.ndarray) -> None:
    """Log the end of game ``g``: its length, score and end-of-game extras (its sums: ``_log_sums``)."""
    score = ints[g, SCORE]
    core.log_episode(log, g, 0.0, ints[g, TICK], score)
    log[g, LOG_PERF] += score / MAX_SCORE
    log[g, LOG_LIVES] += ints[g, LIVES]
    log[g, LOG_STREAK] += ints[g, STREAK]


@numba.njit(cache=True, error_model="numpy", inline="always")
def _log_sums(sums: np.ndarray, g: int, log: np.ndarray) -> None:
    """Add the finished game's return and reward-term sums to its log row; clear them."""
    log[g, core.LOG_RETURN] += sums[g, RETURN]
    log[g, LOG_CLOSE] += sums[g, CLOSE_SUM]
    log[g, LOG_FIRED] += sums[g, FIRED_SUM]
    log[g, LOG_HIT] += sums[g, HIT_SUM]
    log[g, LOG_AVG] += sums[g, AVG_SUM]
    sums[g, :] = 0.0


@numba.njit(cache=True, error_model="numpy")
def step_kernel(
    pos: np.ndarray,
    ints: np.ndarray,
    sums: np.ndarray,
    rng: np.ndarray,
    actions: np.ndarray,
    lives: int,
    obs: np.ndarray,
    rewards: np.ndarray,
    terminals: np.ndarray,
    truncations: np.ndarray,
    log: np.ndarray,
    reset_all: bool,
) -> int:
    """Advance every game one step (``reset_all``: start every game instead); 1 if an action
    was out of range, else 0.

    One step is C's ``c_step``; a game that ends is logged and restarted where the C code
    restarts it (a death by the enemy's bullet restarts it before the reward is computed,
    from the new game's state). Speed: the play is written here rather than in a helper
    (Numba would add atomic reference counts of the arrays to every call), its state is
    worked on in locals and written back once (a store to one array would force reloads
    from the others), and tests that differ from game to game (the action, the bullets,
    where the player is) are selects rather than branches that random play mispredicts.
    """
    bad = 0
    for g in range(pos.shape[0]):
        if reset_all:
            _start(pos, ints, rng, g, lives)
            sums[g, :] = 0.0
            _observe(pos, ints, obs, g)
            continue
        action = actions[g]
        if action < 0 or action >= NUM_ACTIONS:
            bad = 1
            action = 0
        ints[g, TICK] += 1
        reward, ended = _ZERO, False
        if ints[g, PLAYER_TIMER] > 0:  # the player explodes: nothing moves
            ints[g, PLAYER_TIMER] -= 1
            ints[g, STREAK] = 0
            if ints[g, PLAYER_TIMER] == 0:
                ints[g, STUCK] = 0
                ints[g, PLAYER_BULLET] = 0
        elif ints[g, ENEMY_TIMER] > 0:  # the enemy explodes: nothing moves
            ints[g, ENEMY_TIMER] -= 1
            if ints[g, ENEMY_TIMER] == 0:
                if F32(core.rand31(rng, g)) / _RAND_MAX > _RESPAWN_BIAS:
                    pos[g, EX] = F32(-ENEMY_WIDTH)
                    pos[g, EY] = _respawn_y(rng, g)
                ints[g, ENEMY_ACTIVE] = 1
                ints[g, ATTACKING] = 0
        else:
            px, py, pbx, pby = pos[g, PX], pos[g, PY], pos[g, PBX], pos[g, PBY]
            ex, ey, ebx, eby = pos[g, EX], pos[g, EY], pos[g, EBX], pos[g, EBY]
            player_bullet, enemy_bullet = ints[g, PLAYER_BULLET] != 0, ints[g, ENEMY_BULLET] != 0
            attacking, stuck = ints[g, ATTACKING] != 0, ints[g, STUCK] != 0
            enemy_active = ints[g, ENEMY_ACTIVE] != 0
            ey = min(ey, _ENEMY_Y_MAX)
            free = not stuck
            left = free & (action == 1) & (px > _ZERO)
            right = free & (action == 2) & (px < F32(SCREEN_WIDTH - PLAYER_SIZE))
            up = free & (action == 3) & (py > _ZERO)
            down = free & (action == 4) & (py < F32(SCREEN_HEIGHT - PLAYER_SIZE))
            px = px - PLAYER_SPEED if left else (px + PLAYER_SPEED if right else px)
            py = py - PLAYER_SPEED if up else (py + PLAYER_SPEED if down else py)

            fire = (action == 5) & (not enemy_bullet)
            # A new bullet earns 0.0005; replacing one in flight earns nothing.
            fired = _FIRE_REWARD if fire & (not player_bullet) else _ZERO
            player_bullet = player_bullet | fire
            pbx = px if fire else pbx  # x + 17/2 - 17/2 in integer arithmetic
            pby = py if fire else pby
            pby = pby - BULLET_SPEED if player_bullet else pby
            player_bullet = player_bullet & (pby >= _ZERO)

            # Both centres before the enemy moves, for the attack test and the reward's cut.
            player_cx = px + _PLAYER_HALF
            enemy_cx = ex + _ENEMY_HALF
            moved = ex + ENEMY_SPEED
            wrapped = (not attacking) & (moved > _W)
            ex = F32(-ENEMY_WIDTH) if wrapped else (ex if attacking else moved)
            if (abs(player_cx - enemy_cx) < ENEMY_SPEED) & (not attacking) & enemy_active & (
                    ey < py - F32(ENEMY_HEIGHT // 2)):
                if core.rand31(rng, g) % 2 == 0:
                    attacking = True
                    if not enemy_bullet:
                        enemy_bullet = True
                        enemy_cx = ex + _ENEMY_HALF  # 3.0 updates the centre the cut uses, too
                        ebx = enemy_cx - F32(5.0)
                        eby = ey + F32(ENEMY_HEIGHT)
                        player_bullet = False
                        stuck = True
                else:
                    ex += ENEMY_SPEED
            eby = eby + BULLET_SPEED if enemy_bullet else eby
            gone = enemy_bullet & (eby > _H)  # off the screen: the player is free again
            enemy_bullet = enemy_bullet & (not gone)
            stuck = stuck & (not gone)
            attacking = attacking & (not gone)

            crash = _collide(px, py, F32(PLAYER_SIZE), F32(PLAYER_SIZE), ex, ey, F32(ENEMY_WIDTH),
                             F32(ENEMY_HEIGHT))
            kill = (not crash) & player_bullet & (py > ey + F32(ENEMY_HEIGHT)) & enemy_active & _collide(
                pbx, pby, F32(BULLET_WIDTH), F32(BULLET_HEIGHT), ex, ey, F32(ENEMY_WIDTH), F32(ENEMY_HEIGHT))
            shot = (not crash) & enemy_bullet & _collide(
                ebx, eby, F32(ENEMY_BULLET_WIDTH), F32(ENEMY_BULLET_HEIGHT), px, py, F32(PLAYER_SIZE),
                F32(PLAYER_SIZE))
            hit = _ZERO
            if crash | kill | shot:
                if crash:
                    ints[g, LIVES] -= 1
                    enemy_active = False
                    ints[g, ENEMY_TIMER] = EXPLOSION_STEPS
                    ints[g, PLAYER_TIMER] = EXPLOSION_STEPS
                    stuck = False
                if kill:
                    player_bullet = False
                    enemy_active = False
                    ints[g, STREAK] += 1
                    fired += _KILL_REWARD
                    ints[g, SCORE] += 1
                    ints[g, ENEMY_TIMER] = EXPLOSION_STEPS
                    hit = (_HIT_SCALE_WRAPPED if wrapped else _HIT_SCALE) * (_ONE - ex / _W)
                if shot:
                    enemy_bullet = False
                    ints[g, LIVES] -= 1
                    ints[g, PLAYER_TIMER] = EXPLOSION_STEPS
                    stuck = False
                    attacking = False
                if crash | shot:  # the enemy is sent back to the left edge, at a random height
                    ex = F32(-ENEMY_WIDTH)
                    ey = _respawn_y(rng, g)
            pos[g, PX], pos[g, PY], pos[g, PBX], pos[g, PBY] = px, py, pbx, pby
            pos[g, EX], pos[g, EY], pos[g, EBX], pos[g, EBY] = ex, ey, ebx, eby
            ints[g, PLAYER_BULLET], ints[g, ENEMY_BULLET] = player_bullet, enemy_bullet
            ints[g, ATTACKING], ints[g, STUCK], ints[g, ENEMY_ACTIVE] = attacking, stuck, enemy_active

            if (crash | shot) and ints[g, LIVES] <= 0:
                ints[g, LIVES] = 0
                _log_end(ints, g, log)
                _start(pos, ints, rng, g, lives)
                ended = True
                # 3.0 computes a shot's reward from the new game's state; the reward still
                # belongs to the game that ended (it comes with terminal).
                px, py, ey = pos[g, PX], pos[g, PY], pos[g, EY]
            if not crash:  # 3.0 returns at once after a crash: reward 0
                below = py > ey + F32(ENEMY_HEIGHT)
                close = _CLOSE_SCALE * (_TWO - (py - ey) / _H) if below else _ZERO
                fired = fired if below else _ZERO
                hit = hit if below else _ZERO
                score = ints[g, SCORE]
                average = F32(score) / F32(ints[g, TICK] + 1)  # 0 while score is 0, as 3.0's test gives
                reward = ((fired + close) + hit) + average
                reward *= _ONE + F32(ints[g, STREAK]) * _STREAK_SCALE
                cut = not (below & (abs(player_cx - enemy_cx) > _OFF_CENTRE))
                reward = min(reward, _ZERO) if cut else reward
                reward = _ZERO if px > _HALF_SCREEN else reward
                sums[g, CLOSE_SUM] += close
                sums[g, FIRED_SUM] += fired
                sums[g, HIT_SUM] += hit
                sums[g, AVG_SUM] += average
                sums[g, RETURN] += reward
                if not ended and score > MAX_SCORE:
                    _log_end(ints, g, log)
                    _start(pos, ints, rng, g, lives)
                    ended = True
            if ended:
                _log_sums(sums, g, log)
        rewards[g] = reward
        terminals[g] = ended
        truncations[g] = False
        _observe(pos, ints, obs, g)
    return bad


class Blastar(NativeEnv):
    """``num_envs`` Blastar games (see the module docstring)."""

    LOG_EXTRA_KEYS: ClassVar[tuple[str, ...]] = (
        "perf",
        "lives",
        "vertical_closeness_rew",
        "fired_bullet_rew",
        "kill_streak",
        "hit_enemy_with_bullet_rew",
        "avg_score_difference",
    )

    def __init__(
        self,
        num_envs: int = 1,
        lives: int = 10,
        render_mode: str | None = None,
        report_interval: int = 32,
        buf: Any = None,
    ):
        self.lives = check_positive_int("lives", lives)
        self.single_observation_space = gymnasium.spaces.Box(-0.1, 1.1, (NUM_OBS,), np.float32)
        self.single_action_space = gymnasium.spaces.Discrete(NUM_ACTIONS)
        super().__init__(num_envs, render_mode, report_interval, buf)
        self.pos = np.zeros((self.num_envs, 8), dtype=np.float32)
        self.ints = np.zeros((self.num_envs, NUM_INTS), dtype=np.int32)
        self.sums = np.zeros((self.num_envs, 5), dtype=np.float64)

    def _step_games(self, actions: np.ndarray, reset_all: bool = False) -> int:
        return step_kernel(self.pos, self.ints, self.sums, self.rng, actions, self.lives, self.observations,
                           self.rewards, self.terminals, self.truncations, self.log, reset_all)

    def render_ansi(self) -> str:
        cols, rows = 64, 24  # 10 x 20 pixels a character
        lines = [[" "] * cols for _ in range(rows)]
        pos, ints = self.pos[0], self.ints[0]

        def put(x: float, y: float, char: str) -> None:
            r, c = int(y // 20), int(x // 10)
            if 0 <= r < rows and 0 <= c < cols:
                lines[r][c] = char

        if ints[PLAYER_BULLET]:
            put(pos[PBX] + BULLET_WIDTH / 2, pos[PBY], "|")
        if ints[ENEMY_BULLET]:
            put(pos[EBX] + ENEMY_BULLET_WIDTH / 2, pos[EBY], "!")
        put(pos[EX] + ENEMY_WIDTH / 2, pos[EY] + ENEMY_HEIGHT / 2, "*" if ints[ENEMY_TIMER] else "V")
        put(pos[PX] + PLAYER_SIZE / 2, pos[PY] + PLAYER_SIZE / 2, "*" if ints[PLAYER_TIMER] else "A")
        border = "+" + "-" * cols + "+"
        body = "\n".join("|" + "".join(line) + "|" for line in lines)
        beam = " status beam" if ints[STUCK] else ""
        return f"{border}\n{body}\n{border}\nscore {ints[SCORE]} lives {ints[LIVES]} t={ints[TICK]}{beam}\n"

    def render_rgb(self) -> np.ndarray:
        image = draw.canvas(SCREEN_HEIGHT, SCREEN_WIDTH)
        pos, ints = self.pos[0], self.ints[0]
        explosion = (250, 180, 40)
        draw.fill_rect(image, pos[PY], pos[PX], PLAYER_SIZE, PLAYER_SIZE,
                       explosion if ints[PLAYER_TIMER] else draw.COLOURS["other"])
        if ints[ENEMY_TIMER] or ints[ENEMY_ACTIVE]:
            draw.fill_rect(image, pos[EY], pos[EX], ENEMY_HEIGHT, ENEMY_WIDTH,
                           explosion if ints[ENEMY_TIMER] else draw.COLOURS["agent"])
        if ints[PLAYER_BULLET]:
            draw.fill_rect(image, pos[PBY], pos[PBX], BULLET_HEIGHT, BULLET_WIDTH, draw.COLOURS["ball"])
        if ints[ENEMY_BULLET]:
            draw.fill_rect(image, pos[EBY], pos[EBX], ENEMY_BULLET_HEIGHT, ENEMY_BULLET_WIDTH,
                           draw.COLOURS["food"])
        for life in range(ints[LIVES]):  # lives left, as small squares along the top
            draw.fill_rect(image, 6, 6 + 10 * life, 6, 6, draw.COLOURS["text"])
        return image
