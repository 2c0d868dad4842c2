"""Tetris (ocean:tetris), a port of PufferLib 3.0's ``tetris``: rules, the replay of a recorded
3.0 game, and learning."""

from __future__ import annotations

import numpy as np
import pytest
from replay import first_mismatch, load, replay

from pufferlib.environments.ocean.native import tetris
from pufferlib.environments.ocean.native.tetris import (
    CAN_SWAP,
    COL,
    DECK,
    DECK_POS,
    HELD,
    PIECE,
    ROT,
    ROW,
    SCORE,
    TICK,
    TICK_FALL,
    Tetris,
)

O, I, S, Z, T, L, J = range(7)  # noqa: E741 (the pieces' names)
BASE = 200  # where the scalars start in a 20 x 10 game's observation


def game(piece: int = T, row: int = 0, col: int = 5, rot: int = 0, deck: tuple = (O, I, S),
         filled: list[tuple[int, int]] = ()) -> Tetris:
    """One game with ``piece`` at (row, col, rot), the deck's next pieces ``deck[1:]`` and
    ``filled`` cells in the well."""
    env = Tetris(num_envs=1)
    env.reset(seed=0)
    s = env.state[0]
    s[PIECE], s[ROW], s[COL], s[ROT], s[TICK_FALL] = piece, row, col, rot, 0
    s[DECK_POS] = 0
    s[DECK:DECK + 3] = (piece, *deck[1:])
    env.grid[0] = 0
    for r, c in filled:
        env.grid[0, r * 10 + c] = 1
    return env


def step(env: Tetris, action: int) -> tuple[float, bool, bool]:
    _, rewards, terminals, truncations, _ = env.step(np.array([action]))
    return float(rewards[0]), bool(terminals[0]), bool(truncations[0])


def well(env: Tetris) -> np.ndarray:
    return env.grid[0].reshape(20, 10) != 0


# -- the tables ----------------------------------------------------------------------------


def test_each_tetromino_has_four_cells_inside_its_box():
    for p in range(7):
        for r in range(4):
            cells = tetris.CELLS[p, r]
            assert len({tuple(c) for c in cells}) == 4
            assert cells[:, 0].max() + 1 == tetris.FILL_ROWS[p, r]
            assert cells[:, 1].max() + 1 == tetris.FILL_COLS[p, r]
            assert cells[:, 0].min() == 0 and cells[:, 1].min() == 0


# -- moves ---------------------------------------------------------------------------------


def test_moves_stop_at_the_walls_and_the_stack():
    env = game(T, row=5, col=0)
    assert step(env, tetris.LEFT) == (0.0, False, False) and env.state[0, COL] == 0  # the wall
    step(env, tetris.RIGHT)
    assert env.state[0, COL] == 1
    env.state[0, COL] = 10 - tetris.FILL_COLS[T, 0]
    step(env, tetris.RIGHT)
    assert env.state[0, COL] == 8
    env = game(T, row=5, col=4, filled=[(6, 3)])  # T rotation 0 has a cell at (row + 1, col)
    step(env, tetris.LEFT)
    assert env.state[0, COL] == 4


def test_rotation_turns_in_place_unless_it_would_collide_or_leave_the_well():
    env = game(I, row=3, col=4)
    step(env, tetris.ROTATE)
    assert env.state[0, ROT] == 1 and env.state[0, COL] == 4
    env = game(I, row=3, col=7)  # flat, the I needs columns 7-10: refused
    step(env, tetris.ROTATE)
    assert env.state[0, ROT] == 0
    env = game(I, row=3, col=4, filled=[(3, 6)])
    step(env, tetris.ROTATE)
    assert env.state[0, ROT] == 0
    assert env.state[0, tetris.N_ROTATE] == 1  # refused rotations count too


def test_gravity_moves_the_piece_down_every_fourth_tick():
    env = game(T, row=0, col=4)
    rows = []
    for _ in range(8):
        step(env, tetris.NOOP)
        rows.append(int(env.state[0, ROW]))
    assert rows == [0, 0, 0, 1, 1, 1, 1, 2]
    assert env.observations[0, BASE + 1] == 0.0
    step(env, tetris.NOOP)
    assert env.observations[0, BASE + 1] == np.float32(1 / 4)  # one tick since the last fall


