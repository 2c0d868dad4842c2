"""Episode statistics wrappers: pufferlib.postprocess."""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import catalogue
from catalogue import MULTI_AGENT, SINGLE_AGENT, sample_space
from pufferlib.emulation import GymnasiumPufferEnv, PettingZooPufferEnv
from pufferlib.environments.ocean.multiagent import Multiagent
from pufferlib.environments.ocean.squared import Squared
from pufferlib.postprocess import EpisodeStats, MultiagentEpisodeStats, final_stats


class InfoEnv(gymnasium.Env):
    """Episodes of ``length`` steps, reward ``step index``, with a rich final info."""

    observation_space = gymnasium.spaces.Box(0.0, 1.0, (1,), np.float32)
    action_space = gymnasium.spaces.Discrete(2)

    def __init__(self, length: int = 4, truncate: bool = False):
        self.length, self.truncate = length, truncate
        self.tick = 0

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.tick = 0
        return np.zeros(1, np.float32), {"reset_key": 7, "options": options}

    def step(self, action):
        self.tick += 1
        end = self.tick == self.length
        info = {"per_step": self.tick, "label": "text"}
        if end:
            info.update({
                "score": np.float32(0.5),
                "won": True,
                "kills": np.int64(3),
                "one_element": np.array([2.5]),
                "vector": np.arange(3),
                "nested": {"a": 1, "b": {"c": 2.0}, "d": "skip"},
                "none": None,
            })
        terminal, truncated = end and not self.truncate, end and self.truncate
        return np.zeros(1, np.float32), float(self.tick), terminal, truncated, info


def run_episode(env, action=0):
    infos, rewards = [], []
    env.reset()
    done = False
    while not done:
        _, reward, terminal, truncated, info = env.step(action)
        rewards.append(reward)
        infos.append(info)
        done = terminal or truncated
    return rewards, infos


@pytest.mark.parametrize("truncate", [False, True])
def test_final_info_reports_return_length_and_numeric_scalars(truncate):
    env = EpisodeStats(InfoEnv(length=4, truncate=truncate))
    rewards, infos = run_episode(env)
    assert infos[:-1] == [{}, {}, {}]
    assert infos[-1] == {
        "per_step": 4, "score": 0.5, "won": 1.0, "kills": 3, "one_element": 2.5,
        "nested/a": 1, "nested/b/c": 2.0,
        "episode_return": 10.0, "episode_length": 4,
    }
    assert all(type(v) in (int, float) for v in infos[-1].values())


def test_final_values_are_taken_not_summed():
    # per_step is 1, 2, 3, 4 over the episode: a blind sum would report 10.
    _, infos = run_episode(EpisodeStats(InfoEnv(length=4)))
    assert infos[-1]["per_step"] == 4


def test_reset_restarts_statistics_and_passes_reset_info_and_options():
    env = EpisodeStats(InfoEnv(length=3))
    env.reset()
    env.step(0)
    _, info = env.reset(options={"x": 1})
    assert info == {"reset_key": 7, "options": {"x": 1}}
    _, infos = run_episode(env)
    assert infos[-1]["episode_length"] == 3
    assert infos[-1]["episode_return"] == 6.0


def test_wrapper_keeps_spaces_and_render():
    inner = Squared(render_mode="ansi")
    env = EpisodeStats(inner)
    assert env.observation_space == inner.observation_space
    assert env.action_space == inner.action_space
    assert env.render_mode == "ansi"
    env.reset(seed=0)
    assert env.render() == inner.render()


def test_squared_episode_stats_match_manual_accumulation():
    env = EpisodeStats(Squared(distance_to_target=4, num_targets=2))
    rng = np.random.default_rng(0)
    for episode in range(5):
        env.reset(seed=episode)
        total, length, done = 0.0, 0, False
        while not done:
            _, reward, terminal, truncated, info = env.step(int(rng.integers(8)))
            total += reward
            length += 1
            done = terminal or truncated
        assert info["episode_length"] == length == 8
        assert info["episode_return"] == pytest.approx(total)
        assert 0.0 <= info["score"] <= 1.0


@pytest.mark.parametrize("name", sorted(SINGLE_AGENT))
def test_catalogue_envs(name):
    env = EpisodeStats(SINGLE_AGENT[name]())
    rng = np.random.default_rng(1)
    finished = 0
    env.reset(seed=3)
    total, length = 0.0, 0
    for _ in range(60):
        _, reward, terminal, truncated, info = env.step(sample_space(env.action_space, rng))
        total += reward
        length += 1
        if terminal or truncated:
            assert info["episode_length"] == length == info["step"]
            assert info["episode_return"] == pytest.approx(total)
            assert info["score"] == pytest.approx(total)
            finished += 1
            total, length = 0.0, 0
            env.reset()
        else:
            assert info == {}
    assert finished >= 4


