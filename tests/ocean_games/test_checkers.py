"""ocean:checkers, the port of PufferLib 3.0's puffer_checkers: rules on hand-set positions, a
replay of the C game, and learning.

Hand-set positions script the opponent with a random tape: the opponent draws squares with
``rand() % 64``, so a tape ``[s]`` makes it pick square ``s`` (row * 8 + column).
"""

from __future__ import annotations

import numpy as np
import pytest
from replay import first_mismatch, load

from pufferlib.environments.ocean.native import checkers
from pufferlib.environments.ocean.native.checkers import (
    AGENT,
    AGENT_KING,
    AGENT_PAWN,
    OPPONENT,
    OPPONENT_KING,
    OPPONENT_PAWN,
    Checkers,
)
from pufferlib.exceptions import APIUsageError

B, BK, R, RK = AGENT_PAWN, AGENT_KING, OPPONENT_PAWN, OPPONENT_KING


def action(row: int, col: int, direction: int) -> int:
    """Move type ``direction`` (0-3 steps up-left, up-right, down-left, down-right; 4-7 jumps)."""
    return (row * 8 + col) * 8 + direction


def start_board() -> np.ndarray:
    board = np.zeros((8, 8), dtype=np.uint8)
    for r in range(8):
        for c in range(8):
            if (r + c) % 2 and r < 3:
                board[r, c] = B
            elif (r + c) % 2 and r > 4:
                board[r, c] = R
    return board


def game(
    pieces: dict[tuple[int, int], int] | None = None,
    player: int = AGENT,
    opponent_squares: tuple[int, ...] = (0,),
    max_moves: int = 200,
) -> Checkers:
    """One game in the position ``pieces`` (or the start), its opponent drawing ``opponent_squares``."""
    env = Checkers(num_envs=1, max_moves=max_moves)
    env.use_random_tape(np.array([opponent_squares], dtype=np.uint64))
    env.reset(seed=0)
    if pieces is not None:
        board = np.zeros((8, 8), dtype=np.uint8)
        for cell, piece in pieces.items():
            board[cell] = piece
        env.set_position(0, board, player)
    return env


def board(env: Checkers) -> np.ndarray:
    return env.observations[0].reshape(8, 8)


def step(env: Checkers, a: int) -> tuple[float, bool]:
    _, rewards, terminals, truncations, _ = env.step(np.array([a]))
    assert not truncations[0]
    return float(rewards[0]), bool(terminals[0])


def test_the_start_position_spaces_and_a_move_each():
    env = game(opponent_squares=(5 * 8 + 0,))
    assert env.single_action_space.n == 8 * 8 * 8
    assert env.single_observation_space.shape == (64,) and env.single_observation_space.high.max() == 4
    np.testing.assert_array_equal(board(env), start_board())
    reward, terminal = step(env, action(2, 1, 3))  # blue (2, 1) down-right
    expected = start_board()
    expected[2, 1], expected[3, 2] = 0, B
    expected[5, 0], expected[4, 1] = 0, R  # red (5, 0): its first legal direction, up-right
    np.testing.assert_array_equal(board(env), expected)
    # The step's reward is that of the last move, red's plain move: 0 (blue's own 0.01 is lost).
    assert (reward, terminal) == (0.0, False) and env.state[0, checkers.PLAYER] == AGENT


def test_an_illegal_action_lets_the_script_move_blue_and_the_sides_swap():
    env = game(opponent_squares=(2 * 8 + 1,))
    reward, terminal = step(env, action(0, 0, 3))  # no piece on (0, 0): illegal, nothing moves
    expected = start_board()
    expected[2, 1], expected[3, 0] = 0, B  # the script moved blue's (2, 1) down-left
    np.testing.assert_array_equal(board(env), expected)
    # The -1 stays (3.0 lets the script's blue move, +0.01, replace it): -1 + 0.01.
    assert reward == np.float32(np.float32(0.01) - np.float32(1.0)) and not terminal
    assert env.state[0, checkers.PLAYER] == OPPONENT
    # Now the agent's actions move red, and the script moves blue.
    env.use_random_tape(np.array([[2 * 8 + 3]], dtype=np.uint64))
    reward, _ = step(env, action(5, 2, 1))
    assert board(env)[4, 3] == R and board(env)[5, 2] == 0
    assert board(env)[3, 2] == B and board(env)[2, 3] == 0
    assert reward == np.float32(0.01) and env.state[0, checkers.PLAYER] == OPPONENT


