"""ocean:tripletriad, the port of PufferLib 3.0's puffer_tripletriad: rules on hand-set games, a
replay of the C game, and learning.

A random tape of zeros makes the opponent pick its first unplaced card and the first empty
cell (it draws ``rand() % count`` for each); ``set_hands`` sets the cards.
"""

from __future__ import annotations

import numpy as np
import pytest
from replay import first_mismatch, load

from pufferlib.environments.ocean.native import tripletriad
from pufferlib.environments.ocean.native.tripletriad import (
    HANDS,
    LOCATIONS,
    MASKS,
    OWNERS,
    SCORES,
    SELECTED,
    VALUES,
    TripleTriad,
)

TENTH = np.float32(np.float64(np.float32(0.0)) - 0.1)  # 3.0's float -= 0.1 (a double)


def game(agent: np.ndarray | None = None, opponent: np.ndarray | None = None, tape=(0,)) -> TripleTriad:
    """A game with the hands ``agent`` and ``opponent`` (else drawn from ``tape``), its
    opponent drawing from ``tape``."""
    env = TripleTriad(num_envs=1)
    env.use_random_tape(np.array([tape], dtype=np.uint64))
    env.reset(seed=0)
    if agent is not None:
        env.set_hands(0, agent, opponent)
        env.use_random_tape(np.array([tape], dtype=np.uint64))
    return env


def cards(*values: int) -> np.ndarray:
    """Five cards, each with all four values ``values[i]``."""
    return np.repeat(np.array(values)[:, None], 4, axis=1)


def step(env: TripleTriad, action: int) -> tuple[float, bool, bool]:
    _, rewards, terminals, truncations, _ = env.step(np.array([action]))
    return float(rewards[0]), bool(terminals[0]), bool(truncations[0])


def test_the_start_observation_and_the_hands_draw():
    env = game(tape=tuple(range(40)))
    obs = env.observations[0]
    assert obs.shape == (114,) and env.single_action_space.n == 14
    assert not obs[OWNERS:SELECTED].any() and list(obs[SELECTED:VALUES]) == [-1, -1, 5, 5]
    assert not obs[VALUES:HANDS].any() and not obs[LOCATIONS:].any()
    np.testing.assert_array_equal(obs[HANDS:LOCATIONS], np.arange(40) % 7 + 1)  # rand() % 7 + 1, in order


def test_select_place_and_the_opponent_reply():
    agent = np.arange(20).reshape(5, 4) % 7 + 1
    agent[1] = (6, 7, 5, 7)  # W = 7: the opponent's card 2 (E = 7) placed west of it cannot take it
    opponent = (np.arange(20).reshape(5, 4) + 3) % 7 + 1
    env = game(agent, opponent, tape=(2, 3))  # the opponent: its card 2, then the 4th empty cell
    assert step(env, 1) == (TENTH, False, False)  # select card 1: -0.1
    assert env.observations[0, SELECTED] == 1
    assert step(env, 5 + 4) == (0.0, False, False)  # place it on cell 4 (the centre)
    obs = env.observations[0]
    np.testing.assert_array_equal(obs[VALUES + 16 : VALUES + 20], agent[1])
    assert obs[OWNERS + 4] == 1 and obs[LOCATIONS + 1] == 5 and obs[MASKS + 5 + 4] == 1
    # The opponent's card 2 went to the 4th empty cell: cells 0-3 are empty, so cell 3.
    np.testing.assert_array_equal(obs[VALUES + 12 : VALUES + 16], opponent[2])
    assert obs[OWNERS + 3] == -1 and obs[LOCATIONS + 5 + 2] == 4 and obs[MASKS + 5 + 3] == 1
    assert list(obs[SELECTED : SELECTED + 2]) == [-1, -1]
    assert obs[MASKS : MASKS + 15].sum() == 2


