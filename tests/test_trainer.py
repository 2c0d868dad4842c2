"""The PPO trainer: advantages, rollout bookkeeping, recurrent replay, losses, checkpoints.

Everything runs real envs through real vector backends and a real policy; the only
reference implementations here are deliberately naive restatements of the maths.
"""

from __future__ import annotations

import functools
import json
import pickle

import gymnasium
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import pufferlib.models
import pufferlib.vector
from pufferlib.checkpoint import load_weights
from pufferlib.emulation import GymnasiumPufferEnv
from pufferlib.environments import classic_control, ocean
from pufferlib.exceptions import APIUsageError
from pufferlib.experience import Experience
from pufferlib.frameworks.cleanrl import sample_logits
from pufferlib.postprocess import EpisodeStats
from pufferlib.ppo import compute_gae
from pufferlib.trainer import TrainConfig, Trainer, seed_everything

# ---------------------------------------------------------------------------------------
# Configuration checks


@pytest.mark.parametrize("bad", [
    {"batch_size": 1000, "minibatch_size": 300},
    {"minibatch_size": 100, "bptt_horizon": 16, "batch_size": 800},
    {"total_timesteps": 0},
    {"gamma": 1.5},
    {"learning_rate": -1.0},
    {"update_epochs": 0},
])
def test_train_config_rejects_inconsistent_values(bad):
    with pytest.raises(APIUsageError):
        TrainConfig(**bad)


def test_batch_size_must_fit_the_agents_and_horizon():
    vecenv = pufferlib.vector.make(ocean.env_creator("bandit"), num_envs=3)
    policy = ocean.Policy(vecenv.driver_env)
    with pytest.raises(APIUsageError, match="multiple"):
        Trainer(vecenv, policy, TrainConfig(batch_size=64, minibatch_size=16, bptt_horizon=16))
    vecenv.close()


# ---------------------------------------------------------------------------------------
# Rollout bookkeeping on real envs


class Countdown(gymnasium.Env):
    """Observation = steps into the episode; reward = the action taken (0..3).

    Episodes last 2..5 steps (from the env's seeded generator) and end by termination
    or, on odd lengths, by truncation, so every alignment mistake shows up.
    """

    def __init__(self):
        self.observation_space = gymnasium.spaces.Box(0, 10, (1,), np.float32)
        self.action_space = gymnasium.spaces.Discrete(4)
        self.t = 0
        self.length = 0

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        self.length = int(self.np_random.integers(2, 6))
        return np.array([0.0], np.float32), {}

    def step(self, action):
        self.t += 1
        ended = self.t >= self.length
        terminated = ended and self.length % 2 == 0
        truncated = ended and not terminated
        return np.array([self.t], np.float32), float(action), terminated, truncated, {}


def make_countdown():
    return GymnasiumPufferEnv(env=EpisodeStats(Countdown()))


def small_config(**overrides) -> TrainConfig:
    base = dict(total_timesteps=4096, batch_size=256, minibatch_size=64, bptt_horizon=4, update_epochs=2,
                learning_rate=1e-3, seed=3, data_dir="unused")
    base.update(overrides)
    return TrainConfig(**base)


