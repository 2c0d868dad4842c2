"""Native Ocean envs (pufferlib.environments.ocean.native): rules, buffers, seeding, backends, learning."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import gymnasium
import numpy as np
import pytest
import tomllib

import pufferlib.vector
from pufferlib.environments import ocean
from pufferlib.environments.ocean.environment import NATIVE_ENVS
from pufferlib.environments.ocean.native import (
    CartPole,
    NativeEnv,
    cartpole,
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
    "tetris": {},
    "freeway": {"level": -1},
    "target": {"num_agents": 3, "num_goals": 2},
    "boids": {"num_boids": 5, "avoid_factor": 1.0},
    "trash_pickup": {"grid_size": 8, "num_trash": 6, "max_steps": 50, "agent_sight_range": 3},
    "convert": {"num_agents": 6, "num_factories": 8, "num_resources": 3, "width": 600, "height": 400},
    "checkers": {},
    "tripletriad": {},
    "blastar": {"lives": 1},
    "pacman": {},
    "rware": {"num_requested_shelves": 16},
    "go": {"grid_size": 5},
}


def make(name: str, num_envs: int = 4, **kwargs) -> NativeEnv:
    return ocean.make_env(name, num_envs=num_envs, **{**SMALL[name], **kwargs})


def random_actions(env: NativeEnv, rng: np.random.Generator) -> np.ndarray:
    space = env.single_action_space
    if isinstance(space, gymnasium.spaces.Discrete):
        return rng.integers(0, space.n, env.num_agents).astype(space.dtype)
    if isinstance(space, gymnasium.spaces.MultiDiscrete):
        return rng.integers(0, space.nvec, (env.num_agents, *space.shape)).astype(space.dtype)
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
        "except EnvironmentSetupError as e:\n    assert \"'.[native]'\" in str(e), e\n"
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
    # A game that never ends (``continuing``) reports events as its episodes (3.0's convention):
    # no flag marks them.
    continuing = getattr(env, "continuing", False)
    assert (done > 0 or continuing) and infos
    if continuing:
        assert done == 0
    else:
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


def test_log_totals_sum_the_rows_and_clear_only_after_episodes():
    from pufferlib.environments.ocean.native import core

    log = np.arange(28, dtype=np.float64).reshape(7, 4)
    totals = np.zeros(4)
    assert core.take_log_totals(log, totals) == sum(range(0, 28, 4))
    np.testing.assert_array_equal(totals, np.arange(28.0).reshape(7, 4).sum(axis=0))
    assert not log.any()
    pending = np.zeros((5, 5))
    pending[2, core.LOG_EXTRA] = 3.0  # an extra counted before any episode ended: kept
    assert core.take_log_totals(pending, np.zeros(5)) == 0 and pending[2, core.LOG_EXTRA] == 3.0


def test_step_fast_path_keeps_the_checks():
    env = CartPole(num_envs=4, report_interval=1)
    with pytest.raises(APIUsageError, match="before reset"):
        env.step(env.actions)  # the env's own buffer: the fast path still refuses before reset
    env.reset(seed=0)
    equal_dtype = np.dtype(np.int64, metadata={"tag": 1})  # == int64, not the same object
    assert equal_dtype == env.actions.dtype and equal_dtype is not env.actions.dtype
    obs = env.step(np.ones(4, dtype=equal_dtype))[0].copy()
    reference = CartPole(num_envs=4, report_interval=1)
    reference.reset(seed=0)
    np.testing.assert_array_equal(obs, reference.step(np.ones(4, dtype=np.int64))[0])
    with pytest.raises(APIUsageError, match="shape"):
        env.step(np.ones((4, 1), dtype=np.float32))
    infos = []
    for _ in range(12):  # every step reports (report_interval=1) once episodes end
        infos += env.step(np.ones(4, dtype=np.int64))[4]
    assert infos and sum(info["n"] for info in infos) >= 4


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
    """The checked configuration ``puffer train --env ocean:NAME`` runs, as ``config.json`` has it
    (every section complete: the shipped tables over the typed defaults)."""
    from pufferlib.run import config as run_config

    return run_config.load(f"ocean:{name}").to_dict()


def train_shipped(
    name: str, tmp_path, total_timesteps: int | None = None, env: dict | None = None, **train_overrides
) -> tuple[Any, dict]:
    """Train ``ocean:NAME`` as ``puffer train`` builds it from the shipped configuration, for
    ``total_timesteps`` instead of the table's budget if given, with ``env`` and
    ``train_overrides`` over its env and train sections; (policy, the configuration as a dict)."""
    import torch  # noqa: F401 (only the learning tests need torch)

    from pufferlib.run import build
    from pufferlib.run import config as run_config
    from pufferlib.trainer import seed_everything

    train = {"data_dir": str(tmp_path), **train_overrides}
    if total_timesteps is not None:
        train["total_timesteps"] = total_timesteps
    config = run_config.load(f"ocean:{name}", overrides={"train": train, "env": env or {}})
    seed_everything(config.train.seed)
    trainer = build.make_trainer(config, exp_id="learning", record=False)
    trainer.run(progress=False)
    trainer.close(save=False)
    assert trainer.global_step <= config.train.total_timesteps + config.train.batch_size
    return trainer.policy, config.to_dict()


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


# -- evaluation and the compiled-kernel cache ------------------------------------------------


def test_evaluating_many_games_counts_the_same_episodes_as_one_game():
    """The first episodes to finish among 64 games are the short ones; evaluation must not favour them."""
    from pufferlib import run

    lengths = {}
    for games in (1, 64):
        config = run.load("ocean:cartpole", overrides={"env": {"num_envs": games}})
        result = run.evaluate(config, checkpoint=None, episodes=60)
        assert len(result.episodes) == 60
        lengths[games] = result.means()["episode_length"]
    assert abs(lengths[64] - lengths[1]) < 0.25 * lengths[1], lengths


def test_a_damaged_numba_cache_is_deleted_and_the_kernels_compiled_again(tmp_path):
    code = ("import warnings\nfrom pufferlib.environments import ocean\n"
            "with warnings.catch_warnings(record=True) as caught:\n"
            "    warnings.simplefilter('always')\n"
            "    ocean.make_env('pong', num_envs=2).reset(seed=0)\n"
            "print([str(w.message) for w in caught if 'cache' in str(w.message)])\n")
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    first = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env)
    assert first.returncode == 0, first.stderr
    index = list(tmp_path.rglob("*.nbi"))
    assert index
    for path in index:
        path.write_bytes(path.read_bytes()[:20])  # torn by a crash
    second = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                            env=env)
    assert second.returncode == 0, second.stderr
    assert "was unreadable" in second.stdout and "compiled again" in second.stdout
