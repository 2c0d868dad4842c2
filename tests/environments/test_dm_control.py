"""dm_control binding: pufferlib.environments.dm_control (suite tasks via the dm_env adapter)."""

from __future__ import annotations

import functools
import os
import pickle
import subprocess
import sys
import warnings

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

from pufferlib.environments import dm_control
from pufferlib.environments.dm_control.environment import DMEnv, action_space, observation_space
from pufferlib.exceptions import APIUsageError


@pytest.fixture
def installed():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # glfw warns when there is no display
        require("dm_control.suite", "dm_control")


needs_dm_control = pytest.mark.usefixtures("installed")


def balance(**kwargs):
    return dm_control.make_env("cartpole-balance", **kwargs)


@needs_dm_control
def test_spaces_from_specs():
    env = balance()
    obs, info = env.reset(seed=0)
    # position (3) + velocity (2), concatenated in spec order.
    assert env.single_observation_space.shape == (5,) and obs.dtype == np.float32 and info == {}
    assert isinstance(env.single_action_space, gymnasium.spaces.Box)
    assert env.single_action_space.shape == (1,) and env.single_action_space.dtype == np.float32


@needs_dm_control
def test_dm_env_spec_conversion():
    import dm_env.specs as specs

    box = action_space(specs.BoundedArray((2,), np.float64, minimum=-2.0, maximum=[1.0, 3.0]))
    assert box == gymnasium.spaces.Box(np.array([-2, -2], np.float32), np.array([1, 3], np.float32))
    assert action_space(specs.DiscreteArray(5)) == gymnasium.spaces.Discrete(5)
    assert action_space(specs.BoundedArray((), np.int32, 2, 4)) == gymnasium.spaces.Discrete(3, start=2)
    with pytest.raises(APIUsageError, match="Unsupported dm_env action spec"):
        action_space(specs.Array((2,), np.int32))
    flat = observation_space({"a": specs.Array((2, 3), np.float64), "b": specs.Array((), np.float64)})
    assert flat.shape == (7,) and flat.dtype == np.float32
    bounded = observation_space(specs.BoundedArray((2,), np.float64, 0.0, 1.0))
    assert bounded == gymnasium.spaces.Box(0.0, 1.0, (2,), np.float32)


@needs_dm_control
def test_observations_are_the_physics_state():
    env = DMEnv(functools.partial(dm_control.environment.load_task, "cartpole", "balance", None))
    obs, _ = env.reset(seed=0)
    physics = env._env.physics
    np.testing.assert_allclose(obs[3:], physics.velocity(), rtol=1e-6)
    np.testing.assert_allclose(obs[0], physics.cart_position(), rtol=1e-6)


@needs_dm_control
def test_time_limit_truncates_and_stats_report_the_raw_return():
    raw, normalized = balance(normalize=False, time_limit=0.5), balance(normalize=True, time_limit=0.5)
    raw.reset(seed=1)
    normalized.reset(seed=1)
    raw_sum = 0.0
    for _ in range(50):
        _, reward, terminal, truncated, raw_info = raw.step(np.array([0.3], np.float32))
        _, scaled, _, _, info = normalized.step(np.array([0.3], np.float32))
        raw_sum += reward
    assert truncated and not terminal  # dm_control's time limit keeps discount 1
    assert raw_info["episode_length"] == info["episode_length"] == 50
    assert info["episode_return"] == pytest.approx(raw_sum) == pytest.approx(raw_info["episode_return"])
    assert scaled != pytest.approx(reward)


@needs_dm_control
@pytest.mark.timeout(180)
def test_through_serial_and_multiprocessing():
    creator = functools.partial(dm_control.env_creator("cartpole-balance"), time_limit=0.5)
    infos = check_backends_agree(creator)
    episodes = check_episode_infos(infos)
    assert len(episodes) == 2 * (200 // 51) and all(e["episode_length"] == 50 for e in episodes)


@needs_dm_control
def test_seeded_resets_and_picklable():
    creator = pickle.loads(pickle.dumps(dm_control.env_creator("cartpole-swingup")))
    first, second = creator(normalize=False), creator(normalize=False)
    a = first.reset(seed=3)[0].copy()
    np.testing.assert_array_equal(a, second.reset(seed=3)[0])
    assert not np.array_equal(a, second.reset(seed=4)[0])


@needs_dm_control
def test_policy_forward_and_recurrent():
    check_policy(dm_control, dm_control.env_creator("cheetah-run"))


@needs_dm_control
@pytest.mark.parametrize("name", ["cartpole", "cartpole-fly", "cartpole_balance"])
def test_unknown_name_lists_the_tasks(name):
    with pytest.raises(APIUsageError, match="acrobot-swingup, .*cartpole-balance"):
        dm_control.env_creator(name)


def test_missing_dependency_names_the_extra(monkeypatch):
    check_missing_dependency(monkeypatch, ["dm_control", "dm_control.suite"], "dm_control",
                             [lambda: dm_control.env_creator("cartpole-balance"),
                              lambda: dm_control.make_env("cartpole-balance")])


RENDER_A_FRAME = """
from pufferlib.environments import dm_control
env = dm_control.make_env("cartpole-swingup", render_mode="rgb_array")
env.reset(seed=0)
frame = env.render()
assert frame.shape == (240, 320, 3) and frame.any(), frame.shape
print("rendered")
"""


@needs_dm_control
@pytest.mark.timeout(120)
def test_frames_render_off_screen_on_a_machine_without_a_display():
    # dm_control picks its OpenGL backend when imported, so a fresh process is the honest check.
    headless = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "MUJOCO_GL")}
    done = subprocess.run([sys.executable, "-c", RENDER_A_FRAME], env=headless, capture_output=True,
                          text=True, timeout=100)
    assert done.returncode == 0 and "rendered" in done.stdout, done.stderr[-2000:]