def test_failed_actions_cost_a_tenth_and_change_nothing():
    env = game(cards(4, 4, 4, 4, 4), cards(4, 4, 4, 4, 4))
    before = env.observations[0].copy()
    assert step(env, 5) == (TENTH, False, False)  # no card selected
    np.testing.assert_array_equal(env.observations[0], before)
    step(env, 0)
    step(env, 5)  # card 0 on cell 0; the opponent takes cell 1
    assert step(env, 0) == (TENTH, False, False)  # card 0 is placed: not selectable
    assert env.observations[0, SELECTED] == -1
    step(env, 1)
    assert step(env, 5 + 1) == (TENTH, False, False)  # cell 1 is taken
    assert env.observations[0, SELECTED] == 1 and env.observations[0, OWNERS + 1] == -1


def test_higher_facing_values_capture():
    # The agent's card 0 (E = 2) on cell 0; the opponent's (W = 3) on cell 1 captures it.
    agent = np.array([[5, 5, 2, 5], [1, 1, 1, 6], [1, 1, 1, 3], [1, 1, 1, 1], [1, 1, 1, 1]])
    opponent = np.array([[1, 1, 4, 3], [1, 1, 1, 1], [1, 1, 1, 1], [1, 1, 1, 1], [1, 1, 1, 1]])
    env = game(agent, opponent)
    step(env, 0)
    step(env, 5 + 0)
    obs = env.observations[0]
    assert list(obs[OWNERS : OWNERS + 2]) == [-1, -1] and list(obs[SCORES : SCORES + 2]) == [4, 6]
    # The agent's card 1 (W = 6) on cell 2 takes cell 1 back (E = 4), not cell 0: not adjacent.
    step(env, 1)
    step(env, 5 + 2)
    obs = env.observations[0]
    assert list(obs[OWNERS : OWNERS + 3]) == [-1, 1, 1] and list(obs[SCORES : SCORES + 2]) == [5, 5]
    # Equal values capture nothing: the opponent's card on cell 3 (N = 1) under cell 0 (S = 5)
    # was placed by the opponent; the agent's card 2 (W = 3) on cell 5 faces cell 4 (E = 1).
    assert obs[OWNERS + 3] == -1


def play_out(env: TripleTriad) -> list[tuple[float, bool, bool]]:
    """Select the first card in hand, place it on the first empty cell, until the game ends."""
    results = []
    for _ in range(10):
        obs = env.observations[0]
        card = int(np.flatnonzero(obs[LOCATIONS : LOCATIONS + 5] == 0)[0])
        cell = int(np.flatnonzero(obs[OWNERS : OWNERS + 9] == 0)[0])
        results.append(step(env, card))
        results.append(step(env, 5 + cell))
        if results[-1][1]:
            return results
    raise AssertionError("no end")


def test_a_full_board_ends_the_game_win_draw_or_loss():
    expected_return = np.float32(0.0)
    for _ in range(5):
        expected_return = np.float32(np.float64(expected_return) - 0.1)
    for agent, opponent, outcome in ((7, 1, 1.0), (4, 4, 0.0), (1, 7, -1.0)):
        env = game(cards(*[agent] * 5), cards(*[opponent] * 5))
        results = play_out(env)
        assert len(results) == 10 and results[-1] == (outcome, True, False)
        assert all(r == (TENTH, False, False) for r in results[:-1:2])
        assert all(r == (0.0, False, False) for r in results[1:-1:2])
        # The next game's first observation is already there.
        assert not env.observations[0, OWNERS:SELECTED].any() and env.length[0] == 0
        n, ret, length, score, perf = env.log[0]
        assert (n, length, perf) == (1, 10, float(outcome > 0))
        assert np.float32(ret) == np.float32(expected_return + np.float32(outcome))
        assert score == {1.0: 9, 0.0: 5, -1.0: 1}[outcome]  # the agent's cards at the end


def test_the_thirtieth_step_is_a_truncation_with_a_penalty():
    env = game(cards(4, 4, 4, 4, 4), cards(4, 4, 4, 4, 4))
    for _ in range(29):
        assert step(env, 0) == (TENTH, False, False)
    assert env.observations[0, SELECTED] == 0
    assert step(env, 5) == (-1.0, False, True)  # the action is ignored; the game restarts
    assert env.length[0] == 0 and env.observations[0, SELECTED] == -1
    expected = np.float32(0.0)
    for _ in range(29):
        expected = np.float32(np.float64(expected) - 0.1)
    n, ret, length, score, perf = env.log[0]
    assert (n, length, score, perf) == (1, 30, 5, 0)
    assert np.float32(ret) == np.float32(np.float64(expected) - 1.0)


