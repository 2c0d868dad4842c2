"""Atari binding: pufferlib.environments.atari (ale-py with DeepMind preprocessing)."""

from __future__ import annotations

import pickle

import gymnasium
import numpy as np
import pytest
from helpers_a import (
    check_backends_agree,
    check_missing_dependency,
    check_policy,
    episode_infos,
    require,
)

from pufferlib.environments import atari
from pufferlib.environments.atari.environment import ClipReward, EpisodicLife, FireReset
from pufferlib.exceptions import APIUsageError
from pufferlib.postprocess import EpisodeStats


@pytest.fixture
def installed():
    require("ale_py", "atari")
    require("cv2", "atari")


needs_ale = pytest.mark.usefixtures("installed")


def wrapper_chain(env) -> list:
    chain, inner = [], env.env
    while True:
        chain.append(inner)
        if not isinstance(inner, gymnasium.Wrapper):
            return chain
        inner = inner.env


def play_one_game(env, seed: int, max_steps: int = 20_000) -> tuple[int, float, int, list[dict]]:
    """Random play until a real game over: (training episodes, clipped reward sum, steps, infos)."""
    env.single_action_space.seed(seed)
    env.reset(seed=seed)
    life_episodes, clipped, infos = 0, 0.0, []
    for steps in range(1, max_steps + 1):
        _, reward, terminal, truncated, info = env.step(env.single_action_space.sample())
        clipped += reward
        if info:
            infos.append(info)
        if terminal or truncated:
            life_episodes += 1
            if info:
                return life_episodes, clipped, steps, infos
            _, reset_info = env.reset()
            if reset_info:
                infos.append(reset_info)
                return life_episodes, clipped, steps, infos
    raise AssertionError("no game over within the step budget")


@needs_ale
@pytest.mark.parametrize("name, rom", [
    ("breakout", "breakout"), ("ALE/Breakout-v5", "breakout"), ("BreakoutNoFrameskip-v4", "breakout"),
    ("SpaceInvaders", "space_invaders"), ("spaceinvaders", "space_invaders"), ("beam-rider", "beam_rider"),
])
def test_game_names(name, rom):
    assert atari.environment.game_id(name) == rom


@needs_ale
@pytest.mark.parametrize("name", ["breakouts", "ALE/NotAGame-v5", "", "combat", "joust"])
def test_unknown_game_lists_the_roms(name):
    # These ROMs ship with ale-py 0.12 but fail its MD5 check and kill the process on load.
    with pytest.raises(APIUsageError, match="breakout, .*pong") as error:
        atari.env_creator(name)
    valid = error.value.message.split("Valid names: ")[1].rstrip(".").split(", ")
    assert "breakout" in valid and name not in valid


@needs_ale
def test_games_without_noop_or_fire_actions():
    env = atari.make_env("backgammon")  # actions FIRE, RIGHT, LEFT: no no-op resets, no FireReset
    assert FireReset not in [type(w) for w in wrapper_chain(env)]
    obs, _ = env.reset(seed=0)
    assert obs.shape == (4, 84, 84)
    assert env.step(1)[0].shape == (4, 84, 84)


@needs_ale
def test_deepmind_wrapper_stack():
    env = atari.make_env("breakout")
    kinds = [type(w) for w in wrapper_chain(env)]
    assert kinds[:4] == [gymnasium.wrappers.FrameStackObservation, ClipReward, FireReset, EpisodicLife]
    # EpisodeStats sits below the life and reward wrappers: it sees real games and raw scores.
    assert kinds[4] is EpisodeStats and kinds[5] is gymnasium.wrappers.AtariPreprocessing
    assert env.single_observation_space == gymnasium.spaces.Box(0, 255, (4, 84, 84), np.uint8)
    assert env.single_action_space == gymnasium.spaces.Discrete(4)  # the minimal Breakout set
    assert atari.make_env("pong").single_action_space == gymnasium.spaces.Discrete(6)
    assert FireReset not in [type(w) for w in wrapper_chain(atari.make_env("freeway"))]


@needs_ale
def test_a_lost_life_ends_the_training_episode_not_the_game():
    env = atari.make_env("breakout")
    ale = env.env.unwrapped.ale
    env.reset(seed=0)
    lives, frame = ale.lives(), ale.getEpisodeFrameNumber()
    while True:
        _, _, terminal, _, info = env.step(env.single_action_space.sample())
        if terminal:
            break
    assert ale.lives() == lives - 1 and info == {}
    before = ale.getEpisodeFrameNumber()
    assert before > frame
    obs, reset_info = env.reset()
    # The same game goes on: no restart, frame counter keeps counting.
    assert ale.lives() == lives - 1 and ale.getEpisodeFrameNumber() > before and reset_info == {}
    assert obs.any()


@needs_ale
@pytest.mark.timeout(180)
def test_episode_stats_report_whole_games_with_raw_scores():
    env = atari.make_env("space_invaders")
    life_episodes, clipped, steps, infos = play_one_game(env, seed=1)
    assert life_episodes == 3  # one training episode per life
    assert len(infos) == 1  # one report per game
    info = infos[0]
    assert info["lives"] == 0 and info["episode_length"] >= steps
    # Space Invaders scores 5-30 points per alien; the clipped rewards count hits only.
    assert info["episode_return"] > clipped > 0


@needs_ale
def test_rewards_are_clipped():
    env = atari.make_env("space_invaders")
    env.single_action_space.seed(0)
    env.reset(seed=0)
    rewards = set()
    for _ in range(300):
        _, reward, terminal, truncated, _ = env.step(env.single_action_space.sample())
        rewards.add(reward)
        if terminal or truncated:
            env.reset()
    assert rewards <= {0.0, 1.0} and 1.0 in rewards


@needs_ale
def test_seeded_and_picklable():
    creator = pickle.loads(pickle.dumps(atari.env_creator("breakout")))
    first, second = creator(), creator()
    first.reset(seed=5)
    second.reset(seed=5)
    for action in [1, 2, 3, 0, 2, 2, 3, 1] * 5:
        a = first.step(action)[0].copy()
        np.testing.assert_array_equal(a, second.step(action)[0])


@needs_ale
@pytest.mark.timeout(180)
def test_breakout_through_serial_and_multiprocessing():
    infos = check_backends_agree(atari.env_creator("breakout"))
    for info in episode_infos(infos):
        assert info["lives"] == 0


@needs_ale
def test_policy_forward_and_recurrent():
    check_policy(atari, atari.env_creator("breakout"))


def test_missing_dependency_names_the_extra(monkeypatch):
    check_missing_dependency(monkeypatch, ["ale_py"], "atari",
                             [lambda: atari.env_creator("breakout"), lambda: atari.make_env("pong")])


@needs_ale
def test_missing_opencv_names_the_extra(monkeypatch):
    check_missing_dependency(monkeypatch, ["cv2"], "atari", [lambda: atari.make_env("pong")])
