"""pufferlib.vector: API, shapes, auto-reset, seeding, batching and errors of every backend.

Process-specific behaviour (failures, shutdown, CPU use, start methods) is in
test_vector_multiprocessing.py; Ray in test_vector_ray.py.
"""

from __future__ import annotations

import functools
import math

import gymnasium
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import catalogue
import pufferlib.vector
import vector_envs
from pufferlib.environments import ocean
from pufferlib.exceptions import APIUsageError
from pufferlib.vector import Multiprocessing, Serial

# (backend, make kwargs, num_envs): the layouts whose outputs must match manual stepping.
LAYOUTS = {
    "serial": (Serial, dict(), 3),
    "serial-pool": (Serial, dict(num_workers=3, batch_size=2, zero_copy=False), 3),
    "mp-sync": (Multiprocessing, dict(num_workers=2), 4),
    "mp-zero-copy-pool": (Multiprocessing, dict(num_workers=4, batch_size=2, zero_copy=True), 4),
    "mp-full-async": (Multiprocessing, dict(num_workers=3, batch_size=2, zero_copy=False), 3),
}
CATALOGUE = {
    **{f"single:{name}": vector_envs.wrap_single(make) for name, make in catalogue.SINGLE_AGENT.items()},
    **{f"multi:{name}": vector_envs.wrap_multi(creator) for name, creator in catalogue.MULTI_AGENT.items()},
    "multi:late-joiner": vector_envs.wrap_multi(catalogue.LATE_JOINER),
    "native": functools.partial(vector_envs.native, 3),
    "ocean:squared_native": functools.partial(ocean.env_creator("squared_native"), num_envs=3),
}


# ----------------------------------------------------------------------------------------
# Equivalence with manually stepped envs


def _sample(space: gymnasium.Space, rng: np.random.Generator) -> np.ndarray:
    if isinstance(space, gymnasium.spaces.Discrete):
        return np.int64(space.start + rng.integers(space.n))
    if isinstance(space, gymnasium.spaces.MultiDiscrete):
        return space.start + rng.integers(space.nvec)
    return rng.uniform(space.low, space.high).astype(space.dtype)


def _flat_infos(env, info) -> list[dict]:
    if isinstance(info, list):
        return info
    if env.num_agents == 1 and not hasattr(env, "possible_agents"):
        return [info] if info else []
    return [i for i in info.values() if i]


def manual_rollout(creator, num_envs: int, seed: int, records: int) -> tuple[list, list]:
    """Per env: ``records`` snapshots (obs, rewards, terminals, truncations, masks) and info
    lists, stepping each env by hand with per-agent action streams and auto-reset."""
    envs = [creator() for _ in range(num_envs)]
    agents = envs[0].num_agents
    space = envs[0].single_action_space
    rngs = [np.random.default_rng(1000 + row) for row in range(num_envs * agents)]
    snapshots, infos = [], []
    for i, env in enumerate(envs):
        env_snaps, env_infos = [], []
        buf = pufferlib.emulation.make_buffer(env.single_observation_space, agents)
        buf.actions = np.zeros((agents, *space.shape), space.dtype)
        env.buf = buf
        # A native PufferEnv seeds its games one apart, so the vecenv spaces envs' seeds by its games.
        stride = agents if isinstance(env, pufferlib.PufferEnv) else 1
        info = env.reset(seed=seed + i * stride)[1]
        for _ in range(records):
            env_snaps.append(tuple(np.copy(a) for a in (buf.observations, buf.rewards, buf.terminals,
                                                         buf.truncations, buf.masks)))
            env_infos.append(_flat_infos(env, info))
            actions = np.stack([_sample(space, rngs[i * agents + a]) for a in range(agents)])
            if env.done:
                info = env.reset()[1]
            elif agents == 1 and not hasattr(env, "possible_agents"):
                info = env.step(actions[0])[4]
            else:
                info = env.step(actions)[4]
        snapshots.append(env_snaps)
        infos.append(env_infos)
        env.close()
    return snapshots, infos


