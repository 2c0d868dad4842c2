"""Checks shared by the third-party binding tests of family A (atari, procgen, minigrid,
crafter, bsuite, dm_control, mujoco): real envs through real vector backends and real
policies."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from types import ModuleType
from typing import Any

import gymnasium
import numpy as np
import pytest
import torch

import pufferlib.vector
from pufferlib.exceptions import EnvironmentSetupError
from pufferlib.frameworks.cleanrl import sample_logits


def require(module: str, extra: str) -> ModuleType:
    """Import ``module`` or skip the test, naming the extra that provides it."""
    return pytest.importorskip(module, reason=f"needs the {extra} extra: pip install -e '.[{extra}]'")


def run_vecenv(creator: Callable, backend: str, steps: int = 200, num_envs: int = 2, seed: int = 7,
               **vec_kwargs: Any) -> tuple[list[np.ndarray], list[dict]]:
    """Reset and step ``num_envs`` envs ``steps`` times with seeded random actions.

    Checks every batch's shapes and dtypes against the vecenv's spaces and returns the
    observations seen (copies) and every info dict.
    """
    if backend == "multiprocessing":
        vec_kwargs.setdefault("num_workers", 2)
    vecenv = pufferlib.vector.make(creator, backend=backend, num_envs=num_envs, **vec_kwargs)
    observations, infos = [], []
    try:
        space = vecenv.single_observation_space
        rows = vecenv.agents_per_batch
        obs, reset_infos = vecenv.reset(seed=seed)
        assert obs.shape == (rows, *space.shape) and obs.dtype == space.dtype
        observations.append(obs.copy())
        infos.extend(reset_infos)
        actions = vecenv.action_space
        actions.seed(seed)
        for _ in range(steps):
            obs, rewards, terminals, truncations, step_infos = vecenv.step(actions.sample())
            assert obs.shape == (rows, *space.shape) and obs.dtype == space.dtype
            assert rewards.shape == (rows,) and rewards.dtype == np.float32
            assert terminals.shape == (rows,) and terminals.dtype == np.bool_
            assert truncations.shape == (rows,) and truncations.dtype == np.bool_
            assert np.isfinite(rewards).all()
            assert isinstance(step_infos, list) and all(isinstance(i, dict) and i for i in step_infos)
            observations.append(obs.copy())
            infos.extend(step_infos)
    finally:
        vecenv.close()
    assert all(space.contains(o) for o in observations[-1])
    return observations, infos


def check_backends_agree(creator: Callable, steps: int = 200, deterministic: bool = True) -> list[dict]:
    """Serial and two-worker Multiprocessing give identical seeded trajectories; returns
    the Serial infos. For an env that is not deterministic given its seed, only the
    seeded reset observations must agree."""
    serial_obs, serial_infos = run_vecenv(creator, "serial", steps)
    process_obs, process_infos = run_vecenv(creator, "multiprocessing", steps)
    assert len(serial_obs) == len(process_obs) == steps + 1
    compared = zip(serial_obs, process_obs) if deterministic else [(serial_obs[0], process_obs[0])]
    for step, (a, b) in enumerate(compared):
        np.testing.assert_array_equal(a, b, err_msg=f"backends diverge at step {step}")
    if deterministic:
        assert serial_infos == process_infos
    # Real frames and features, not zero padding.
    assert any(o.any() for o in serial_obs)
    return serial_infos


def episode_infos(infos: list[dict]) -> list[dict]:
    return [i for i in infos if "episode_return" in i]


def check_episode_infos(infos: list[dict]) -> list[dict]:
    """At least one finished episode was reported, with a finite return and a positive length."""
    episodes = episode_infos(infos)
    assert episodes, f"no episode statistics in {infos[:3]}"
    for info in episodes:
        assert np.isfinite(info["episode_return"])
        assert isinstance(info["episode_length"], int) and info["episode_length"] > 0
    return episodes


def check_policy(binding: ModuleType, creator: Callable, batch: int = 4, horizon: int = 3) -> None:
    """``Policy`` and ``Recurrent`` run on a real batch, emit one output per action of the
    env, sample valid actions and backpropagate; ``Recurrent`` also takes sequences."""
    vecenv = pufferlib.vector.make(creator, backend="serial", num_envs=batch)
    try:
        obs, _ = vecenv.reset(seed=0)
        obs = torch.as_tensor(obs.copy())
        action_space = vecenv.single_action_space
        torch.manual_seed(0)
        policy = binding.Policy(vecenv)
        logits, value = policy(obs)
        check_outputs(logits, value, action_space, batch)
        action, logprob, entropy = sample_logits(logits)
        for a in action.detach().numpy():
            assert action_space.contains(a.astype(action_space.dtype) if action_space.shape else int(a))
        (value.sum() - logprob.sum() - entropy.sum()).backward()
        grads = [p.grad for p in policy.parameters() if p.grad is not None]
        assert grads and any(g.abs().sum() > 0 for g in grads)

        recurrent = binding.Recurrent(vecenv, binding.Policy(vecenv))
        logits, value, (h, c) = recurrent(obs, None)
        check_outputs(logits, value, action_space, batch)
        assert h.shape == c.shape == (1, batch, recurrent.hidden_size)
        sequence = obs.unsqueeze(1).expand(batch, horizon, *obs.shape[1:]).contiguous()
        logits, value, state = recurrent(sequence, (h, c))
        check_outputs(logits, value, action_space, batch * horizon)
        assert state[0].shape == (1, batch, recurrent.hidden_size)
    finally:
        vecenv.close()


def check_outputs(logits: Any, value: torch.Tensor, action_space: gymnasium.Space, rows: int) -> None:
    assert value.shape == (rows, 1) and torch.isfinite(value).all()
    if isinstance(action_space, gymnasium.spaces.Discrete):
        assert logits.shape == (rows, action_space.n)
    else:
        assert isinstance(logits, torch.distributions.Normal)
        assert logits.mean.shape == (rows, *action_space.shape)


def check_missing_dependency(monkeypatch: pytest.MonkeyPatch, modules: list[str], extra: str,
                             calls: list[Callable[[], Any]]) -> None:
    """With ``modules`` unimportable, each call raises ``EnvironmentSetupError`` naming ``extra``."""
    for name in modules:
        monkeypatch.setitem(sys.modules, name, None)
    importlib.invalidate_caches()
    hint = rf"pip install (-e '\.\[{extra}\]'|--no-deps )"
    for call in calls:
        with pytest.raises(EnvironmentSetupError, match=hint) as error:
            call()
        assert error.value.package == extra
        assert isinstance(error.value.e, ImportError)
