"""Blastar (ocean/native/blastar.py): rules on hand-built states, replays of PufferLib 3.0's C game
step for step, and learning."""

from __future__ import annotations

import numpy as np
import pytest
from replay import first_mismatch, load, replay

from pufferlib.environments.ocean.native import blastar as B
from pufferlib.environments.ocean.native.blastar import Blastar
from pufferlib.exceptions import APIUsageError

F32 = np.float32
NOOP, LEFT, RIGHT, UP, DOWN, FIRE = range(6)


def game(tape: list[int] | None = None, lives: int = 10) -> Blastar:
    """One game, reset; with ``tape``, its rand() values (the first two place the player)."""
    env = Blastar(num_envs=1, lives=lives)
    if tape is not None:
        env.use_random_tape(np.array([tape], dtype=np.uint64))
    env.reset(seed=0)
    return env


def place(env: Blastar, **values: float) -> None:
    """Set state by name: PX=..., ENEMY_BULLET=..., TICK=... (positions or int state)."""
    for name, value in values.items():
        index = getattr(B, name)
        if name in ("PX", "PY", "PBX", "PBY", "EX", "EY", "EBX", "EBY"):
            env.pos[0, index] = value
        else:
            env.ints[0, index] = value


def step(env: Blastar, action: int) -> tuple[float, bool]:
    _, rewards, terminals, truncations, _ = env.step(np.array([action]))
    assert not truncations[0]
    return float(rewards[0]), bool(terminals[0])


def kill_reward(ex: float, py: float, ey: float, tick: int, score: int, streak: int, scale: float) -> float:
    """3.0's reward for a kill this step, in float32 as the C code computes it."""
    fired = F32(1.5)
    hit = F32(scale) * (F32(1) - F32(ex) / F32(640))
    close = F32(0.01) * (F32(2) - (F32(py) - F32(ey)) / F32(480))
    average = F32(score) / F32(tick + 1)
    return float((((fired + close) + hit) + average) * (F32(1) + F32(streak) * F32(0.1)))


# -- rules ----------------------------------------------------------------------------------


def test_a_new_game_places_the_player_with_two_draws_and_observes_it():
    env = game([1000, 2000])
    assert (env.pos[0, B.PX], env.pos[0, B.PY]) == (1000 % 623, 2000 % 463)
    assert (env.pos[0, B.EX], env.pos[0, B.EY]) == (-30, 50)
    assert env.ints[0, B.LIVES] == 10 and env.ints[0, B.ENEMY_ACTIVE] == 1
    expected = np.zeros(10, dtype=np.float32)
    expected[:4] = F32(377) / F32(640), F32(148) / F32(480), F32(-30) / F32(640), F32(50) / F32(480)
    np.testing.assert_array_equal(env.observations[0], expected)  # 3.0 leaves zeros here
    assert int(env.rng[0, 0]) == 2


def test_moves_stop_at_the_edges_and_firing_places_a_bullet():
    env = game([0, 0])
    place(env, PX=3, PY=300, EY=50)
    step(env, LEFT)
    assert env.pos[0, B.PX] == -5  # moved: x was > 0
    step(env, LEFT)
    assert env.pos[0, B.PX] == -5
    place(env, PX=100)
    reward, _ = step(env, FIRE)
    assert env.ints[0, B.PLAYER_BULLET] == 1 and (env.pos[0, B.PBX], env.pos[0, B.PBY]) == (100, 288)
    assert reward == float(F32(0.0005) + F32(0.01) * (F32(2) - F32(250) / F32(480)))
    np.testing.assert_array_equal(env.observations[0, 4:7], [F32(100) / F32(640), F32(288) / F32(480), 1])
    reward, _ = step(env, FIRE)  # replacing a bullet in flight earns nothing extra
    assert env.pos[0, B.PBY] == 288 and reward == float(F32(0.01) * (F32(2) - F32(250) / F32(480)))
    place(env, PX=400)
    reward, _ = step(env, NOOP)  # the right half of the screen earns nothing
    assert reward == 0.0


def test_a_kill_scores_rewards_and_explodes_the_enemy():
    env = game([0, 0, 5, 77])
    place(env, PX=120, PY=300, PBX=110, PBY=220, PLAYER_BULLET=1, EX=96, EY=200, TICK=9, SCORE=2, STREAK=1)
    reward, terminal = step(env, NOOP)
    assert not terminal and env.ints[0, B.SCORE] == 3 and env.ints[0, B.STREAK] == 2
    assert reward == kill_reward(ex=100, py=300, ey=200, tick=10, score=3, streak=2, scale=4.5)
    assert env.ints[0, B.ENEMY_TIMER] == 30 and env.ints[0, B.PLAYER_BULLET] == 0
    assert env.ints[0, B.ENEMY_ACTIVE] == 0 and env.observations[0, 6] == 0
    for _ in range(29):  # the explosion: nothing moves, no reward, no draw
        assert step(env, RIGHT) == (0.0, False)
    assert env.pos[0, B.PX] == 120 and int(env.rng[0, 0]) == 2
    step(env, NOOP)  # the enemy comes back: rand() = 5 is <= 0.1 RAND_MAX, so where it died
    assert (env.pos[0, B.EX], env.pos[0, B.EY]) == (100, 200) and env.ints[0, B.ENEMY_ACTIVE] == 1
    env = game([0, 0, 2**30, 77])
    place(env, PX=120, PY=300, PBX=110, PBY=220, PLAYER_BULLET=1, EX=96, EY=200)
    for _ in range(31):
        step(env, NOOP)
    assert (env.pos[0, B.EX], env.pos[0, B.EY]) == (-16, 77)  # 2**30 > 0.1 RAND_MAX: a new start