def test_soft_and_hard_drops_score_and_reward():
    env = game(O, row=0, col=4)
    reward, _, _ = step(env, tetris.SOFT_DROP)
    assert reward == np.float32(0.01) and env.state[0, ROW] == 1 and env.state[0, SCORE] == 1
    reward, _, _ = step(env, tetris.HARD_DROP)  # from row 1 to 18: 17 rows
    expected = np.float32(0.0)
    for _ in range(17):
        expected += np.float32(0.02)
    assert reward == expected and env.state[0, SCORE] == 1 + 2 * 17
    assert well(env)[18:, 4:6].all() and well(env).sum() == 4
    assert env.state[0, PIECE] == I and env.state[0, ROW] == 0  # the deck's next piece
    assert env.state[0, tetris.N_HARD] == 1 and env.state[0, CAN_SWAP] == 1


@pytest.mark.parametrize("lines", [1, 2, 3, 4])
def test_clearing_rows_scores_100_300_500_1000(lines):
    # The bottom `lines` rows are full but for column 0; a vertical I fills them.
    filled = [(r, c) for r in range(20 - lines, 20) for c in range(1, 10)] + [(19 - lines, 5)]
    env = game(I, row=15, col=0, filled=filled)
    reward, terminal, _ = step(env, tetris.HARD_DROP)  # one row down (15 -> 16), then placed
    assert reward == np.float32(0.02) + tetris.REWARD_LINES[lines]
    assert env.state[0, SCORE] == 2 + tetris.SCORE_LINES[lines]
    assert env.state[0, tetris.LINES] == lines and env.state[0, tetris.CLEARS] == 1
    # The rows above moved down: what is left is the I's leftover cells and the lone block.
    remaining = well(env)
    assert remaining[19, 5] and remaining.sum() == 1 + (4 - lines) and remaining[20 - (4 - lines):, 0].all()
    assert not terminal


def test_the_game_ends_when_the_next_piece_cannot_enter():
    env = game(O, row=10, col=0, deck=(O, T, S), filled=[(1, 5)])  # T enters at row 0-1, cols 5-6
    env.state[0, SCORE] = 7
    reward, terminal, truncated = step(env, tetris.HARD_DROP)
    assert terminal and not truncated
    assert env.log[0, 0] == 1 and env.log[0, 3] == 7 + 2 * 8  # score: 7 + the drop (rows 10 -> 18)
    assert env.state[0, TICK] == 0 and not well(env).any()  # restarted


def test_the_time_limit_is_a_truncation():
    """3.0 signals it as a terminal: here a placement at tick >= 10000 truncates."""
    env = game(O, row=0, col=0)
    env.state[0, TICK] = tetris.MAX_TICKS - 1
    _, terminal, truncated = step(env, tetris.HARD_DROP)
    assert truncated and not terminal and env.log[0, 2] == tetris.MAX_TICKS


def test_hold_takes_the_next_piece_then_swaps_once_per_placement():
    env = game(T, row=2, col=3, deck=(T, L, S))
    step(env, tetris.HOLD)
    s = env.state[0]
    assert s[HELD] == T and s[PIECE] == L and (s[ROW], s[COL], s[ROT]) == (0, 5, 0) and s[CAN_SWAP] == 0
    step(env, tetris.HOLD)  # once per placement: refused
    assert s[HELD] == T and s[PIECE] == L
    step(env, tetris.HARD_DROP)
    assert s[CAN_SWAP] == 1 and s[PIECE] == S
    s[ROW] = 3
    step(env, tetris.HOLD)  # now a swap: the held T comes back at the top
    assert s[HELD] == S and s[PIECE] == T and s[ROW] == 0 and s[DECK + s[DECK_POS]] == T


def test_hold_is_refused_when_the_incoming_piece_would_collide_at_the_top():
    """3.0 checks the held piece in the current piece's rotation one column right of it (here:
    free) and then puts it at the top anyway, overlapping the stack. Here the hold is refused."""
    env = game(T, row=10, col=0, filled=[(0, 5)])
    env.state[0, HELD] = O
    step(env, tetris.HOLD)
    assert env.state[0, PIECE] == T and env.state[0, HELD] == O and env.state[0, CAN_SWAP] == 1
    env = game(T, row=10, col=0, deck=(T, I, S), filled=[(3, 5)])  # the next piece, I, collides
    step(env, tetris.HOLD)
    assert env.state[0, PIECE] == T and env.state[0, HELD] == -1


