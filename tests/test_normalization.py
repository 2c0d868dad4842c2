"""Run-level normalisation (pufferlib.normalization): statistics, trainer updates, checkpoints, eval."""

from __future__ import annotations

import multiprocessing
import os
import socket

import numpy as np
import pytest
import torch

from pufferlib import experiment
from pufferlib.checkpoint import load_policy
from pufferlib.exceptions import APIUsageError
from pufferlib.normalization import CLIP, ObservationNormalizer, RewardNormalizer

pytest.importorskip("mujoco", reason="the trainer checks train a MuJoCo task")


def test_observation_statistics_equal_those_of_all_batches_together():
    rng = np.random.default_rng(0)
    normalizer = ObservationNormalizer((2, 3))
    batches = [rng.normal(loc=[[5.0, -2, 0], [1, 1, 1]], scale=3.0, size=(n, 2, 3)) for n in (7, 1, 40, 13)]
    for batch in batches:
        normalizer.update(torch.from_numpy(batch).float())
    data = np.concatenate(batches).reshape(-1, 6)
    # CleanRL's prior (count 1e-4 of mean 0, variance 1) is all that separates them.
    np.testing.assert_allclose(normalizer.mean.numpy(), data.mean(0), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(normalizer.var.numpy(), data.var(0), rtol=1e-4)
    assert normalizer.count.item() == pytest.approx(len(data) + 1e-4)

    obs = np.array([[[5.0, -2, 0], [1, 1, 1e6]]], np.float32)
    expected = np.clip((obs.reshape(1, -1) - data.mean(0)) / np.sqrt(data.var(0) + 1e-8), -CLIP, CLIP)
    out = normalizer(torch.from_numpy(obs))
    assert out.dtype == torch.float32 and out.shape == (1, 6)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-4, atol=1e-5)
    assert out[0, 5] == CLIP


def test_a_fresh_normalizer_is_the_identity_and_loading_restores_the_transform():
    normalizer = ObservationNormalizer(4)
    obs = torch.linspace(-3, 3, 8).view(2, 4)
    torch.testing.assert_close(normalizer(obs), obs)
    normalizer.update(torch.randn(100, 4) * 4 + 2)
    restored = ObservationNormalizer(4)
    restored.load_state_dict(normalizer.state_dict())
    torch.testing.assert_close(restored(obs), normalizer(obs))
    assert not torch.allclose(restored(obs), obs)
    # The fused float32 affine map is derived, not saved.
    assert set(normalizer.state_dict()) == {"mean", "var", "count"}


def test_bad_normalizer_arguments_are_usage_errors():
    with pytest.raises(APIUsageError, match="non-empty"):
        ObservationNormalizer((0,))
    with pytest.raises(APIUsageError, match="positive"):
        ObservationNormalizer(3, clip=0.0)
    with pytest.raises(APIUsageError, match="gamma"):
        RewardNormalizer(2, gamma=1.5)
    normalizer = RewardNormalizer(2, gamma=0.9)
    with pytest.raises(APIUsageError, match="2 agents"):
        normalizer.normalize(np.zeros((3, 5), np.float32), np.zeros((3, 5), bool), np.ones((3, 5), bool))
    with pytest.raises(APIUsageError, match="same number of environments"):
        RewardNormalizer(3, gamma=0.9).load_state_dict(normalizer.state_dict())


def _reference_returns(rewards: np.ndarray, dones: np.ndarray, gamma: float) -> np.ndarray:
    """Each agent's discounted return at every step, reset after the step that ends an episode."""
    out = np.zeros_like(rewards, dtype=np.float64)
    for agent in range(rewards.shape[0]):
        running = 0.0
        for t in range(rewards.shape[1]):
            running = running * gamma + rewards[agent, t]
            out[agent, t] = running
            if dones[agent, t]:
                running = 0.0
    return out


