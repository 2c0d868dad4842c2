"""Ocean sanity environments: pufferlib.environments.ocean."""

from __future__ import annotations

import pickle
import random
import time
import warnings

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from hypothesis import given, settings
from hypothesis import strategies as st
from pettingzoo.test import parallel_api_test

import pufferlib
from pufferlib.emulation import GymnasiumPufferEnv, PettingZooPufferEnv, nativize
from pufferlib.environments import ocean
from pufferlib.environments.ocean.bandit import Bandit
from pufferlib.environments.ocean.environment import MAKE_FNS
from pufferlib.environments.ocean.memory import Memory
from pufferlib.environments.ocean.multiagent import Multiagent
from pufferlib.environments.ocean.password import Password
from pufferlib.environments.ocean.performance import Performance, PerformanceEmpiric
from pufferlib.environments.ocean.spaces import Spaces
from pufferlib.environments.ocean.squared import MOVES, Squared, SquaredNative, perimeter_cells
from pufferlib.environments.ocean.stochastic import Stochastic
from pufferlib.exceptions import APIUsageError
from pufferlib.namespace import namespace
from pufferlib.puffer_env import PufferEnv

SINGLE_AGENT_ENVS = {
    "squared": lambda: Squared(),
    "squared_many": lambda: Squared(distance_to_target=2, num_targets=5),
    "bandit": lambda: Bandit(),
    "memory": lambda: Memory(),
    "password": lambda: Password(),
    "stochastic": lambda: Stochastic(horizon=20),
    "spaces": lambda: Spaces(),
    "performance": lambda: Performance(bandwidth=8),
    "performance_empiric": lambda: PerformanceEmpiric(count_n=10, count_std=2, bandwidth=4),
}
# Envs whose trajectories depend on the reset seed.
SEEDED_ENVS = ["squared", "squared_many", "bandit", "memory", "spaces", "performance", "performance_empiric"]
ALL_NAMES = ["squared", "bandit", "memory", "password", "stochastic", "multiagent", "spaces",
             "performance", "performance_empiric"]


def toward(agent, target):
    """The move index that steps from ``agent`` straight toward ``target`` (king move)."""
    step = tuple(int(np.sign(t - a)) for a, t in zip(agent, target))
    return next(i for i, move in enumerate(MOVES) if tuple(move) == step)


def away(agent, target):
    step = tuple(-int(np.sign(t - a)) or 1 for a, t in zip(agent, target))
    return next(i for i, move in enumerate(MOVES) if tuple(move) == step)


def rollout(env, actions, seed):
    """Observations (copied), rewards, flags and infos of ``env`` under fixed ``actions``."""
    obs, info = env.reset(seed=seed)
    trace = [(pickle.dumps(obs), info)]
    for action in actions:
        obs, reward, terminal, truncated, info = env.step(action)
        trace.append((pickle.dumps(obs), reward, terminal, truncated, info))
        if terminal or truncated:
            obs, info = env.reset()
            trace.append((pickle.dumps(obs), info))
    return trace


# ------------------------------------------------------------------------------------
# Squared


@pytest.mark.parametrize("distance", [1, 2, 3, 5])
def test_squared_optimal_play_earns_1_over_d_up_to_1_for_every_target(distance):
    env = Squared(distance_to_target=distance)
    for target in perimeter_cells(distance):
        target = tuple(int(x) for x in target)
        obs, _ = env.reset(options={"targets": [target]})
        assert obs[target] == 1 and obs[distance, distance] == -1 and (obs != 0).sum() == 2
        rewards = []
        for _ in range(distance):
            obs, reward, terminal, truncated, info = env.step(toward(env.agent, target))
            rewards.append(reward)
        expected = [(k + 1) / distance for k in range(distance)]
        assert rewards == pytest.approx(expected)
        assert terminal and not truncated and info == {"score": 1.0}
        # The target is gone and the agent is back at the centre.
        assert obs[target] == 0 and obs[distance, distance] == -1 and (obs != 0).sum() == 1


@pytest.mark.parametrize("distance", [1, 3, 4])
def test_squared_moving_away_earns_minus_1_over_d_down_to_minus_1(distance):
    env = Squared(distance_to_target=distance)
    for target in perimeter_cells(distance):
        target = tuple(int(x) for x in target)
        env.reset(options={"targets": [target]})
        centre = (distance, distance)
        rewards = [env.step(away(centre, target))[1] for _ in range(distance)]
        assert rewards == pytest.approx([-(k + 1) / distance for k in range(distance)])


