"""PPO's math (pufferlib.ppo): GAE against its definition, learning targets, the loss, minibatch weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from pufferlib import ppo
from pufferlib.ppo import compute_gae, explained_variance
from pufferlib.run.sections import TrainConfig

# ---------------------------------------------------------------------------------------
# GAE against a literal restatement of its definition


def reference_gae(values, rewards, terminals, truncations, gamma, lam):
    """A_t = sum_l (gamma lam)^l delta_{t+l}, stopping after the step that ends the episode."""
    agents, width = values.shape
    advantages = np.zeros((agents, width - 1))
    for a in range(agents):
        for t in range(width - 1):
            total, discount = 0.0, 1.0
            for k in range(t, width - 1):
                bootstrap = 0.0 if terminals[a, k + 1] else gamma * values[a, k + 1]
                total += discount * (rewards[a, k + 1] + bootstrap - values[a, k])
                if terminals[a, k + 1] or truncations[a, k + 1]:
                    break
                discount *= gamma * lam
            advantages[a, t] = total
    return advantages


@st.composite
def rollouts(draw):
    agents = draw(st.integers(1, 4))
    width = draw(st.integers(2, 12))
    rng = np.random.default_rng(draw(st.integers(0, 2**31)))
    values = rng.normal(size=(agents, width)).astype(np.float32)
    rewards = rng.normal(size=(agents, width)).astype(np.float32)
    terminals = rng.random((agents, width)) < draw(st.floats(0, 0.5))
    truncations = rng.random((agents, width)) < draw(st.floats(0, 0.5))
    return values, rewards, terminals, truncations


@settings(max_examples=60, deadline=None)
@given(rollouts(), st.floats(0, 1), st.floats(0, 1))
def test_gae_matches_its_definition(rollout, gamma, lam):
    values, rewards, terminals, truncations = rollout
    fast = compute_gae(values, rewards, terminals, truncations, gamma, lam)
    slow = reference_gae(values, rewards, terminals, truncations, gamma, lam)
    np.testing.assert_allclose(fast, slow, rtol=1e-4, atol=1e-4)


def test_gae_never_mixes_agents():
    rng = np.random.default_rng(0)
    values, rewards = rng.normal(size=(3, 9)), rng.normal(size=(3, 9))
    flags = np.zeros((3, 9), dtype=bool)
    before = compute_gae(values, rewards, flags, flags, 0.99, 0.95)
    rewards[1] += 100.0
    values[2] -= 50.0
    after = compute_gae(values, rewards, flags, flags, 0.99, 0.95)
    np.testing.assert_array_equal(before[0], after[0])
    assert not np.allclose(before[1], after[1])


def test_gae_terminal_does_not_bootstrap_but_truncation_does():
    values = np.array([[0.5, 0.25, 7.0, 9.0]], dtype=np.float32)  # 7.0: value of the final obs
    rewards = np.array([[0.0, 1.0, 2.0, 0.0]], dtype=np.float32)
    none = np.zeros((1, 4), dtype=bool)
    ended = none.copy()
    ended[0, 2] = True
    terminal = compute_gae(values, rewards, ended, none, gamma=0.9, gae_lambda=1.0)
    truncated = compute_gae(values, rewards, none, ended, gamma=0.9, gae_lambda=1.0)
    assert terminal[0, 1] == pytest.approx(2.0 - 0.25)
    assert truncated[0, 1] == pytest.approx(2.0 + 0.9 * 7.0 - 0.25)
    # Step 2 is a final observation: its successor (a reset) must not flow back into step 1.
    assert terminal[0, 0] == pytest.approx(1.0 + 0.9 * 0.25 - 0.5 + 0.9 * terminal[0, 1])


def test_explained_variance():
    target = np.array([1.0, 2.0, 3.0, 4.0])
    assert explained_variance(target, target) == 1.0
    assert explained_variance(np.zeros(4), target) == pytest.approx(0.0)
    assert explained_variance(np.full(4, target.mean()), target) == pytest.approx(0.0)
    assert explained_variance(np.roll(target, 1), target) < 0.0
    assert np.isnan(explained_variance(np.ones(3), np.ones(3)))
    assert np.isnan(explained_variance(np.zeros(0, np.float32), np.zeros(0, np.float32)))


# ---------------------------------------------------------------------------------------
# Learning targets, minibatch weights and the loss, each alone


def test_learning_targets_table_and_the_bootstrap_column():
    values = np.array([[1.0, 2.0, 3.0]], np.float32)
    rewards = np.array([[0.0, 1.0, 1.0]], np.float32)
    flags = np.zeros((1, 3), bool)
    learnable = np.ones((1, 3), bool)
    logprobs = np.full((1, 3), -0.5, np.float32)
    targets, _ = ppo.learning_targets(logprobs, values, rewards, flags, flags, learnable, 1.0, 1.0)
    assert targets.shape == (1, 3, 5)
    advantages = compute_gae(values, rewards, flags, flags, 1.0, 1.0)
    np.testing.assert_allclose(targets[0, :2, ppo.ADVANTAGE], advantages[0])
    np.testing.assert_allclose(targets[0, :, ppo.RETURN], targets[0, :, ppo.ADVANTAGE] + values[0])
    assert targets[0, :, ppo.LEARNABLE].tolist() == [1, 1, 0]  # the bootstrap step is learned next time


def test_minibatch_weights_sum_to_one_over_learnable_steps():
    learnable = torch.tensor([[1.0, 0.0, 1.0, 1.0], [0.0, 0.0, 0.0, 0.0]])
    weights = ppo.minibatch_weights(learnable)
    assert weights[0].sum() == pytest.approx(1.0) and weights[0, 1] == 0 and weights[1].sum() == 0
    advantages = ppo.normalize_advantages(torch.tensor([[1.0, 9.0, 3.0, 5.0], [0.0] * 4]), weights)
    kept = advantages[0][learnable[0].bool()]
    assert kept.mean().abs() < 1e-6 and (kept.square().mean().sqrt() - 1).abs() < 1e-4


def test_ppo_loss_is_the_clipped_objective():
    config = TrainConfig(clip_coef=0.2, vf_coef=0.5, ent_coef=0.01, clip_vloss=False)
    minibatch = torch.zeros((2, 5))
    minibatch[:, ppo.LOGPROB] = torch.log(torch.tensor([0.5, 0.5]))
    minibatch[:, ppo.RETURN] = torch.tensor([1.0, 0.0])
    advantages, weights = torch.tensor([1.0, -1.0]), torch.tensor([0.5, 0.5])
    new_logprobs = torch.log(torch.tensor([0.9, 0.1]))  # ratios 1.8 and 0.2, both clipped
    loss, stats = ppo.ppo_loss(new_logprobs, torch.zeros(2), torch.tensor([[0.0], [0.0]]), minibatch,
                               advantages, weights, config)
    policy_loss = -(0.5 * min(1.8, 1.2) * 1.0 + 0.5 * max(0.2, 0.8) * -1.0)
    value_loss = 0.5 * (0.5 * 1.0 + 0.5 * 0.0)
    assert stats[ppo.STAT_NAMES.index("policy_loss")] == pytest.approx(policy_loss)
    assert stats[ppo.STAT_NAMES.index("value_loss")] == pytest.approx(value_loss)
    assert loss.item() == pytest.approx(policy_loss + 0.5 * value_loss)
    assert stats[ppo.STAT_NAMES.index("clipfrac")] == pytest.approx(1.0)


def test_segments_index_the_grid_without_its_bootstrap_column():
    starts = ppo.segment_starts(num_agents=2, horizon=4, length=2)
    assert starts.tolist() == [0, 2, 5, 7]  # rows of width 5: the fifth step of each is the bootstrap
    assert ppo.segment_index(starts[:2], 2).tolist() == [0, 1, 2, 3]