def test_rewards_are_scaled_by_the_spread_of_every_return_seen_across_rollouts():
    rng = np.random.default_rng(1)
    gamma, agents, horizon = 0.9, 3, 6
    normalizer = RewardNormalizer(agents, gamma)
    # Two rollouts in the trainer's (agents, horizon + 1) layout: column 0 repeats the last
    # column of the previous rollout and is not counted again.
    rewards = rng.normal(2.0, 1.5, size=(agents, 2 * horizon + 1)).astype(np.float32)
    rewards[0, 4] = 500.0  # clipped after scaling
    dones = rng.random((agents, 2 * horizon + 1)) < 0.2
    masks = np.ones_like(dones)
    masks[2] = False  # a padded agent: excluded from the statistics
    for start in (0, horizon):
        window = slice(start, start + horizon + 1)
        scaled = normalizer.normalize(rewards[:, window], dones[:, window], masks[:, window])
    returns = _reference_returns(rewards[:, 1:], dones[:, 1:], gamma)[:2]
    assert normalizer.var == pytest.approx(returns.var(), rel=1e-4)
    expected = np.clip(rewards[:, horizon:] / np.sqrt(returns.var()), -CLIP, CLIP)
    np.testing.assert_allclose(scaled, expected, rtol=1e-4)
    assert scaled.dtype == np.float32


def _config(tmp_path, total_timesteps: int = 4096) -> dict:
    config = experiment.load_config("hopper-cleanrl")  # one env and the eager learner: quick to start
    # Statistics updated all run (the shipped Hopper config fixes them half-way).
    config["train"].update(total_timesteps=total_timesteps, batch_size=1024, minibatch_size=256,
                           update_epochs=2, data_dir=str(tmp_path), checkpoint_interval=1,
                           observation_stats_until=1.0)
    return config


def test_the_configured_mujoco_tasks_normalise_per_run():
    tasks = ("HalfCheetah-v4", "Hopper-v4", "Walker2d-v4", "InvertedPendulum-v4", "dm_control:walker-walk")
    for name in tasks:
        config = experiment.load_config(name)
        assert config["policy"]["normalize_observations"] and config["train"]["normalize_rewards"], name
        assert "normalize" not in config["env"]  # no per-worker statistics


def test_cartpole_swingup_is_tuned_to_raw_observations():
    # Its tuning run collapsed late with running observation statistics (bench/results/NOTES.md).
    config = experiment.load_config("dm_control:cartpole-swingup")
    assert not config["policy"]["normalize_observations"] and config["train"]["normalize_rewards"]


def _trainer(config: dict, exp_id: str):
    from pufferlib.trainer import Trainer

    vecenv = experiment.make_vecenv(config)
    return Trainer(vecenv, experiment.make_policy(config, vecenv.driver_env), experiment.train_config(config),
                   exp_id=exp_id)