def test_squared_optimal_return_is_2_with_default_arguments():
    env = ocean.make_env("squared")
    inner = env.env.unwrapped
    env.reset(seed=123)
    target = inner.targets[0]
    rewards = [env.step(toward(inner.agent, target))[1] for _ in range(3)]
    assert rewards == pytest.approx([1 / 3, 2 / 3, 1])
    assert env.done


def test_squared_episode_stats_of_an_optimal_episode():
    env = ocean.make_env("squared", distance_to_target=3, num_targets=1)
    inner = env.env.unwrapped
    env.reset(seed=5)
    for _ in range(3):
        _, _, _, _, info = env.step(toward(inner.agent, inner.targets[0]))
    assert info == {"score": 1.0, "episode_return": pytest.approx(2.0), "episode_length": 3}


def test_squared_several_targets_removed_one_by_one():
    env = Squared(distance_to_target=2, num_targets=3)
    obs, _ = env.reset(seed=0)
    assert env.max_ticks == 6 and (obs == 1).sum() == 3
    rewards = []
    for _ in range(6):
        nearest = min(env.targets, key=lambda t: max(abs(t[0] - env.agent[0]), abs(t[1] - env.agent[1])))
        obs, reward, terminal, _, info = env.step(toward(env.agent, nearest))
        rewards.append(reward)
        assert (obs == 1).sum() == len(env.targets)
    assert rewards == pytest.approx([0.5, 1.0] * 3)
    assert terminal and info == {"score": 1.0}


def test_squared_partial_score_and_perimeter_returns_to_centre():
    env = Squared(distance_to_target=2, num_targets=2)
    obs, _ = env.reset(options={"targets": [(0, 0), (4, 4)]})
    env.step(toward((2, 2), (0, 0)))  # (1, 1)
    obs, _, _, _, _ = env.step(toward((1, 1), (0, 0)))  # reached (0, 0): back to the centre
    assert env.agent == (2, 2) and obs[0, 0] == 0 and env.targets == [(4, 4)]
    env.step(1)  # (2, 3)
    obs, reward, terminal, _, info = env.step(1)  # (2, 4): perimeter without a target
    assert reward == pytest.approx(1 - 2 / 2) and env.agent == (2, 2) and obs[2, 4] == 0
    assert obs[2, 2] == -1 and (obs != 0).sum() == 2
    assert terminal and info == {"score": 0.5}


def test_squared_targets_are_distinct_perimeter_cells_and_vary_with_seed():
    env = Squared(distance_to_target=3, num_targets=6)
    perimeter = {tuple(int(x) for x in cell) for cell in perimeter_cells(3)}
    layouts = set()
    for seed in range(20):
        env.reset(seed=seed)
        assert len(set(env.targets)) == 6 and set(env.targets) <= perimeter
        layouts.add(tuple(sorted(env.targets)))
    assert len(layouts) == 20


def test_squared_rejects_bad_arguments_and_actions():
    with pytest.raises(APIUsageError, match="distance_to_target"):
        Squared(distance_to_target=0)
    with pytest.raises(APIUsageError, match=r"num_targets must be an integer in \[1, 8\]"):
        Squared(distance_to_target=1, num_targets=9)
    with pytest.raises(APIUsageError, match="render_mode"):
        Squared(render_mode="human")
    env = Squared()
    with pytest.raises(APIUsageError, match="before reset"):
        env.step(0)
    env.reset(seed=0)
    for action in (-1, 8):
        with pytest.raises(APIUsageError, match=r"\[0, 8\)"):
            env.step(action)
    with pytest.raises(APIUsageError, match="perimeter"):
        env.reset(options={"targets": [(3, 3)]})


def test_squared_render():
    env = Squared(distance_to_target=2, render_mode="ansi")
    env.reset(seed=0)
    text = env.render()
    assert text.count("\n") == 5 and text.count("██") == 25 and text.count("\033[91m") == 1
    image = Squared(distance_to_target=2, render_mode="rgb_array")
    image.reset(seed=0)
    frame = image.render()
    assert frame.shape == (80, 80, 3) and frame.dtype == np.uint8
    assert Squared().render() is None


# ------------------------------------------------------------------------------------
# Native Squared


