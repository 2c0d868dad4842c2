"""pufferlib.frameworks.cleanrl: sample_logits against torch.distributions, policy wrappers."""

from __future__ import annotations

import math

import gymnasium
import numpy as np
import pytest
import torch
from torch.distributions import Categorical, Normal

from pufferlib import models
from pufferlib.emulation import GymnasiumPufferEnv
from pufferlib.frameworks.cleanrl import Policy, RecurrentPolicy, sample_logits


@pytest.fixture(autouse=True)
def seeded():
    torch.manual_seed(0)


@pytest.mark.parametrize("batch", [1, 5])
def test_discrete_logprob_and_entropy_match_categorical(batch):
    logits = torch.randn(batch, 7) * 3
    action = torch.randint(0, 7, (batch,))
    got_action, logprob, entropy = sample_logits(logits, action)
    reference = Categorical(logits=logits)
    assert torch.equal(got_action, action)
    assert logprob.shape == entropy.shape == (batch,)
    assert torch.allclose(logprob, reference.log_prob(action), atol=1e-6)
    assert torch.allclose(entropy, reference.entropy(), atol=1e-6)


def test_uniform_logits_over_eight_actions():
    action, logprob, entropy = sample_logits(torch.zeros(3, 8))
    assert action.shape == (3,) and action.dtype == torch.int64
    assert torch.all((action >= 0) & (action < 8))
    assert torch.allclose(logprob, torch.full((3,), -math.log(8)), atol=1e-6)
    assert torch.allclose(entropy, torch.full((3,), math.log(8)), atol=1e-6)


def test_discrete_sampling_follows_the_distribution():
    probs = torch.tensor([0.1, 0.2, 0.3, 0.4])
    logits = probs.log().expand(40_000, 4)
    action, _, _ = sample_logits(logits)
    frequencies = torch.bincount(action, minlength=4).float() / action.numel()
    assert torch.allclose(frequencies, probs, atol=0.01)


def test_discrete_masked_actions_are_never_sampled_and_entropy_is_finite():
    logits = torch.tensor([[0.0, -math.inf, 0.0, -math.inf]]).expand(1000, 4)
    action, logprob, entropy = sample_logits(logits)
    assert set(action.tolist()) <= {0, 2}
    assert torch.allclose(logprob, torch.full((1000,), -math.log(2)))
    assert torch.allclose(entropy, torch.full((1000,), math.log(2)))


@pytest.mark.parametrize("sizes", [[3, 5, 2], [4, 4, 4]])
@pytest.mark.parametrize("batch", [1, 6])
def test_multidiscrete_sums_components(sizes, batch):
    logits = [torch.randn(batch, n) for n in sizes]
    action = torch.stack([torch.randint(0, n, (batch,)) for n in sizes], dim=1)
    got_action, logprob, entropy = sample_logits(logits, action)
    references = [Categorical(logits=component) for component in logits]
    assert torch.equal(got_action, action)
    assert logprob.shape == entropy.shape == (batch,)
    expected_logprob = sum(ref.log_prob(action[:, i]) for i, ref in enumerate(references))
    expected_entropy = sum(ref.entropy() for ref in references)
    assert torch.allclose(logprob, expected_logprob, atol=1e-6)
    assert torch.allclose(entropy, expected_entropy, atol=1e-6)

    sampled, _, _ = sample_logits(logits)
    assert sampled.shape == (batch, len(sizes))
    assert all(torch.all((sampled[:, i] >= 0) & (sampled[:, i] < n)) for i, n in enumerate(sizes))


@pytest.mark.parametrize("shape", [(1, 3), (4, 3), (4, 2, 2)])
def test_continuous_matches_normal(shape):
    mean = torch.randn(shape)
    std = torch.rand(shape) + 0.1
    dist = Normal(mean, std)
    action = torch.randn(shape)
    got_action, logprob, entropy = sample_logits(dist, action)
    dims = tuple(range(1, len(shape)))
    assert torch.equal(got_action, action)
    assert logprob.shape == entropy.shape == (shape[0],)
    assert torch.allclose(logprob, dist.log_prob(action).sum(dims), atol=1e-6)
    assert torch.allclose(entropy, dist.entropy().sum(dims), atol=1e-6)


@pytest.mark.parametrize("grad", [False, True])
def test_a_sampled_continuous_action_is_scored_like_normal_with_and_without_autograd(grad):
    mean = torch.randn(5, 3, requires_grad=True)
    log_std = torch.randn(1, 3, requires_grad=True)
    with torch.set_grad_enabled(grad):
        dist = Normal(mean, log_std.exp().expand_as(mean))
        action, logprob, entropy = sample_logits(dist)
    reference = Normal(mean, log_std.exp().expand_as(mean))
    torch.testing.assert_close(logprob, reference.log_prob(action).sum(1))
    torch.testing.assert_close(entropy, reference.entropy().sum(1))
    if grad:  # the score function of the fixed sampled action, as Normal.log_prob's
        got = torch.autograd.grad(logprob.sum(), [mean, log_std])
        expected = torch.autograd.grad(reference.log_prob(action).sum(), [mean, log_std])
        for g, e in zip(got, expected, strict=True):
            torch.testing.assert_close(g, e)


def test_continuous_sampling_has_the_right_moments():
    dist = Normal(torch.full((50_000, 1), 2.0), torch.full((50_000, 1), 0.5))
    action, logprob, _ = sample_logits(dist)
    assert action.shape == (50_000, 1)
    assert abs(action.mean().item() - 2.0) < 0.02
    assert abs(action.std().item() - 0.5) < 0.02
    assert torch.allclose(logprob, dist.log_prob(action).sum(1), atol=1e-5)


