"""pufferlib.models: output shapes on real and structured envs, nativized features, LSTM."""

from __future__ import annotations

import functools

import gymnasium
import numpy as np
import pytest
import torch
from gymnasium.spaces import Box, Dict, Discrete, MultiDiscrete, Tuple
from torch.distributions import Normal

import catalogue
from pufferlib import emulation, models, vector
from pufferlib.emulation import GymnasiumPufferEnv
from pufferlib.exceptions import APIUsageError
from pufferlib.frameworks.cleanrl import sample_logits
from pufferlib.namespace import namespace


@pytest.fixture(autouse=True)
def seeded():
    torch.manual_seed(0)


class ImageEnv(gymnasium.Env):
    """A small random-image env (the flat-Box image path of the CNN policies)."""

    def __init__(self, shape=(84, 84, 4), action_space=None):
        self.observation_space = Box(0, 255, shape, np.uint8)
        self.action_space = action_space or Discrete(6)
        self._rng = np.random.default_rng(0)

    def reset(self, seed=None, options=None):
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        return self._rng.integers(0, 256, self.observation_space.shape, dtype=np.uint8), {}

    def step(self, action):
        obs, _ = self.reset()
        return obs, 0.0, False, False, {}


def batch_of(env, size: int, seed: int = 0) -> torch.Tensor:
    """``size`` real observations of a puffer env, stacked (copies: envs reuse buffers)."""
    obs = [np.array(env.reset(seed=seed)[0])]
    while len(obs) < size:
        action = env.action_space.sample()
        step = env.step(action)
        obs.append(np.array(step[0]))
        if step[2] or step[3]:
            obs[-1] = np.array(env.reset()[0])
    return torch.as_tensor(np.stack(obs))


def check_logits(logits, action_space, batch: int) -> None:
    if isinstance(action_space, Discrete):
        assert isinstance(logits, torch.Tensor) and logits.shape == (batch, action_space.n)
    elif isinstance(action_space, MultiDiscrete):
        assert [tuple(c.shape) for c in logits] == [(batch, int(n)) for n in action_space.nvec]
    else:
        assert isinstance(logits, Normal) and logits.loc.shape == (batch, *action_space.shape)
    action, logprob, entropy = sample_logits(logits)
    assert logprob.shape == entropy.shape == (batch,)
    assert action.shape[0] == batch
    assert action_space.contains(action[0].numpy().astype(action_space.dtype)) or isinstance(
        action_space, Box)


# ------------------------------------------------------------------------------------
# Default


@pytest.mark.parametrize("env_id", ["CartPole-v1", "Acrobot-v1", "Pendulum-v1", "MountainCarContinuous-v0"])
def test_default_on_gymnasium_envs(env_id):
    env = GymnasiumPufferEnv(gymnasium.make(env_id))
    policy = models.Default(env, hidden_size=64)
    obs = batch_of(env, 5)
    logits, value = policy(obs)
    assert value.shape == (5, 1)
    check_logits(logits, env.single_action_space, 5)
    hidden, lookup = policy.encode_observations(obs)
    assert hidden.shape == (5, 64)
    same_logits, same_value = policy.decode_actions(hidden, lookup)
    assert torch.equal(same_value, value)


STRUCTURED = ["discrete", "discrete_start", "multidiscrete", "multibinary", "tuple", "tuple_mixed",
              "dict", "nested", "box_image", "box_float64"]


@pytest.mark.parametrize("action", ["discrete", "multidiscrete", "box", "nested", "dict_box"])
@pytest.mark.parametrize("observation", STRUCTURED)
def test_default_on_structured_envs(observation, action):
    env = GymnasiumPufferEnv(catalogue.make_single(observation, action))
    policy = models.Default(env, hidden_size=32)
    obs = batch_of(env, 4)
    logits, value = policy(obs)
    assert value.shape == (4, 1) and value.dtype == torch.float32
    check_logits(logits, env.single_action_space, 4)


def puffer_catalogue(observation: str, action: str) -> GymnasiumPufferEnv:
    return GymnasiumPufferEnv(catalogue.make_single(observation, action))


def test_default_accepts_a_vecenv():
    creator = functools.partial(puffer_catalogue, "nested", "multidiscrete")
    with vector.make(creator, num_envs=3) as vecenv:
        policy = models.Default(vecenv, hidden_size=16)
        obs, _ = vecenv.reset(seed=0)
        logits, value = policy(torch.as_tensor(obs))
        check_logits(logits, vecenv.single_action_space, 3)
        assert value.shape == (3, 1)
        assert policy.flatten.size == models.Default(creator()).flatten.size == 31