def test_native_squared_is_a_puffer_env_writing_in_place():
    env = ocean.make_env("squared_native", num_envs=4)
    assert isinstance(env, PufferEnv) and env.num_agents == 4
    assert env.single_observation_space.shape == (7, 7)
    obs, infos = env.reset(seed=0)
    assert obs is env.observations and obs.shape == (4, 7, 7) and infos == []
    assert ((obs == -1).sum(axis=(1, 2)) == 1).all() and ((obs == 1).sum(axis=(1, 2)) == 1).all()
    out = env.step(np.zeros(4, dtype=np.int64))
    assert out[0] is env.observations and out[1] is env.rewards and out[2] is env.terminals


def test_native_squared_adopts_backend_buffers():
    env = SquaredNative(num_envs=3, distance_to_target=2)
    shared = namespace(
        observations=np.zeros((5, 5, 5), np.float32)[1:4],
        rewards=np.zeros(5, np.float32)[1:4],
        terminals=np.zeros(5, bool)[1:4],
        truncations=np.zeros(5, bool)[1:4],
        masks=np.zeros(5, bool)[1:4],
    )
    env.buf = shared
    env.reset(seed=0)
    shared.rewards[:] = 7.0
    shared.terminals[:] = True
    env.step(np.array([0, 1, 2]))
    assert np.shares_memory(env.observations, shared.observations)
    assert (shared.observations == -1).sum() == 3 and shared.masks.all()
    assert (shared.rewards <= 1.0).all() and not shared.terminals.any()


@pytest.mark.parametrize("distance, num_targets", [(3, 1), (2, 3), (1, 8), (4, 2)])
def test_native_squared_matches_gymnasium_squared_seeded_the_same(distance, num_targets):
    native = SquaredNative(num_envs=1, distance_to_target=distance, num_targets=num_targets)
    single = ocean.make_env("squared", distance_to_target=distance, num_targets=num_targets)
    rng = np.random.default_rng(distance)
    native_obs, _ = native.reset(seed=11)
    single_obs, _ = single.reset(seed=11)
    assert np.array_equal(native_obs[0], single_obs)
    episodes = 0
    for _ in range(12 * num_targets * distance):
        action = rng.integers(8, size=1)
        native_obs, rewards, terminals, truncations, infos = native.step(action)
        single_obs, reward, terminal, truncated, info = single.step(action[0])
        assert rewards[0] == np.float32(reward)
        assert terminals[0] == terminal and truncations[0] == truncated
        if terminal:
            episodes += 1
            assert infos == [pytest.approx(info)]
            single_obs, _ = single.reset()
        else:
            assert infos == []
        assert np.array_equal(native_obs[0], single_obs)
    assert episodes == 12


def _targets_in(grid):
    return [tuple(int(x) for x in cell) for cell in np.argwhere(grid == 1)]


@settings(max_examples=25, deadline=None)
@given(distance=st.integers(1, 4), num_targets=st.integers(1, 4), num_envs=st.integers(1, 9),
       seed=st.integers(0, 2**31), steps=st.integers(1, 40))
def test_native_squared_equals_gymnasium_games_with_the_same_targets(distance, num_targets, num_envs,
                                                                     seed, steps):
    num_targets = min(num_targets, 8 * distance)
    native = SquaredNative(num_envs=num_envs, distance_to_target=distance, num_targets=num_targets)
    games = [Squared(distance_to_target=distance, num_targets=num_targets) for _ in range(num_envs)]
    native_obs, _ = native.reset(seed=seed)
    for i, game in enumerate(games):
        game.reset(options={"targets": _targets_in(native_obs[i])})
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        actions = rng.integers(8, size=num_envs)
        native_obs, rewards, terminals, _, infos = native.step(actions)
        finished = iter(infos)
        for i, game in enumerate(games):
            obs, reward, terminal, _, info = game.step(int(actions[i]))
            assert rewards[i] == np.float32(reward) and terminals[i] == terminal
            if terminal:
                assert next(finished)["score"] == info["score"]
                obs, _ = game.reset(options={"targets": _targets_in(native_obs[i])})
            assert np.array_equal(native_obs[i], obs)
        assert next(finished, None) is None