def build(creator, num_envs=8, recurrent=False, backend="serial", vec_kwargs=None, tmp_path=None, **config):
    seed_everything(config.get("seed", 3))
    vecenv = pufferlib.vector.make(creator, num_envs=num_envs, backend=backend, **(vec_kwargs or {}))
    policy = pufferlib.models.Default(vecenv.driver_env, hidden_size=16)
    if recurrent:
        policy = pufferlib.models.LSTMWrapper(vecenv.driver_env, policy, input_size=16, hidden_size=16)
    if tmp_path is not None:
        config["data_dir"] = str(tmp_path)
    return Trainer(vecenv, policy, small_config(**config))


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_experience_store_writes_each_agent_step_whatever_the_batch_layout(data):
    # Batches of consecutive agents in lockstep take a slice-write fast path; any other
    # layout (an async pool's arbitrary agent order) the general one. Both must agree with a
    # plain element-by-element write.
    agents, horizon = 6, 4
    exp = Experience(agents, horizon, 1, gymnasium.spaces.Box(-1, 1, (2,)), gymnasium.spaces.Discrete(3),
                     torch.device("cpu"))
    expected, pointers = np.zeros((agents, horizon + 1)), np.zeros(agents, dtype=np.int64)
    for _ in range(data.draw(st.integers(1, 8))):
        candidates = np.flatnonzero(exp.pointers <= horizon)
        if len(candidates) == 0:
            break
        count = data.draw(st.integers(1, len(candidates)))
        ids = np.array(data.draw(st.permutations(candidates.tolist())))[:count]
        if data.draw(st.booleans()):
            ids = np.sort(ids)
        steps = exp.positions(ids)
        values = np.random.default_rng(len(ids)).random(len(ids)).astype(np.float32)
        zeros, falses = np.zeros(len(ids), np.float32), np.zeros(len(ids), bool)
        obs = np.repeat(values[:, None], 2, axis=1)
        exp.store(ids, steps, obs, values, falses, falses, ~falses, ~falses, falses,
                  np.arange(len(ids)), zeros, values)
        for i, (agent, step) in enumerate(zip(ids, steps, strict=True)):
            expected[agent, step] = values[i]
            pointers[agent] = step + 1
            assert exp.actions[agent, step] == i
    np.testing.assert_array_equal(exp.values, expected.astype(np.float32))
    np.testing.assert_array_equal(exp.observations.numpy()[..., 1], expected.astype(np.float32))
    np.testing.assert_array_equal(exp.pointers, pointers)


def test_rollout_rows_are_aligned_per_agent_and_skip_the_reset_transition():
    trainer = build(make_countdown, num_envs=4, batch_size=64, minibatch_size=16)
    trainer.evaluate()
    exp = trainer.experience
    obs = exp.observations.numpy()[..., 0]
    final = exp.terminals | exp.truncations
    # Each row is one agent's own time series: counters go up by one within an episode
    # and restart at 0 after a final observation.
    following = obs[:, 1:]
    expected = np.where(final[:, :-1], 0.0, obs[:, :-1] + 1)
    np.testing.assert_array_equal(following, expected)
    # The reward received with step t+1 is the action taken at step t (the env's rule),
    # for every transition that is learned from.
    learn = exp.learnable[:, :-1]
    np.testing.assert_array_equal(exp.rewards[:, 1:][learn], exp.actions[:, :-1][learn])
    # The auto-reset transition (acting on a final observation) is never learned from.
    assert not (exp.learnable & final).any()
    assert learn.sum() == (~final[:, :-1]).sum()
    np.testing.assert_array_equal(exp.episode_starts[:, 1:], final[:, :-1])
    trainer.close(save=False)


def test_rollout_continues_across_updates_without_losing_a_transition():
    trainer = build(make_countdown, num_envs=4, batch_size=64, minibatch_size=16)
    trainer.evaluate()
    last = trainer.experience.observations.numpy()[:, -1, 0].copy()
    last_final = (trainer.experience.terminals | trainer.experience.truncations)[:, -1].copy()
    trainer.train()
    trainer.evaluate()
    obs = trainer.experience.observations.numpy()[..., 0]
    np.testing.assert_array_equal(obs[:, 0], last)
    np.testing.assert_array_equal(obs[:, 1], np.where(last_final, 0.0, last + 1))
    trainer.close(save=False)


def test_native_env_learns_from_its_in_step_reset_observation():
    creator = functools.partial(ocean.env_creator("squared_native"), num_envs=16)
    trainer = build(creator, num_envs=1, batch_size=64, minibatch_size=16)
    trainer.evaluate()
    exp = trainer.experience
    assert trainer.reset_in_step
    # Squared episodes last 3 steps: the flagged step carries the next episode's first observation.
    assert exp.terminals[:, 3].all() and exp.episode_starts[:, 3].all()
    assert exp.learnable[:, :-1].all()
    d = 3
    np.testing.assert_array_equal(exp.observations.numpy()[:, 3, d, d], -1.0)
    trainer.close(save=False)