def test_under_gymnasium_puffer_env():
    env = GymnasiumPufferEnv(env=EpisodeStats(Squared()))
    env.reset(seed=0)
    infos = [env.step(1)[-1] for _ in range(3)]
    assert infos[:2] == [{}, {}]
    assert set(infos[2]) == {"score", "episode_return", "episode_length"}
    assert env.done


def test_final_stats_helper():
    stats = final_stats({"x": np.bool_(False), "y": np.ones((2, 2)), "z": np.uint8(9)}, 1.5, 2)
    assert stats == {"x": 0.0, "z": 9, "episode_return": 1.5, "episode_length": 2}


_leaves = st.one_of(
    st.integers(-10**6, 10**6), st.floats(allow_nan=False), st.booleans(), st.text(max_size=3),
    st.none(), st.lists(st.integers(-100, 100), max_size=3).map(np.array),
)
_infos = st.recursive(st.dictionaries(st.text("abc", min_size=1, max_size=2), _leaves, max_size=4),
                      lambda children: st.dictionaries(st.text("xyz", min_size=1, max_size=2),
                                                       children, max_size=3),
                      max_leaves=12)


def _paths(info, prefix=""):
    for key, value in info.items():
        if isinstance(value, dict):
            yield from _paths(value, f"{prefix}{key}/")
        else:
            yield f"{prefix}{key}", value


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_infos)
def test_final_stats_keeps_exactly_the_numeric_scalars(info):
    stats = final_stats(info, 3.0, 4)
    assert stats.pop("episode_return") == 3.0 and stats.pop("episode_length") == 4
    expected = {}
    for path, value in _paths(info):
        if isinstance(value, bool):
            expected[path] = float(value)
        elif isinstance(value, int | float):
            expected[path] = value
        elif isinstance(value, np.ndarray) and value.size == 1:
            expected[path] = value.item()
    assert stats == expected
    assert all(type(value) in (int, float) for value in stats.values())


# ------------------------------------------------------------------------------------
# Multi-agent


def test_multiagent_stats_on_ocean_multiagent():
    env = MultiagentEpisodeStats(Multiagent())
    _, infos = env.reset(seed=0)
    assert set(env.possible_agents) == {1, 2}
    _, rewards, terminals, _, infos = env.step({1: 0, 2: 0})
    assert rewards == {1: 1.0, 2: 0.0}
    assert infos[1] == {"score": 1.0, "episode_return": 1.0, "episode_length": 1}
    assert infos[2] == {"score": 0.0, "episode_return": 0.0, "episode_length": 1}


@pytest.mark.parametrize("name", [*sorted(MULTI_AGENT), "late_joiner"])
def test_multiagent_catalogue_agents_finish_at_different_steps(name):
    creator = catalogue.LATE_JOINER if name == "late_joiner" else MULTI_AGENT[name]
    env = MultiagentEpisodeStats(creator())
    rng = np.random.default_rng(2)
    distinct_lengths = set()
    for seed in range(3):
        env.reset(seed=seed)
        returns: dict = {}
        lengths: dict = {}
        while env.agents:
            actions = {agent: sample_space(env.action_space(agent), rng) for agent in env.agents}
            _, rewards, terminals, truncations, infos = env.step(actions)
            for agent, reward in rewards.items():
                returns[agent] = returns.get(agent, 0.0) + reward
                lengths[agent] = lengths.get(agent, 0) + 1
                if terminals[agent] or truncations[agent]:
                    assert infos[agent]["episode_return"] == pytest.approx(returns[agent])
                    assert infos[agent]["episode_length"] == lengths[agent] == infos[agent]["step"]
                    distinct_lengths.add(lengths[agent])
                else:
                    assert infos[agent] == {}
        assert set(lengths) == set(env.possible_agents)
    assert len(distinct_lengths) > 1


def test_multiagent_stats_under_pettingzoo_puffer_env():
    env = PettingZooPufferEnv(env=MultiagentEpisodeStats(Multiagent()))
    env.reset(seed=0)
    _, rewards, _, _, infos = env.step(np.array([0, 1]))
    assert rewards == {1: 1.0, 2: 1.0}
    assert infos[1]["episode_return"] == infos[2]["episode_return"] == 1.0
    assert env.done