def test_native_squared_episode_infos_and_auto_reset():
    env = SquaredNative(num_envs=5, distance_to_target=3)
    env.reset(seed=3)
    for tick in range(1, 7):
        _, rewards, terminals, _, infos = env.step(np.zeros(5, dtype=np.int64))
        assert terminals.all() == (tick % 3 == 0)
        if tick % 3 == 0:
            assert len(infos) == 5
            assert all(set(info) == {"score", "episode_return", "episode_length"} for info in infos)
            assert all(info["episode_length"] == 3 for info in infos)
            # Reset in the same step: every game shows a fresh start.
            assert (env.observations[:, 3, 3] == -1).all()
        else:
            assert infos == []


def test_native_squared_rejects_bad_actions_and_arguments():
    env = SquaredNative(num_envs=2)
    with pytest.raises(APIUsageError, match="before reset"):
        env.step(np.zeros(2, dtype=np.int64))
    env.reset(seed=0)
    with pytest.raises(APIUsageError, match=r"shape \(2,\)"):
        env.step(np.zeros(3, dtype=np.int64))
    with pytest.raises(APIUsageError, match=r"\[0, 8\)"):
        env.step(np.array([0, 8]))
    with pytest.raises(APIUsageError, match="num_envs"):
        SquaredNative(num_envs=0)


def test_native_squared_seeding():
    a, b, c = (SquaredNative(num_envs=6) for _ in range(3))
    actions = np.random.default_rng(0).integers(8, size=(10, 6))
    traces = []
    for env, seed in ((a, 1), (b, 1), (c, 2)):
        obs, _ = env.reset(seed=seed)
        trace = [obs.copy()]
        for row in actions:
            trace.append(env.step(row)[0].copy())
        traces.append(np.stack(trace))
    assert np.array_equal(traces[0], traces[1])
    assert not np.array_equal(traces[0], traces[2])


def test_native_squared_render():
    env = SquaredNative(num_envs=2, render_mode="ansi")
    env.reset(seed=0)
    assert env.render().count("██") == 49
    env = SquaredNative(num_envs=2, render_mode="rgb_array")
    env.reset(seed=0)
    assert env.render().shape == (112, 112, 3)


# ------------------------------------------------------------------------------------
# Bandit


def test_bandit_winner_is_fixed_per_seed():
    env = Bandit(num_actions=10, reward_noise=0)
    winners = set()
    for seed in range(5):
        env.reset(seed=seed)
        rewards = []
        for arm in range(10):
            env.reset()
            rewards.append(env.step(arm)[1])
        assert sorted(rewards) == [0.0] * 9 + [1.0]
        winners.add(int(np.argmax(rewards)))
    assert winners == {Bandit(num_actions=10).solution_idx}
    assert len({Bandit(num_actions=10, hard_fixed_seed=s).solution_idx for s in range(20)}) > 1


def test_bandit_winner_from_reset_seed_when_not_hard_fixed():
    env = Bandit(num_actions=10, hard_fixed_seed=None)
    winners = []
    for seed in range(20):
        env.reset(seed=seed)
        winner = env.solution_idx
        env.reset()
        assert env.solution_idx == winner
        twin = Bandit(num_actions=10, hard_fixed_seed=None)
        twin.reset(seed=seed)
        assert twin.solution_idx == winner
        winners.append(winner)
    assert len(set(winners)) > 1


def test_bandit_reward_is_correct_plus_noise_times_scale():
    env = Bandit(num_actions=4, reward_scale=2.0, reward_noise=0.5)
    env.reset(seed=0)
    winner = env.solution_idx
    hits, misses = [], []
    for _ in range(4000):
        env.reset()
        _, reward, terminal, truncated, info = env.step(winner)
        assert terminal and not truncated and info == {"score": 1.0}
        hits.append(reward)
        env.reset()
        _, reward, _, _, info = env.step((winner + 1) % 4)
        assert info == {"score": 0.0}
        misses.append(reward)
    assert np.mean(hits) == pytest.approx(2.0, abs=0.05) and np.std(hits) == pytest.approx(1.0, abs=0.05)
    assert np.mean(misses) == pytest.approx(0.0, abs=0.05) and np.std(misses) == pytest.approx(1.0, abs=0.05)


# ------------------------------------------------------------------------------------
# Memory