def test_a_kill_just_after_the_enemy_wraps_around_earns_less():
    env = game([0, 0])
    place(env, PX=-5, PY=300, PBX=-5, PBY=220, PLAYER_BULLET=1, EX=640, EY=200, TICK=4)
    reward, _ = step(env, NOOP)
    assert env.pos[0, B.EX] == -16 and env.ints[0, B.SCORE] == 1
    assert reward == kill_reward(ex=-16, py=300, ey=200, tick=5, score=1, streak=1, scale=3.5)


def test_a_bullet_that_hits_from_above_the_enemy_does_not_kill():
    env = game([0, 0])
    place(env, PX=120, PY=210, PBX=110, PBY=220, PLAYER_BULLET=1, EX=96, EY=200)
    step(env, NOOP)
    assert env.ints[0, B.SCORE] == 0 and env.ints[0, B.ENEMY_ACTIVE] == 1


def test_the_enemy_attacks_holds_the_player_and_its_bullet_costs_a_life():
    env = game([0, 0, 2, 123])  # rand() % 2 == 0: it attacks; then the enemy's new height
    place(env, PX=100, PY=200, EX=100, EY=100, PLAYER_BULLET=1, PBX=100, PBY=150)
    step(env, NOOP)  # centres 108.5 and 108: within 4 pixels, the enemy above
    assert env.ints[0, B.ATTACKING] == 1 and env.ints[0, B.STUCK] == 1
    assert env.ints[0, B.PLAYER_BULLET] == 0 and env.ints[0, B.ENEMY_BULLET] == 1
    assert (env.pos[0, B.EBX], env.pos[0, B.EBY]) == (104 + 8 - 5, 100 + 17 + 12)
    lives = env.ints[0, B.LIVES]
    for k in range(10):  # held: no move, no fire; the enemy waits; its bullet falls 12 a step
        step(env, (LEFT, FIRE)[k % 2])
        if env.ints[0, B.LIVES] < lives:
            break
        assert env.pos[0, B.PX] == 100 and env.pos[0, B.EX] == 104 and env.ints[0, B.PLAYER_BULLET] == 0
    assert k == 4  # the bullet's top reached y = 189: it overlaps the player (y 200-217)
    assert env.ints[0, B.LIVES] == lives - 1 and env.ints[0, B.PLAYER_TIMER] == 30
    assert env.ints[0, B.STUCK] == 0 and env.ints[0, B.ATTACKING] == 0
    assert (env.pos[0, B.EX], env.pos[0, B.EY]) == (-16, 123)
    env = game([0, 0, 3])  # rand() % 2 == 1: it flies on, 4 more pixels
    place(env, PX=100, PY=200, EX=100, EY=100)
    step(env, NOOP)
    assert env.ints[0, B.ATTACKING] == 0 and env.pos[0, B.EX] == 108


def test_a_collision_costs_a_life_and_freezes_both_ships_for_sixty_steps():
    env = game([0, 0, 300])
    place(env, PX=100, PY=300, EX=90, EY=295)
    assert step(env, NOOP) == (0.0, False)
    assert env.ints[0, B.LIVES] == 9
    assert env.ints[0, B.PLAYER_TIMER] == 30 and env.ints[0, B.ENEMY_TIMER] == 30
    assert (env.pos[0, B.EX], env.pos[0, B.EY]) == (-16, 300)
    for _ in range(30):
        step(env, RIGHT)
    assert env.ints[0, B.PLAYER_TIMER] == 0 and env.ints[0, B.ENEMY_TIMER] == 30 and env.pos[0, B.PX] == 100
    for _ in range(29):
        step(env, RIGHT)
    assert env.pos[0, B.PX] == 100 and env.ints[0, B.ENEMY_ACTIVE] == 0


def test_the_last_life_ends_the_game_once_and_logs_it():
    env = game([0, 0, 300, 1000, 2000])
    env.report_each_episode()
    place(env, PX=100, PY=300, EX=90, EY=295, LIVES=1, SCORE=7, TICK=41, STREAK=3)
    env.sums[0, B.RETURN] = 5.0
    _, rewards, terminals, _, infos = env.step(np.array([NOOP]))
    assert terminals[0] and rewards[0] == 0
    (info,) = infos
    assert info["score"] == 7 and info["episode_length"] == 42 and info["episode_return"] == 5.0
    assert info["lives"] == 0 and info["perf"] == pytest.approx(7 / 50) and info["kill_streak"] == 3
    # The new game: a fresh player (two more draws), and the next step is not terminal (3.0's
    # terminal flag stays set for ever).
    assert (env.pos[0, B.PX], env.pos[0, B.PY]) == (1000 % 623, 2000 % 463) and env.ints[0, B.LIVES] == 10
    assert step(env, NOOP)[1] is False


