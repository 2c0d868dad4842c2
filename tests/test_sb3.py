"""pufferlib.frameworks.sb3: SB3 conventions on puffer vecenvs, and SB3 PPO learning."""

from __future__ import annotations

import functools

import gymnasium
import numpy as np
import pytest
from stable_baselines3 import PPO
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import DummyVecEnv

import catalogue
from pufferlib import vector
from pufferlib.emulation import GymnasiumPufferEnv
from pufferlib.exceptions import APIUsageError
from pufferlib.frameworks.sb3 import AutoResetEnv, SB3VecEnv, make_vec_env
from pufferlib.postprocess import EpisodeStats


def puffer_cartpole(stats: bool = True) -> GymnasiumPufferEnv:
    env = gymnasium.make("CartPole-v1")
    return GymnasiumPufferEnv(EpisodeStats(env) if stats else env)


def puffer_catalogue(observation: str, action: str) -> GymnasiumPufferEnv:
    return GymnasiumPufferEnv(catalogue.make_single(observation, action))


def sb3_cartpole() -> Monitor:
    return Monitor(gymnasium.make("CartPole-v1"))


def run(env, actions):
    """Step ``env`` through ``actions``; everything SB3 would see, as lists."""
    trace = [("reset", env.reset().copy())]
    for action in actions:
        obs, rewards, dones, infos = env.step(action)
        extras = [(i, info["terminal_observation"].copy(), info["TimeLimit.truncated"],
                   info["episode"]["r"], info["episode"]["l"]) for i, info in enumerate(infos) if dones[i]]
        trace.append((obs.copy(), rewards.copy(), dones.copy(), extras))
    return trace


@pytest.mark.timeout(120)
@pytest.mark.parametrize("backend, kwargs", [("serial", {}), ("multiprocessing", {"num_workers": 2})])
def test_make_vec_env_matches_sb3_dummy_vec_env_exactly(backend, kwargs):
    num_envs, steps = 4, 300
    actions = np.random.default_rng(0).integers(0, 2, (steps, num_envs))
    reference = DummyVecEnv([sb3_cartpole] * num_envs)
    reference.seed(7)
    expected = run(reference, actions)
    reference.close()
    puffer = make_vec_env(puffer_cartpole, num_envs=num_envs, backend=backend, seed=7, **kwargs)
    try:
        got = run(puffer, actions)
    finally:
        puffer.close()
    assert np.array_equal(got[0][1], expected[0][1])
    episodes = 0
    for (obs, rewards, dones, extras), (e_obs, e_rewards, e_dones, e_extras) in zip(got[1:], expected[1:]):
        assert np.array_equal(obs, e_obs)
        assert np.array_equal(rewards, e_rewards)
        assert np.array_equal(dones, e_dones)
        assert len(extras) == len(e_extras)
        for (i, terminal, truncated, r, length), (ei, e_terminal, e_truncated, er, e_length) in zip(
                extras, e_extras):
            assert i == ei and truncated == e_truncated and r == er and length == e_length
            assert np.array_equal(terminal, e_terminal)
            episodes += 1
    assert episodes > 20


def test_truncation_is_reported_as_time_limit():
    env = make_vec_env(lambda: GymnasiumPufferEnv(gymnasium.make("CartPole-v1", max_episode_steps=5)),
                       num_envs=2, seed=0)
    env.reset()
    for _ in range(4):
        _, _, dones, _ = env.step(np.array([0, 1]))
        assert not dones.any()
    obs, rewards, dones, infos = env.step(np.array([0, 1]))
    assert dones.all()
    for i in range(2):
        assert infos[i]["TimeLimit.truncated"] is True
        assert infos[i]["episode"]["l"] == 5 and infos[i]["episode"]["r"] == 5.0
        assert not np.array_equal(infos[i]["terminal_observation"], obs[i])  # obs is the reset one
    env.close()


