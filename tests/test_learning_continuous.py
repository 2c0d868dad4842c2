"""Continuous-control learning check: InvertedPendulum-v4 with its shipped config improves clearly.

The shipped ``invertedpendulum`` config (CleanRL's MuJoCo PPO settings, run-level
observation and reward normalisation) trains under a fixed seed for a step budget CI
affords; a regression in the Gaussian head, the normalisation or the PPO update shows
up as a pendulum that still falls within a few dozen steps. The published 1M-step
figure is bench/learning.py's job, not this test's.
"""

from __future__ import annotations

import numpy as np
import pytest

from pufferlib import experiment
from pufferlib.rollout import play

pytest.importorskip("mujoco", reason="InvertedPendulum-v4 needs the mujoco extra")
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

BUDGET = 40_960
"""20 updates of CleanRL's 2048-step rollouts (bench/learning.py, seed 1: the mean training
return of the last 100 episodes passes 320 here, on its way to 865 at 100k steps)."""
THRESHOLD = 150.0


def mean_return(config: dict, policy, episodes: int) -> float:
    vecenv = experiment.make_vecenv(config)
    try:
        finished = play(vecenv, policy, episodes, max_steps=200_000, seed=12345)
    finally:
        vecenv.close()
    return float(np.mean([info["episode_return"] for info in finished[:episodes]]))


def test_inverted_pendulum_learns_to_balance(tmp_path):
    config = experiment.load_config("InvertedPendulum-v4")
    config["train"].update(total_timesteps=BUDGET, data_dir=str(tmp_path))
    vecenv = experiment.make_vecenv(config)
    try:
        untrained = experiment.make_policy(config, vecenv.driver_env)
    finally:
        vecenv.close()
    before = mean_return(config, untrained, 20)

    trainer = experiment.run_training(config, "pendulum", progress="none")
    assert BUDGET <= trainer.global_step <= BUDGET + 2048
    after = mean_return(config, trainer.policy, 20)
    # A random policy balances for under ~10 steps; the trained one for many times that.
    assert before < 30
    assert after >= THRESHOLD and after >= 5 * before, (before, after)