def expected_features(space, sample) -> list[float]:
    """Hand-built Default features of one native sample: one-hot discretes, floats else."""
    if isinstance(space, Dict):
        return [x for key, sub in space.spaces.items() for x in expected_features(sub, sample[key])]
    if isinstance(space, Tuple):
        return [x for sub, value in zip(space.spaces, sample) for x in expected_features(sub, value)]
    if isinstance(space, Discrete):
        return [float(int(sample) - int(space.start) == i) for i in range(space.n)]
    if isinstance(space, MultiDiscrete):
        width = int(np.max(space.nvec))
        return [float(int(v) - int(s) == i) for v, s in zip(sample, space.start) for i in range(width)]
    return np.asarray(sample, dtype=np.float64).reshape(-1).tolist()


@pytest.mark.parametrize("observation", ["discrete", "discrete_start", "multidiscrete", "tuple",
                                         "tuple_mixed", "dict", "nested"])
def test_default_nativizes_structured_observations(observation):
    space = catalogue.OBSERVATION_SPACES[observation]()
    env = GymnasiumPufferEnv(catalogue.make_single(observation, "discrete"))
    flatten = models.Default(env).flatten
    rng = np.random.default_rng(1)
    samples = [catalogue.sample_space(space, rng) for _ in range(6)]
    flat_dtype = env.single_observation_space.dtype
    rows = np.stack([emulation.emulate_copy(s, flat_dtype, env.obs_dtype) for s in samples])
    features = flatten(torch.as_tensor(rows))
    expected = torch.tensor([expected_features(space, s) for s in samples], dtype=torch.float32)
    assert features.shape == expected.shape == (6, flatten.size)
    assert torch.allclose(features, expected)


def test_default_without_native_space_casts_struct_leaves():
    space = Dict({"a": Box(-1.0, 1.0, (2,), np.float32), "n": Discrete(5)})
    flat, struct = emulation.emulate_observation_space(space)
    env = namespace(single_observation_space=flat, single_action_space=Discrete(3),
                    emulated=namespace(observation_dtype=flat.dtype, emulated_observation_dtype=struct))
    policy = models.Default(env)
    row = emulation.emulate_copy({"a": np.array([0.5, -0.25], np.float32), "n": 3}, flat.dtype, struct)
    assert torch.equal(policy.flatten(torch.as_tensor(row[None])), torch.tensor([[0.5, -0.25, 3.0]]))


def test_continuous_head_has_state_independent_learned_log_std():
    env = GymnasiumPufferEnv(gymnasium.make("Pendulum-v1"))
    policy = models.Default(env)
    logits, _ = policy(batch_of(env, 3))
    assert isinstance(logits, Normal)
    assert torch.allclose(logits.scale, torch.ones(3, 1))  # log-std starts at 0, same for all states
    log_std = policy.actor.log_std
    assert log_std.requires_grad and any(p is log_std for p in policy.parameters())
    _, logprob, entropy = sample_logits(logits)
    (logprob.sum() + entropy.sum()).backward()
    assert log_std.grad is not None and torch.all(log_std.grad != 0)


def test_unsupported_action_space_is_a_clear_error():
    env = namespace(single_observation_space=Box(-1, 1, (3,)), single_action_space=Tuple((Discrete(2),)),
                    emulated=None)
    with pytest.raises(APIUsageError, match="Discrete, MultiDiscrete"):
        models.Default(env)


def test_default_heads_use_orthogonal_init():
    env = GymnasiumPufferEnv(gymnasium.make("CartPole-v1"))
    policy = models.Default(env, hidden_size=64)
    actor = policy.actor.linear.weight.detach().double()
    assert torch.allclose(actor @ actor.T, 1e-4 * torch.eye(2, dtype=torch.float64), atol=1e-9)
    value = policy.value_head.weight.detach().double()
    assert torch.allclose(value @ value.T, torch.ones(1, 1, dtype=torch.float64), atol=1e-6)


