"""Convert (ocean:convert): rules on hand-built states, a replay of PufferLib 3.0's C game, learning."""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest
from replay import load

from pufferlib.environments import ocean
from pufferlib.environments.ocean.native import convert
from pufferlib.exceptions import APIUsageError

STILL = (4, 2)  # no turn, no acceleration
X, Y, HEADING = convert.X, convert.Y, convert.HEADING


def make(
    num_agents: int = 2, num_factories: int = 4, num_resources: int = 2, ones: bool = False, **kwargs
) -> convert.Convert:
    """One game; with ``ones``, every rand() is 1 (no puffer of two or more is ever teleported,
    factories turn to 1 degree)."""
    env = ocean.make_env(
        "convert",
        num_envs=1,
        num_agents=num_agents,
        num_factories=num_factories,
        num_resources=num_resources,
        **kwargs,
    )
    if ones:
        env.use_random_tape(np.ones((1, 10_000), dtype=np.uint64))
    env.reset(seed=0)
    return env


def far_offsets(env: convert.Convert) -> np.ndarray:
    """Per agent and offset column: whether every factory of that resource is at a squared
    distance of 999999 or more (where 3.0 keeps the previous step's offsets)."""
    resources = env.num_resources
    agents, factories = env.puffers[0], env.factories[0]
    dx = factories[X][None, :] - agents[X][:, None]
    dy = factories[Y][None, :] - agents[Y][:, None]
    dd = dx * dx + dy * dy
    far = np.stack(
        [(dd[:, t::resources] >= np.float32(999999)).all(axis=1) for t in range(resources)], axis=1
    )
    return np.repeat(far, 2, axis=1)


def test_replays_the_c_game_and_always_observes_the_nearest_factories():
    """A 1000-step recording of 3.0's C game (6 puffers, 8 factories, 4 resources on the full
    1920 x 1080 field; puffer 0 random, the others steering to their factory; a puffer is
    teleported every 6 steps on average): the same rewards, random draws and observations, to
    the bit, except the offsets to resources whose factories are all 1000 pixels away or more,
    where 3.0 repeats its previous observation (zeros after the reset) and this port observes
    the nearest factory."""
    data = load("convert")
    env = ocean.make_env("convert", num_envs=1, num_agents=6, num_factories=8, num_resources=4)
    env.use_random_tape(data["tape"].astype(np.uint64)[None])
    obs, _ = env.reset(seed=0)
    offsets = 2 * env.num_resources
    previous = np.zeros_like(data["observations"][0])
    stale = 0
    for step, expected in enumerate(data["observations"]):
        if step:
            obs, rewards, terminals, truncations, _ = env.step(data["actions"][step - 1])
            assert np.array_equal(rewards, data["rewards"][step - 1]), step
            assert not terminals.any() and not truncations.any()
        far = far_offsets(env)
        assert np.array_equal(obs[:, offsets:], expected[:, offsets:]), step
        assert np.array_equal(obs[:, :offsets][~far], expected[:, :offsets][~far]), step
        assert np.array_equal(expected[:, :offsets][far], previous[:, :offsets][far]), step
        stale += far.sum()
        previous = expected
    assert int(env.rng[0, 0]) == len(data["tape"])
    assert stale > 1000 and data["rewards"].sum() >= 5


def test_conversions_chain_in_factory_order():
    env = make(num_agents=2, num_factories=4, num_resources=2, ones=True)
    env.puffers[0, :, 0] = (500.0, 500.0, 0.0, 0.0)
    env.puffers[0, :, 1] = (1800.0, 100.0, 0.0, 0.0)
    env.items[0, 0] = 0
    env.lengths[0, 0] = 6
    # factories 0 (resource 0) and 1 (resource 1) within reach of puffer 0, 2 and 3 far away
    env.factories[0, X] = (510.0, 490.0, 1500.0, 1600.0)
    env.factories[0, Y] = (500.0, 530.0, 900.0, 900.0)
    _, rewards, _, _, _ = env.step(np.array([STILL, STILL]))
    assert rewards.tolist() == [1.0, 0.0] and env.items[0, 0] == 0  # 0 -> 1 at factory 0, 1 -> 0 at 1
    assert env.log[0, 0] == 2 and env.log[0, 2] == 7  # two conversions: after 7 steps, then 0
    assert env.log[0, 1] == 2 and env.log[0, 3] == 2 and env.log[0, convert.LOG_PERF] == 2
    assert not env.log[1].any() and env.lengths[0].tolist() == [0, 1]
    assert env.observations[0, 5] == 1.0 and env.observations[0, 8:].tolist() == [1.0, 0.0]  # reward, item