def test_plain_vecenv_translation_and_counted_episode_stats():
    """Emulated envs reset on the next send: SB3 gets the final observation on the done
    step, then the zero-reward reset transition, which does not count as a step."""
    vecenv = vector.make(functools.partial(puffer_cartpole, stats=False), num_envs=2)
    env = SB3VecEnv(vecenv)
    assert not env.self_resetting
    env.seed(1)
    env.reset()
    lengths = np.zeros(2, dtype=int)
    resetting = np.zeros(2, dtype=bool)
    checked = 0
    for _ in range(200):
        obs, rewards, dones, infos = env.step(np.array([1, 1]))
        for i in range(2):
            if resetting[i]:  # the backend's reset transition
                assert rewards[i] == 0 and not dones[i]
                resetting[i], lengths[i] = False, 0
                continue
            lengths[i] += 1
            if dones[i]:
                assert np.array_equal(infos[i]["terminal_observation"], obs[i])
                assert infos[i]["episode"]["l"] == lengths[i]
                assert infos[i]["episode"]["r"] == float(lengths[i])
                resetting[i] = True
                checked += 1
    assert checked >= 5
    env.close()


def test_structured_observations_and_actions_pass_through():
    env = make_vec_env(functools.partial(puffer_catalogue, "nested", "nested"), num_envs=3, seed=0)
    assert env.observation_space == env.vecenv.single_observation_space
    obs = env.reset()
    assert obs.shape == (3, *env.observation_space.shape)
    model = PPO("MlpPolicy", env, n_steps=32, batch_size=32, n_epochs=1, seed=0)
    model.learn(96)
    assert len(model.ep_info_buffer) > 0
    env.close()


def test_async_vecenvs_are_rejected():
    vecenv = vector.make(puffer_cartpole, num_envs=4, num_workers=2, batch_size=2)
    with pytest.raises(APIUsageError, match="synchronous"):
        SB3VecEnv(vecenv)
    vecenv.close()


def test_attribute_access():
    env = make_vec_env(puffer_cartpole, num_envs=2)
    assert env.get_attr("num_agents") == [1, 1]
    assert env.get_attr("render_mode", indices=1) == [None]
    assert env.env_is_wrapped(Monitor) == [True, True]
    with pytest.raises(APIUsageError, match="creator"):
        env.set_attr("foo", 1)
    with pytest.raises(APIUsageError, match="creator"):
        env.env_method("render")
    env.close()


def test_auto_reset_env_wraps_gymnasium_puffer_envs_only():
    with pytest.raises(APIUsageError, match="GymnasiumPufferEnv"):
        AutoResetEnv(gymnasium.make("CartPole-v1"))


def mean_return(episodes) -> float:
    return float(np.mean([episode["r"] for episode in episodes]))


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_sb3_ppo_learns_cartpole_through_the_adapter():
    env = make_vec_env(puffer_cartpole, num_envs=4, seed=0)
    episodes: list[dict] = []
    model = PPO("MlpPolicy", env, n_steps=128, batch_size=128, n_epochs=4, learning_rate=1e-3, seed=0,
                device="cpu")
    original_step_wait = env.step_wait

    def recording_step_wait():
        result = original_step_wait()
        episodes.extend(info["episode"] for info in result[3] if "episode" in info)
        return result

    env.step_wait = recording_step_wait
    model.learn(20_000)
    env.close()
    first, last = mean_return(episodes[:40]), mean_return(episodes[-20:])
    assert first < 40, first
    assert last > 2.5 * first and last > 100, (first, last)


def rgb_cartpole() -> GymnasiumPufferEnv:
    return GymnasiumPufferEnv(EpisodeStats(gymnasium.make("CartPole-v1", render_mode="rgb_array")))


def test_render_and_sb3s_video_recorder_get_images(tmp_path):
    from stable_baselines3.common.vec_env import VecVideoRecorder

    env = make_vec_env(rgb_cartpole, num_envs=2)
    env.reset()
    images = env.get_images()
    assert len(images) == 2 and images[0].shape == (400, 600, 3)
    assert env.render().shape[2] == 3  # SB3 tiles the images
    recorder = VecVideoRecorder(env, str(tmp_path), record_video_trigger=lambda step: step == 0,
                                video_length=5)
    recorder.reset()
    for _ in range(6):
        recorder.step(np.zeros(2, dtype=np.int64))
    recorder.close()
    assert list(tmp_path.glob("*.mp4"))


def test_rendering_envs_of_other_processes_is_refused_with_the_fix():
    env = make_vec_env(rgb_cartpole, num_envs=2, backend="multiprocessing", num_workers=2)
    try:
        with pytest.raises(APIUsageError, match="Serial backend"):
            env.get_images()
    finally:
        env.close()