def vector_rollout(vecenv, seed: int, cycles: int) -> tuple[list, list]:
    """Per env: the snapshots the vecenv returned, in order; per batch: ``([(env, record
    index)] in batch order, infos)``."""
    agents = vecenv.agents_per_env
    space = vecenv.single_action_space
    rngs = [np.random.default_rng(1000 + row) for row in range(vecenv.num_agents)]
    snapshots = [[] for _ in range(vecenv.num_envs)]
    batches = []
    vecenv.async_reset(seed)
    for _ in range(cycles * vecenv.num_envs // vecenv.batch_size):
        obs, rewards, terminals, truncations, infos, env_ids, masks = vecenv.recv()
        assert obs.shape == (vecenv.agents_per_batch, *vecenv.single_observation_space.shape)
        assert obs.dtype == vecenv.single_observation_space.dtype
        assert rewards.dtype == np.float32 and rewards.shape == (vecenv.agents_per_batch,)
        for flags in (terminals, truncations, masks):
            assert flags.dtype == bool and flags.shape == (vecenv.agents_per_batch,)
        assert np.issubdtype(env_ids.dtype, np.integer)
        env_rows = env_ids.reshape(-1, agents)
        assert (env_rows == env_rows[:, :1] + np.arange(agents)).all()
        assert (env_rows[:, 0] % agents == 0).all()
        members = []
        for j, env in enumerate(env_rows[:, 0] // agents):
            rows = slice(j * agents, (j + 1) * agents)
            members.append((env, len(snapshots[env])))
            outputs = (obs, rewards, terminals, truncations, masks)
            snapshots[env].append(tuple(np.copy(a[rows]) for a in outputs))
        batches.append((members, infos))
        vecenv.send(np.stack([_sample(space, rngs[row]) for row in env_ids]))
    vecenv.recv()
    return snapshots, batches


def _same_infos(a: list[dict], b: list[dict]) -> bool:
    return len(a) == len(b) and all(
        x.keys() == y.keys() and all(np.array_equal(x[k], y[k]) for k in x) for x, y in zip(a, b))


def assert_matches_manual(vecenv, creator, seed: int = 7, cycles: int = 12) -> None:
    got, batches = vector_rollout(vecenv, seed, cycles)
    want, want_infos = manual_rollout(creator, vecenv.num_envs, seed, max(len(s) for s in got))
    for env in range(vecenv.num_envs):
        # Every env is returned once per cycle (pools may run one cycle ahead at the end).
        assert len(got[env]) >= cycles - 1, f"env {env} returned {len(got[env])} times in {cycles} cycles"
        for k, (g, w) in enumerate(zip(got[env], want[env])):
            for name, a, b in zip(("obs", "rewards", "terminals", "truncations", "masks"), g, w):
                np.testing.assert_array_equal(a, b, err_msg=f"env {env}, record {k}: {name}")
    for members, infos in batches:
        expected = [info for env, k in members for info in want_infos[env][k]]
        assert _same_infos(infos, expected), (members, infos, expected)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("env_name", list(CATALOGUE))
def test_matches_manual_stepping(env_name: str, layout: str) -> None:
    backend, kwargs, num_envs = LAYOUTS[layout]
    creator = CATALOGUE[env_name]
    with backend(creator, num_envs=num_envs, **kwargs) as vecenv:
        assert_matches_manual(vecenv, creator)


# ----------------------------------------------------------------------------------------
# Auto-reset, batching, seeding, attributes


@pytest.mark.timeout(30)
@pytest.mark.parametrize("layout", ["serial", "mp-sync", "mp-full-async"])
def test_auto_reset_sequence(layout: str) -> None:
    backend, kwargs, _ = LAYOUTS[layout]
    kwargs = dict(kwargs, num_workers=1, batch_size=1) if layout != "serial" else kwargs
    with backend(functools.partial(vector_envs.counting, length=3), num_envs=1, **kwargs) as vecenv:
        obs, _ = vecenv.reset()
        seen = [(obs[0, 0], 0.0, False, False)]
        for _ in range(6):
            obs, rewards, terminals, truncations, _ = vecenv.step(np.array([2]))
            seen.append((obs[0, 0], rewards[0], terminals[0], truncations[0]))
    counts = [s[0] for s in seen]
    assert counts == [0, 1, 2, 3, 0, 1, 2]
    assert seen[3][2] and not seen[3][3]  # the terminal step carries the final observation
    assert seen[4][1:] == (0.0, False, False)  # the reset step: reward 0, no flags
    assert seen[1][1] == 3.0 and seen[5][1] == 3.0  # stepped envs get the action's reward


@pytest.mark.timeout(30)
def test_zero_copy_pool_returns_blocks_round_robin() -> None:
    creators = [functools.partial(vector_envs.counting, length=100, tag=i) for i in range(6)]
    with Multiprocessing(creators, num_envs=6, num_workers=3, batch_size=2) as vecenv:
        vecenv.async_reset()
        for step in range(9):
            obs, _, _, _, _, env_ids, _ = vecenv.recv()
            block = step % 3
            np.testing.assert_array_equal(env_ids, [2 * block, 2 * block + 1])
            np.testing.assert_array_equal(obs[:, 1], env_ids)  # rows really come from those envs
            assert (obs[:, 0] == step // 3).all()  # each env stepped once per cycle
            assert np.shares_memory(obs, vecenv._buffers.observations)  # a view, not a copy
            vecenv.send(np.zeros(2, np.int64))


@pytest.mark.timeout(60)
def test_async_pool_returns_ready_envs_once_per_cycle() -> None:
    # Env 0 is 50x slower than the others: batches form from whichever envs are ready,
    # but no env comes back twice before every env came back once.
    creators = [functools.partial(vector_envs.counting, length=10**6, tag=i, delay=0.05 if i == 0 else 0.001)
                for i in range(4)]
    with Multiprocessing(creators, num_envs=4, num_workers=4, batch_size=2, zero_copy=False) as vecenv:
        vecenv.async_reset()
        returned: list[int] = []
        counts = {i: [] for i in range(4)}
        for _ in range(20):
            obs, _, _, _, _, env_ids, _ = vecenv.recv()
            np.testing.assert_array_equal(obs[:, 1], env_ids)
            for env, count in zip(env_ids, obs[:, 0]):
                returned.append(int(env))
                counts[int(env)].append(int(count))
            vecenv.send(np.zeros(2, np.int64))
    for cycle in range(10):
        assert sorted(returned[4 * cycle:4 * cycle + 4]) == [0, 1, 2, 3]
    for env, seen in counts.items():
        assert seen == list(range(len(seen))), (env, seen)  # stepped exactly once between returns
    first_batches = [sorted(returned[i:i + 2]) for i in range(0, 8, 2)]
    assert [1, 2] in first_batches or [1, 3] in first_batches or [2, 3] in first_batches  # fast envs first


@pytest.mark.timeout(30)
@pytest.mark.parametrize("layout", ["serial", "mp-full-async"])
def test_native_env_rows_and_infos(layout: str) -> None:
    backend, kwargs, num_envs = LAYOUTS[layout]
    with backend(functools.partial(vector_envs.native, 4), num_envs=num_envs, **kwargs) as vecenv:
        assert vecenv.agents_per_env == 4 and vecenv.num_agents == 4 * num_envs
        assert vecenv.agents_per_batch == 4 * vecenv.batch_size
        vecenv.reset(seed=10)
        lengths = []
        for _ in range(12):
            vecenv.send(np.ones((vecenv.agents_per_batch, 2), np.int64))
            obs, rewards, terminals, _, infos, env_ids, masks = vecenv.recv()
            # Native env i is seeded with 10 + 4 * i: its games' seeds follow on from env i - 1's.
            np.testing.assert_array_equal(obs[:, 1], 10 + 4 * (env_ids // 4))
            assert masks.all()
            lengths += [info["episode_length"] for info in infos]
        assert set(lengths) == {2, 3, 4, 5}


@pytest.mark.timeout(30)
@pytest.mark.parametrize("backend", [Serial, Multiprocessing])
def test_seeding(backend) -> None:
    creator = vector_envs.wrap_single(catalogue.SINGLE_AGENT["box-discrete"])

    def first_obs(seed):
        with backend(creator, num_envs=4, num_workers=2) as vecenv:
            return vecenv.reset(seed=seed)[0].copy()

    by_int = first_obs(5)
    assert len({row.tobytes() for row in by_int}) == 4  # every env gets its own seed
    np.testing.assert_array_equal(first_obs([5, 6, 7, 8]), by_int)  # seed + i
    np.testing.assert_array_equal(first_obs(5), by_int)  # reproducible
    assert not np.array_equal(first_obs(6), by_int)
    with pytest.raises(APIUsageError, match="3 seeds for 4 envs"):
        first_obs([1, 2, 3])
    with backend(creator, num_envs=4, num_workers=2) as vecenv:
        vecenv.reset(seed=None)  # unseeded works


@pytest.mark.timeout(30)
def test_attributes_and_spaces() -> None:
    creator = vector_envs.wrap_multi(catalogue.MULTI_AGENT["box-discrete"])  # 4 agents per env
    with pufferlib.vector.make(creator, backend="multiprocessing", num_envs=4, num_workers=2,
                               batch_size=2) as vecenv:
        assert vecenv.num_envs == 4 and vecenv.agents_per_env == 4 and vecenv.num_agents == 16
        assert vecenv.batch_size == 2 and vecenv.agents_per_batch == 8 and vecenv.num_workers == 2
        assert vecenv.single_observation_space == vecenv.driver_env.single_observation_space
        assert vecenv.observation_space.shape == (8, *vecenv.single_observation_space.shape)
        assert vecenv.action_space == gymnasium.spaces.MultiDiscrete([4] * 8)
        assert vecenv.emulated is vecenv.driver_env.emulated
        obs, _ = vecenv.reset()
        assert obs.shape == (8, 4)
        _, _, _, _, _, env_ids, masks = (vecenv.send(np.zeros(8, np.int64)), vecenv.recv())[1]
        np.testing.assert_array_equal(env_ids, np.arange(8, 16))  # global agent rows of envs 2-3


def test_make_by_name_and_class() -> None:
    creator = vector_envs.counting
    for backend in ("serial", "Serial", Serial):
        with pufferlib.vector.make(creator, backend=backend, num_envs=2) as vecenv:
            assert isinstance(vecenv, Serial) and vecenv.num_envs == 2
    with pytest.raises(APIUsageError, match="Unknown backend"):
        pufferlib.vector.make(creator, backend="threads")


def test_serial_envs_live_in_this_process() -> None:
    import os

    with Serial(vector_envs.pid_env, num_envs=2) as vecenv:
        obs, _ = vecenv.reset()
        assert (obs[:, 0] == os.getpid()).all()


# ----------------------------------------------------------------------------------------
# Errors


@pytest.mark.parametrize("kwargs, match", [
    (dict(num_envs=0), "num_envs must be an integer >= 1"),
    (dict(num_envs=2.0), "num_envs must be an integer >= 1"),
    (dict(num_envs=True), "num_envs must be an integer >= 1"),
    (dict(num_envs=6, num_workers=4), r"num_envs \(6\) must be divisible by num_workers \(4\)"),
    (dict(num_envs=4, num_workers=2, batch_size=3),
     r"batch_size \(3\) must be divisible by num_envs / num_workers"),
    (dict(num_envs=4, batch_size=8), r"batch_size \(8\) > num_envs \(4\)"),
    (dict(num_envs=2, num_workers=4), r"num_workers \(4\) > num_envs \(2\)"),
    (dict(num_envs=2, num_workers=0), "num_workers must be an integer >= 1"),
    (dict(num_envs=6, num_workers=6, batch_size=4),
     r"zero_copy=True needs num_envs \(6\) divisible by batch_size"),
    (dict(num_envs=2, zero_copy="yes"), "zero_copy must be True or False"),
    (dict(num_envs=2, foo=1), "Invalid argument: foo"),
    (dict(num_envs=2, start_method="fork"), "Invalid argument: start_method"),  # Serial has no processes
])
def test_make_errors(kwargs: dict, match: str) -> None:
    with pytest.raises(APIUsageError, match=match):
        pufferlib.vector.make(vector_envs.counting, **kwargs)


@pytest.mark.parametrize("backend", [Serial, Multiprocessing])
@pytest.mark.parametrize("args, match", [
    ((42,), "is not callable"),
    ((vector_envs.raw_gymnasium,), "returned CountingEnv, not a Puffer env.*GymnasiumPufferEnv"),
    ((vector_envs.wrap_multi(catalogue.MULTI_AGENT["box-discrete"]).keywords["env_creator"],),
     "not a Puffer env.*PettingZooPufferEnv"),
    (([vector_envs.counting] * 3,), "Got 3 env creators for num_envs=2"),
    (([vector_envs.counting, 7],), "is not callable"),
    (([vector_envs.counting] * 2, [[], [], []]), "env_args must be a list of 2 argument lists"),
    (([vector_envs.counting] * 2, None, {"length": 3}), "env_kwargs must be a list of 2 dicts"),
    ((vector_envs.counting, None, [{}] * 3), "one dict per env"),
    ((vector_envs.counting, 5), "env_args must be a list"),
    ((vector_envs.counting, None, 5), "env_kwargs must be a dict"),
])
def test_creator_errors(backend, args: tuple, match: str) -> None:
    with pytest.raises(APIUsageError, match=match):
        pufferlib.vector.make(*args, backend=backend, num_envs=2)


@pytest.mark.timeout(30)
@pytest.mark.parametrize("backend", [Serial, Multiprocessing])
def test_envs_with_different_spaces(backend) -> None:
    creators = [functools.partial(vector_envs.wide, 2), functools.partial(vector_envs.wide, 3)]
    with pytest.raises(APIUsageError, match="Env 1 differs from env 0: observation space"):
        pufferlib.vector.make(creators, backend=backend, num_envs=2, num_workers=2)


def test_per_env_args_and_kwargs() -> None:
    creators = [vector_envs.counting] * 3
    kwargs = [dict(tag=i) for i in range(3)]
    with Serial(creators, [[], [], []], kwargs, num_envs=3) as vecenv:
        obs, _ = vecenv.reset()
        np.testing.assert_array_equal(obs[:, 1], [0, 1, 2])
    with Serial(vector_envs.counting, [5, 9], None, num_envs=2) as vecenv:  # shared positional args
        obs, _ = vecenv.reset()
        np.testing.assert_array_equal(obs[:, 1], [9, 9])


@pytest.mark.timeout(30)
@pytest.mark.parametrize("backend", [Serial, Multiprocessing])
def test_call_order_errors(backend) -> None:
    vecenv = backend(vector_envs.counting, num_envs=2, num_workers=2)
    with pytest.raises(APIUsageError, match="Call reset before stepping"):
        vecenv.recv()
    with pytest.raises(APIUsageError, match="Call reset before stepping"):
        vecenv.send(np.zeros(2, np.int64))
    with pytest.raises(APIUsageError, match="Call reset before stepping"):
        vecenv.step(np.zeros(2, np.int64))
    vecenv.async_reset()
    with pytest.raises(APIUsageError, match="send\\(\\) called twice without recv"):
        vecenv.send(np.zeros(2, np.int64))
    vecenv.recv()
    with pytest.raises(APIUsageError, match="recv\\(\\) called twice without send"):
        vecenv.recv()
    vecenv.send(np.zeros(2, np.int64))
    with pytest.raises(APIUsageError, match="send\\(\\) called twice"):
        vecenv.send(np.zeros(2, np.int64))
    vecenv.reset()  # a reset while a step is in flight is fine
    vecenv.step(np.zeros(2, np.int64))
    vecenv.close()
    vecenv.close()  # idempotent
    with pytest.raises(APIUsageError, match="after close"):
        vecenv.reset()
    with pytest.raises(APIUsageError, match="after close"):
        vecenv.recv()


@pytest.mark.timeout(30)
@pytest.mark.parametrize("backend", [Serial, Multiprocessing])
@pytest.mark.parametrize("env, actions, match", [
    ("discrete", np.zeros(3, np.int64), r"expected shape \(2,\).*got shape \(3,\)"),
    ("discrete", np.zeros((2, 2), np.int64), r"got shape \(2, 2\)"),
    ("discrete", np.zeros(2, np.float32), "got dtype float32"),
    ("discrete", np.array([0, 4]), "values out of range"),
    ("discrete", np.array([-1, 0]), "values out of range"),
    ("discrete", np.array([0, 200], np.uint8), "values out of range"),
    ("discrete", np.array([[1], [7]], np.int16), "values out of range"),  # a column
    ("discrete", [[0], [1]], None),  # a column of actions, as a list: accepted
    ("multidiscrete", np.zeros((2, 2), np.int64), r"expected shape \(2, 3\)"),
    ("multidiscrete", np.array([[2, 1, 3], [0, 2, 0]]), "values out of range"),
    ("multidiscrete", np.array([[2, 1, 3], [0, 1, 0]], np.int32), None),  # any integer dtype
    ("box", np.zeros((2, 3), np.float32), r"expected shape \(2, 2\)"),
    ("box", np.array([["a", "b"], ["c", "d"]]), "got dtype <U1"),
    ("box", np.zeros((2, 2), np.float64), None),
])
def test_bad_actions(backend, env: str, actions, match) -> None:
    creator = vector_envs.wrap_single(functools.partial(catalogue.make_single, "box", env))
    with backend(creator, num_envs=2) as vecenv:
        vecenv.reset()
        if match is None:
            vecenv.step(actions)
            return
        with pytest.raises(APIUsageError, match=match):
            vecenv.send(actions)
        vecenv.step(np.stack([vecenv.single_action_space.sample() for _ in range(2)]))  # still usable


@pytest.mark.timeout(30)
def test_env_exception_in_serial() -> None:
    creators = [vector_envs.failing, functools.partial(vector_envs.failing, fail=True)]
    with Serial(creators, num_envs=2) as vecenv:
        vecenv.reset()
        vecenv.step(np.zeros(2, np.int64))
        with pytest.raises(ValueError, match="boom at step 2"):
            vecenv.step(np.zeros(2, np.int64))
        with pytest.raises(APIUsageError, match="raised an error"):
            vecenv.step(np.zeros(2, np.int64))


# ----------------------------------------------------------------------------------------
# autotune


@pytest.mark.timeout(120)
def test_autotune_returns_a_usable_configuration(capsys) -> None:
    creator = vector_envs.wrap_multi(catalogue.MULTI_AGENT["box-discrete"])  # 4 agents per env
    best = pufferlib.vector.autotune(creator, batch_size=8, max_envs=4, time_per_test=0.1)
    assert set(best) == {"backend", "num_envs", "num_workers", "batch_size", "zero_copy"}
    out = capsys.readouterr().out
    assert "4 agent(s) per env" in out and "agent SPS" in out
    ranked = [line for line in out.splitlines() if line.strip()[:1].isdigit()]
    assert len(ranked) >= 3  # Serial, synchronous and async Multiprocessing were all measured
    assert any("Serial" in line for line in ranked) and any("Multiprocessing" in line for line in ranked)
    with pufferlib.vector.make(creator, **best) as vecenv:
        assert vecenv.agents_per_batch >= 8 and vecenv.num_envs <= 4
        vecenv.reset()


def test_autotune_rejects_impossible_requests() -> None:
    with pytest.raises(APIUsageError, match="needs 9 envs"):
        pufferlib.vector.autotune(vector_envs.counting, batch_size=9, max_envs=8, time_per_test=0.1)
    with pytest.raises(APIUsageError, match="batch_size must be a positive integer"):
        pufferlib.vector.autotune(vector_envs.counting, batch_size=0)


# ----------------------------------------------------------------------------------------
# Worker and batch layouts (property-based)


@settings(max_examples=150, deadline=None)
@given(num_envs=st.integers(1, 12), num_workers=st.one_of(st.none(), st.integers(1, 12)),
       batch_size=st.one_of(st.none(), st.integers(1, 12)), zero_copy=st.booleans())
def test_any_valid_layout_returns_every_env_once_per_cycle(num_envs: int, num_workers: int | None,
                                                           batch_size: int | None, zero_copy: bool) -> None:
    creators = [functools.partial(vector_envs.counting, length=10**6, tag=i) for i in range(num_envs)]
    try:
        vecenv = Serial(creators, num_envs=num_envs, num_workers=num_workers, batch_size=batch_size,
                        zero_copy=zero_copy)
    except APIUsageError:
        size = num_envs if batch_size is None else batch_size
        valid = size <= num_envs and not (zero_copy and num_envs % size)
        if num_workers is not None:  # (a default worker count always fits the batch size)
            valid = valid and num_workers <= num_envs and num_envs % num_workers == 0
            valid = valid and size % (num_envs // num_workers) == 0
        assert not valid, "a valid layout was rejected"
        return
    with vecenv:
        workers, size = vecenv.num_workers, vecenv.batch_size
        assert num_envs % workers == 0 and size % (num_envs // workers) == 0
        assert not (zero_copy and num_envs % size)
        vecenv.async_reset()
        seen = []
        for _ in range(3 * num_envs // math.gcd(num_envs, size)):
            obs, *_ = vecenv.recv()
            assert obs.shape == (size, 2)
            seen.extend(int(t) for t in obs[:, 1])
            vecenv.send(np.zeros(size, np.int64))
        cycles = len(seen) // num_envs
        for c in range(cycles):
            assert sorted(seen[c * num_envs:(c + 1) * num_envs]) == list(range(num_envs))


# ------------------------------------------------------------------------------------
# Issue 9: 1.0 call patterns and bad seeds


@pytest.mark.timeout(60)
@pytest.mark.parametrize("backend", [Serial, Multiprocessing])
def test_env_kwargs_may_be_a_pufferlib_namespace(backend) -> None:
    """1.0's trainer passes its parsed env config, a ``pufferlib.namespace``, as env_kwargs."""
    kwargs = pufferlib.namespace(length=2, tag=7)
    make = functools.partial(pufferlib.vector.make, vector_envs.counting, backend=backend, num_envs=2)
    with make(env_kwargs=kwargs) as vecenv:
        obs, _ = vecenv.reset(seed=0)
        assert obs[:, 1].tolist() == [7, 7]
        vecenv.step(np.zeros(2, np.int64))
        _, _, terminals, _, _ = vecenv.step(np.zeros(2, np.int64))
        assert terminals.all()  # length=2 reached the env
    per_env = [pufferlib.namespace(tag=1), pufferlib.namespace(tag=2)]
    with make(env_kwargs=per_env) as vecenv:
        assert vecenv.reset(seed=0)[0][:, 1].tolist() == [1, 2]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("backend", [Serial, Multiprocessing])
@pytest.mark.parametrize("seed, match", [
    (-1, r"seed=-1 .*outside \[0, 2\*\*32\)"),
    (2**32, r"outside \[0, 2\*\*32\)"),
    (2**32 - 1, r"4294967295\.\.4294967296 .*pass a seed in \[0, 4294967294\]"),  # seed + i overflows
    (2**70, r"outside \[0, 2\*\*32\)"),
    ([0, -5], r"env 1: -5"),
    ([2**64, None], r"env 0: 18446744073709551616"),
])
def test_out_of_range_seeds_are_rejected_before_any_worker_sees_them(backend, seed, match) -> None:
    with pufferlib.vector.make(vector_envs.counting, backend=backend, num_envs=2) as vecenv:
        with pytest.raises(APIUsageError, match=match):
            vecenv.reset(seed=seed)
        with pytest.raises(APIUsageError, match=match):
            vecenv.async_reset(seed)
        # Nothing was sent: the vecenv is still usable, and the largest valid seeds work.
        vecenv.reset(seed=[0, 2**32 - 1])
        vecenv.step(np.zeros(2, np.int64))
        vecenv.reset(seed=2**32 - 2)