def test_replays_the_c_game_step_for_step():
    """The fixture: 3000 steps of 3.0's tripletriad (``bench/pufferlib3/record_logged.py``, the
    policy ``policy_tripletriad:actions``), with its ``rand()`` stream.

    3.0 shows a finished game for one more step and restarts it in the next, ignoring that
    step's action; here the step that ends a game already restarts it. So 3.0's extra steps
    are skipped: after a step that ends a game, ours shows what 3.0 shows one step later, and
    its log counts one step less. At the 30th step 3.0 sets no flag; ours is a truncation.
    """
    data = load("tripletriad")
    env = TripleTriad(num_envs=1)
    env.report_each_episode()
    env.use_random_tape(data["tape"].astype(np.uint64)[None])
    obs, _ = env.reset(seed=0)
    c_obs, c_rewards, c_terminals = data["observations"][:, 0], data["rewards"][:, 0], data["terminals"][:, 0]
    keys = [str(key) for key in data["log_keys"]]
    expected, actual, ends, truncated_games, late_ends = [c_obs[0]], [obs[0].copy()], 0, 0, 0
    for k, a in enumerate(data["actions"]):
        if k > 0 and c_terminals[k - 1]:
            continue  # 3.0's extra step after a finished game: ours has none
        obs, rewards, terminals, truncations, infos = env.step(a)
        actual.append(obs[0].copy())
        assert rewards[0] == c_rewards[k] and terminals[0] == c_terminals[k], k
        if c_terminals[k]:
            ends += 1
            expected.append(c_obs[k + 2])  # 3.0's first observation of the next game
            c_log = dict(zip(keys, data["logs"][k + 1]))  # logged in the extra step
            assert infos[0]["episode_length"] == c_log["episode_length"] - 1
            extra = np.float64(c_rewards[k + 1])  # -1 when the extra step is the 30th
            assert extra == (-1.0 if c_log["episode_length"] == 30 else 0.0)
            late_ends += extra != 0
        else:
            expected.append(c_obs[k + 1])
            logged = np.isfinite(data["logs"][k, 0])
            assert truncations[0] == logged, k  # 3.0 logs a time-out without a flag
            if not logged:
                assert not infos
                continue
            truncated_games += 1
            c_log, extra = dict(zip(keys, data["logs"][k])), 0.0
            assert infos[0]["episode_length"] == c_log["episode_length"] == 30
        info = infos[0]
        assert info["score"] == c_log["score"] and info["perf"] == c_log["perf"]
        assert np.float32(np.float64(np.float32(info["episode_return"])) + extra) == np.float32(
            c_log["episode_return"]
        )
    assert first_mismatch(np.array(expected), np.array(actual)) is None
    assert env.rng[0, 0] == len(data["tape"])  # every random number drawn, no more
    assert ends >= 100 and truncated_games >= 5 and late_ends >= 1
    assert tripletriad.MAX_EPISODE_LENGTH == 30


# -- learning -------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_learns_to_play_and_beat_the_random_opponent(tmp_path, monkeypatch):
    """The shipped ``ocean:tripletriad`` settings with a 400k-step budget (about 40 s on one
    core): random play mostly runs out of time; the trained policy selects and places cards,
    finishes its games and wins more of them."""
    import test_ocean_native

    config = test_ocean_native.shipped_config("tripletriad")
    config["train"]["total_timesteps"] = 400_000
    monkeypatch.setattr(test_ocean_native, "shipped_config", lambda name: config)
    policy, config = test_ocean_native.train_shipped("tripletriad", tmp_path)
    random = test_ocean_native.play_stats(config, None, 300)
    trained = test_ocean_native.play_stats(config, policy, 300)
    assert random["episode_length"] > 28 and random["score"] < 4.8
    assert trained["episode_length"] < 0.8 * random["episode_length"]
    assert trained["score"] >= random["score"] + 0.4 and trained["perf"] >= random["perf"] + 0.15
