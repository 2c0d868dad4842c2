"""The compiled PPO update (``train.learner = "compiled"``) against the eager one.

Compiling is slow (tens of seconds with inductor's C++ code generation), so most tests trace
with the ``aot_eager`` backend: the same graph (functional gradients, the clip and Adam written
out), run by PyTorch's kernels. One test, marked slow, compiles with inductor.
"""

from __future__ import annotations

import copy
import types

import gymnasium
import numpy as np
import pytest
import torch

import pufferlib.learner
import pufferlib.models
import pufferlib.vector
from pufferlib.environments import ocean
from pufferlib.environments.mujoco.torch import Policy as SeparateActorCritic
from pufferlib.exceptions import NonFiniteError
from pufferlib.learner import Learner
from pufferlib.run.options import options_of_dataclass
from pufferlib.trainer import TrainConfig, Trainer, seed_everything


@pytest.fixture
def aot_eager(monkeypatch):
    monkeypatch.setattr(pufferlib.learner, "BACKEND", "aot_eager")


def space_env(action_space):
    return types.SimpleNamespace(single_observation_space=gymnasium.spaces.Box(-1, 1, (5,)),
                                 single_action_space=action_space, emulated=None)


def minibatch(action_space, rows=48, seed=0):
    g = torch.Generator().manual_seed(seed)
    observations = torch.randn(rows, 5, generator=g)
    if isinstance(action_space, gymnasium.spaces.Discrete):
        actions = torch.randint(0, int(action_space.n), (rows,), generator=g)
    else:
        actions = torch.randn(rows, *action_space.shape, generator=g)
    table = torch.randn(rows, 5, generator=g)
    table[:, 0] = -1.5  # rollout log-probs near the policy's: ratios around 1, some clipped
    weights = torch.full((rows,), 1.0 / rows)
    return observations, table, torch.randn(rows, generator=g), weights, actions


POLICIES = {
    "discrete": (lambda env: pufferlib.models.Default(env, hidden_size=16), gymnasium.spaces.Discrete(3)),
    "box": (lambda env: SeparateActorCritic(env, hidden_size=16), gymnasium.spaces.Box(-1, 1, (2,))),
}


@pytest.mark.parametrize("name", list(POLICIES))
def test_compiled_update_matches_eager_on_the_same_inputs(name, aot_eager):
    make, action_space = POLICIES[name]
    torch.manual_seed(0)
    policy = make(space_env(action_space))
    config = TrainConfig(ent_coef=0.01, learning_rate=1e-2)
    runs = {}
    for kind in ("eager", "compiled"):
        copy_ = copy.deepcopy(policy)
        optimizer = torch.optim.Adam(copy_.parameters(), lr=1e-2, eps=1e-5, fused=True)
        learner = Learner(copy_, optimizer, config, kind)
        assert learner.kind == kind
        stats = []
        for i in range(3):
            stats.append(learner.step(*minibatch(action_space, seed=i)))
            if getattr(copy_, "normalizer", None) is not None:  # statistics the graph must read afresh
                copy_.normalizer.update(3 * minibatch(action_space, seed=i)[0] + 1)
        runs[kind] = (copy_, optimizer, torch.stack(stats))
    (eager, eager_opt, eager_stats), (compiled, compiled_opt, compiled_stats) = runs.values()
    torch.testing.assert_close(compiled_stats, eager_stats, rtol=1e-5, atol=1e-6)
    for a, b in zip(eager.parameters(), compiled.parameters(), strict=True):
        torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-6)
        assert b.grad is None
    # The compiled learner keeps torch.optim.Adam's own state: checkpoints are interchangeable.
    eager_state, compiled_state = eager_opt.state_dict()["state"], compiled_opt.state_dict()["state"]
    assert eager_state.keys() == compiled_state.keys()
    for key, state in eager_state.items():
        for field in ("step", "exp_avg", "exp_avg_sq"):
            torch.testing.assert_close(compiled_state[key][field], state[field], rtol=1e-5, atol=1e-7)