def perfect_memory_episode(env, seed):
    obs, _ = env.reset(seed=seed)
    seen = [int(obs[0] > 0)]
    rewards = []
    done = False
    tick = 1
    while not done:
        if tick < env.mem_length:
            action = 0
        elif tick >= env.mem_length + env.mem_delay:
            action = seen[tick - env.mem_length - env.mem_delay]
        else:
            action = 1
        obs, reward, terminal, truncated, info = env.step(action)
        assert env.observation_space.contains(obs)
        if tick < env.mem_length:
            seen.append(int(obs[0] > 0))
        else:
            assert obs[0] == 0
        rewards.append(reward)
        done = terminal or truncated
        tick += 1
    return rewards, info, seen


@pytest.mark.parametrize("mem_length, mem_delay", [(1, 0), (2, 2), (3, 1), (5, 4)])
def test_memory_perfect_return_is_2_mem_length_minus_1(mem_length, mem_delay):
    env = Memory(mem_length=mem_length, mem_delay=mem_delay)
    for seed in range(10):
        rewards, info, seen = perfect_memory_episode(env, seed)
        assert len(rewards) == 2 * mem_length + mem_delay - 1
        assert sum(rewards) == 2 * mem_length - 1 and info == {"score": 1.0}
        assert seen == env.bits.tolist()


def test_memory_wrong_bit_fails_the_score():
    env = Memory(mem_length=2, mem_delay=1)
    env.reset(seed=0)
    bits = env.bits.tolist()
    env.step(0)  # listen
    env.step(0)  # wait
    env.step(bits[0])
    _, reward, terminal, _, info = env.step(1 - bits[1])
    assert reward == 0.0 and terminal and info == {"score": 0.0}


def test_memory_bits_vary_with_seed():
    env = Memory(mem_length=8)
    layouts = set()
    for seed in range(10):
        env.reset(seed=seed)
        layouts.add(tuple(env.bits))
    assert len(layouts) > 5


# ------------------------------------------------------------------------------------
# Password


@pytest.mark.parametrize("length", [1, 3, 5])
def test_password_observation_inside_space_and_reward_only_when_all_correct(length):
    env = Password(password_length=length)
    solution = env.solution.astype(int).tolist()
    rng = np.random.default_rng(0)
    for guess in [solution, *(rng.integers(0, 2, length).tolist() for _ in range(20))]:
        obs, _ = env.reset()
        assert env.observation_space.contains(obs) and (obs == -1).all()
        for i, digit in enumerate(guess):
            obs, reward, terminal, _, info = env.step(digit)
            assert env.observation_space.contains(obs)
            assert obs[: i + 1].tolist() == guess[: i + 1] and (obs[i + 1:] == -1).all()
            if i < length - 1:
                assert reward == 0.0 and not terminal and info == {}
        expected = float(guess == solution)
        assert terminal and reward == expected and info == {"score": expected}


def test_password_is_fixed_by_hard_seed():
    assert np.array_equal(Password(8).solution, Password(8).solution)
    assert len({tuple(Password(8, hard_fixed_seed=s).solution) for s in range(10)}) > 1
    env = Password(8, hard_fixed_seed=None)
    env.reset(seed=4)
    solution = env.solution.copy()
    env.reset()
    assert np.array_equal(env.solution, solution)


def test_puffer_password_observation_passes_the_space_check():
    env = GymnasiumPufferEnv(env=Password(), check=True)
    env.reset(seed=0)
    while not env.done:
        env.step(1)


# ------------------------------------------------------------------------------------
# Stochastic


@pytest.mark.parametrize("horizon", [1, 7, 100])
def test_stochastic_honours_the_horizon(horizon):
    env = ocean.make_env("stochastic", horizon=horizon)
    env.reset(seed=0)
    steps = 0
    while not env.done:
        _, _, terminal, truncated, info = env.step(steps % 2)
        steps += 1
    assert steps == horizon and terminal and not truncated
    assert info["episode_length"] == horizon and "score" in info


def test_stochastic_reward_rule():
    env = Stochastic(p=0.7, horizon=10)
    env.reset(seed=0)
    count = 0
    for tick, action in enumerate([0, 1, 0, 0, 1, 0, 1, 1, 0, 0], start=1):
        _, reward, terminal, _, info = env.step(action)
        count += action == 0
        fraction = count / tick
        right_side = (action == 0 and fraction < 0.7) or (action == 1 and fraction >= 0.7)
        assert reward == pytest.approx(1 - (0.7 - fraction) ** 2 if right_side else 0.0)
    assert terminal and info["score"] == pytest.approx(1 - (0.7 - 0.6) ** 2)