def test_a_shot_on_the_last_life_is_rewarded_from_the_new_game():
    """3.0 restarts the game when the bullet hits, then computes the step's reward from the new
    game's state (the old centres): the reward comes with terminal."""
    env = game([0, 0, 123, 100, 400])
    env.report_each_episode()
    place(env, PX=100, PY=200, EX=0, EY=100, LIVES=1, ENEMY_BULLET=1, EBX=100, EBY=180, ATTACKING=1, STUCK=1)
    _, rewards, terminals, _, infos = env.step(np.array([NOOP]))
    assert terminals[0] and (env.pos[0, B.PX], env.pos[0, B.PY]) == (100, 400)
    expected = F32(0.01) * (F32(2) - (F32(400) - F32(50)) / F32(480))
    assert rewards[0] == expected and infos[0]["episode_return"] == pytest.approx(float(expected))


def test_more_than_fifty_kills_win():
    env = game([0, 0, 10, 20])
    env.report_each_episode()
    place(env, PX=120, PY=300, PBX=110, PBY=220, PLAYER_BULLET=1, EX=96, EY=200, SCORE=50, LIVES=4)
    _, rewards, terminals, _, infos = env.step(np.array([NOOP]))
    assert terminals[0] and rewards[0] > 0
    assert infos[0]["score"] == 51 and infos[0]["lives"] == 4 and infos[0]["perf"] == pytest.approx(1.02)
    assert env.ints[0, B.SCORE] == 0 and env.ints[0, B.LIVES] == 10


def test_an_action_out_of_range_is_an_error():
    env = game()
    with pytest.raises(APIUsageError, match="out of range"):
        env.step(np.array([6]))


# -- replays of 3.0's C game --------------------------------------------------------------


@pytest.mark.parametrize("fixture", ["blastar", "blastar_random"])
def test_replays_pufferlib3_step_for_step(fixture):
    """The C game's recordings (``blastar``: the scripted player of bench/pufferlib3/policy_blastar.py,
    16000 steps, a lost and a won game; ``blastar_random``: 7000 random steps, a lost game) with
    their rand() streams: observations and rewards are equal to the bit. Where 3.0 is wrong we
    differ exactly as documented: its first observation is all zeros (its reset does not write
    one), and its terminal flag, once set, stays set."""
    run = replay(fixture, Blastar(num_envs=1))
    expected, actual = run.expected, run.actual
    assert run.draws == len(expected["tape"])
    assert not expected["observations"][0].any() and actual["observations"][0].any()
    assert first_mismatch(expected["observations"][1:], actual["observations"][1:]) is None
    assert first_mismatch(expected["rewards"], actual["rewards"]) is None
    ends = np.flatnonzero(actual["terminals"][:, 0])
    assert len(ends) >= 1
    sticky = np.maximum.accumulate(actual["terminals"][:, 0])
    np.testing.assert_array_equal(expected["terminals"][:, 0], sticky)
    assert not actual["truncations"].any()


def test_the_scripted_recording_reaches_kills_wins_and_losses():
    env = Blastar(num_envs=1)
    env.report_each_episode()
    data = load("blastar")
    env.use_random_tape(data["tape"].astype(np.uint64)[None])
    env.reset(seed=0)
    episodes = []
    for action in data["actions"]:
        episodes += env.step(action)[4]
    assert [e["score"] for e in episodes] == [33, 51]
    assert episodes[0]["lives"] == 0 and episodes[1]["lives"] > 0


# -- learning -----------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_blastar_learns_to_shoot(tmp_path):
    """The shipped ``ocean:blastar`` config on a 1M-step budget (it ships 5M: 47.6 kills a game)
    kills several times as many enemies per step as random play (0.0024 against 0.0006 measured)."""
    import torch
    from short_training import train

    from pufferlib.frameworks.cleanrl import sample_logits

    policy, _ = train("blastar", 1_000_000, tmp_path)

    def kills_per_step(play) -> float:
        env = Blastar(num_envs=64)
        obs, _ = env.reset(seed=123)
        rng = np.random.default_rng(0)
        kills = 0
        for _ in range(1000):
            before = env.ints[:, B.SCORE].copy()
            obs, _, terminals, _, _ = env.step(play(obs, rng))
            kills += int(((env.ints[:, B.SCORE] > before) | (terminals & (before >= 50))).sum())
        return kills / (64 * 1000)

    def trained(obs, rng):
        with torch.no_grad():
            return sample_logits(policy(torch.from_numpy(obs))[0])[0].numpy()

    random_rate = kills_per_step(lambda obs, rng: rng.integers(0, 6, len(obs)))
    trained_rate = kills_per_step(trained)
    assert trained_rate >= 3 * random_rate, (trained_rate, random_rate)

