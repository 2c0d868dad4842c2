"""Native Ocean envs (pufferlib.environments.ocean.native): rules, buffers, seeding, backends, learning."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import gymnasium
import numpy as np
import pytest
import tomllib

import pufferlib.vector
from pufferlib.environments import ocean
from pufferlib.environments.ocean.environment import NATIVE_ENVS
from pufferlib.environments.ocean.native import (
    Breakout,
    CartPole,
    Connect4,
    NativeEnv,
    Pong,
    Snake,
    breakout,
    cartpole,
    connect4,
    pong,
    snake,
)
from pufferlib.exceptions import APIUsageError
from pufferlib.puffer_env import PufferEnv

SMALL = {  # small but complete settings, so the tests stay quick
    "cartpole": {},
    "cartpole_continuous": {},
    "snake": {"width": 12, "height": 10, "num_snakes": 3, "num_food": 4, "vision": 2},
    "breakout": {},
    "pong": {},
    "connect4": {},
    "rware": {"num_requested_shelves": 16},
    "go": {"grid_size": 5},
}


def make(name: str, num_envs: int = 4, **kwargs) -> NativeEnv:
    return ocean.make_env(name, num_envs=num_envs, **{**SMALL[name], **kwargs})


def random_actions(env: NativeEnv, rng: np.random.Generator) -> np.ndarray:
    space = env.single_action_space
    if isinstance(space, gymnasium.spaces.Discrete):
        return rng.integers(0, space.n, env.num_agents).astype(space.dtype)
    return rng.uniform(-1.5, 1.5, (env.num_agents, *space.shape)).astype(space.dtype)


def rollout(env: NativeEnv, seed: int, steps: int, action_seed: int = 0) -> list[tuple]:
    """Copies of (obs, rewards, terminals, truncations) for ``steps`` random steps after reset(seed)."""
    rng = np.random.default_rng(action_seed)
    obs, _ = env.reset(seed=seed)
    frames = [(obs.copy(),)]
    for _ in range(steps):
        obs, rewards, terminals, truncations, _ = env.step(random_actions(env, rng))
        frames.append((obs.copy(), rewards.copy(), terminals.copy(), truncations.copy()))
    return frames


# -- the package ---------------------------------------------------------------------------


def test_importing_ocean_imports_neither_torch_nor_numba():
    code = (
        "import sys, pufferlib.environments.ocean as o; "
        "assert 'torch' not in sys.modules, 'torch'; assert 'numba' not in sys.modules, 'numba'; "
        "env = o.make_env('squared'); assert 'torch' not in sys.modules; "
        "assert o.Policy.__name__ == 'Policy' and 'torch' in sys.modules"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_a_missing_numba_is_an_environment_setup_error():
    code = (
        "import sys; sys.modules['numba'] = None\n"
        "from pufferlib.environments import ocean\n"
        "from pufferlib.exceptions import EnvironmentSetupError\n"
        "try:\n    ocean.make_env('cartpole')\n"
        "except EnvironmentSetupError as e:\n    assert 'pufferlib[native]' in str(e), e\n"
        "else:\n    raise AssertionError('no error')"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_native_names_and_configs_do_not_collide_with_gymnasium():
    config_dir = Path(ocean.__file__).parents[2] / "config"
    with open(config_dir / "ocean.toml", "rb") as f:
        tables = tomllib.load(f)
    with open(config_dir / "classic_control.toml", "rb") as f:
        gymnasium_names = set(tomllib.load(f))
    for name in NATIVE_ENVS:
        table = tables[f"ocean:{name}"]
        assert table["env_name"] == name
        assert ocean.env_creator(name) is not None
        assert name not in tables  # only the ocean:NAME spelling is configured
    assert "cartpole" in gymnasium_names


# -- the PufferEnv contract, for every native env ---------------------------------------


@pytest.mark.parametrize("name", NATIVE_ENVS)
def test_spaces_buffers_and_in_place_writes(name):
    env = make(name, num_envs=3)
    assert isinstance(env, PufferEnv)
    assert env.num_agents == 3 * env.agents_per_game
    obs, infos = env.reset(seed=1)
    assert obs is env.observations and infos == []
    assert obs.shape == (env.num_agents, *env.single_observation_space.shape)
    assert obs.dtype == env.single_observation_space.dtype
    assert env.single_observation_space.contains(obs[0])
    step = env.step(random_actions(env, np.random.default_rng(0)))
    assert step[0] is env.observations and step[1] is env.rewards
    assert step[2] is env.terminals and step[3] is env.truncations
    assert step[1].dtype == np.float32 and step[2].dtype == bool and env.masks.all()


@pytest.mark.parametrize("name", NATIVE_ENVS)
def test_deterministic_under_a_seed(name):
    a, b = rollout(make(name), 7, 200), rollout(make(name), 7, 200)
    for fa, fb in zip(a, b):
        for x, y in zip(fa, fb):
            np.testing.assert_array_equal(x, y)
    c = rollout(make(name), 8, 200)
    assert any(not np.array_equal(fa[0], fc[0]) for fa, fc in zip(a, c))


@pytest.mark.parametrize("name", NATIVE_ENVS)
def test_games_do_not_depend_on_how_they_are_split(name):
    """Game g is seeded with seed + g * agents_per_game: 6 games in one env equal 2 + 4 in two."""
    whole = make(name, num_envs=6)
    first, second = make(name, num_envs=2), make(name, num_envs=4)
    per_game = whole.agents_per_game
    rng = np.random.default_rng(3)
    whole.reset(seed=5)
    first.reset(seed=5)
    second.reset(seed=5 + 2 * per_game)
    cut = 2 * per_game
    for _ in range(300):
        actions = random_actions(whole, rng)
        obs = whole.step(actions)[0]
        np.testing.assert_array_equal(obs[:cut], first.step(actions[:cut])[0])
        np.testing.assert_array_equal(obs[cut:], second.step(actions[cut:])[0])


@pytest.mark.parametrize("name", NATIVE_ENVS)
def test_episodes_end_reset_and_report_stats(name):
    env = make(name, num_envs=16, report_interval=4)
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    infos, done = [], 0
    for _ in range(3000):
        _, _, terminals, truncations, step_infos = env.step(random_actions(env, rng))
        done += int((terminals | truncations).sum())
        infos += step_infos
    assert done > 0 and infos
    assert sum(info["n"] for info in infos) == done - env.log[:, 0].sum()
    for info in infos:
        assert {"episode_return", "episode_length", "score", "n"} <= set(info)
        assert info["episode_length"] >= 1 and all(math.isfinite(v) for v in info.values())


def test_a_random_tape_replaces_the_generators():
    env = CartPole(num_envs=2)
    tape = np.arange(1, 25, dtype=np.uint64).reshape(2, 12) * 100_000_000
    env.use_random_tape(tape)
    obs, _ = env.reset(seed=5)  # the seed is ignored: the tape decides
    expected = -0.05 + 0.1 * (tape[:, :4] / 2**31)
    np.testing.assert_allclose(obs, expected.astype(np.float32), rtol=1e-6)
    assert list(env.rng[:, 0]) == [4, 4]  # four draws per game
    env.reset()
    np.testing.assert_allclose(obs, (-0.05 + 0.1 * (tape[:, 4:8] / 2**31)).astype(np.float32), rtol=1e-6)
    with pytest.raises(APIUsageError, match=r"shape \(2, N\)"):
        env.use_random_tape(np.zeros((3, 4), dtype=np.uint64))


def test_each_episode_is_reported_with_its_agent():
    env = CartPole(num_envs=8)
    env.report_each_episode()
    env.reset(seed=0)
    seen = 0
    for _ in range(200):
        _, _, terminals, truncations, infos = env.step(np.ones(8, dtype=np.int64))
        done = np.flatnonzero(terminals | truncations)
        assert sorted(info["agent"] for info in infos) == list(done)
        for info in infos:
            assert info["n"] == 1 and info["episode_length"] == info["episode_return"] >= 1
        seen += len(infos)
    assert seen >= 8 and not env.log.any()


@pytest.mark.parametrize("name", NATIVE_ENVS)
def test_renders_ansi_and_rgb(name):
    text_env = make(name, num_envs=2, render_mode="ansi")
    text_env.reset(seed=0)
    text_env.step(random_actions(text_env, np.random.default_rng(0)))
    text = text_env.render()
    assert isinstance(text, str) and len(text.splitlines()) >= 1
    image_env = make(name, num_envs=2, render_mode="rgb_array")
    image_env.reset(seed=0)
    frame = image_env.render()
    assert frame.dtype == np.uint8 and frame.ndim == 3 and frame.shape[2] == 3 and frame.std() > 0
    assert make(name).render() is None
    assert {"ansi", "rgb_array"} <= set(type(text_env).metadata["render_modes"])


@pytest.mark.parametrize("name", NATIVE_ENVS)
def test_bad_arguments_are_api_usage_errors(name):
    with pytest.raises(APIUsageError, match="num_envs"):
        make(name, num_envs=0)
    with pytest.raises(APIUsageError, match="render_mode"):
        make(name, render_mode="human")
    env = make(name, num_envs=2)
    with pytest.raises(APIUsageError, match="before reset"):
        env.step(random_actions(env, np.random.default_rng(0)))
    with pytest.raises(APIUsageError, match="seed"):
        env.reset(seed=-1)
    env.reset(seed=0)
    with pytest.raises(APIUsageError, match="shape"):
        env.step(np.zeros(env.num_agents + 1))
    if isinstance(env.single_action_space, gymnasium.spaces.Discrete):
        actions = np.full(env.num_agents, env.single_action_space.n, dtype=np.int64)
        with pytest.raises(APIUsageError, match="out of range"):
            env.step(actions)
        # Python lists and other integer dtypes are accepted.
        env.step([0] * env.num_agents)
        env.step(np.zeros(env.num_agents, dtype=np.int32))


# -- vector backends -----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["cartpole", "snake"])
def test_serial_and_multiprocessing_host_one_native_env_per_worker(name):
    kwargs = {**SMALL[name], "num_envs": 8}
    creator = ocean.env_creator(name)
    results = []
    for backend, extra in (("serial", {}), ("multiprocessing", {"num_workers": 2})):
        with pufferlib.vector.make(
            creator, env_kwargs=kwargs, backend=backend, num_envs=2, **extra
        ) as vecenv:
            assert vecenv.num_agents == 2 * vecenv.agents_per_env
            rng = np.random.default_rng(0)
            obs, _ = vecenv.reset(seed=3)
            frames = [obs.copy()]
            n = vecenv.single_action_space.n
            for _ in range(100):
                obs, rewards, terminals, truncations, _ = vecenv.step(rng.integers(0, n, vecenv.num_agents))
                frames.append(np.concatenate([obs.ravel().astype(np.float64), rewards, terminals]))
            results.append(frames)
    for serial, multi in zip(*results):
        np.testing.assert_array_equal(serial, multi)


@pytest.mark.slow
def test_ray_hosts_native_envs_like_serial():
    pytest.importorskip("ray")
    kwargs = {**SMALL["snake"], "num_envs": 4}
    creator = ocean.env_creator("snake")
    with (
        pufferlib.vector.make(creator, env_kwargs=kwargs, backend="serial", num_envs=2) as serial,
        pufferlib.vector.make(creator, env_kwargs=kwargs, backend="ray", num_envs=2, num_workers=2) as ray,
    ):
        np.testing.assert_array_equal(serial.reset(seed=3)[0], ray.reset(seed=3)[0])
        rng = np.random.default_rng(0)
        for _ in range(50):
            actions = rng.integers(0, 4, serial.num_agents)
            expected, got = serial.step(actions), ray.step(actions)
            for x, y in zip(expected[:4], got[:4]):
                np.testing.assert_array_equal(x, y)


# -- rules of each game --------------------------------------------------------------------


def balancing_action(obs: np.ndarray, rng: np.random.Generator) -> int:
    """A noisy pole-balancing heuristic: long episodes, the 500-step limit included."""
    push_right = obs[2] + 0.5 * obs[3] > 0
    return int(push_right) if rng.random() > 0.2 else int(rng.integers(2))


@pytest.mark.parametrize("continuous", [False, True])
def test_cartpole_matches_gymnasium_step_for_step(continuous):
    """From the same state, the same action gives the same observation (to float32's last bit),
    state (to float64 rounding: sin and cos are polynomials here), reward and flags."""
    reference = gymnasium.make("CartPole-v1")
    env = CartPole(num_envs=1, continuous=continuous)
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    steps = truncations = 0
    for episode in range(12):
        gym_obs, _ = reference.reset(seed=episode)
        env.ticks[0] = 0
        while True:
            env.state[0] = reference.unwrapped.state
            action = balancing_action(gym_obs, rng)
            if continuous:
                push = np.float32(rng.uniform(0.2, 1.0) * (1 if action else -1))
                reference.unwrapped.force_mag = 10.0 * abs(float(push))
                ours = np.array([[push]], dtype=np.float32)
            else:
                ours = np.array([action])
            gym_obs, reward, terminated, truncated, _ = reference.step(action)
            obs, rewards, terminals, truncs, _ = env.step(ours)
            steps += 1
            assert rewards[0] == reward
            assert terminals[0] == terminated and truncs[0] == truncated
            if terminated or truncated:
                truncations += truncated
                break
            np.testing.assert_array_max_ulp(obs[0], gym_obs, maxulp=1)
            np.testing.assert_allclose(env.state[0], reference.unwrapped.state, rtol=1e-14, atol=1e-15)
    assert steps > 1000 and truncations >= 1


def test_cartpole_matches_gymnasium_to_the_bit_once_a_pole_is_far_from_upright():
    """A hand-set state past the polynomials' range switches the batch to libm's sin and cos:
    then every game matches Gymnasium to the last bit."""
    reference = gymnasium.make("CartPole-v1")
    env = CartPole(num_envs=2)
    env.reset(seed=0)
    rng = np.random.default_rng(1)
    for episode in range(20):
        gym_obs, _ = reference.reset(seed=episode)
        env.ticks[1] = 0
        terminated = truncated = False
        while not (terminated or truncated):
            env.state[0] = (0.0, 0.0, cartpole.SMALL_ANGLE + 0.1, 0.0)  # ends at once; forces libm
            env.state[1] = reference.unwrapped.state
            action = balancing_action(gym_obs, rng)
            gym_obs, _, terminated, truncated, _ = reference.step(action)
            env.step(np.array([0, action]))
            assert env.terminals[0]
            if not (terminated or truncated):
                np.testing.assert_array_equal(env.state[1], reference.unwrapped.state)
                np.testing.assert_array_equal(env.observations[1], gym_obs)


def test_cartpole_sin_and_cos_polynomials_are_within_one_ulp_of_libm():
    angles = np.linspace(-cartpole.SMALL_ANGLE, cartpole.SMALL_ANGLE, 20_001)
    sines = np.array([cartpole._sin_small(a) for a in angles])
    cosines = np.array([cartpole._cos_small(a) for a in angles])
    np.testing.assert_array_max_ulp(sines, np.array([math.sin(a) for a in angles]), maxulp=1)
    np.testing.assert_array_max_ulp(cosines, np.array([math.cos(a) for a in angles]), maxulp=1)


def test_cartpole_continuous_clips_and_matches_discrete_at_the_extremes():
    discrete, continuous = CartPole(num_envs=2), CartPole(num_envs=2, continuous=True)
    discrete.reset(seed=4)
    continuous.reset(seed=4)
    for t in range(50):
        push = t % 3 == 0
        discrete.step(np.array([int(push), int(push)]))
        value = 1.0 if push else -1.0
        continuous.step(np.array([[value], [5 * value]], dtype=np.float32))
        np.testing.assert_array_equal(discrete.observations, continuous.observations)


def snake_env(**kwargs) -> Snake:
    env = Snake(num_envs=1, width=10, height=10, num_snakes=1, num_food=0, vision=2, **kwargs)
    env.reset(seed=0)
    return env


def place_snake(env: Snake, cells: list[tuple[int, int]]) -> None:
    """Put snake 0 of grid 0 on field ``cells`` (tail first), in field coordinates (wall at 0)."""
    pad = env.vision - 1
    env.grid[0][env.grid[0] >= snake.SNAKE_BASE] = snake.EMPTY
    for k, (r, c) in enumerate(cells):
        env.body[0, 0, k] = (r + pad, c + pad)
        env.grid[0, r + pad, c + pad] = snake.SNAKE_BASE
    env.head[0, 0] = len(cells) - 1
    env.length[0, 0] = len(cells)


def test_snake_eats_grows_and_dies_on_walls_and_itself():
    env = snake_env(reward_food=0.5)
    place_snake(env, [(4, 4)])
    pad = env.vision - 1
    env.grid[0, 4 + pad, 5 + pad] = snake.FOOD
    _, rewards, terminals, _, _ = env.step(np.array([3]))  # right, onto the food
    assert rewards[0] == 0.5 and not terminals[0] and env.length[0, 0] == 2
    assert (env.grid[0] == snake.FOOD).sum() == 1  # new food appeared elsewhere
    env.grid[0][env.grid[0] == snake.FOOD] = snake.EMPTY
    env.step(np.array([3]))  # right again: moves, keeps its length
    assert env.length[0, 0] == 2
    obs = env.observations[0].reshape(5, 5)
    assert obs[2, 2] == snake.SELF and obs[2, 1] == snake.SELF
    _, rewards, terminals, _, _ = env.step(np.array([2]))  # left: into its own neck
    assert rewards[0] == -1.0 and terminals[0] and env.length[0, 0] == 1

    place_snake(env, [(1, 3)])
    _, rewards, terminals, _, _ = env.step(np.array([0]))  # up: into the wall
    assert terminals[0] and rewards[0] == -1.0
    assert env.log[0, 0] == 2 and env.log[0, 3] == 2 + 1  # two episodes: lengths 2 and 1


def test_snakes_share_a_grid_and_see_each_other():
    env = Snake(num_envs=1, width=12, height=12, num_snakes=2, num_food=0, vision=3)
    env.reset(seed=0)
    assert env.num_agents == 2 and (env.grid[0] >= snake.SNAKE_BASE).sum() == 2
    pad = env.vision - 1
    env.grid[0][env.grid[0] >= snake.SNAKE_BASE] = snake.EMPTY
    for s, (r, c) in enumerate([(5, 5), (5, 7)]):
        env.body[0, s, 0] = (r + pad, c + pad)
        env.head[0, s], env.length[0, s] = 0, 1
        env.grid[0, r + pad, c + pad] = snake.SNAKE_BASE + s
    # Snake 0 moves right to (5, 6) first; snake 1 then moves left into it and dies.
    _, rewards, terminals, _, _ = env.step(np.array([3, 2]))
    assert not terminals[0] and terminals[1] and rewards[1] == -1.0


def test_breakout_breaks_bricks_and_loses_lives():
    env = Breakout(num_envs=1)
    env.reset(seed=0)
    state = env.state[0]
    bottom = breakout.BRICK_TOP + env.brick_rows * breakout.BRICK_HEIGHT
    state[breakout.BALL_X], state[breakout.BALL_Y] = 3.5, bottom + 0.1
    state[breakout.BALL_VX], state[breakout.BALL_VY] = 0.0, -env.ball_speed
    _, rewards, _, _, _ = env.step(np.array([0]))
    assert rewards[0] == 1.0 and state[breakout.BALL_VY] > 0
    assert (
        env.bricks[0].sum() == env.bricks.shape[1] - 1
        and env.observations[0, 6:].sum() == env.bricks[0].sum()
    )
    # A ball under the paddle's line, away from the paddle, is lost.
    state[breakout.PADDLE_X] = 1.0
    state[breakout.BALL_X], state[breakout.BALL_Y] = 10.0, breakout.HEIGHT - 0.1
    state[breakout.BALL_VX], state[breakout.BALL_VY] = 0.0, env.ball_speed
    env.step(np.array([0]))
    assert state[breakout.LIVES] == env.lives - 1 and state[breakout.BALL_Y] == breakout.SERVE_Y
    # The paddle returns the ball.
    state[breakout.PADDLE_X] = 6.0
    state[breakout.BALL_X], state[breakout.BALL_Y] = 6.0, breakout.PADDLE_Y - 0.1
    state[breakout.BALL_VX], state[breakout.BALL_VY] = 0.0, env.ball_speed
    env.step(np.array([0]))
    assert state[breakout.BALL_VY] < 0 and state[breakout.LIVES] == env.lives - 1


def test_pong_points_and_returns():
    env = Pong(num_envs=1, points_to_win=2)
    env.reset(seed=0)
    state = env.state[0]

    def ball(x, y, vx, vy):
        state[pong.BALL_X], state[pong.BALL_Y], state[pong.BALL_VX], state[pong.BALL_VY] = x, y, vx, vy

    state[pong.OPPONENT_Y] = 1.0
    ball(pong.WIDTH - 0.1, 10.0, env.ball_speed, 0.0)  # past the opponent, far from its paddle
    _, rewards, terminals, _, _ = env.step(np.array([0]))
    assert rewards[0] == 1.0 and not terminals[0] and state[pong.POINTS_FOR] == 1
    state[pong.AGENT_Y] = 6.0
    ball(0.1, 6.0, -env.ball_speed, 0.0)  # onto the agent's paddle
    _, rewards, _, _, _ = env.step(np.array([0]))
    assert rewards[0] == 0.0 and state[pong.BALL_VX] > 0
    state[pong.AGENT_Y] = 1.0
    ball(0.1, 10.0, -env.ball_speed, 0.0)  # the agent misses
    _, rewards, _, _, _ = env.step(np.array([0]))
    assert rewards[0] == -1.0
    state[pong.OPPONENT_Y] = 1.0
    ball(pong.WIDTH - 0.1, 10.0, env.ball_speed, 0.0)
    _, rewards, terminals, _, _ = env.step(np.array([0]))
    assert rewards[0] == 1.0 and terminals[0]  # 2 - 1: the episode is over and restarted
    assert env.log[0, 0] == 1 and env.log[0, 3] == pytest.approx(2 / 3) and state[pong.POINTS_FOR] == 0


def test_connect4_wins_illegal_moves_and_the_opponent():
    env = Connect4(num_envs=1)
    env.reset(seed=0)
    X, O = connect4.AGENT, connect4.OPPONENT  # noqa: N806, E741 (board notation)

    def play(pieces: dict[tuple[int, int], int], column: int) -> tuple[float, bool]:
        board = np.zeros((6, 7), dtype=np.int8)
        for cell, player in pieces.items():
            board[cell] = player
        env.set_position(0, board)
        _, rewards, terminals, _, _ = env.step(np.array([column]))
        return float(rewards[0]), bool(terminals[0])

    # Horizontal, vertical and diagonal fours of the agent win (+1); the board then restarts.
    assert play({(5, 0): X, (5, 1): X, (5, 2): X, (5, 4): O, (5, 5): O}, 3) == (1.0, True)
    assert not env.board[0].any()
    assert play({(5, 6): X, (4, 6): X, (3, 6): X, (5, 0): O, (5, 1): O}, 6) == (1.0, True)
    rising = {
        (5, 0): X,
        (5, 1): O,
        (4, 1): X,
        (5, 2): O,
        (4, 2): O,
        (3, 2): X,
        (5, 3): X,
        (4, 3): O,
        (3, 3): X,
    }
    assert play(rising, 3) == (1.0, True)
    # A full column is an illegal move: -1.
    assert play({(r, 6): (O if r % 2 else X) for r in range(6)}, 6) == (-1.0, True)
    assert env.log[0, 5] == 1
    # The opponent takes a win when it has one (a rising diagonal ending at (2, 3)).
    threat = {
        (5, 0): O,
        (4, 1): O,
        (3, 2): O,
        (5, 1): X,
        (5, 2): X,
        (4, 2): X,
        (5, 3): X,
        (4, 3): O,
        (3, 3): X,
    }
    assert play(threat, 5) == (-1.0, True)
    # No four: the game goes on.
    assert play({}, 3) == (0.0, False)
    with pytest.raises(APIUsageError, match="gaps"):
        env.set_position(0, np.eye(6, 7, dtype=np.int8))
    obs_env = Connect4(num_envs=1)
    obs_env.reset(seed=0)
    obs_env.step(np.array([3]))
    planes = obs_env.observations[0].reshape(2, 6, 7)
    assert planes[0, 5, 3] == 1 and planes[0].sum() == 1 and planes[1].sum() == 1


# -- the guide's template env ------------------------------------------------------------


def test_the_guide_template_env_works():
    from pufferlib.environments.ocean.native import template

    env = template.Chase(num_envs=8)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (8, 4)
    rewards_total = 0.0
    for _ in range(100):
        _, rewards, _, _, _ = env.step(template.greedy_actions(env.observations))
        rewards_total += float(rewards.sum())
    assert rewards_total > 0
    guide = Path(__file__).parents[1] / "docs" / "native_env.md"
    assert "template.py" in guide.read_text()


# -- learning (slow): each shipped ocean:NAME config learns within its step budget ---------


def shipped_config(name: str) -> dict:
    """``[default]`` merged with the ``["ocean:NAME"]`` table of the shipped TOML files."""
    config_dir = Path(ocean.__file__).parents[2] / "config"
    with open(config_dir / "default.toml", "rb") as f:
        default = tomllib.load(f)["default"]
    with open(config_dir / "ocean.toml", "rb") as f:
        table = tomllib.load(f)[f"ocean:{name}"]
    return {
        section: {**default.get(section, {}), **table.get(section, {})}
        for section in ("env", "policy", "vec", "train")
    } | {"env_name": table["env_name"]}


def train_shipped(name: str, tmp_path):
    import torch  # noqa: F401 (only the learning tests need torch)

    from pufferlib.trainer import TrainConfig, Trainer, seed_everything

    config = shipped_config(name)
    seed_everything(config["train"]["seed"])
    vecenv = pufferlib.vector.make(
        ocean.env_creator(config["env_name"]), env_kwargs=config["env"], num_envs=config["vec"]["num_envs"]
    )
    policy_kwargs = {k: v for k, v in config["policy"].items() if k != "recurrent"}
    policy = ocean.Policy(vecenv.driver_env, **policy_kwargs)
    trainer = Trainer(vecenv, policy, TrainConfig(**{**config["train"], "data_dir": str(tmp_path)}))
    trainer.run()
    trainer.close(save=False)
    assert trainer.global_step <= config["train"]["total_timesteps"] + config["train"]["batch_size"]
    return policy, config


def play_stats(config: dict, policy, steps: int, seed: int = 12345) -> dict[str, float]:
    """Episode means over ``steps`` steps of fresh games (an unseen seed); ``policy=None`` plays randomly."""
    import torch

    from pufferlib.frameworks.cleanrl import sample_logits

    env = ocean.make_env(config["env_name"], **{**config["env"], "report_interval": 1})
    obs, _ = env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    totals: dict[str, float] = {}
    for _ in range(steps):
        if policy is None:
            actions = random_actions(env, rng)
        else:
            with torch.no_grad():
                logits, _ = policy(torch.from_numpy(obs))
                actions = sample_logits(logits)[0].numpy()
        obs, _, _, _, infos = env.step(actions)
        for info in infos:
            for key, value in info.items():
                totals[key] = totals.get(key, 0.0) + (value * info["n"] if key != "n" else value)
    assert totals.get("n", 0) >= 8, "too few episodes to judge"
    return {key: value / totals["n"] for key, value in totals.items() if key != "n"} | {"n": totals["n"]}


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("name", ["cartpole", "cartpole_continuous"])
def test_cartpole_is_solved(name, tmp_path):
    policy, config = train_shipped(name, tmp_path)
    assert play_stats(config, policy, 2000)["episode_return"] >= 475


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_snake_grows(tmp_path):
    policy, config = train_shipped("snake", tmp_path)
    random, trained = play_stats(config, None, 1000), play_stats(config, policy, 1000)
    assert trained["score"] >= random["score"] + 0.8  # final length: random snakes stay ~1.3 long
    assert trained["episode_length"] >= 3 * random["episode_length"]


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("name, margin", [("breakout", 2.0), ("pong", 2.0)])
def test_breakout_and_pong_beat_random_play(name, margin, tmp_path):
    policy, config = train_shipped(name, tmp_path)
    random, trained = play_stats(config, None, 3000), play_stats(config, policy, 3000)
    assert trained["score"] >= margin * random["score"] + 0.1


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_connect4_beats_its_scripted_opponent(tmp_path):
    policy, config = train_shipped("connect4", tmp_path)
    assert play_stats(config, policy, 500)["score"] >= 0.75