def test_stochastic_optimal_policy_scores_near_one():
    env = Stochastic(p=0.7, horizon=1000)
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    done = False
    while not done:
        _, _, done, _, info = env.step(int(rng.random() >= 0.7))
    assert info["score"] > 0.998
    env.reset()
    for _ in range(1000):
        _, _, done, _, info = env.step(0)
    assert info["score"] == pytest.approx(1 - 0.3**2)


# ------------------------------------------------------------------------------------
# Multiagent


def test_multiagent_reward_rule():
    env = Multiagent()
    for a1 in (0, 1):
        for a2 in (0, 1):
            obs, _ = env.reset(seed=0)
            assert obs[1][0] == 0.0 and obs[2][0] == 1.0
            _, rewards, terminals, truncations, infos = env.step({1: a1, 2: a2})
            assert rewards == {1: float(a1 == 0), 2: float(a2 == 1)}
            assert terminals == {1: True, 2: True} and truncations == {1: False, 2: False}
            assert infos == {1: {"score": rewards[1]}, 2: {"score": rewards[2]}}
            assert env.agents == []


def test_multiagent_passes_pettingzoo_parallel_api_test():
    parallel_api_test(Multiagent(), num_cycles=50)


def test_multiagent_puffer_env():
    env = ocean.make_env("multiagent")
    assert isinstance(env, PettingZooPufferEnv) and env.num_agents == 2
    obs, _ = env.reset(seed=0)
    assert obs[1].tolist() == [0.0] and obs[2].tolist() == [1.0]
    _, rewards, terminals, _, infos = env.step(np.array([0, 1]))
    assert rewards == {1: 1.0, 2: 1.0} and env.done
    assert infos[1] == {"score": 1.0, "episode_return": 1.0, "episode_length": 1}


# ------------------------------------------------------------------------------------
# Spaces


def test_spaces_reward_is_half_per_correct_sign():
    env = Spaces()
    for seed in range(30):
        obs, _ = env.reset(seed=seed)
        image_sign = int(obs["image"].sum() > 0)
        flat_sign = int(obs["flat"].sum() > 0)
        for image in (0, 1):
            for flat in (0, 1):
                env.reset(seed=seed)
                _, reward, terminal, _, info = env.step({"image": image, "flat": flat})
                expected = 0.5 * (image == image_sign) + 0.5 * (flat == flat_sign)
                assert reward == expected and terminal and info == {"score": expected}


def test_spaces_flattened_action_order_is_flat_then_image():
    env = ocean.make_env("spaces")
    assert env.single_action_space == gymnasium.spaces.MultiDiscrete([2, 2])
    assert env.single_observation_space.shape == (108,) and env.single_observation_space.dtype == np.uint8
    inner = env.env.unwrapped
    for seed in range(10):
        flat_obs, _ = env.reset(seed=seed)
        native = nativize(flat_obs, inner.observation_space, env.obs_dtype)
        assert np.array_equal(native["image"], inner.observation["image"])
        assert np.array_equal(native["flat"], inner.observation["flat"])
        _, reward, _, _, _ = env.step(np.array([inner.flat_sign, 1 - inner.image_sign]))
        assert reward == 0.5
        env.reset(seed=seed)
        _, reward, _, _, _ = env.step(np.array([inner.flat_sign, inner.image_sign]))
        assert reward == 1.0


# ------------------------------------------------------------------------------------
# Performance


def test_performance_step_costs_at_least_the_delay():
    env = ocean.make_env("performance", delay_mean=0.01, bandwidth=16)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (16,) and obs.dtype == np.float32
    start = time.process_time()
    for _ in range(5):
        env.step(0)
    assert time.process_time() - start >= 0.05


def test_performance_empiric_steps_and_never_ends():
    env = ocean.make_env("performance_empiric", count_n=100, count_std=10, bandwidth=3)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (3,)
    for _ in range(50):
        _, reward, terminal, truncated, info = env.step(1)
        assert (reward, terminal, truncated, info) == (0.0, False, False, {})


@pytest.mark.parametrize("cls, kwargs", [(Performance, {"delay_mean": -1}),
                                         (PerformanceEmpiric, {"bandwidth": 0})])
def test_performance_rejects_bad_arguments(cls, kwargs):
    with pytest.raises(APIUsageError):
        cls(**kwargs)