def test_an_illegal_action_costs_minus_one_on_top_of_the_scripts_move():
    """A difference from 3.0 (module docstring): 3.0 overwrites the -1 with the script's reward."""
    # The script's blue move after an illegal action captures nothing and ends nothing: -0.99.
    env = game(opponent_squares=(2 * 8 + 1,))
    assert step(env, action(0, 0, 3))[0] == np.float32(-0.99)
    # The script wins the game for blue after an illegal action: -1 + 1 = 0, terminal, a win.
    env = game({(3, 2): B, (4, 3): R}, opponent_squares=(3 * 8 + 2,))
    assert step(env, action(0, 0, 3)) == (0.0, True)
    assert env.log[0, checkers.LOG_PERF] == 1 and env.log[0, checkers.LOG_WINRATE] == 1
    # A legal move is not penalised: blue's step, then red's plain move, 0.
    env = game(opponent_squares=(5 * 8 + 0,))
    assert step(env, action(2, 1, 3))[0] == 0.0


def test_max_moves_truncates_a_game_that_does_not_end():
    """A difference from 3.0 (no time limit there): after ``max_moves`` agent steps the game ends
    as a truncation, logged as an episode that is not a win; ``max_moves=0`` never truncates."""
    env = Checkers(num_envs=1, max_moves=4)
    env.report_each_episode()
    env.reset(seed=3)
    total = 0.0
    for k in range(4):  # illegal actions: the script plays both sides, no game ends in 4 plies
        _, reward, terminal, truncation, infos = env.step(np.array([0]))
        total += float(reward[0])
        assert not terminal[0] and truncation[0] == (k == 3) and bool(infos) == (k == 3)
    np.testing.assert_array_equal(board(env), start_board())  # the next game's first observation
    (info,) = infos
    assert info["episode_length"] == 4 and info["perf"] == 0 and info["winrate"] == 0 and info["n"] == 1
    assert np.isclose(info["episode_return"], total) and total < -3.9
    assert abs(info["score"]) < 1  # 12 pawns a side, a few a row further on
    # Without a limit a game goes on: a position 10,000 steps old still plays a normal move.
    env = game(opponent_squares=(5 * 8 + 0,), max_moves=0)
    env.state[0, checkers.TICK] = 10_000
    assert step(env, action(2, 1, 3)) == (0.0, False)
    env = game(opponent_squares=(5 * 8 + 0,), max_moves=10_002)
    env.state[0, checkers.TICK] = 10_000
    assert step(env, action(2, 1, 3)) == (0.0, False)
    _, _, terminal, truncation, _ = env.step(np.array([0]))
    assert truncation[0] and not terminal[0]


def test_max_moves_is_checked():
    for bad in (-1, 1.5, True):
        with pytest.raises(APIUsageError, match="max_moves"):
            Checkers(max_moves=bad)


def test_a_forward_capture_is_forced_and_a_backward_one_is_not():
    # Blue (3, 2) can jump red (4, 3): its plain moves are illegal, the script then moves blue
    # (jumps only), and its jump is the move.
    env = game({(3, 2): B, (0, 1): B, (4, 3): R, (7, 0): R}, opponent_squares=(3 * 8 + 2,))
    step(env, action(0, 1, 3))
    assert board(env)[1, 2] == 0 and board(env)[0, 1] == B  # the plain move did not happen
    assert board(env)[5, 4] == B and board(env)[4, 3] == 0  # the script's forced jump did
    # A king's backward jump is legal, yet never forced: its plain moves stay legal.
    env = game({(4, 4): BK, (3, 3): R, (7, 0): R}, opponent_squares=(7 * 8 + 0,))
    step(env, action(4, 4, 3))
    assert board(env)[5, 5] == BK and board(env)[3, 3] == R
    env = game({(4, 4): BK, (3, 3): R, (7, 0): R}, opponent_squares=(7 * 8 + 0,))
    step(env, action(4, 4, 4))
    assert board(env)[2, 2] == BK and board(env)[3, 3] == 0 and env.state[0, checkers.OPPONENT_PIECES] == 1


