"""MuJoCo binding: pufferlib.environments.mujoco (Gymnasium locomotion, continuous actions)."""

from __future__ import annotations

import functools
import os
import pickle

import gymnasium
import numpy as np
import pytest
from helpers_a import (
    check_backends_agree,
    check_episode_infos,
    check_missing_dependency,
    check_policy,
    require,
)

from pufferlib.environments import mujoco
from pufferlib.environments.mujoco.environment import EmptyResetInfo
from pufferlib.exceptions import APIUsageError
from pufferlib.postprocess import EpisodeStats


@pytest.fixture
def installed():
    require("mujoco", "mujoco")


needs_mujoco = pytest.mark.usefixtures("installed")


@needs_mujoco
@pytest.mark.parametrize("name, env_id", [
    ("HalfCheetah-v5", "HalfCheetah-v5"), ("halfcheetah", "HalfCheetah-v5"),
    ("half_cheetah", "HalfCheetah-v5"), ("Hopper-v4", "Hopper-v4"), ("walker2d", "Walker2d-v5"),
])
def test_names(name, env_id):
    assert mujoco.environment.env_id(name) == env_id


@needs_mujoco
@pytest.mark.parametrize("name", ["CartPole-v1", "cheetah", "HalfCheetah-v99"])
def test_unknown_name_lists_the_tasks(name):
    with pytest.raises(APIUsageError, match="Ant-v.*HalfCheetah-v5"):
        mujoco.env_creator(name)


@needs_mujoco
def test_spaces_and_wrappers():
    env = mujoco.make_env("HalfCheetah-v5", normalize=True)
    obs, info = env.reset(seed=0)
    assert isinstance(env.env, EmptyResetInfo) and info == {}
    assert env.single_observation_space.shape == (17,) and obs.dtype == np.float32
    assert env.single_action_space.shape == (6,) and env.single_action_space.dtype == np.float32
    # Observations are normalised and clipped.
    env.single_action_space.seed(0)
    for _ in range(50):
        obs = env.step(env.single_action_space.sample())[0]
        assert np.abs(obs).max() <= 10.0


@needs_mujoco
def test_stats_report_the_raw_return_under_reward_normalisation():
    raw = mujoco.make_env("Hopper-v5", normalize=False)
    normalized = mujoco.make_env("Hopper-v5", normalize=True)
    raw.reset(seed=2)
    normalized.reset(seed=2)
    action = np.full(3, 0.8, np.float32)
    raw_sum = scaled_sum = 0.0
    while not raw.done:
        _, reward, _, _, raw_info = raw.step(action)
        _, scaled, terminal, _, info = normalized.step(action)
        raw_sum, scaled_sum = raw_sum + reward, scaled_sum + scaled
    assert normalized.done and terminal  # the hopper fell
    assert info["episode_length"] == raw_info["episode_length"] < 1000
    assert info["episode_return"] == pytest.approx(raw_info["episode_return"]) == pytest.approx(raw_sum)
    assert scaled_sum != pytest.approx(raw_sum)


@needs_mujoco
def test_out_of_bounds_actions_are_clipped():
    inside = mujoco.make_env("Hopper-v5", normalize=False)
    outside = mujoco.make_env("Hopper-v5", normalize=False)
    inside.reset(seed=2)
    outside.reset(seed=2)
    for _ in range(5):
        expected = inside.step(np.ones(3, np.float32))[0].copy()
        np.testing.assert_array_equal(outside.step(np.full(3, 5.0, np.float32))[0], expected)


@needs_mujoco
@pytest.mark.timeout(180)
def test_through_serial_and_multiprocessing():
    creator = functools.partial(mujoco.env_creator("HalfCheetah-v5"), max_episode_steps=60)
    episodes = check_episode_infos(check_backends_agree(creator))
    assert len(episodes) == 2 * 3 and all(e["episode_length"] == 60 for e in episodes)


@needs_mujoco
def test_seeded_and_picklable():
    creator = pickle.loads(pickle.dumps(mujoco.env_creator("Walker2d-v5")))
    first, second = creator(normalize=False), creator(normalize=False)
    a = first.reset(seed=3)[0].copy()
    np.testing.assert_array_equal(a, second.reset(seed=3)[0])
    assert not np.array_equal(a, second.reset(seed=4)[0])


@needs_mujoco
def test_episode_stats_sit_below_the_normalisation():
    outer, inner = [], mujoco.make_env("HalfCheetah-v5", normalize=True).env
    while not isinstance(inner, EpisodeStats):
        outer.append(type(inner))
        inner = inner.env
    assert gymnasium.wrappers.NormalizeReward in outer and gymnasium.wrappers.ClipAction in outer


@needs_mujoco
def test_policy_forward_and_recurrent():
    check_policy(mujoco, mujoco.env_creator("HalfCheetah-v5"))


def test_missing_dependency_names_the_extra(monkeypatch):
    calls = [lambda: mujoco.env_creator("HalfCheetah-v5"), lambda: mujoco.make_env("Hopper-v5")]
    check_missing_dependency(monkeypatch, ["mujoco"], "mujoco", calls)


def test_halfcheetah_and_hopper_ship_the_faster_setting_and_keep_cleanrls_for_parity():
    from pufferlib import experiment

    for task in ("halfcheetah", "hopper"):
        fast, parity = experiment.load_config(task), experiment.load_config(f"{task}-cleanrl")
        assert experiment.load_config(fast["env_name"]) == fast  # the Gymnasium id is the fast one
        assert (fast["vec"]["num_copies"], fast["train"]["learner"]) == (4, "compiled")
        assert (parity["vec"]["num_copies"], parity["train"]["learner"]) == (1, "eager")
        # The same PPO otherwise: one 2048-step rollout, 64-sample minibatches, CleanRL's values.
        for key in ("batch_size", "minibatch_size", "update_epochs", "learning_rate", "gamma", "gae_lambda",
                    "clip_coef", "ent_coef", "max_grad_norm", "observation_stats_until"):
            assert fast["train"][key] == parity["train"][key], (task, key)
        assert parity["train"]["batch_size"] == 2048 and parity["train"]["minibatch_size"] == 64


@needs_mujoco
def test_frames_render_off_screen_on_a_machine_without_a_display(monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.delenv("MUJOCO_GL", raising=False)
    env = mujoco.make_env("Hopper-v4", render_mode="rgb_array")
    try:
        env.reset(seed=0)
        frame = env.render()
    finally:
        env.close()
    assert frame.ndim == 3 and frame.shape[2] == 3 and frame.any()
    assert os.environ["MUJOCO_GL"] == "egl"
    monkeypatch.setenv("MUJOCO_GL", "osmesa")  # the user's choice is kept
    mujoco.environment.render_off_screen_without_a_display()
    assert os.environ["MUJOCO_GL"] == "osmesa"