@pytest.mark.timeout(300)
def test_default_compiles_without_graph_breaks_on_structured_observations():
    env = GymnasiumPufferEnv(catalogue.make_single("nested", "multidiscrete"))
    policy = models.Default(env, hidden_size=16)

    def act(observations):
        logits, value = policy(observations)
        _, logprob, entropy = sample_logits(logits, torch.zeros(observations.shape[0], 3, dtype=torch.long))
        return logprob, entropy, value

    observations = batch_of(env, 8)
    assert torch._dynamo.explain(act)(observations).graph_break_count == 0
    torch._dynamo.reset()
    compiled = torch.compile(act, fullgraph=True, dynamic=True)
    for batch in (8, 5):
        for got, expected in zip(compiled(observations[:batch]), act(observations[:batch])):
            assert torch.allclose(got, expected, atol=1e-6)


# ------------------------------------------------------------------------------------
# LSTMWrapper


def lstm_policy(hidden=32, layers=1):
    env = GymnasiumPufferEnv(gymnasium.make("CartPole-v1"))
    return env, models.LSTMWrapper(env, models.Default(env, hidden_size=hidden), input_size=hidden,
                                   hidden_size=hidden, num_layers=layers)


@pytest.mark.parametrize("layers", [1, 2])
def test_lstm_single_step_and_sequence_shapes(layers):
    env, policy = lstm_policy(layers=layers)
    assert policy.lstm is policy.recurrent and isinstance(policy.recurrent, torch.nn.LSTM)
    obs = batch_of(env, 12)
    logits, value, (h, c) = policy(obs[:4], None)
    assert logits.shape == (4, 2) and value.shape == (4, 1)
    assert h.shape == c.shape == (layers, 4, 32)
    logits, value, (h, c) = policy(obs.view(4, 3, 4), (h, c))
    assert logits.shape == (12, 2) and value.shape == (12, 1)
    assert h.shape == c.shape == (layers, 4, 32)


def test_lstm_sequence_equals_stepping_with_carried_state():
    env, policy = lstm_policy(layers=2)
    sequence = batch_of(env, 15).view(3, 5, 4)  # (B, T, obs)
    h0 = torch.randn(2, 3, 32)
    c0 = torch.randn(2, 3, 32)
    logits, value, (h, c) = policy(sequence, (h0, c0))
    state = (h0, c0)
    for t in range(5):
        step_logits, step_value, state = policy(sequence[:, t], state)
        rows = torch.arange(3) * 5 + t  # outputs are flattened batch-major: row b * T + t
        assert torch.allclose(step_logits, logits[rows], atol=1e-6)
        assert torch.allclose(step_value, value[rows], atol=1e-6)
    assert torch.allclose(state[0], h, atol=1e-6) and torch.allclose(state[1], c, atol=1e-6)


def test_lstm_bad_observation_shape_names_the_expected_shape():
    _, policy = lstm_policy()
    with pytest.raises(ValueError, match=r"\(B, 4\).*\(B, T, 4\)"):
        policy(torch.zeros(3, 5), None)
    with pytest.raises(ValueError, match="obs_shape"):
        policy(torch.zeros(2, 3, 4, 4), None)


def test_lstm_bad_state_shape_names_the_expected_shape():
    _, policy = lstm_policy()
    with pytest.raises(ValueError, match=r"\(1, 3, 32\)"):
        policy(torch.zeros(3, 4), (torch.zeros(1, 2, 32), torch.zeros(1, 2, 32)))
    with pytest.raises(ValueError, match=r"\(1, 3, 32\)"):
        policy(torch.zeros(3, 4), (torch.zeros(3, 32), torch.zeros(3, 32)))


def test_lstm_over_structured_observations():
    env = GymnasiumPufferEnv(catalogue.make_single("nested", "multidiscrete"))
    policy = models.LSTMWrapper(env, models.Default(env, hidden_size=16), input_size=16, hidden_size=16)
    obs = batch_of(env, 6)
    logits, value, _ = policy(obs.view(2, 3, -1), None)
    check_logits(logits, env.single_action_space, 6)
    assert value.shape == (6, 1)


# ------------------------------------------------------------------------------------
# Convolutional, ProcgenResnet


def test_convolutional_nature_cnn_shapes():
    env = GymnasiumPufferEnv(ImageEnv((4, 84, 84)))
    policy = models.Convolutional(env, framestack=4, flat_size=64 * 7 * 7)
    logits, value = policy(batch_of(env, 3))
    assert logits.shape == (3, 6) and value.shape == (3, 1)