def test_trainer_updates_the_statistics_after_each_update_and_checkpoints_them(tmp_path):
    trainer = _trainer(_config(tmp_path), "run")
    normalizer = trainer.observation_normalizers[0]
    seen = []
    try:
        while not trainer.done:
            before = normalizer.count.item()
            trainer.evaluate()
            # Fixed while the rollout is collected and learned from (log-probs stay consistent).
            assert normalizer.count.item() == before
            seen.append(trainer.experience.observations[:, :trainer.horizon].reshape(-1, normalizer.size)
                        .numpy().copy())
            trainer.train()
            assert normalizer.count.item() == pytest.approx(before + 1024, abs=1e-3)
    finally:
        trainer.close()
    data = np.concatenate(seen)
    # One set of statistics, made of exactly the observations the run collected.
    np.testing.assert_allclose(normalizer.mean.numpy(), data.mean(0), rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(normalizer.var.numpy(), data.var(0), rtol=1e-3, atol=1e-6)
    assert trainer.reward_normalizer.count == pytest.approx(4096, abs=1e-3)

    # Resume: the same statistics, observation and reward, come back with the checkpoint.
    resumed = _trainer(_config(tmp_path, total_timesteps=5120), "resumed")
    try:
        restored = resumed.observation_normalizers[0]
        assert restored.count.item() == pytest.approx(1e-4)
        resumed.load_checkpoint(trainer.exp_dir)
        for key in ("mean", "var", "count"):
            torch.testing.assert_close(getattr(restored, key), getattr(normalizer, key))
        assert resumed.reward_normalizer.var == trainer.reward_normalizer.var
        np.testing.assert_array_equal(resumed.reward_normalizer.returns, trainer.reward_normalizer.returns)
        resumed.evaluate()
        resumed.train()
        assert restored.count.item() == pytest.approx(5120, abs=1e-3)
    finally:
        resumed.close(save=False)


def test_observation_statistics_stop_updating_at_the_configured_fraction_of_the_run(tmp_path):
    config = _config(tmp_path)
    config["train"]["observation_stats_until"] = 0.5  # rollouts starting at steps 0 and 1024 update
    trainer = _trainer(config, "frozen")
    normalizer = trainer.observation_normalizers[0]
    counts = []
    try:
        while not trainer.done:
            trainer.evaluate()
            trainer.train()
            counts.append(normalizer.count.item())
    finally:
        trainer.close(save=False)
    np.testing.assert_allclose(counts, [1024, 2048, 2048, 2048], atol=1e-3)

    for bad in (-0.1, 1.5):
        config["train"]["observation_stats_until"] = bad
        with pytest.raises(APIUsageError, match="observation_stats_until"):
            experiment.train_config(config)


def test_an_evaluated_checkpoint_sees_the_inputs_training_did(tmp_path):
    from pufferlib.rollout import play

    trainer = experiment.run_training(_config(tmp_path, total_timesteps=2048), "run", progress="none")
    trained = trainer.observation_normalizers[0]
    assert trained.count.item() > 2000

    # What `puffer eval` does: build the configured policy, load model.pt, play.
    config = _config(tmp_path)
    vecenv = experiment.make_vecenv(config, vec_overrides={"backend": "serial", "num_copies": 1})
    try:
        policy = experiment.make_policy(config, vecenv.driver_env)
        load_policy(policy, trainer.exp_dir / "model.pt")
        inputs, outputs = [], []

        def record(_module, args, out) -> None:
            inputs.append(args[0].clone())
            outputs.append(out.clone())

        policy.normalizer.register_forward_hook(record)
        episodes = play(vecenv, policy, episodes=2, max_steps=2000, seed=3)
    finally:
        vecenv.close()
    assert len(episodes) == 2 and inputs
    raw, normalised = torch.cat(inputs), torch.cat(outputs)
    torch.testing.assert_close(normalised, trained(raw))
    # The transform is the trained one, not the identity a fresh policy starts with.
    assert not torch.allclose(normalised, raw.float(), atol=1e-2)


def _rank(rank: int, port: int, queue) -> None:
    """One of two gloo ranks: update both normalizers with this rank's own data."""
    import torch.distributed as dist

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=2)
    try:
        rng = np.random.default_rng(rank)
        observations = ObservationNormalizer(3)
        observations.update(torch.from_numpy(rng.normal(rank * 10, 1 + rank, size=(50 + 30 * rank, 3))))
        rewards = RewardNormalizer(2, gamma=0.5)
        rewards.normalize(np.full((2, 5), rank + 1.0, np.float32), np.zeros((2, 5), bool),
                          np.ones((2, 5), bool))
        queue.put((rank, observations.mean.tolist(), observations.var.tolist(), observations.count.item(),
                   rewards.var, rewards.count))
    finally:
        dist.destroy_process_group()


def test_ranks_keep_one_set_of_statistics_for_the_whole_run():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    processes = [context.Process(target=_rank, args=(rank, port, queue)) for rank in range(2)]
    for process in processes:
        process.start()
    results = sorted(queue.get(timeout=120) for _ in processes)
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    (_, mean0, var0, count0, rvar0, rcount0), (_, mean1, var1, count1, rvar1, rcount1) = results
    assert mean0 == mean1 and var0 == var1 and count0 == count1 == pytest.approx(130, abs=1e-3)
    data = np.concatenate([np.random.default_rng(r).normal(r * 10, 1 + r, size=(50 + 30 * r, 3))
                           for r in (0, 1)])
    np.testing.assert_allclose(mean0, data.mean(0), rtol=1e-5)
    np.testing.assert_allclose(var0, data.var(0), rtol=1e-4)
    assert rvar0 == rvar1 and rcount0 == rcount1 == pytest.approx(16, abs=1e-3)