def test_a_lone_puffer_is_teleported_every_step():
    """rand() % num_agents == 0 always holds for one puffer: it lands on a random pixel."""
    env = make(num_agents=1, num_factories=2, num_resources=1)
    for _ in range(5):
        env.puffers[0, :, 0] = (100.5, 100.5, 0.0, 0.0)
        env.step(np.array([STILL]))
        x, y = env.puffers[0, X, 0], env.puffers[0, Y, 0]
        assert x == int(x) and y == int(y) and 0 <= x < 1920 and 0 <= y < 1080


def test_factories_move_and_bounce_off_the_edges():
    env = make(num_agents=2, num_factories=2, num_resources=2, ones=True)
    env.factories[0, :, 0] = (100.0, 300.0, 0.0)  # heading right
    env.factories[0, :, 1] = (1903.0, 300.0, 0.0)  # one step from the right edge (1904)
    env.step(np.array([STILL, STILL]))
    assert env.factories[0, X, 0] == 102.0 and env.factories[0, HEADING, 0] == 0.0
    assert env.factories[0, X, 1] == 1904.0 and env.factories[0, Y, 1] == 300.0
    assert env.factories[0, HEADING, 1] == np.float32(np.pi) / np.float32(180.0)  # rand() % 360 = 1 degree


def test_observes_the_nearest_factory_of_each_resource_however_far():
    env = make(num_agents=2, num_factories=4, num_resources=2, ones=True)
    env.puffers[0, :, 0] = (20.0, 20.0, np.pi, 0.0)
    env.items[0, 0] = 1
    env.factories[0, X] = (1900.0, 1000.0, 1800.0, 1890.0)
    env.factories[0, Y] = (1000.0, 1060.0, 1070.0, 1000.0)
    env.factories[0, HEADING] = 0.0
    env.step(np.array([STILL, STILL]))  # factories move 2 pixels right; all over 1000 pixels away
    assert far_offsets(env)[0].all()
    fx, fy = env.factories[0, X], env.factories[0, Y]
    here, w, h = np.float32(20.0), np.float32(1920), np.float32(1080)
    expected = [(fx[2] - here) / w, (fy[2] - here) / h, (fx[1] - here) / w, (fy[1] - here) / h]
    assert env.observations[0, :4].tolist() == [float(v) for v in expected]  # factories 2 and 1
    assert env.observations[0, 4] == 0.5  # heading pi
    assert env.observations[0, -2:].tolist() == [0.0, 1.0]


def test_reset_starts_puffers_at_rest():
    """Differs from 3.0, whose reset keeps the previous heading, speed and reward."""
    env = make()
    for _ in range(5):
        env.step(np.array([(8, 4), (8, 4)]))
    env.reset(seed=3)
    assert not env.puffers[0, 2:].any() and not env.lengths.any()


def test_bad_arguments_and_actions():
    with pytest.raises(APIUsageError, match="num_resources"):
        ocean.make_env("convert", num_resources=9)
    with pytest.raises(APIUsageError, match="num_factories"):
        ocean.make_env("convert", num_factories=0)
    with pytest.raises(APIUsageError, match="width"):
        ocean.make_env("convert", width=32)
    env = make()
    with pytest.raises(APIUsageError, match="out of range"):
        env.step(np.array([(9, 2), STILL]))
    assert env.single_action_space == gymnasium.spaces.MultiDiscrete([9, 5])


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_learns_to_convert(tmp_path):
    """The shipped table for 1M steps (about 30 s on one core): 714 conversions in 500 steps
    of 1024 puffers against 382 for random play (1.87x; seed 2: 754; 522, 1.37x, in a full
    parallel suite run: the curve is jumpy). Under 3.0's gamma 0.99 and raw observations the same
    budget reached 362 (0.95x)."""
    from short_training import play_stats, train

    policy, config = train("convert", 1_000_000, tmp_path)
    random, trained = play_stats(config, None, 500), play_stats(config, policy, 500)
    assert trained["n"] >= 1.25 * random["n"]  # n: the conversions in as many steps
