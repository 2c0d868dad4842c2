"""A scripted Pac-Man for recording fixtures (``record.py pacman --policy policy_pacman:actions``).

It walks (breadth-first) to the nearest pellet it can reach without passing next to a dangerous
ghost, heads for power pellets when a ghost comes close and chases frightened ghosts, so that
recordings reach power pellets, eaten ghosts returning home, every ghost mode and long games;
2% random actions bring deaths too. It reads only the observation (positions, ghost states,
pellets) and its own copy of the maze's walls (it runs under PufferLib 3.0's interpreter, whose
`pufferlib` package shadows ours, so it cannot import the port's ``MAZE``).
"""

from __future__ import annotations

from collections import deque

import numpy as np

MAZE = (
    "############################",
    "#............##............#",
    "#.####.#####.##.#####.####.#",
    "#x####.#####.##.#####.####x#",
    "#.####.#####.##.#####.####.#",
    "#..........................#",
    "#.####.##.########.##.####.#",
    "#.####.##.########.##.####.#",
    "#......##....##....##......#",
    "######.##### ## #####.######",
    "######.##### ## #####.######",
    "######.##   1234   ##.######",
    "######.## ######## ##.######",
    "######.## ######## ##.######",
    "      .   ########   .      ",
    "######.## ######## ##.######",
    "######.## ######## ##.######",
    "######.##          ##.######",
    "######.## ######## ##.######",
    "######.## ######## ##.######",
    "#............##............#",
    "#.####.#####.##.#####.####.#",
    "#.####.#####.##.#####.####.#",
    "#x..##.......p .......##..x#",
    "###.##.##.########.##.##.###",
    "###.##.##.########.##.##.###",
    "#......##....##....##......#",
    "#.##########.##.##########.#",
    "#.##########.##.##########.#",
    "#..........................#",
    "############################",
)
H, W = len(MAZE), len(MAZE[0])
MOVES = ((0, 1), (0, -1), (1, 0), (-1, 0))  # down, up, right, left: the action codes
PELLETS = [(x, y) for y in range(H) for x in range(W) if MAZE[y][x] in ".x"]  # observation order
POWER = {(x, y) for x, y in PELLETS if MAZE[y][x] == "x"}


def neighbours(x: int, y: int):
    for action, (dx, dy) in enumerate(MOVES):
        nx, ny = (x + dx) % W, y + dy
        if 0 <= ny < H and MAZE[ny][nx] != "#":
            yield action, nx, ny


def first_step(start, goal, blocked) -> int | None:
    """The first action of a shortest path from ``start`` to a tile where ``goal`` holds."""
    seen = {start}
    queue = deque((nx, ny, a) for a, nx, ny in neighbours(*start) if (nx, ny) not in blocked)
    seen.update((x, y) for x, y, _ in queue)
    while queue:
        x, y, action = queue.popleft()
        if goal(x, y):
            return action
        for _, nx, ny in neighbours(x, y):
            if (nx, ny) not in seen and (nx, ny) not in blocked:
                seen.add((nx, ny))
                queue.append((nx, ny, action))
    return None


def play(row: np.ndarray, rng: np.random.Generator) -> int:
    px, py = int(round(row[0] * W)), int(round(row[1] * H))
    dangerous, frightened = set(), set()
    for i in range(4):
        ghost = row[11 + 9 * i: 20 + 9 * i]
        gx, gy = int(round(ghost[0] * W)), int(round(ghost[1] * H))
        if ghost[7]:
            frightened.add((gx, gy))
        elif ghost[6]:
            dangerous.add((gx, gy))
    blocked = set()
    for gx, gy in dangerous:  # the ghost's tile and everything within two steps
        blocked.add((gx, gy))
        for _, nx, ny in neighbours(gx, gy):
            blocked.add((nx, ny))
            blocked.update((mx, my) for _, mx, my in neighbours(nx, ny))
    left = {PELLETS[k] for k in np.flatnonzero(row[47:] > 0)}
    near = any(abs(gx - px) + abs(gy - py) <= 6 for gx, gy in dangerous)
    goals = []
    if frightened:
        goals.append(lambda x, y: (x, y) in frightened)
    if near and POWER & left:
        goals.append(lambda x, y: (x, y) in POWER and (x, y) in left)
    goals.append(lambda x, y: (x, y) in left)
    for goal in goals:
        action = first_step((px, py), goal, blocked)
        if action is not None:
            return action
    safe = [a for a, nx, ny in neighbours(px, py) if (nx, ny) not in blocked]
    return int(rng.choice(safe)) if safe else int(rng.integers(0, 4))


def actions(env, obs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One action per game (see ocean/native/pacman.py for the observation layout)."""
    return np.array([rng.integers(0, 4) if rng.random() < 0.02 else play(row, rng) for row in obs],
                    dtype=np.int32)
