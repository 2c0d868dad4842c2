"""Shared checks for the family-B environment bindings (NLE, Griddly, ViZDoom, PettingZoo
butterfly, MAgent2, OpenSpiel, Neural MMO, Pokémon Red).

Each check runs the real env: ``run_vecenv`` steps it through a ``pufferlib.vector``
backend with random actions and validates every batch; ``check_policy`` runs the
binding's ``Policy`` and ``Recurrent`` on a real batch and backpropagates through
them; ``check_missing_dependency`` hides the env package and expects the
``EnvironmentSetupError`` that names the extra.
"""

from __future__ import annotations

import pickle
import sys
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pytest

import pufferlib.vector
from pufferlib.exceptions import EnvironmentSetupError

BACKENDS = {
    "serial": (pufferlib.vector.Serial, {}),
    "multiprocessing": (pufferlib.vector.Multiprocessing, {"num_workers": 2}),
}


def run_vecenv(creator: Callable, backend: str, steps: int = 200, num_envs: int = 2,
               env_kwargs: dict | None = None, seed: int = 7) -> tuple[list[dict], np.ndarray, Any]:
    """Reset and step ``num_envs`` envs ``steps`` times with random actions through ``backend``.

    Checks every batch's shapes and dtypes (spec 3.1) and returns ``(infos, last_obs,
    driver_env)``: all non-empty infos seen, a copy of the last observation batch and
    the driver env (for its spaces).
    """
    backend_class, options = BACKENDS[backend]
    creator = pickle.loads(pickle.dumps(creator))  # factories must survive spawn
    vecenv = pufferlib.vector.make(creator, env_kwargs=env_kwargs or {}, backend=backend_class,
                                   num_envs=num_envs, **options)
    infos: list[dict] = []
    try:
        obs_space = vecenv.single_observation_space
        batch = vecenv.agents_per_batch
        assert vecenv.num_agents == batch, "a full batch holds every agent"
        vecenv.action_space.seed(seed)
        vecenv.async_reset(seed=seed)
        for _ in range(steps + 1):
            obs, rewards, terminals, truncations, batch_infos, env_ids, masks = vecenv.recv()
            assert obs.shape == (batch, *obs_space.shape) and obs.dtype == obs_space.dtype
            assert rewards.shape == (batch,) and rewards.dtype == np.float32
            assert np.isfinite(rewards).all()
            for flags in (terminals, truncations, masks):
                assert flags.shape == (batch,) and flags.dtype == np.bool_
            assert env_ids.shape == (batch,) and np.issubdtype(env_ids.dtype, np.integer)
            assert sorted(env_ids.tolist()) == list(range(vecenv.num_agents))
            assert masks.any(), "at least one live agent per batch"
            assert isinstance(batch_infos, list) and all(isinstance(i, dict) and i for i in batch_infos)
            infos.extend(batch_infos)
            last_obs = obs.copy()
            vecenv.send(vecenv.action_space.sample())
        vecenv.recv()
        return infos, last_obs, vecenv.driver_env
    finally:
        vecenv.close()


def episode_infos(infos: Iterable[dict]) -> list[dict]:
    """The infos that report a finished episode."""
    return [info for info in infos if "episode_return" in info]


def check_episode_stats(infos: list[dict], extra_keys: Iterable[str] = ()) -> None:
    """At least one finished episode, reported with return, length and the env's own keys."""
    episodes = episode_infos(infos)
    assert episodes, f"no finished episode reported in {len(infos)} infos"
    for info in episodes:
        assert np.isfinite(info["episode_return"])
        assert isinstance(info["episode_length"], int) and info["episode_length"] >= 1
        for key in extra_keys:
            assert key in info, f"{key!r} missing from {info}"


def collect_batch(env: Any, rows: int, seed: int = 0) -> np.ndarray:
    """``(rows * agents, *obs_shape)`` observations from random play in one puffer env."""
    env.single_action_space.seed(seed)
    obs, _ = env.reset(seed=seed)
    batch = [_rows(obs)]
    while len(batch) < rows:
        if env.done:
            obs, _ = env.reset()
        else:
            agents = getattr(env, "possible_agents", None)
            if isinstance(obs, dict):
                actions = np.stack([env.single_action_space.sample() for _ in agents])
            else:
                actions = env.single_action_space.sample()
            obs, *_ = env.step(actions)
        batch.append(_rows(obs))
    return np.concatenate(batch)


def _rows(obs: Any) -> np.ndarray:
    if isinstance(obs, dict):
        return np.stack([np.array(o) for o in obs.values()])
    return np.array(obs)[None]


def check_policy(env: Any, policy_class: type, recurrent_class: type | None, obs: np.ndarray,
                 horizon: int = 2) -> None:
    """``Policy`` and ``Recurrent`` on a real batch: output shapes, finite values, gradients.

    ``obs`` is a ``(B, *obs_shape)`` batch; the recurrent check runs it as ``(B / horizon,
    horizon, *obs_shape)`` and then one more step from the returned state.
    """
    torch = pytest.importorskip("torch", reason="the policy checks need torch")
    from pufferlib.frameworks.cleanrl import sample_logits

    num_actions = _num_actions(env.single_action_space)
    batch = torch.as_tensor(obs)
    policy = policy_class(env)
    logits, value = policy(batch)
    _check_logits(logits, len(obs), num_actions)
    assert value.shape == (len(obs), 1) and torch.isfinite(value).all()
    action, logprob, entropy = sample_logits(logits)
    assert all(env.single_action_space.contains(a) for a in action.numpy())
    (value.sum() - logprob.sum()).backward()
    grads = [p.grad for p in policy.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)

    if recurrent_class is None:
        return
    recurrent = recurrent_class(env, policy_class(env))
    rows = len(obs) // horizon * horizon
    sequence = batch[:rows].reshape(rows // horizon, horizon, *obs.shape[1:])
    logits, value, state = recurrent(sequence, None)
    _check_logits(logits, rows, num_actions)
    assert value.shape == (rows, 1) and torch.isfinite(value).all()
    h, c = state
    assert h.shape == c.shape == (recurrent.num_layers, rows // horizon, recurrent.hidden_size)
    logits, value, state = recurrent(sequence[:, 0], state)
    _check_logits(logits, rows // horizon, num_actions)
    _, logprob, _ = sample_logits(logits)
    (value.sum() - logprob.sum()).backward()
    assert all(torch.isfinite(p.grad).all() for p in recurrent.parameters() if p.grad is not None)


def _num_actions(space: Any) -> list[int]:
    if hasattr(space, "nvec"):
        return [int(n) for n in np.asarray(space.nvec).reshape(-1)]
    return [int(space.n)]


def _check_logits(logits: Any, rows: int, num_actions: list[int]) -> None:
    import torch

    parts = logits if isinstance(logits, list) else [logits]
    assert [tuple(p.shape) for p in parts] == [(rows, n) for n in num_actions]
    assert all(torch.isfinite(p).all() for p in parts)


def check_missing_dependency(monkeypatch: pytest.MonkeyPatch, modules: Iterable[str], make: Callable,
                             extra: str, **kwargs: Any) -> None:
    """With ``modules`` hidden, ``make(**kwargs)`` raises ``EnvironmentSetupError`` naming ``extra``."""
    for name in modules:
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(EnvironmentSetupError, match=rf"pip install (-e '\.\[{extra}\]'|--no-deps )"):
        make(**kwargs)