def test_a_non_finite_gradient_changes_nothing_and_raises(aot_eager):
    make, action_space = POLICIES["discrete"]
    policy = make(space_env(action_space))
    optimizer = torch.optim.Adam(policy.parameters(), lr=1e-2, eps=1e-5, fused=True)
    learner = Learner(policy, optimizer, TrainConfig(), "compiled")
    learner.step(*minibatch(action_space))
    before = copy.deepcopy((policy.state_dict(), optimizer.state_dict()))
    observations, table, advantages, weights, actions = minibatch(action_space, seed=1)
    advantages[3] = float("nan")
    with pytest.raises(NonFiniteError, match="norm"):
        learner.step(observations, table, advantages, weights, actions)
    for key, value in policy.state_dict().items():
        torch.testing.assert_close(value, before[0][key], rtol=0, atol=0)
    for key, state in optimizer.state_dict()["state"].items():
        for field, value in state.items():
            torch.testing.assert_close(value, before[1]["state"][key][field], rtol=0, atol=0)


def test_the_learner_option_is_declared_once_and_reaches_the_trainer(aot_eager, tmp_path):
    (option,) = [o for o in options_of_dataclass(TrainConfig) if o.name == "learner"]
    assert option.default == "eager" and set(option.choices) == {"eager", "compiled"}

    def trainer(recurrent: bool = False) -> Trainer:
        seed_everything(1)
        vecenv = pufferlib.vector.make(ocean.env_creator("squared"), num_envs=4)
        policy = pufferlib.models.Default(vecenv.driver_env, hidden_size=16)
        if recurrent:
            policy = pufferlib.models.LSTMWrapper(vecenv.driver_env, policy, input_size=16, hidden_size=16)
        config = TrainConfig(learner="compiled", batch_size=64, minibatch_size=32, bptt_horizon=4,
                             total_timesteps=128, data_dir=str(tmp_path))
        return Trainer(vecenv, policy, config, record=False)

    compiled = trainer()
    assert compiled.learner.kind == "compiled"
    while not compiled.done:
        compiled.evaluate()
        metrics = compiled.train()
    assert np.isfinite(metrics["losses/loss"]) and compiled.learner.compile_seconds is not None
    compiled.close(save=False)
    recurrent = trainer(recurrent=True)  # the LSTM replay runs eagerly
    assert recurrent.learner.kind == "eager"
    recurrent.close(save=False)


@pytest.mark.slow
def test_inductor_compiles_the_update_to_the_eager_result():
    make, action_space = POLICIES["discrete"]
    torch.manual_seed(0)
    policy = make(space_env(action_space))
    config = TrainConfig()
    results = []
    for kind in ("eager", "compiled"):
        copy_ = copy.deepcopy(policy)
        optimizer = torch.optim.Adam(copy_.parameters(), lr=1e-2, eps=1e-5, fused=True)
        learner = Learner(copy_, optimizer, config, kind, backend="inductor")
        for i in range(2):
            learner.step(*minibatch(action_space, rows=512, seed=i))
        results.append(copy_)
    for a, b in zip(*(r.parameters() for r in results), strict=True):
        torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-6)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
@pytest.mark.parametrize("learner", ["eager", "compiled"])
def test_training_on_cuda(learner, tmp_path):
    """The rollout's pinned, non-blocking copies and both learners on a GPU (inductor makes Triton
    kernels there): a few updates of a native env give finite losses and weights."""
    seed_everything(1)
    vecenv = pufferlib.vector.make(ocean.env_creator("squared_native"), num_envs=1,
                                   env_kwargs={"num_envs": 64})
    policy = pufferlib.models.Default(vecenv.driver_env, hidden_size=32)
    config = TrainConfig(device="cuda", learner=learner, batch_size=1024, minibatch_size=512, bptt_horizon=8,
                         total_timesteps=4096, data_dir=str(tmp_path))
    trainer = Trainer(vecenv, policy, config, record=False)
    while not trainer.done:
        trainer.evaluate()
        metrics = trainer.train()
    assert trainer.learner.kind == learner and np.isfinite(metrics["losses/loss"])
    assert all(torch.isfinite(p).all() and p.is_cuda for p in trainer.policy.parameters())
    trainer.close(save=False)
