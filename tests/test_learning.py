"""Learning acceptance: the shipped configurations solve every Ocean env and CartPole.

Each test trains with the environment's own defaults (``pufferlib/config/*.toml``, the
same as ``puffer train --env NAME``) under a fixed seed on the Serial backend, with a
step budget (never a wall-clock limit), then checks the learned behaviour.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pufferlib import experiment
from pufferlib.rollout import play as play_episodes

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def train(name: str, tmp_path, callback=None, **train_overrides):
    config = experiment.load_config(name)
    config["train"].update(train_overrides, data_dir=str(tmp_path))
    trainer = experiment.run_training(config, f"{name}-test", progress="none", callback=callback)
    return trainer, config


def play(config, policy, episodes: int) -> dict[str, float]:
    """Mean episode statistics of ``policy`` over fresh episodes (unseen seed)."""
    vecenv = experiment.make_vecenv(config)
    try:
        finished = play_episodes(vecenv, policy, episodes, max_steps=100_000, seed=12345)
    finally:
        vecenv.close()
    assert len(finished) >= episodes
    keys = set().union(*finished)
    return {k: float(np.mean([info[k] for info in finished if k in info])) for k in keys}


@pytest.mark.parametrize("name, budget", [("squared", 30_000), ("squared_native", 60_000)])
def test_squared(tmp_path, name, budget):
    trainer, config = train(name, tmp_path)
    assert trainer.global_step <= budget + 4096
    assert trainer.stats["score"] >= 0.9
    assert play(config, trainer.policy, 64)["score"] >= 0.9


def test_bandit_picks_the_winning_arm(tmp_path):
    trainer, config = train("bandit", tmp_path)
    assert play(config, trainer.policy, 200)["score"] >= 0.9


def test_memory_with_the_lstm_policy(tmp_path):
    trainer, config = train("memory", tmp_path)
    assert trainer.recurrent
    assert play(config, trainer.policy, 100)["score"] >= 0.9


def test_password(tmp_path):
    trainer, config = train("password", tmp_path)
    assert play(config, trainer.policy, 100)["score"] >= 0.9


def test_stochastic_learns_a_stochastic_policy(tmp_path):
    trainer, config = train("stochastic", tmp_path)
    with torch.no_grad():
        logits, _ = trainer.policy(torch.zeros(1, 1))
    p_zero = torch.softmax(logits, dim=-1)[0, 0].item()
    # The reward is best for P(action 0) a little under p = 0.7; a deterministic or
    # uniform policy earns far less (0, or about 46 per 100 steps).
    assert 0.55 <= p_zero <= 0.8
    stats = play(config, trainer.policy, 32)
    assert stats["episode_return"] >= 48
    assert stats["score"] >= 0.99


def test_multiagent(tmp_path):
    trainer, config = train("multiagent", tmp_path)
    assert play(config, trainer.policy, 100)["score"] >= 0.95


def test_spaces(tmp_path):
    trainer, config = train("spaces", tmp_path)
    assert play(config, trainer.policy, 100)["score"] >= 0.9


def test_cartpole_solved(tmp_path):
    def solved(trainer):
        recent = list(trainer.episode_returns)[-20:]
        return not (len(recent) == 20 and np.mean(recent) >= 475)

    trainer, config = train("cartpole", tmp_path, callback=solved)
    assert np.mean(list(trainer.episode_returns)[-20:]) >= 475
    # The shipped config trades samples for wall-clock speed (256 envs): it solves in about
    # 150-200k steps, SB3's default PPO (8 envs) in about 100-150k, at a small fraction of the rate.
    assert trainer.global_step <= 250_000
    assert play(config, trainer.policy, 10)["episode_return"] >= 475


def test_cartpole_policy_keeps_actor_and_critic_apart():
    """The classic-control policy's speed trick (one fused first-layer matmul) must not couple
    the networks: a value loss moves no actor weight, a policy loss no critic weight."""
    from pufferlib.environments import classic_control

    env = classic_control.make_env("cartpole")
    policy = classic_control.Policy(env, hidden_size=8)
    obs = torch.randn(32, 4)
    hidden = policy.hidden_size
    cases = [
        (1, "actor.linear.weight", slice(0, hidden)),  # value output: actor head and columns idle
        (0, "value_head.weight", slice(hidden, None)),  # logits: critic head and columns idle
    ]
    for output, idle_head, idle_columns in cases:
        policy.zero_grad()
        policy(obs)[output].sum().backward()
        params = dict(policy.named_parameters())
        assert params[idle_head].grad is None or not params[idle_head].grad.any()
        assert not params["input_weight"].grad[:, idle_columns].any()
        assert params["input_weight"].grad.any()


def test_pendulum_improves_clearly_over_random(tmp_path):
    config = experiment.load_config("pendulum")
    vecenv = experiment.make_vecenv(config)
    untrained = experiment.make_policy(config, vecenv.driver_env)
    vecenv.close()
    random_return = play(config, untrained, 16)["episode_return"]
    trainer, config = train("pendulum", tmp_path)
    trained_return = play(config, trainer.policy, 16)["episode_return"]
    assert random_return < -900
    assert trained_return > -600 and trained_return > random_return + 500


def test_training_is_deterministic_with_serial(tmp_path):
    weights = []
    for run in range(2):
        trainer, _ = train("cartpole", tmp_path / str(run), total_timesteps=20_000)
        weights.append(trainer.policy.state_dict())
    for key in weights[0]:
        assert torch.equal(weights[0][key], weights[1][key]), key
