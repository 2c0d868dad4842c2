"""Procgen binding: pufferlib.environments.procgen (gym3 games as Gymnasium envs)."""

from __future__ import annotations

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

from pufferlib.environments import procgen
from pufferlib.exceptions import APIUsageError


@pytest.fixture
def installed():
    require("procgen", "procgen")


needs_procgen = pytest.mark.usefixtures("installed")


@needs_procgen
def test_spaces():
    env = procgen.make_env("coinrun")
    obs, info = env.reset(seed=0)
    assert info == {}
    assert env.single_observation_space == gymnasium.spaces.Box(0, 255, (64, 64, 3), np.uint8)
    assert env.single_action_space == gymnasium.spaces.Discrete(15)
    assert obs.any()


@needs_procgen
@pytest.mark.timeout(120)
def test_bossfight_through_serial_and_multiprocessing():
    infos = check_backends_agree(procgen.env_creator("bossfight"))
    episodes = check_episode_infos(infos)
    assert all(e["level_complete"] in (0.0, 1.0) for e in episodes)


@needs_procgen
def test_reset_after_a_game_over_continues_from_the_next_level():
    env = procgen.make_env("bossfight")
    env.reset(seed=0)
    env.single_action_space.seed(0)
    while not env.done:
        final_obs = env.step(env.single_action_space.sample())[0].copy()
    # gym3 restarts the game by itself: the final step already shows the next level's
    # first frame, and reset() returns it without stepping or reseeding the game.
    first_obs, info = env.reset()
    assert info == {} and np.array_equal(first_obs, final_obs)
    assert env.step(0)[2] is False


@needs_procgen
def test_seeded_resets_replay_the_levels():
    creator = pickle.loads(pickle.dumps(procgen.env_creator("coinrun")))
    first, second = creator(), creator()
    a = first.reset(seed=11)[0].copy()
    np.testing.assert_array_equal(a, second.reset(seed=11)[0])
    assert not np.array_equal(a, second.reset(seed=12)[0])
    second.reset(seed=11)
    for action in [1, 5, 7, 7, 3] * 4:
        np.testing.assert_array_equal(first.step(action)[0].copy(), second.step(action)[0])



@needs_procgen
def test_policy_forward_and_recurrent():
    check_policy(procgen, procgen.env_creator("coinrun"))


@pytest.mark.parametrize("name", ["coinrunner", "procgen-nope-v0", ""])
def test_unknown_name_lists_the_games(name):
    with pytest.raises(APIUsageError, match="bigfish, bossfight, .*starpilot"):
        procgen.env_creator(name)


def test_procgen_style_ids_are_accepted():
    assert procgen.environment._game("procgen-coinrun-v0") == "coinrun"


def test_missing_dependency_names_the_extra(monkeypatch):
    check_missing_dependency(monkeypatch, ["procgen"], "procgen", [lambda: procgen.make_env("coinrun")])
