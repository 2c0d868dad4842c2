"""Allocations the machine cannot hold are refused up front (pufferlib.memory)."""

from __future__ import annotations

import pytest

import pufferlib.vector
from pufferlib import memory
from pufferlib.environments import ocean
from pufferlib.exceptions import APIUsageError


def test_require_compares_with_the_memory_available_now():
    available = memory.available_bytes()
    assert available and available > 2**20
    memory.require(2**20, "a small buffer", "no fix needed")
    with pytest.raises(APIUsageError, match=r"The thing need [\d.]+ GiB, more than 50% of the .*: fix it"):
        memory.require(available, "The thing", "fix it")


@pytest.mark.parametrize("games", [10**11, 10**9])
def test_a_native_game_count_that_cannot_fit_is_refused_before_it_is_allocated(games):
    with pytest.raises(APIUsageError, match=f"{games:,} .*--env.num-envs"):
        env = ocean.make_env("cartpole", num_envs=games)
        env.reset(seed=0)


def test_a_vecenv_of_too_many_copies_is_refused_before_its_workers_start():
    with pytest.raises(APIUsageError, match="need .*lower vec.num_copies"):
        pufferlib.vector.make(ocean.env_creator("cartpole"), env_kwargs={"num_envs": 64}, num_envs=10**9,
                              backend="multiprocessing", num_workers=2)