def test_a_jump_with_another_capture_keeps_the_turn():
    env = game({(1, 0): B, (2, 1): R, (4, 3): R, (7, 6): R}, opponent_squares=(3 * 8 + 2,))
    reward, terminal = step(env, action(1, 0, 7))
    # Blue jumped to (3, 2) and still had a capture, so the script moved blue again: the jump on.
    assert board(env)[5, 4] == B and board(env)[2, 1] == 0 and board(env)[4, 3] == 0
    assert (reward, terminal) == (np.float32(0.01), False)
    assert env.state[0, checkers.PLAYER] == OPPONENT and env.state[0, checkers.OPPONENT_PIECES] == 1


def test_promotions_and_their_reward():
    # The script moves blue's pawn (after an illegal action) onto the last row: a king,
    # 0.01 + 0.05, less the illegal action's 1.
    env = game({(6, 1): B, (0, 7): R}, opponent_squares=(6 * 8 + 1,))
    reward, _ = step(env, action(0, 0, 0))
    assert board(env)[7, 0] == BK
    assert reward == np.float32(np.float32(0.01) + np.float32(0.05)) - np.float32(1)
    # Red's pawn reaches row 0 while a blue king stands on the last row: red's move earns 0.05.
    env = game({(7, 0): BK, (1, 6): R, (5, 0): B}, opponent_squares=(1 * 8 + 6,))
    reward, _ = step(env, action(5, 0, 3))
    assert board(env)[0, 5] == RK and reward == np.float32(0.05)


def test_capturing_the_last_piece_wins_and_the_game_restarts():
    env = game({(3, 2): B, (4, 3): R})
    reward, terminal = step(env, action(3, 2, 7))
    assert (reward, terminal) == (1.0, True)
    np.testing.assert_array_equal(board(env), start_board())  # the next game's first observation
    n, ret, length, score, perf, winrate = env.log[0]
    # score: 3.0's evaluation of the final board, blue's pawn on row 5: 1 + 5 * 0.1.
    assert (n, ret, length, perf, winrate) == (1, 1.0, 1, 1, 1)
    assert score == np.float32(1.0) + np.float32(5.0) * np.float32(0.1)


def test_losing_the_last_piece_or_every_move_loses():
    # Red's script jumps blue's last pawn: -1.
    env = game({(2, 1): B, (4, 3): R}, opponent_squares=(4 * 8 + 3,))
    assert step(env, action(2, 1, 3)) == (-1.0, True)
    assert env.log[0, checkers.LOG_WINRATE] == 0 and env.log[0, checkers.LOG_PERF] == 0
    # Blue's move leaves red without a move: blue wins.
    env = game({(0, 1): BK, (5, 5): B, (1, 0): R})
    assert step(env, action(5, 5, 3)) == (1.0, True)
    assert env.log[0, checkers.LOG_WINRATE] == 1


def test_after_a_jump_the_other_side_is_not_forced_to_capture():
    """3.0's capture cache: after blue's turn-ending jump, red's move reuses blue's "no capture"."""
    env = game({(2, 1): B, (3, 2): R, (5, 2): R, (6, 1): R}, opponent_squares=(6 * 8 + 1,))
    step(env, action(2, 1, 7))  # blue jumps to (4, 3); red's (5, 2) could now jump it
    assert board(env)[4, 3] == B and board(env)[3, 2] == 0
    assert board(env)[5, 0] == R and board(env)[6, 1] == 0  # yet red played a plain move
    assert env.state[0, checkers.PLAYER] == AGENT