def test_convolutional_channels_last_and_downsample():
    env = GymnasiumPufferEnv(ImageEnv((168, 168, 4)))
    policy = models.Convolutional(env, framestack=4, flat_size=64 * 7 * 7, channels_last=True,
                                  downsample=2, hidden_size=128, output_size=128)
    logits, value = policy(batch_of(env, 2))
    assert logits.shape == (2, 6) and value.shape == (2, 1)


def test_convolutional_wrong_flat_size_reports_the_right_one():
    env = GymnasiumPufferEnv(ImageEnv((4, 84, 84)))
    with pytest.raises(APIUsageError, match="flat_size=3136"):
        models.Convolutional(env, framestack=4, flat_size=1000)


@pytest.mark.parametrize("hidden_size, output_size", [(256, 128), (64, 96)])
def test_convolutional_heads_sized_by_output_size_under_an_lstm(hidden_size, output_size):
    env = GymnasiumPufferEnv(ImageEnv((4, 84, 84), action_space=MultiDiscrete([3, 4])))
    cnn = models.Convolutional(env, framestack=4, flat_size=3136, hidden_size=hidden_size,
                               output_size=output_size)
    policy = models.LSTMWrapper(env, cnn, input_size=hidden_size, hidden_size=output_size)
    logits, value, _ = policy(batch_of(env, 4).view(2, 2, 4, 84, 84), None)
    check_logits(logits, env.single_action_space, 4)
    assert value.shape == (4, 1)


@pytest.mark.parametrize("hidden_size, output_size", [(256, 128), (64, 96)])
def test_convolutional_alone_with_hidden_size_not_output_size(hidden_size, output_size):
    """Issue 9: both heads are sized by what feeds them, so H != O runs without an LSTM."""
    env = GymnasiumPufferEnv(ImageEnv((4, 84, 84), action_space=MultiDiscrete([3, 4])))
    cnn = models.Convolutional(env, framestack=4, flat_size=3136, hidden_size=hidden_size,
                               output_size=output_size)
    logits, value = cnn(batch_of(env, 3))
    check_logits(logits, env.single_action_space, 3)
    assert value.shape == (3, 1)
    assert cnn.value_fn.in_features == cnn.actor.linear.in_features == output_size
    value.sum().backward()
    assert cnn.project[0].weight.grad is not None
    equal = models.Convolutional(env, framestack=4, flat_size=3136, hidden_size=64, output_size=64)
    assert equal.project is None and not any(k.startswith("project") for k in equal.state_dict())


def test_convolutional_continuous_actions():
    env = GymnasiumPufferEnv(ImageEnv((84, 84, 4), action_space=Box(-1.0, 1.0, (3,), np.float32)))
    policy = models.Convolutional(env, framestack=4, flat_size=3136, channels_last=True)
    logits, value = policy(batch_of(env, 2))
    check_logits(logits, env.single_action_space, 2)


def test_conv_sequence_output_shape():
    sequence = models.ConvSequence((3, 64, 64), 16)
    assert sequence.get_output_shape() == (16, 32, 32)
    assert tuple(sequence(torch.zeros(2, 3, 64, 64)).shape[1:]) == (16, 32, 32)
    odd = models.ConvSequence((8, 11, 7), 4)
    assert tuple(odd(torch.zeros(1, 8, 11, 7)).shape[1:]) == odd.get_output_shape() == (4, 6, 4)


def test_residual_block_keeps_shape_and_adds_its_input():
    block = models.ResidualBlock(5)
    torch.nn.init.zeros_(block.conv1.weight)
    torch.nn.init.zeros_(block.conv1.bias)
    x = torch.randn(2, 5, 6, 6)
    assert torch.equal(block(x), x)


def test_procgen_resnet_shapes():
    env = GymnasiumPufferEnv(ImageEnv((64, 64, 3), action_space=Discrete(15)))
    policy = models.ProcgenResnet(env, cnn_width=8, mlp_width=64)
    logits, value = policy(batch_of(env, 3))
    assert logits.shape == (3, 15) and value.shape == (3, 1)
    recurrent = models.LSTMWrapper(env, policy, input_size=64, hidden_size=64)
    logits, value, _ = recurrent(batch_of(env, 4).view(2, 2, 64, 64, 3), None)
    assert logits.shape == (4, 15) and value.shape == (4, 1)
