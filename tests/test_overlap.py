"""``train.overlap``: learning on one rollout in a thread while the next is collected."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import pufferlib.models
import pufferlib.vector
from pufferlib.environments import ocean
from pufferlib.exceptions import NonFiniteError
from pufferlib.trainer import TrainConfig, Trainer, seed_everything


def trainer(tmp_path, overlap: bool, recurrent: bool = False, **config) -> Trainer:
    seed_everything(2)
    vecenv = pufferlib.vector.make(ocean.env_creator("squared"), num_envs=8)
    policy = pufferlib.models.Default(vecenv.driver_env, hidden_size=16)
    if recurrent:
        policy = pufferlib.models.LSTMWrapper(vecenv.driver_env, policy, input_size=16, hidden_size=16)
    settings = dict(batch_size=128, minibatch_size=64, bptt_horizon=4, update_epochs=2, learning_rate=1e-2,
                    total_timesteps=128 * 4, seed=2, data_dir=str(tmp_path), overlap=overlap)
    return Trainer(vecenv, policy, TrainConfig(**{**settings, **config}), exp_id=f"overlap-{overlap}")


def weights(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def test_the_rollout_acts_one_update_behind_the_learner(tmp_path):
    plain = trainer(tmp_path, False)  # one after the other: rollouts draw from torch's global RNG
    plain.evaluate()
    plain.train()
    overlapped = trainer(tmp_path, True)
    assert overlapped.overlap and overlapped.rollout_policy is not overlapped.policy
    initial = weights(overlapped.policy)
    overlapped.evaluate()
    overlapped.train()
    overlapped.finish()
    first = weights(overlapped.policy)
    # The first update learns from the same rollout as the plain trainer's, from the same weights.
    for key, value in weights(plain.policy).items():
        torch.testing.assert_close(first[key], value)
    # The rollout's copy still holds the weights that collected that rollout ...
    for key, value in weights(overlapped.rollout_policy).items():
        torch.testing.assert_close(value, initial[key], rtol=0, atol=0)
    overlapped.evaluate()
    overlapped.train()  # ... and acts with the first update's while the second is learned.
    for key, value in weights(overlapped.rollout_policy).items():
        torch.testing.assert_close(value, first[key], rtol=0, atol=0)
    plain.close(save=False)
    overlapped.close(save=False)


def test_an_overlapped_run_finishes_its_last_update_and_saves_it(tmp_path):
    run = trainer(tmp_path, True)
    metrics = run.run(progress=False)
    assert run.update == 4 and metrics["update"] == 4.0 and np.isfinite(metrics["losses/loss"])
    folder = run.close()
    saved = torch.load(folder / "checkpoint.pt", weights_only=True)
    assert saved["update"] == 4
    assert run._learning is None


def test_an_error_in_the_learning_thread_reaches_the_caller(tmp_path, monkeypatch):
    run = trainer(tmp_path, True)

    def fail(*args, **kwargs):
        raise NonFiniteError("the loss became non-finite")

    monkeypatch.setattr(run, "update_policy", fail)
    run.evaluate()
    run.train()
    with pytest.raises(NonFiniteError):
        run.finish()
    run.close(save=False)


def test_recurrent_policies_learn_after_each_rollout(tmp_path):
    run = trainer(tmp_path, True, recurrent=True)
    assert not run.overlap and run.rollout_policy is run.policy
    run.close(save=False)