def test_replays_the_c_game_step_for_step():
    """The fixture: 3000 steps of 3.0's checkers (``bench/pufferlib3/record_logged.py --clock``,
    the policy ``policy_checkers:actions``). 3.0 reseeds ``rand()`` with ``time(NULL)`` before
    every opponent move, so each step gets the stream of the second it was recorded in.

    Observations match at every step. 3.0 clears the terminal flag and final reward of a
    finished game when it resets it; here the step that ends a game reports them: where 3.0
    logged an episode, ours is terminal with 3.0's logged final reward, and its log equals 3.0's.
    Where the recorded action was illegal, our reward is 3.0's minus 1 (clamped): 3.0 lets the
    script's move overwrite the -1. The recorded games run up to 210 steps: ``max_moves=0``.
    """
    data = load("checkers")
    env = Checkers(num_envs=1, max_moves=0)
    env.report_each_episode()
    tapes = data["clock_tapes"].astype(np.uint64)
    env.use_random_tape(tapes[:1])
    obs, _ = env.reset(seed=0)
    observations, rewards, terminals, logged = [obs.copy()], [], [], {}
    keys = [str(key) for key in data["log_keys"]]
    illegal = []
    for k, a in enumerate(data["actions"]):
        state = env.state.copy()  # the legality test fills the caches: ask a copy
        illegal.append(not checkers._is_legal(env.board, env._targets, state, 0, a[0] >> 3, a[0] & 7))
        env.use_random_tape(tapes[data["clock_index"][k]][None])
        obs, reward, terminal, truncation, infos = env.step(a)
        assert env.rng[0, 0] < tapes.shape[1], "the opponent drew past its recorded stream"
        assert not truncation[0]
        observations.append(obs.copy())
        rewards.append(reward.copy())
        terminals.append(terminal.copy())
        if infos:
            logged[k] = infos[0]
    assert first_mismatch(data["observations"], np.array(observations)) is None
    ends = np.flatnonzero(np.isfinite(data["logs"][:, 0]))
    assert len(ends) >= 20 and sorted(logged) == list(ends)
    rewards, terminals = np.array(rewards)[:, 0], np.array(terminals)[:, 0]
    assert not data["terminals"].any() and (data["rewards"][ends] == 0).all()  # 3.0 hides the ends
    np.testing.assert_array_equal(np.flatnonzero(terminals), ends)
    illegal = np.array(illegal)
    assert 50 <= illegal.sum() <= len(illegal) - 50  # the recording has both kinds
    c_rewards = data["rewards"][:, 0].copy()
    for k in ends:
        c_rewards[k] = dict(zip(keys, data["logs"][k]))["episode_return"]  # 3.0 logs the final reward
    expected = np.where(illegal, np.maximum(c_rewards - np.float32(1), np.float32(-1)), c_rewards)
    np.testing.assert_array_equal(rewards, expected.astype(np.float32))
    for k in ends:
        c_log = dict(zip(keys, data["logs"][k]))
        ours = logged[k]
        assert ours["episode_length"] == c_log["episode_length"]
        assert np.float32(ours["score"]) == np.float32(c_log["score"])
        assert ours["perf"] == c_log["perf"] and ours["winrate"] == c_log["winrate"]
    assert {round(float(r), 2) for r in np.unique(rewards)} >= {-1.0, 0.0, 0.01, 0.05, 0.06, 1.0}


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_checkers_learns_to_play_legal_moves(tmp_path):
    """The shipped ``ocean:checkers`` config, trained for 1M steps, earns a clearly higher
    episode return than random play (whose actions are nearly all illegal, -1 each).

    Measured (2 shared cores, 134 s): trained return -67.0 (perf 0.471, score -0.60, length 77.8)
    vs random play -92.1 (perf 0.473, score -0.28, length 94.7). The trained policy does not yet
    win more often than random play, whose illegal actions let the script play both sides.
    """
    from short_training import play_stats, train

    policy, config = train("checkers", 1_000_000, tmp_path)
    random_play = play_stats(config, None, 1000)
    trained = play_stats(config, policy, 1000)
    assert trained["episode_return"] >= random_play["episode_return"] + 15, (trained, random_play)