def test_observation_layout():
    env = game(L, row=4, col=2, rot=2, deck=(L, J, O), filled=[(19, 0)])
    env.state[0, HELD] = I
    env.state[0, TICK] = 99
    env.state[0, CAN_SWAP] = 0
    step(env, tetris.NOOP)
    obs = env.observations[0]
    assert obs.shape == (200 + 6 + 7 * 4,)
    grid = obs[:200].reshape(20, 10)
    piece = np.zeros((20, 10), bool)
    piece[4, 2:4] = piece[5, 3] = piece[6, 3] = True  # L in rotation 2: "11..|.1..|.1.."
    np.testing.assert_array_equal(grid == 2, piece)
    assert grid[19, 0] == 1 and (grid == 1).sum() == 1
    np.testing.assert_array_equal(obs[BASE:BASE + 6], np.float32([100 / 10000, 1 / 4, 4 / 20, 2 / 10, 2, 0]))
    onehots = obs[BASE + 6:].reshape(4, 7)
    np.testing.assert_array_equal(onehots.argmax(axis=1), [L, J, O, I])
    assert onehots.sum() == 4
    # 3.0 writes the one-hots 2 slots early: the rotation stays (no O in slot 0), the I of the
    # hold one-hot (BASE + 6 + 21 + 1) lands at BASE + 4 + 22, and the last 2 values stay 0.
    c_obs = tetris.c_layout(obs[None])[0]
    np.testing.assert_array_equal(c_obs[:BASE + 6], np.concatenate([obs[:BASE + 5], [0]]))
    assert c_obs[BASE + 4 + L] == c_obs[BASE + 4 + 7 + J] == c_obs[BASE + 4 + 14 + O] == 1
    assert c_obs[BASE + 4 + 21 + I] == 1 and c_obs[BASE + 4:].sum() == 2 + 4 and c_obs[-2:].sum() == 0


# -- replay against PufferLib 3.0 ------------------------------------------------------------

# 3.0's vec_log after the fixture's 4000 steps (14 episodes), from its own C game.
C_LOG = {"score": 1678.642822265625, "perf": 0.133596733212471, "ep_length": 280.4285583496094,
         "ep_return": 10.29362964630127, "avg_combo": 1.0312925577163696, "lines_deleted": 6.9285712242126465,
         "atn_frac_soft_drop": 0.04759689420461655, "atn_frac_hard_drop": 0.1624521166086197,
         "atn_frac_rotate": 0.1930442750453949}


def test_replays_pufferlib3_step_for_step():
    """A recorded 3.0 game (a scripted player with 30% random moves: line clears of 1-3 rows,
    holds, 14 game overs) replays exactly with its own random numbers: every observation (in
    3.0's layout, see ``c_layout``), reward and terminal, and the episode statistics. No hold
    in it meets 3.0's hold defect, and no game reaches the time limit."""
    env = Tetris(num_envs=1, report_interval=10**9)  # the log keeps every episode
    result = replay("tetris", env)
    expected, actual = result.expected, result.actual
    assert first_mismatch(expected["observations"], tetris.c_layout(actual["observations"])) is None
    assert first_mismatch(expected["rewards"], actual["rewards"]) is None
    assert first_mismatch(expected["terminals"], actual["terminals"]) is None
    assert not actual["truncations"].any()
    assert result.draws == len(load("tetris")["tape"])
    assert expected["terminals"].sum() == 14 and (expected["actions"] == tetris.HOLD).sum() > 100
    # The episode statistics, as 3.0 logs them.
    ours = env._means(env.log.sum(axis=0))
    assert ours["n"] == 14
    for key, value in C_LOG.items():
        ours_key = {"ep_length": "episode_length", "ep_return": "episode_return"}.get(key, key)
        assert ours[ours_key] == pytest.approx(value, rel=1e-5), key


# -- learning --------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_learns_to_beat_random_play(tmp_path):
    """600k steps of the shipped configuration (~40 s on one core; it ships 5M): random play
    scores ~180 (drops and no lines), the trained policy ~500 (hard drops, spread pieces) in
    games half again as long."""
    from short_training import play_stats, train

    policy, config = train("tetris", 600_000, tmp_path)
    random, trained = play_stats(config, None, 500), play_stats(config, policy, 500)
    assert trained["score"] >= 2 * random["score"]
    assert trained["episode_length"] >= 1.3 * random["episode_length"]
