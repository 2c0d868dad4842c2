"""Connect Four (ocean:connect4): 3.0's rules and opponent, the draw fix, replay against 3.0's C game."""

from __future__ import annotations

import numpy as np
import pytest
from replay import load

from pufferlib.environments.ocean.native import Connect4, connect4
from pufferlib.exceptions import APIUsageError

ROWS, COLS = 6, 7


# -- 3.0's opponent, written out plainly (a reference for the bitboard closed forms) ------


def _bit(col: int, row: int) -> int:
    return 1 << (col * (ROWS + 1) + row)


def _won(pieces: int) -> bool:
    for shift in (7, 6, 8, 1):
        m = pieces & (pieces >> shift)
        if m & (m >> (2 * shift)):
            return True
    return False


def _play(col: int, mask: int, other: int) -> int:
    return other ^ (mask | (mask + _bit(col, 0)))


def _full(col: int, mask: int) -> bool:
    return bool(mask & _bit(col, ROWS - 1))


def _negamax(pieces: int, other: int, depth: int) -> float:
    """3.0's ``negamax``, line for line (its draw test included: ``mask == 4432406249472``)."""
    mask = pieces | other
    if _won(other):
        return 10.0**depth
    if _won(pieces):
        return 0.0
    if depth == 0 or mask == 4432406249472:
        return 0.0
    value = 0.0
    for col in range(COLS):
        if not _full(col, mask):
            value -= _negamax(other, _play(col, mask, other), depth - 1)
    return value


def reference_moves(agent: int, opponent: int) -> list[int]:
    """3.0's ``compute_env_move``: the columns it chooses from with ``rand() % len(columns)``
    (one column when it plays without drawing)."""
    mask = agent | opponent
    key = agent + mask + (1 << 42)
    if key == 4398050705408:
        return [2]
    if key == 4398583382016:
        return [3]
    values = [9999.0] * COLS
    for col in range(COLS):
        if _full(col, mask):
            continue
        child = _play(col, mask, agent)
        if _won(child):
            return [col]
        values[col] = -_negamax(agent, child, 3)
    best = min(values)
    return [col for col in range(COLS) if values[col] == best]


def random_positions(count: int, seed: int) -> list[tuple[int, int]]:
    """Positions of random games (agent to move, nobody has four), early and late."""
    rng = np.random.default_rng(seed)
    positions = []
    while len(positions) < count:
        sides, mask, turn = [0, 0], 0, 0
        for _ in range(int(rng.integers(1, 40))):
            legal = [c for c in range(COLS) if not _full(c, mask)]
            col = int(rng.choice(legal))
            nxt = _play(col, mask, sides[1 - turn])
            if _won(nxt):
                break
            sides[turn], mask, turn = nxt, mask | nxt, 1 - turn
        if turn == 0 and mask != int(connect4.BOARD):
            positions.append((sides[0], sides[1]))
    return positions


def test_the_opponent_is_3_0s_negamax_with_its_book_and_tie_breaks():
    positions = random_positions(50, seed=0)
    # 3.0's quirky "draw": the two pieces at the bottom of columns 5 and 6 score 0.
    positions += [(_bit(5, 0), 0), (_bit(6, 0), 0), (_bit(3, 0), 0), (_bit(4, 0), 0)]
    values = np.zeros(COLS, dtype=np.int64)
    ties = 0
    for agent, opponent in positions:
        columns = reference_moves(agent, opponent)
        ties += len(columns) > 1
        for rand in range(len(columns)):
            tape = np.array([[0, rand]], dtype=np.uint64)
            got = connect4.opponent_move(np.uint64(agent), np.uint64(opponent), tape, 0, values)
            assert got == columns[rand], (agent, opponent, rand)
    assert ties >= 5  # positions where the opponent drew a random number
    # The book: column 3 is answered with 2, column 4 with 3 (no random number drawn).
    tape = np.array([[0, 0]], dtype=np.uint64)
    assert connect4.opponent_move(np.uint64(_bit(3, 0)), np.uint64(0), tape, 0, values) == 2
    assert connect4.opponent_move(np.uint64(_bit(4, 0)), np.uint64(0), tape, 0, values) == 3
    assert tape[0, 0] == 0


# -- rules on hand-built positions ------------------------------------------------------------


def board(rows: list[str]) -> np.ndarray:
    """A board from text rows, top first: ``X`` the agent, ``O`` the opponent, ``.`` empty."""
    rows = ["." * COLS] * (ROWS - len(rows)) + [row.ljust(COLS, ".") for row in rows]
    return np.array([[{"X": 1, "O": -1, ".": 0}[ch] for ch in row] for row in rows], dtype=np.int8)


def play(env: Connect4, position: list[str], column: int) -> tuple[float, bool]:
    env.set_position(0, board(position))
    _, rewards, terminals, truncations, _ = env.step(np.array([column]))
    assert not truncations[0]
    return float(rewards[0]), bool(terminals[0])


