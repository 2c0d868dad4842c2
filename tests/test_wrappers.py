"""Old Gym / PettingZoo APIs adapted (pufferlib.wrappers), as PufferLib 1.0's emulation example uses them."""

from __future__ import annotations

import numpy as np
from gymnasium.spaces import Box, Discrete

import pufferlib.emulation
import pufferlib.vector
from pufferlib.wrappers import GymToGymnasium, PettingZooTruncatedWrapper


class OldGym:
    """The old Gym API: seed(), reset() -> obs, step() -> (obs, reward, done, info)."""

    observation_space = Box(0, 1, (3,), np.float32)
    action_space = Discrete(2)
    metadata = {"render_modes": ["ansi"]}

    def __init__(self, limit: int = 4, time_limit: bool = False):
        self.limit, self.time_limit, self.t, self.seeded = limit, time_limit, 0, None

    def seed(self, seed):
        self.seeded = seed

    def reset(self):
        self.t = 0
        return np.zeros(3, np.float32)

    def step(self, action):
        self.t += 1
        done = self.t >= self.limit
        info = {"TimeLimit.truncated": True} if done and self.time_limit else {}
        return np.full(3, self.t / 10, np.float32), float(action), done, info

    def render(self):
        return f"t={self.t}"

    def close(self):
        pass


class OldParallel:
    """A parallel env of the pre-1.24 PettingZoo API: reset() -> obs, step() -> 4 dicts."""

    possible_agents = ["a", "b"]
    metadata = {"name": "old_v0"}

    def __init__(self):
        self.agents = []

    def observation_space(self, agent):
        return Box(0, 1, (2,), np.float32)

    def action_space(self, agent):
        return Discrete(3)

    def reset(self, seed=None):
        self.agents, self.t = list(self.possible_agents), 0
        return {a: np.zeros(2, np.float32) for a in self.agents}

    def step(self, actions):
        self.t += 1
        done = self.t >= 3
        obs = {a: np.ones(2, np.float32) for a in self.agents}
        rewards = {a: float(actions[a]) for a in self.agents}
        dones = dict.fromkeys(self.agents, done)
        if done:
            self.agents = []
        return obs, rewards, dones, {a: {} for a in dones}

    def close(self):
        pass


def test_an_old_gym_env_runs_through_emulation_and_a_vecenv():
    env = pufferlib.emulation.GymnasiumPufferEnv(env=GymToGymnasium(OldGym()))
    obs, info = env.reset(seed=3)
    assert obs.shape == (3,) and info == {}
    for t in range(1, 5):
        obs, reward, terminated, truncated, _ = env.step(1)
        assert reward == 1.0 and terminated == (t == 4) and not truncated
    assert env.render() == "t=4"
    make = lambda: pufferlib.emulation.GymnasiumPufferEnv(env=GymToGymnasium(OldGym()))  # noqa: E731
    vecenv = pufferlib.vector.make(make, num_envs=2)
    vecenv.async_reset(0)
    vecenv.recv()
    vecenv.close()


def test_a_time_limit_stays_a_truncation_and_the_seed_reaches_the_old_env():
    inner = OldGym(limit=2, time_limit=True)
    env = GymToGymnasium(inner)
    env.reset(seed=7)
    assert inner.seeded == 7
    env.step(0)
    _, _, terminated, truncated, _ = env.step(0)
    assert truncated and not terminated


def test_an_old_pettingzoo_env_gets_truncations_and_reset_infos():
    env = PettingZooTruncatedWrapper(OldParallel())
    observations, infos = env.reset(seed=1)
    assert set(observations) == {"a", "b"} and infos == {"a": {}, "b": {}}
    for _ in range(3):
        result = env.step({"a": 2, "b": 0})
    assert len(result) == 5 and result[2] == {"a": True, "b": True} and result[3] == {"a": False, "b": False}
    puffer = pufferlib.emulation.PettingZooPufferEnv(env=PettingZooTruncatedWrapper(OldParallel()))
    obs, _ = puffer.reset(seed=0)
    assert set(obs) == {"a", "b"}
    _, rewards, _, _, _ = puffer.step(np.array([1, 2]))
    assert list(rewards.values()) == [1.0, 2.0]