def replayed_logprobs(trainer: Trainer, first_segment: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Log-probs of the stored actions recomputed by the learning pass, and the stored ones.

    After an update, step 0 of each row is the previous rollout's bootstrap step, acted on
    by the policy before that update: ``first_segment=False`` leaves those segments out.
    """
    exp, width = trainer.experience, trainer.horizon + 1
    length = trainer.config.bptt_horizon if trainer.recurrent else 1
    first = 0 if first_segment else length
    rows = np.arange(exp.num_agents)[:, None] * width
    starts = (rows + np.arange(first, trainer.horizon, length)).reshape(-1)
    with torch.no_grad():
        logits, _, index = trainer._forward_segments(starts, length)
        actions = torch.from_numpy(exp.actions.reshape(exp.num_agents * width, *exp.actions.shape[2:])[index])
        _, logprobs, _ = sample_logits(logits, actions)
    learn = exp.learnable.reshape(-1)[index]
    return logprobs.numpy()[learn], exp.logprobs.reshape(-1)[index][learn]


@pytest.mark.parametrize("bptt", [4, 8])
def test_recurrent_replay_reproduces_the_rollout(bptt):
    """LSTM state per agent, zeroed at episode starts and carried across BPTT segments and
    rollouts: replaying the stored segments must give back the rollout's own log-probs."""
    creator = ocean.env_creator("memory")
    trainer = build(creator, num_envs=6, recurrent=True, batch_size=6 * 16, bptt_horizon=bptt,
                    minibatch_size=48 if bptt == 8 else 24)
    for update in range(3):
        trainer.evaluate()
        replayed, stored = replayed_logprobs(trainer, first_segment=update == 0)
        np.testing.assert_allclose(replayed, stored, atol=1e-5)
        trainer.train()
    trainer.close(save=False)


def test_recurrent_replay_with_an_async_pool():
    creator = ocean.env_creator("memory")
    trainer = build(creator, num_envs=8, recurrent=True, backend="multiprocessing",
                    vec_kwargs={"num_workers": 2, "batch_size": 4}, batch_size=8 * 16, minibatch_size=32,
                    bptt_horizon=8)
    trainer.evaluate()
    replayed, stored = replayed_logprobs(trainer)
    np.testing.assert_allclose(replayed, stored, atol=1e-5)
    trainer.train()
    trainer.evaluate()
    replayed, stored = replayed_logprobs(trainer, first_segment=False)
    np.testing.assert_allclose(replayed, stored, atol=1e-5)
    trainer.close(save=False)


def test_padded_agents_are_masked_out():
    trainer = build(ocean.env_creator("multiagent"), num_envs=4, batch_size=8 * 8, minibatch_size=16)
    trainer.evaluate()
    exp = trainer.experience
    assert exp.num_agents == 8
    assert not (exp.learnable & ~exp.masks).any()
    metrics = trainer.train()
    assert np.isfinite(metrics["losses/policy_loss"])
    trainer.close(save=False)


# ---------------------------------------------------------------------------------------
# Learning pass


def test_metrics_average_over_every_minibatch_and_epoch():
    trainer = build(make_countdown, num_envs=4, batch_size=64, minibatch_size=16, update_epochs=3)
    trainer.evaluate()
    metrics = trainer.train()
    assert metrics["losses/minibatches"] == 3 * 4
    for key in ("policy_loss", "value_loss", "entropy", "approx_kl", "clipfrac", "explained_variance"):
        assert np.isfinite(metrics[f"losses/{key}"]), key
    assert 0.0 <= metrics["losses/clipfrac"] <= 1.0
    assert metrics["losses/entropy"] <= np.log(4) + 1e-6
    trainer.close(save=False)


def reference_losses(trainer: Trainer, seed: int) -> np.ndarray:
    """Mean (policy, value, entropy, approx-KL, clip fraction) over the update's minibatches,
    each computed the plain way: gather the minibatch, mask, normalise, average."""
    cfg, exp = trainer.config, trainer.experience
    width, agents = trainer.horizon + 1, exp.num_agents
    advantages = np.zeros_like(exp.values)
    advantages[:, :-1] = compute_gae(exp.values, exp.rewards * cfg.reward_scale, exp.terminals,
                                     exp.truncations, cfg.gamma, cfg.gae_lambda)
    returns = (advantages + exp.values).reshape(-1)
    learnable = exp.learnable.copy()
    learnable[:, -1] = False
    starts = (np.arange(agents)[:, None] * width + np.arange(trainer.horizon)[None, :]).reshape(-1)
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(cfg.update_epochs):
        order = rng.permutation(len(starts))
        for chunk in np.split(starts[order], len(starts) // cfg.minibatch_size):
            with torch.no_grad():
                logits, values, index = trainer._forward_segments(chunk, 1)
                actions = torch.from_numpy(exp.actions.reshape(-1)[index])
                _, logprobs, entropy = sample_logits(logits, actions)
            w = learnable.reshape(-1)[index]
            adv = advantages.reshape(-1)[index][w]
            adv = (adv - adv.mean()) / (adv.std() + 1e-8)
            log_ratio = logprobs.numpy()[w] - exp.logprobs.reshape(-1)[index][w]
            ratio = np.exp(log_ratio)
            clipped = np.clip(ratio, 1 - cfg.clip_coef, 1 + cfg.clip_coef)
            rows.append([
                np.mean(np.maximum(-adv * ratio, -adv * clipped)),
                0.5 * np.mean((values.numpy().reshape(-1)[w] - returns[index][w]) ** 2),
                np.mean(entropy.numpy()[w]),
                np.mean((ratio - 1) - log_ratio),
                np.mean(np.abs(ratio - 1) > cfg.clip_coef),
            ])
    return np.mean(rows, axis=0)


def test_losses_match_a_plain_per_minibatch_computation():
    """The batched learning pass (targets gathered once per epoch, masked means as dot
    products, per-minibatch advantage normalisation done for all minibatches at once) gives
    the textbook per-minibatch losses. A negligible learning rate keeps the policy fixed;
    perturbed rollout log-probs make the ratios (and so the clipping) non-trivial."""
    trainer = build(make_countdown, num_envs=4, batch_size=64, minibatch_size=16, update_epochs=2,
                    learning_rate=1e-12, clip_vloss=False, seed=7)
    trainer.evaluate()
    trainer.experience.logprobs += np.random.default_rng(0).normal(0, 0.3, trainer.experience.logprobs.shape)
    expected = reference_losses(trainer, seed=7)
    metrics = trainer.train()
    keys = ("policy_loss", "value_loss", "entropy", "approx_kl", "clipfrac")
    got = np.array([metrics[f"losses/{key}"] for key in keys])
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)
    assert metrics["losses/clipfrac"] > 0.1 and metrics["losses/approx_kl"] > 0.01
    trainer.close(save=False)


def test_target_kl_stops_the_update_early():
    trainer = build(make_countdown, num_envs=4, batch_size=64, minibatch_size=16, update_epochs=4,
                    learning_rate=0.5, target_kl=1e-9)
    trainer.evaluate()
    assert trainer.train()["losses/minibatches"] < 16
    trainer.close(save=False)


def test_learning_rate_anneals_with_the_step_count():
    trainer = build(make_countdown, num_envs=4, batch_size=64, minibatch_size=16, total_timesteps=640,
                    learning_rate=1e-3)
    rates = []
    while not trainer.done:
        trainer.evaluate()
        rates.append(trainer.train()["losses/learning_rate"])
    assert rates[0] == pytest.approx(1e-3)
    assert all(a > b for a, b in zip(rates, rates[1:]))
    assert rates[-1] < 3e-4
    trainer.close(save=False)


def test_continuous_actions_train_and_stay_in_bounds():
    creator = classic_control.env_creator("pendulum")
    trainer = build(creator, num_envs=4, batch_size=64, minibatch_size=32)
    trainer.evaluate()
    metrics = trainer.train()
    assert np.isfinite(metrics["losses/loss"])
    assert trainer.experience.actions.shape == (4, 17, 1)
    trainer.close(save=False)


def test_episode_statistics_come_from_infos():
    trainer = build(ocean.env_creator("squared"), num_envs=8, batch_size=128, minibatch_size=32)
    trainer.evaluate()
    metrics = trainer.train()
    assert metrics["environment/episode_length"] == 3
    assert 0.0 <= metrics["environment/score"] <= 1.0
    assert metrics["episodes"] > 0
    trainer.close(save=False)


def test_training_is_deterministic_under_a_seed():
    def run(seed):
        trainer = build(ocean.env_creator("squared"), num_envs=8, batch_size=128, minibatch_size=32,
                        seed=seed)
        for _ in range(3):
            trainer.evaluate()
            trainer.train()
        weights = {k: v.clone() for k, v in trainer.policy.state_dict().items()}
        trainer.close(save=False)
        return weights

    first, second, other = run(5), run(5), run(6)
    for key in first:
        torch.testing.assert_close(first[key], second[key], rtol=0, atol=0)
    assert any(not torch.equal(first[k], other[k]) for k in first)


# ---------------------------------------------------------------------------------------
# Checkpoints


def test_checkpoint_round_trip_and_resume(tmp_path):
    trainer = build(ocean.env_creator("squared"), num_envs=8, batch_size=128, minibatch_size=32,
                    tmp_path=tmp_path, total_timesteps=10_000)
    for _ in range(2):
        trainer.evaluate()
        trainer.train()
    folder = trainer.close()
    assert (folder / "checkpoint.pt").is_file() and (folder / "model.pt").is_file()
    assert not list(folder.glob("*.tmp"))

    resumed = build(ocean.env_creator("squared"), num_envs=8, batch_size=128, minibatch_size=32,
                    tmp_path=tmp_path, total_timesteps=10_000, seed=9)
    resumed.load_checkpoint(folder)
    assert resumed.global_step == trainer.global_step and resumed.update == 2
    for key, value in trainer.policy.state_dict().items():
        torch.testing.assert_close(resumed.policy.state_dict()[key], value)
    steps = [t.optimizer.state_dict()["state"][0]["step"] for t in (resumed, trainer)]
    assert steps[0] == steps[1]
    assert resumed.learning_rate == pytest.approx(1e-3 * (1 - trainer.global_step / 10_000))
    resumed.evaluate()
    resumed.train()
    assert resumed.update == 3
    resumed.close(save=False)
    weights = load_weights(folder)
    assert set(weights) == set(trainer.policy.state_dict())


class _Payload:
    def __reduce__(self):
        return (print, ("arbitrary code ran",))


def test_loading_never_unpickles_arbitrary_objects(tmp_path):
    path = tmp_path / "model.pt"
    torch.save({"weight": torch.zeros(1), "payload": _Payload()}, path)
    with pytest.raises(pickle.UnpicklingError):
        load_weights(path)


def test_missing_checkpoint_is_a_clear_error(tmp_path):
    with pytest.raises(APIUsageError, match="No checkpoint"):
        load_weights(tmp_path / "nothing.pt")


@pytest.mark.parametrize("overrides, message", [
    ({"learning_rate": float("inf")}, "finite"),
    ({"learning_rate": float("nan")}, "finite"),
    ({"clip_coef": -0.2}, "at least 0"),
    ({"max_grad_norm": -1.0}, "at least 0"),
    ({"vf_coef": -0.5}, "at least 0"),
    ({"adam_eps": 0.0}, "greater than 0"),
    ({"learning_rate": 1e30}, "at most 10"),
    ({"reward_scale": 1e30}, "at most"),
    ({"total_timesteps": "abc"}, "expected an integer"),
    ({"anneal_lr": "no"}, "expected true or false"),
    ({"device": "tpu7"}, "not a torch device"),
])
def test_train_config_rejects_values_no_run_can_use(overrides, message):
    with pytest.raises(APIUsageError, match=message):
        TrainConfig(**overrides)


def test_a_device_this_machine_lacks_is_refused_when_the_trainer_starts():
    from pufferlib.trainer import check_device

    assert check_device("cpu") == torch.device("cpu")
    if not torch.cuda.is_available():
        with pytest.raises(APIUsageError, match="CUDA is not available"):
            check_device("cuda")


# ---------------------------------------------------------------------------------------
# Non-finite numbers stop training before they reach the weights


class Poisoned(gymnasium.Env):
    """After ``after`` steps its observations (or rewards) become ``value`` (nan, inf or huge)."""

    observation_space = gymnasium.spaces.Box(-1, 1, (2,), np.float32)
    action_space = gymnasium.spaces.Discrete(2)

    def __init__(self, what: str = "observation", value: float = float("nan"), after: int = 40):
        self.what, self.value, self.after, self.steps = what, value, after, 0

    def reset(self, seed=None, options=None):
        return np.zeros(2, np.float32), {}

    def step(self, action):
        self.steps += 1
        poisoned = self.steps > self.after
        obs = np.full(2, self.value if poisoned and self.what == "observation" else 0.5, np.float32)
        reward = self.value if poisoned and self.what == "reward" else 1.0
        return obs, reward, False, self.steps % 10 == 0, {}


@pytest.mark.parametrize("what, value, match", [
    ("observation", float("nan"), "nan or inf observations"),
    ("reward", float("inf"), "nan or inf rewards"),
    ("reward", 1e30, "the loss or its gradient became non-finite"),
])
def test_non_finite_numbers_stop_training_and_name_their_source(tmp_path, what, value, match):
    from pufferlib.exceptions import NonFiniteError

    creator = lambda: GymnasiumPufferEnv(env=EpisodeStats(Poisoned(what, value)))  # noqa: E731
    trainer = build(creator, num_envs=4, tmp_path=tmp_path, batch_size=64, minibatch_size=32,
                    bptt_horizon=4)
    trainer.save_checkpoint()
    saved = load_weights(trainer.exp_dir)
    with pytest.raises(NonFiniteError, match=match):
        trainer.run(progress=False)
    assert all(torch.isfinite(p).all() for p in trainer.policy.parameters())
    # Nothing non-finite was saved: the last save is the one made before.
    assert all(torch.equal(saved[k], v) for k, v in load_weights(trainer.exp_dir).items())
    trainer.vecenv.close()


# ---------------------------------------------------------------------------------------
# A run from Python is a run folder like any other


def test_a_python_run_records_its_folder_and_refuses_to_overwrite_another(tmp_path):
    from pufferlib.environments.ocean.squared import SquaredNative
    from pufferlib.plot import plot_runs

    def run(exp_id=None, **kwargs):
        vecenv = pufferlib.vector.make(SquaredNative, env_kwargs={"num_envs": 16})
        policy = pufferlib.models.Default(vecenv.driver_env, hidden_size=16)
        config = small_config(data_dir=str(tmp_path), total_timesteps=1024, batch_size=512,
                              minibatch_size=128)
        trainer = Trainer(vecenv, policy, config, exp_id=exp_id, **kwargs)
        trainer.run(progress=False)
        return trainer.close()

    folder = run("mine")
    saved = json.loads((folder / "config.json").read_text())
    assert saved["env_spec"] == "pufferlib.environments.ocean.squared:SquaredNative" and saved["env"] == {
        "num_envs": 16}
    assert (folder / "metrics.jsonl").read_text().count("\n") >= 2
    assert plot_runs([folder], tmp_path / "curve.png").is_file()
    with pytest.raises(APIUsageError, match="already holds a run"):
        run("mine")
    assert run("mine", exist_ok=True) == folder
    assert run() != run()  # no exp_id: a fresh folder each time