# ------------------------------------------------------------------------------------
# Every env


@pytest.mark.parametrize("name", sorted(SINGLE_AGENT_ENVS))
def test_gymnasium_env_checker(name):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(SINGLE_AGENT_ENVS[name](), skip_render_check=True)


@pytest.mark.parametrize("cls, mode", [(Squared, "ansi"), (Squared, "rgb_array"), (Bandit, "ansi"),
                                       (Memory, "ansi"), (Password, "ansi"), (Stochastic, "ansi"),
                                       (Spaces, "ansi")])
def test_gymnasium_env_checker_with_rendering(cls, mode):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", message=".*alternative render modes.*")
        check_env(cls(render_mode=mode))


@pytest.mark.parametrize("name", sorted(SINGLE_AGENT_ENVS))
def test_same_seed_same_trajectory_and_global_rngs_untouched(name):
    actions_space = SINGLE_AGENT_ENVS[name]().action_space
    actions_space.seed(0)
    actions = [actions_space.sample() for _ in range(40)]
    np.random.seed(1234)
    random.seed(1234)
    numpy_state, python_state = np.random.get_state(), random.getstate()
    first = rollout(SINGLE_AGENT_ENVS[name](), actions, seed=7)
    second = rollout(SINGLE_AGENT_ENVS[name](), actions, seed=7)
    assert first == second
    if name in SEEDED_ENVS:
        assert rollout(SINGLE_AGENT_ENVS[name](), actions, seed=8) != first
    after = np.random.get_state()
    assert all(np.array_equal(a, b) for a, b in zip(after, numpy_state))
    assert random.getstate() == python_state


@pytest.mark.parametrize("name", ALL_NAMES)
def test_make_env_wraps_in_episode_stats_and_puffer_wrapper(name):
    env = ocean.make_env(name)
    if name == "multiagent":
        assert isinstance(env, PettingZooPufferEnv)
        assert type(env.env).__name__ == "MultiagentEpisodeStats"
    else:
        assert isinstance(env, GymnasiumPufferEnv)
        assert type(env.env).__name__ == "EpisodeStats"
    obs, _ = env.reset(seed=0)
    assert ocean.env_creator(name) is MAKE_FNS[name]
    assert pickle.loads(pickle.dumps(ocean.env_creator(name))) is MAKE_FNS[name]
    assert ocean.make is ocean.make_env


@pytest.mark.parametrize("name", ["squared", "bandit", "memory", "password", "stochastic", "spaces",
                                  "multiagent"])
def test_ansi_render(name):
    env = ocean.make_env(name, render_mode="ansi")
    assert env.render_mode == "ansi"
    env.reset(seed=0)
    env.step(np.zeros(2, dtype=np.int64) if name in ("spaces", "multiagent") else 0)
    text = env.render()
    assert isinstance(text, str) and "██" in text and text.endswith("\n")


@pytest.mark.parametrize("name", [None, "nope", "Squared", 3])
def test_unknown_env_name_lists_valid_names(name):
    with pytest.raises(APIUsageError, match="squared, squared_native, bandit"):
        ocean.env_creator(name)
    with pytest.raises(APIUsageError, match="Unknown Ocean environment"):
        ocean.make_env(name)


def test_unknown_kwarg_is_an_error():
    with pytest.raises(TypeError, match="unexpected keyword"):
        ocean.make_env("squared", distance=3)


def test_package_exports():
    assert callable(ocean.env_creator) and callable(ocean.make_env)
    assert pufferlib.PufferEnv is PufferEnv


@pytest.mark.parametrize("name", ["squared", "squared_native", "memory", "spaces", "multiagent", "bandit"])
def test_policy_and_recurrent_run_on_ocean_observations(name):
    import torch

    env = ocean.make_env(name)
    obs, _ = env.reset(seed=0)
    batch = np.stack(list(obs.values())) if isinstance(obs, dict) else np.asarray(obs)
    if batch.shape == env.single_observation_space.shape:
        batch = batch[None]
    policy = ocean.Policy(env)
    logits, value = policy(torch.as_tensor(batch))
    assert value.shape == (len(batch), 1)
    recurrent = ocean.Recurrent(env, ocean.Policy(env))
    logits, value, (h, c) = recurrent(torch.as_tensor(batch), None)
    assert value.shape == (len(batch), 1) and h.shape == (1, len(batch), 128)
