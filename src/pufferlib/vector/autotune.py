"""``autotune``: measure which vectorization settings step an env fastest here (spec 3.5)."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from pufferlib.exceptions import APIUsageError
from pufferlib.vector.config import default_num_workers, normalize_creators, physical_cores
from pufferlib.vector.group import create_env


@dataclass(frozen=True)
class EnvProfile:
    """One env, stepped alone with random actions."""

    agents_per_env: int
    steps_per_second: float  # env steps (each steps every agent of the env)
    reset_share: float  # fraction of the time spent in reset
    ram_bytes: int  # resident memory the env added to this process
    obs_bytes_per_agent: int  # observation bytes per agent per step


def _rss_bytes() -> int:
    try:
        import psutil

        return int(psutil.Process().memory_info().rss)
    except ImportError:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def profile_env(env_creator: Callable, env_args: Any = None, env_kwargs: Any = None,
                seconds: float = 1.0) -> EnvProfile:
    """Step one env for about ``seconds``: speed, reset share, RAM and bytes per step."""
    (creator,), (args,), (kwargs,) = normalize_creators(env_creator, env_args, env_kwargs, 1)
    rss = _rss_bytes()
    env = create_env(creator, args, kwargs)
    try:
        agents = int(env.num_agents)
        space = env.single_action_space
        rng = np.random.default_rng(0)
        space.seed(int(rng.integers(2**31)))
        actions = [np.stack([space.sample() for _ in range(agents)]) for _ in range(64)]
        single = agents == 1 and not hasattr(env, "possible_agents")
        env.reset(seed=0)
        steps = resets = 0
        reset_time = 0.0
        start = time.perf_counter()
        while time.perf_counter() - start < seconds:
            if env.done:
                t = time.perf_counter()
                env.reset()
                reset_time += time.perf_counter() - t
                resets += 1
            action = actions[steps % len(actions)]
            env.step(action[0] if single else action)
            steps += 1
        elapsed = time.perf_counter() - start
        ram = max(0, _rss_bytes() - rss)
        obs = env.single_observation_space
        return EnvProfile(agents, steps / elapsed, reset_time / elapsed, ram,
                          int(np.prod(obs.shape)) * np.dtype(obs.dtype).itemsize)
    finally:
        env.close()


def _candidates(batch_envs: list[int], env_limit: int, cores: int) -> list[dict]:
    configs: list[dict] = []

    def add(backend: str, num_envs: int, num_workers: int, batch_size: int, zero_copy: bool) -> None:
        config = dict(backend=backend, num_envs=num_envs, num_workers=num_workers,
                      batch_size=batch_size, zero_copy=zero_copy)
        if num_envs <= env_limit and config not in configs:
            configs.append(config)

    for batch in batch_envs:
        add("Serial", batch, 1, batch, True)
        # Fully synchronous: every env in every batch, one worker per core.
        add("Multiprocessing", batch, default_num_workers(batch, batch, cores), batch, True)
        # Async pools: while one batch is with the model, the others simulate. One batch per
        # core (each worker hosts a batch), and double buffering over all the cores.
        for num_envs in (batch * cores, batch * 2):
            if num_envs == batch:
                continue
            workers = default_num_workers(num_envs, batch, cores)
            add("Multiprocessing", num_envs, workers, batch, True)
            add("Multiprocessing", num_envs, workers, batch, False)
    return configs


def _measure(env_creator: Callable, env_args: Any, env_kwargs: Any, config: dict,
             model_forward_s: float, seconds: float) -> float:
    """Agent steps per second of ``config``, sleeping ``model_forward_s`` per batch."""
    from pufferlib.vector import make

    with make(env_creator, env_args, env_kwargs, **config) as vecenv:
        vecenv.action_space.seed(0)
        actions = [vecenv.action_space.sample() for _ in range(16)]
        vecenv.async_reset(seed=0)
        for i in range(2 * vecenv.num_envs // vecenv.batch_size):
            vecenv.recv()
            vecenv.send(actions[i % len(actions)])
        batches = 0
        start = time.perf_counter()
        while time.perf_counter() - start < seconds:
            vecenv.recv()
            if model_forward_s:
                time.sleep(model_forward_s)
            vecenv.send(actions[batches % len(actions)])
            batches += 1
        vecenv.recv()
        elapsed = time.perf_counter() - start
        return batches * vecenv.agents_per_batch / elapsed


def autotune(env_creator: Callable, batch_size: int, max_envs: int = 1024, model_forward_s: float = 0.0,
             max_env_ram_gb: float = 32, max_batch_vram_gb: float = 0.05, time_per_test: float = 5,
             *, env_args: Any = None, env_kwargs: Any = None, verbose: bool = True) -> dict:
    """Benchmark vectorization settings for ``env_creator``; return the fastest.

    ``batch_size`` is the smallest batch, in agents, the model should see (multi-agent
    envs count every agent); batches of 2x and 4x are tried too while one batch of
    observations fits in ``max_batch_vram_gb``. At most ``max_envs`` envs, and no more than
    fit in ``max_env_ram_gb`` by the profiled RAM per env. Each candidate (Serial; fully
    synchronous Multiprocessing; async pools with and without zero copy) runs for
    ``time_per_test`` seconds, sleeping ``model_forward_s`` between ``recv`` and ``send``
    to mimic inference. Prints a ranked table and returns the best configuration, usable
    as ``pufferlib.vector.make(env_creator, **best)``: keys ``backend``, ``num_envs``,
    ``num_workers``, ``batch_size``, ``zero_copy``.
    """
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise APIUsageError(f"batch_size must be a positive integer (agents per batch), got {batch_size!r}.")
    if not isinstance(max_envs, (int, np.integer)) or max_envs < 1:
        raise APIUsageError(f"max_envs must be a positive integer, got {max_envs!r}.")
    if model_forward_s < 0 or time_per_test <= 0:
        raise APIUsageError("model_forward_s must be >= 0 and time_per_test > 0.")
    say = print if verbose else (lambda *a, **k: None)

    profile = profile_env(env_creator, env_args, env_kwargs, seconds=min(1.0, time_per_test))
    agents = profile.agents_per_env
    say(f"Env profile: {agents} agent(s) per env, {profile.steps_per_second:,.0f} env steps/s on one "
        f"core, {100 * profile.reset_share:.1f}% of time in reset, ~{profile.ram_bytes / 2**20:.1f} MiB "
        f"RAM per env, {profile.obs_bytes_per_agent} observation bytes per agent step")

    ram_limit = max_env_ram_gb * 2**30 // max(profile.ram_bytes, 1)
    env_limit = int(min(max_envs, ram_limit))
    smallest = math.ceil(batch_size / agents)
    if smallest > env_limit:
        raise APIUsageError(
            f"A batch of {batch_size} agents needs {smallest} envs, more than the {env_limit} allowed by "
            f"max_envs={max_envs} and max_env_ram_gb={max_env_ram_gb}. Lower batch_size or raise the limits."
        )
    batch_bytes = agents * profile.obs_bytes_per_agent
    batch_envs = [b for b in (smallest, 2 * smallest, 4 * smallest)
                  if b == smallest or (b <= env_limit and b * batch_bytes <= max_batch_vram_gb * 2**30)]
    if smallest * batch_bytes > max_batch_vram_gb * 2**30:
        say(f"Warning: one batch of {smallest} envs holds {smallest * batch_bytes / 2**30:.3f} GiB of "
            f"observations, over max_batch_vram_gb={max_batch_vram_gb}.")
    cores = physical_cores()
    candidates = _candidates(batch_envs, env_limit, cores)
    say(f"Testing {len(candidates)} configurations for ~{time_per_test}s each on {cores} physical core(s)")

    results = []
    for number, config in enumerate(candidates, 1):
        trial = f"  [{number}/{len(candidates)}]"
        try:
            sps = _measure(env_creator, env_args, env_kwargs, config, model_forward_s, time_per_test)
        except Exception as e:  # a configuration that cannot run here is reported, not fatal
            say(f"{trial} skipped {config}: {type(e).__name__}: {e}")
            continue
        results.append((sps, config))
        say(f"{trial} {config['backend']} num_envs={config['num_envs']} workers={config['num_workers']} "
            f"batch={config['batch_size']}: {sps:,.0f} agent steps/s", flush=True)
    if not results:
        raise APIUsageError("No configuration could run this env; see the messages above.")
    results.sort(key=lambda r: -r[0])
    best_sps = results[0][0]
    say(f"{'rank':>4} {'backend':>15} {'num_envs':>8} {'workers':>7} {'batch':>6} {'zero_copy':>9} "
        f"{'agent SPS':>12} {'vs best':>7}")
    for rank, (sps, c) in enumerate(results, 1):
        say(f"{rank:>4} {c['backend']:>15} {c['num_envs']:>8} {c['num_workers']:>7} {c['batch_size']:>6} "
            f"{c['zero_copy']!s:>9} {sps:>12,.0f} {sps / best_sps:>7.2f}")
    return dict(results[0][1])