def test_wins_losses_illegal_moves_and_the_observation():
    env = Connect4()
    env.reset(seed=0)
    assert play(env, ["XXX.OO."], 3) == (1.0, True)  # horizontal
    assert not env.pieces[0].any() and not env.observations[0].any()  # restarted in the same step
    assert play(env, ["X.....O", "X.....O", "X....OO"], 0) == (1.0, True)  # vertical
    assert play(env, ["..XO...", ".XOX...", "XOXO..."], 3) == (1.0, True)  # rising diagonal
    assert play(env, ["O", "X", "O", "X", "O", "X"], 0) == (-1.0, True)  # full column: illegal
    # The opponent wins at once when it can (its rising diagonal ends in column 3).
    assert play(env, ["..OX...", ".OXO...", "OXOX..."], 6) == (-1.0, True)
    assert env.log[0, connect4.LOG_PERF] == 3 and env.log[0, 0] == 5
    # A quiet move: both pieces appear, +1 for the agent's and -1 for the opponent's.
    env.reset(seed=0)
    env.step(np.array([0]))
    obs = env.observations[0]
    assert obs[0 * ROWS + 0] == 1.0 and obs.sum() == 0.0 and (obs != 0).sum() == 2
    np.testing.assert_array_equal(obs, env.board(0)[::-1].T.ravel())
    with pytest.raises(APIUsageError, match="gaps"):
        env.set_position(0, np.eye(ROWS, COLS, dtype=np.int8))


def test_a_full_board_is_a_draw_not_a_loss():
    """Difference from 3.0: 3.0 keeps the full board and the agent's next (necessarily illegal)
    move loses; here the move that fills the board ends the game with reward 0."""
    env = Connect4()
    env.reset(seed=0)
    full = ["XXOOXXO", "XXOOXXO", "OOXXOOX", "XXOOXXO", "OOXXOOX", "OOXXOOX"]
    position = [".....", *full[1:]]
    position[0] = full[0][:5] + ".."  # the agent fills column 5, the opponent column 6
    assert play(env, position, 5) == (0.0, True)
    assert env.log[0, 3] == 0.0 and env.log[0, connect4.LOG_PERF] == 0  # score 0, not a win
    assert not env.observations[0].any()


def test_episode_stats_count_moves_and_score_the_result():
    env = Connect4(num_envs=2, report_interval=1)
    env.reset(seed=0)
    env.set_position(0, board(["XXX.OO."]))
    env.set_position(1, board(["O", "X", "O", "X", "O", "X"]))
    _, _, _, _, infos = env.step(np.array([3, 0]))
    assert infos == [{"episode_return": 0.0, "episode_length": 4.0, "score": 0.0, "perf": 0.5, "n": 2.0}]


# -- replay against 3.0's C game -------------------------------------------------------------


def test_replays_3_0s_c_game_with_its_random_numbers():
    """The fixture: 4000 steps of 3.0's C game (a player that takes wins half the time, else
    random: wins, losses, illegal moves, the book and the opponent's tie-breaks).

    3.0 shows the final board on a game's last step and clears it on the next step, which
    ignores its action; our port restarts at once. So each C step after a terminal one is
    checked (reward 0, no flag, empty board) and skipped, and our observation on a terminal
    step is compared with the C one after the clearing step.
    """
    data = load("connect4")
    env = Connect4(num_envs=1)
    env.use_random_tape(data["tape"].astype(np.uint64)[None])
    obs, _ = env.reset(seed=0)
    np.testing.assert_array_equal(obs, data["observations"][0])
    steps = len(data["actions"])
    compared = episodes = 0
    t = 0
    while t < steps:
        obs, rewards, terminals, truncations, _ = env.step(data["actions"][t])
        assert rewards[0] == data["rewards"][t, 0] and terminals[0] == data["terminals"][t, 0], t
        assert not truncations[0]
        if terminals[0]:
            episodes += 1
            t += 1  # 3.0's clearing step
            if t == steps:
                break
            assert data["rewards"][t, 0] == 0 and not data["terminals"][t, 0]
        np.testing.assert_array_equal(obs, data["observations"][t + 1], err_msg=f"step {t}")
        compared += 1
        t += 1
    assert episodes == int(data["terminals"].sum()) > 400 and compared > 3000
    assert int(env.rng[0, 0]) == len(data["tape"])  # the same rand() draws, all of them


# -- learning -------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_learns_to_beat_the_negamax_opponent(tmp_path):
    """The shipped ``ocean:connect4`` settings with 128 games and 8192-step batches (more
    updates early) and a 300k-step budget (about 30 s on one core): random play loses almost
    every game; the trained policy wins a fair share."""
    import test_ocean_native

    policy, config = test_ocean_native.train_shipped(
        "connect4", tmp_path, 300_000, env={"num_envs": 128}, batch_size=8192
    )
    random = test_ocean_native.play_stats(config, None, 400)
    trained = test_ocean_native.play_stats(config, policy, 400)
    assert random["score"] < -0.9
    assert trained["score"] >= random["score"] + 0.2 and trained["perf"] >= 0.1