def test_gradients_flow_to_logits():
    logits = torch.randn(4, 5, requires_grad=True)
    _, logprob, entropy = sample_logits(logits, torch.tensor([0, 1, 2, 3]))
    (logprob.sum() + entropy.sum()).backward()
    assert logits.grad is not None and torch.any(logits.grad != 0)


def test_unsupported_logits_type_is_a_clear_error():
    with pytest.raises(TypeError, match="logits"):
        sample_logits("not logits")


def cartpole() -> GymnasiumPufferEnv:
    return GymnasiumPufferEnv(gymnasium.make("CartPole-v1"))


def test_policy_interface():
    env = cartpole()
    policy = Policy(models.Default(env, hidden_size=32))
    obs = torch.as_tensor(np.stack([env.reset(seed=i)[0] for i in range(3)]))
    action, logprob, entropy, value = policy.get_action_and_value(obs)
    assert action.shape == logprob.shape == entropy.shape == (3,)
    assert value.shape == (3, 1)
    assert torch.equal(policy.get_value(obs), value)
    _, same_logprob, _, _ = policy(obs, action)
    assert torch.allclose(same_logprob, logprob)


def test_recurrent_policy_interface():
    env = cartpole()
    lstm = models.LSTMWrapper(env, models.Default(env, hidden_size=32), input_size=32, hidden_size=32)
    policy = RecurrentPolicy(lstm)
    assert policy.lstm is lstm.recurrent
    obs = torch.as_tensor(np.stack([env.reset(seed=i)[0] for i in range(3)]))
    action, logprob, entropy, value, state = policy.get_action_and_value(obs)
    assert action.shape == logprob.shape == entropy.shape == (3,)
    assert value.shape == (3, 1)
    assert state[0].shape == state[1].shape == (1, 3, 32)
    assert torch.equal(policy.get_value(obs), value)
    _, next_logprob, _, _, next_state = policy(obs, state, action)
    assert next_logprob.shape == (3,)
    assert not torch.equal(next_state[0], state[0])  # the state moved on


# ------------------------------------------------------------------------------------
# Issue 9: a given action of any shape with the batch's element count (1.0 trainers store
# (B, T) actions and score them against (B * T, ...) logits)


def test_discrete_action_of_shape_b_t_against_flat_logits():
    logits = torch.randn(6, 5)
    action = torch.randint(0, 5, (2, 3))
    got, logprob, entropy = sample_logits(logits, action)
    flat_got, flat_logprob, flat_entropy = sample_logits(logits, action.reshape(6))
    assert got.shape == (6,) and torch.equal(got, action.reshape(6))
    assert torch.equal(logprob, flat_logprob) and torch.equal(entropy, flat_entropy)
    _, trailing, _ = sample_logits(logits, action.reshape(6, 1))  # (B*T, 1), as buffers store them
    assert torch.equal(trailing, flat_logprob)


def test_multidiscrete_action_of_shape_b_t_k_against_flat_logits():
    for sizes in ([3, 3], [2, 5, 4]):
        logits = [torch.randn(6, n) for n in sizes]
        action = torch.stack([torch.randint(0, n, (2, 3)) for n in sizes], dim=-1)  # (B, T, k)
        _, logprob, _ = sample_logits(logits, action)
        _, flat_logprob, _ = sample_logits(logits, action.reshape(6, len(sizes)))
        assert logprob.shape == (6,) and torch.equal(logprob, flat_logprob)


def test_continuous_action_of_shape_b_t_d_against_flat_normal():
    dist = Normal(torch.randn(6, 2), torch.rand(6, 2) + 0.5)
    action = torch.randn(2, 3, 2)
    _, logprob, _ = sample_logits(dist, action)
    assert torch.allclose(logprob, dist.log_prob(action.reshape(6, 2)).sum(-1))


def test_action_with_the_wrong_element_count_is_a_clear_error():
    from pufferlib.exceptions import APIUsageError

    with pytest.raises(APIUsageError, match=r"shape \(2, 4\) \(8 elements\).*\(6,\)"):
        sample_logits(torch.randn(6, 5), torch.zeros(2, 4, dtype=torch.long))
    with pytest.raises(APIUsageError, match="2 logits tensors"):
        sample_logits([torch.randn(6, 3), torch.randn(6, 3)], torch.zeros(6, dtype=torch.long))


def test_policies_score_b_t_actions_like_flat_ones():
    env = cartpole()
    obs = torch.as_tensor(np.stack([env.reset(seed=i)[0] for i in range(6)]))
    policy = Policy(models.Default(env, hidden_size=16))
    action, logprob, _, _ = policy.get_action_and_value(obs)
    _, again, _, _ = policy.get_action_and_value(obs, action.reshape(2, 3))
    assert torch.allclose(again, logprob)
    lstm = models.LSTMWrapper(env, models.Default(env, hidden_size=16), input_size=16, hidden_size=16)
    recurrent = RecurrentPolicy(lstm)
    sequence = obs.reshape(2, 3, -1)  # (B, T, *obs_shape): outputs are (B * T, ...)
    action, logprob, _, _, _ = recurrent.get_action_and_value(sequence)
    _, again, _, _, _ = recurrent.get_action_and_value(sequence, None, action.reshape(2, 3))
    assert again.shape == (6,) and torch.allclose(again, logprob)
