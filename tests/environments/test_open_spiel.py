"""OpenSpiel binding: pufferlib.environments.open_spiel."""

from __future__ import annotations

import numpy as np
import pytest
from helpers_b import check_episode_stats, check_missing_dependency, check_policy, collect_batch, run_vecenv

from pufferlib.environments import open_spiel
from pufferlib.exceptions import APIUsageError

REASON = "needs the open_spiel extra: pip install -e '.[open_spiel]'"
GAMES = {"tic_tac_toe": (27, 9), "connect_four": (126, 7), "kuhn_poker": (7, 2), "leduc_poker": (16, 3)}


@pytest.fixture
def pyspiel():
    return pytest.importorskip("pyspiel", reason=REASON)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("backend", ["serial", "multiprocessing"])
@pytest.mark.parametrize("name", ["tic_tac_toe", "leduc_poker"])
def test_random_steps_through_vector_backends(pyspiel, name, backend):
    infos, obs, driver = run_vecenv(open_spiel.env_creator(name), backend)
    tensor_size, num_actions = GAMES[name]
    assert driver.num_agents == 2 and driver.single_action_space.n == num_actions
    assert obs.shape == (4, tensor_size + num_actions + 1) and obs.dtype == np.float32
    check_episode_stats(infos, extra_keys=["return", "illegal_moves"])
    # Zero-sum: the two players' final returns cancel out episode by episode.
    assert sum(info["return"] for info in infos if "return" in info) == pytest.approx(0.0)


@pytest.mark.parametrize("name", list(GAMES))
def test_observation_marks_the_mover_and_its_legal_actions(pyspiel, name):
    env = open_spiel.make_env(name)
    obs, _ = env.reset(seed=0)
    tensor_size, num_actions = GAMES[name]
    state = env.env.env.state
    mover = state.current_player()
    for player, agent in enumerate(env.possible_agents):
        mask, to_play = obs[agent][tensor_size:tensor_size + num_actions], obs[agent][-1]
        if player == mover:
            assert to_play == 1 and np.flatnonzero(mask).tolist() == state.legal_actions(player)
        else:
            assert to_play == 0 and not mask.any()


def test_only_the_mover_acts_and_illegal_moves_are_replaced(pyspiel):
    env = open_spiel.make_env("tic_tac_toe")
    env.reset(seed=0)
    state = env.env.env.state
    env.step(np.array([4, 0]))  # player 0 takes the centre; player 1's action is ignored
    assert state.history() == [4]
    env.step(np.array([8, 4]))  # player 1 plays the taken centre: replaced by a legal move
    assert len(state.history()) == 2 and state.history()[1] != 4
    while not env.done:
        _, _, _, _, infos = env.step(np.array([4, 4]))
    returns = [infos[agent]["return"] for agent in env.possible_agents]
    assert sum(returns) == 0 and infos["player_0"]["illegal_moves"] >= 1


def test_policy_masks_illegal_actions(pyspiel):
    torch = pytest.importorskip("torch")
    from pufferlib.frameworks.cleanrl import sample_logits

    env = open_spiel.make_env("connect_four")
    batch = collect_batch(env, 40, seed=1)
    tensor_size, num_actions = GAMES["connect_four"]
    policy = open_spiel.Policy(env)
    with torch.no_grad():
        logits, _ = policy(torch.as_tensor(batch))
        actions, _, _ = sample_logits(logits)
    movers = batch[:, -1] == 1
    legal = batch[:, tensor_size:tensor_size + num_actions] > 0.5
    assert movers.any()
    assert legal[movers, actions.numpy()[movers]].all()


@pytest.mark.parametrize("name", ["tic_tac_toe", "kuhn_poker"])
def test_policy_and_recurrent_on_a_real_batch(pyspiel, name):
    env = open_spiel.make_env(name)
    check_policy(env, open_spiel.Policy, open_spiel.Recurrent, collect_batch(env, 4))


def test_simultaneous_games_are_rejected(pyspiel):
    with pytest.raises(APIUsageError, match="not turn-based"):
        open_spiel.make_env("matrix_rps")


def test_missing_dependency_names_the_extra(monkeypatch):
    check_missing_dependency(monkeypatch, ["pyspiel"], open_spiel.make_env, "open_spiel")


def test_unknown_name_is_rejected(pyspiel):
    with pytest.raises(APIUsageError, match="tic_tac_toe, connect_four"):
        open_spiel.env_creator("chess960x")
