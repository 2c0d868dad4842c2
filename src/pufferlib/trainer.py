"""PPO: a trainer that reads top to bottom, one named phase at a time.

One update is ``evaluate()`` (collect ``batch_size`` agent steps through the vecenv's
``send``/``recv`` pool, one batch in flight) then ``train()``::

    trainer = Trainer(vecenv, policy, TrainConfig(total_timesteps=100_000))
    while not trainer.done:
        trainer.evaluate()      # rollout: the policy acts, Experience stores every agent's steps
        trainer.train()         # targets (GAE) -> update (epochs of minibatches) -> report
    trainer.close()

The math of each phase is a pure function in ``pufferlib.ppo``; the rollout buffer is
``pufferlib.experience``; episode statistics are ``pufferlib.episodes``; saving and loading
are ``pufferlib.checkpoint``.

Episode boundaries come in two conventions, both handled:

- Wrapped Gymnasium/PettingZoo envs (the vector backends' auto-reset): the step that ends an
  episode carries the *final* observation with ``terminal``/``truncated`` set; the next step
  carries the reset observation, and the action taken on the final observation is ignored by
  the env. That transition is never learned from. At a truncation the value of the final
  observation bootstraps the return.
- Native ``PufferEnv``s reset finished games inside ``step``: the flagged step carries the
  reward of the final move and the *first* observation of the next episode, whose action is
  real and is learned from (these envs report no final observation, so a truncation there is
  treated like a termination).

Recurrent policies keep one LSTM state per agent, zeroed at every episode start, carried
across rollouts and across the BPTT segments a row is cut into; the learning pass replays each
segment from the state recorded during the rollout and re-zeroes it at the same episode
starts. Padded agents (``mask`` False) are excluded from every loss and statistic.

Non-finite numbers stop training (``NonFiniteError``) before they reach the weights: the
rollout's observations and rewards are checked before each update, and the gradient norm
before each optimizer step. The error names the env rows or the loss terms, and nothing NaN
is saved (the last checkpoint on disk stays the last finite one).
"""

from __future__ import annotations

import copy
import dataclasses
import math
import os
import random
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from pufferlib import checkpoint, distributed, ppo
from pufferlib.checkpoint import (  # noqa: F401 (re-exported: the names predate checkpoint.py)
    BEST_FILE,
    CHECKPOINT_FILE,
    HISTORY_DIR,
    MODEL_FILE,
    UnsafeCheckpointError,
    find_checkpoint,
    load_weights,
)
from pufferlib.episodes import EpisodeLog
from pufferlib.exceptions import APIUsageError, NonFiniteError
from pufferlib.experience import Experience
from pufferlib.learner import Learner
from pufferlib.loggers import Logger, MetricsLogger, TensorBoardLogger, WandbLogger  # noqa: F401 (re-exported)
from pufferlib.models import LSTMWrapper
from pufferlib.normalization import RewardNormalizer, observation_normalizers
from pufferlib.ppo import compute_gae, explained_variance, segment_index  # noqa: F401 (re-exported)
from pufferlib.rollout import Batch, RolloutRunner, is_recurrent, lstm_of
from pufferlib.run import folders
from pufferlib.run.sections import TrainConfig

__all__ = ["NonFiniteError", "TrainConfig", "Trainer", "check_device", "seed_everything"]


def check_device(device: str) -> torch.device:
    """``device`` as a torch device if it is usable here; otherwise ``APIUsageError`` saying why."""
    parsed = torch.device(device)
    if parsed.type == "cuda" and not torch.cuda.is_available():
        raise APIUsageError(f"train.device {device!r}: CUDA is not available here; use --train.device cpu.")
    if parsed.type == "cuda" and parsed.index is not None and parsed.index >= torch.cuda.device_count():
        raise APIUsageError(f"train.device {device!r}: only {torch.cuda.device_count()} CUDA device(s).")
    if parsed.type == "mps" and not torch.backends.mps.is_available():
        raise APIUsageError(f"train.device {device!r}: MPS is not available here; use --train.device cpu.")
    return parsed


def seed_everything(seed: int, torch_deterministic: bool = True) -> None:
    """Seed Python, numpy and torch so that a run with the Serial backend is reproducible."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.backends.cudnn.deterministic = torch_deterministic


def check_batch_fits(config: TrainConfig, num_agents: int) -> int:
    """Steps per agent per update; ``APIUsageError`` with working values unless ``batch_size``
    splits into whole BPTT rows per agent."""
    unit = num_agents * config.bptt_horizon
    if config.batch_size % unit == 0:
        return config.batch_size // num_agents
    rows = max(1, config.batch_size // unit)
    split = max(k for k in (1, 2, 3, 4) if rows % k == 0)
    raise APIUsageError(
        f"train.batch_size ({config.batch_size}) must be a multiple of agents ({num_agents}) x "
        f"train.bptt_horizon ({config.bptt_horizon}) = {unit}: e.g. --train.batch-size {rows * unit} "
        f"--train.minibatch-size {rows * unit // split}."
    )


class Trainer:
    """PPO over a pufferlib vecenv with a ``pufferlib.models``-style policy.

    ``policy(obs) -> (logits, value)``, or for recurrent policies (an ``LSTMWrapper``)
    ``policy(obs, state) -> (logits, value, state)``. ``exp_id`` names the run folder
    ``<data_dir>/<exp_id>/`` that checkpoints go to (default: a fresh ``puffer-DATE-TIME-XXXX``).
    ``loggers`` receive the metrics of every update. With ``record`` (the default) the trainer
    also writes the folder's ``metrics.jsonl`` and a ``config.json`` (``folders.python_run_config``)
    once it starts learning, so ``puffer plot`` and ``puffer eval`` can read the run. Writing into a
    folder that already holds a run is an ``APIUsageError`` (before anything is written), unless
    the trainer resumed from it (``load_checkpoint``) or ``exist_ok``. The trainer seeds torch's
    RNG and resets the vecenv with ``config.seed``; seed it before building the policy too
    (``seed_everything``) for fully reproducible runs.
    """

    def __init__(self, vecenv: Any, policy: nn.Module, config: TrainConfig | None = None,
                 exp_id: str | None = None, loggers: Iterable[Logger] = (), record: bool = True,
                 exist_ok: bool = False):
        self.config = cfg = config if config is not None else TrainConfig()
        self.vecenv = vecenv
        self.exp_id = folders.check_run_id(exp_id) if exp_id else folders.new_run_id("puffer")
        self.exp_dir = Path(cfg.data_dir) / self.exp_id
        self.loggers = list(loggers)
        self.record = record and distributed.rank() == 0
        self._folder_checked = exist_ok
        self._recording = False
        if cfg.torch_threads:
            torch.set_num_threads(cfg.torch_threads)
        # Under torch.distributed (torchrun) every rank trains this policy on its own envs, seeded
        # apart; one rank alone is an ordinary run (rank 0, world size 1, the seed unchanged).
        self.rank, self.world_size = distributed.rank(), distributed.world_size()
        self.seed = distributed.rank_seed(cfg.seed, vecenv.num_envs)
        torch.manual_seed(self.seed)
        self._rng = np.random.default_rng(self.seed)
        self.device = check_device(cfg.device)
        self.policy = policy.to(self.device)
        self._gradients = self._join_ranks(vecenv.num_agents) if self.world_size > 1 else None
        self.recurrent = is_recurrent(policy)
        # Run-level normalisation (pufferlib.normalization): observation statistics live in the
        # policy (saved with its weights), the return statistics here (saved in checkpoint.pt).
        self.observation_normalizers = observation_normalizers(policy)
        self.reward_normalizer = (RewardNormalizer(vecenv.num_agents, cfg.gamma)
                                  if cfg.normalize_rewards else None)
        self.forward = torch.compile(policy, mode=cfg.compile_mode) if cfg.compile else policy
        # Fused Adam is one kernel per step, not several per parameter: small models are overhead-bound.
        self.optimizer = torch.optim.Adam(policy.parameters(), lr=cfg.learning_rate, eps=cfg.adam_eps,
                                          fused=True)
        self.overlap = cfg.overlap and not self.recurrent and self.world_size == 1
        if cfg.overlap and not self.overlap:
            print("pufferlib: train.overlap covers feed-forward policies in one process; this run learns "
                  "after each rollout.", file=sys.stderr)
        # Overlapped, the rollout acts with its own copy of the policy (the learner changes the
        # weights meanwhile), refreshed from the learner's after each update.
        self.rollout_policy = copy.deepcopy(policy) if self.overlap else policy
        rollout_forward = self.forward
        if self.overlap:
            rollout_forward = (torch.compile(self.rollout_policy, mode=cfg.compile_mode) if cfg.compile
                               else self.rollout_policy)
        # Dynamo's guard-skipping stance is process-wide: not while the rollout runs compiled code too.
        self.learner = Learner(policy, self.optimizer, cfg, cfg.learner, self.forward, self.recurrent,
                               self._gradients, skip_guards=not (self.overlap and cfg.compile))
        self.horizon = check_batch_fits(cfg, vecenv.num_agents)
        # The rollout loop (per-agent LSTM state, episode starts, Box clipping) is shared with `play`.
        self.runner = RolloutRunner(vecenv, self.rollout_policy, self.device, rollout_forward)
        self.reset_in_step = self.runner.reset_in_step
        lstm_shape = None
        if self.recurrent:
            lstm = lstm_of(policy)
            lstm_shape = (lstm.num_layers, lstm.hidden_size)
        storage = torch.device("cpu") if cfg.cpu_offload else self.device

        def buffer() -> Experience:
            return Experience(vecenv.num_agents, self.horizon, cfg.bptt_horizon,
                              vecenv.single_observation_space, vecenv.single_action_space, storage,
                              lstm_shape, self.device)

        self.experience = buffer()
        # Overlapped: the rollout fills one buffer while the learner reads the other.
        self._spare = buffer() if self.overlap else None
        self._learning: threading.Thread | None = None
        self._learning_error: BaseException | None = None
        self.global_step = self.update = self.start_step = 0
        self.elapsed_before, self.best_score = 0.0, -math.inf
        self.episode_log = EpisodeLog()
        self.timings = {"env": 0.0, "forward": 0.0, "learn": 0.0}
        self.losses: dict[str, float] = {}
        self.stats: dict[str, float] = {}
        self.sps = 0.0
        self.start_time = time.perf_counter()
        self._last_report = (self.start_time, 0)
        self._rollout_start_step = 0
        self._last_checkpoint = time.monotonic()
        vecenv.async_reset(self.seed)

    def _join_ranks(self, num_agents: int) -> distributed.GradientAverager:
        # Every rank starts from rank 0's weights and averages gradients every minibatch, so the
        # weights stay identical; collectives need the same layout on every rank.
        cfg = self.config
        distributed.check_same_on_every_rank(
            "num_agents, batch_size, minibatch_size, bptt_horizon, update_epochs",
            [num_agents, cfg.batch_size, cfg.minibatch_size, cfg.bptt_horizon, cfg.update_epochs])
        distributed.broadcast_module(self.policy)
        return distributed.GradientAverager(self.policy.parameters())

    @property
    def done(self) -> bool:
        return self.global_step >= self.config.total_timesteps

    @property
    def learning_rate(self) -> float:
        cfg = self.config
        if not cfg.anneal_lr:
            return cfg.learning_rate
        return cfg.learning_rate * max(0.0, 1.0 - self._rollout_start_step / cfg.total_timesteps)

    @property
    def episodes(self) -> int:
        return self.episode_log.episodes

    @property
    def episode_returns(self) -> Any:
        """Returns of the last 100 finished episodes (for rolling averages)."""
        return self.episode_log.returns

    @property
    def scores(self) -> dict[str, Any]:
        """The last 100 finished episodes' statistics, by name."""
        return self.episode_log.recent

    # -- phase 1: rollout ------------------------------------------------------------

    def evaluate(self) -> None:
        """Collect one rollout: ``batch_size`` agent steps plus each agent's bootstrap step."""
        exp = self.experience
        self._rollout_start_step = self.global_step
        positions: dict[str, np.ndarray] = {}

        def observe(batch: Batch) -> None:
            steps = positions["steps"] = exp.positions(batch.env_ids)
            self.global_step += len(batch.env_ids) * self.world_size  # every rank collects as many
            if batch.infos:
                self.episode_log.add(batch.infos)
            if batch.state is not None:
                exp.store_lstm_state(batch.env_ids, steps, *batch.state)

        def act(batch: Batch, action: np.ndarray, logprob: np.ndarray, value: np.ndarray) -> None:
            obs = batch.observations if exp.observations_np is not None else batch.observations_device
            exp.store(batch.env_ids, positions["steps"], obs, batch.rewards, batch.terminals,
                      batch.truncations, batch.masks, batch.learnable, batch.episode_starts, action,
                      logprob, value)

        before = dict(self.runner.timings)
        self.runner.run(lambda: exp.full, observe=observe, act=act)
        for phase in ("env", "forward"):
            self.timings[phase] += self.runner.timings[phase] - before[phase]

    # -- phase 2: learning -----------------------------------------------------------

    def train(self) -> dict[str, float]:
        """One PPO update on the collected rollout; returns this update's metrics.

        With ``train.overlap`` the update runs in a thread while the next ``evaluate()`` collects,
        and ``train()`` returns the metrics of the update before it (``finish()`` waits for the
        last one and reports it; ``run()`` and ``close()`` call it).
        """
        if self.overlap:
            return self._train_overlapped()
        start = time.perf_counter()
        self.check_rollout_finite()
        for group in self.optimizer.param_groups:
            group["lr"] = self.learning_rate
        targets, explained = self.learning_targets()
        self.timings["learn"] += time.perf_counter() - start
        self._learn(self.experience, targets, explained)
        self.experience.carry_over()
        return self.report()

    def _learn(self, experience: Experience, targets: np.ndarray, explained: float) -> None:
        """The update itself: minibatch steps on ``experience``, then its observation statistics."""
        start = time.perf_counter()
        self.losses = {**self.update_policy(targets, experience), "explained_variance": explained,
                       "learning_rate": self.optimizer.param_groups[0]["lr"]}
        self.update_observation_statistics(experience)
        self.update += 1
        self.timings["learn"] += time.perf_counter() - start

    def _train_overlapped(self) -> dict[str, float]:
        """Start learning on the collected rollout in a thread; the next rollout goes to the other
        buffer and acts with the weights learned so far (the previous update's), one update behind."""
        metrics = self.report() if self._join_learning() else self.metrics()
        start = time.perf_counter()
        self.check_rollout_finite()
        for group in self.optimizer.param_groups:
            group["lr"] = self.learning_rate
        targets, explained = self.learning_targets()
        assert self._spare is not None, "an overlapped trainer keeps a second rollout buffer"
        collected, self.experience, self._spare = self.experience, self._spare, self.experience
        self.experience.carry_from(collected)
        self.rollout_policy.load_state_dict(self.policy.state_dict())
        self.timings["learn"] += time.perf_counter() - start

        def learn() -> None:
            try:
                self._learn(collected, targets, explained)
            except BaseException as error:  # re-raised in the main thread by _join_learning
                self._learning_error = error

        self._learning = threading.Thread(target=learn, name="pufferlib-learner", daemon=True)
        self._learning.start()
        return metrics

    def _join_learning(self) -> bool:
        """Wait for an overlapped update in flight; True if there was one. Its error, if any, is raised."""
        thread, self._learning = self._learning, None
        if thread is None:
            return False
        thread.join()
        error, self._learning_error = self._learning_error, None
        if error is not None:
            raise error
        return True

    def finish(self) -> dict[str, float]:
        """Wait for an update still running (``train.overlap``) and report it; the latest metrics."""
        return self.report() if self._join_learning() else self.metrics()

    def learning_targets(self) -> tuple[np.ndarray, float]:
        """Rewards normalised and scaled, then GAE: the rollout's ``ppo.learning_targets`` table."""
        cfg, exp = self.config, self.experience
        rewards = exp.rewards
        if self.reward_normalizer is not None:
            rewards = self.reward_normalizer.normalize(rewards, exp.terminals | exp.truncations, exp.masks)
        if cfg.reward_scale != 1.0:
            rewards = rewards * cfg.reward_scale
        return ppo.learning_targets(exp.logprobs, exp.values, rewards, exp.terminals, exp.truncations,
                                    exp.learnable, cfg.gamma, cfg.gae_lambda)

    def update_policy(self, targets: np.ndarray, experience: Experience | None = None) -> dict[str, float]:
        """``update_epochs`` passes of minibatch steps over the rollout in ``experience`` (default: the
        trainer's buffer); returns the mean loss terms.

        Minibatches index the flattened ``(agent, step)`` grid in whole BPTT segments (single
        steps for feed-forward policies), reshuffled every epoch.
        """
        cfg, exp, device = self.config, experience or self.experience, self.device
        table = torch.from_numpy(targets.reshape(-1, targets.shape[-1])).to(device)
        actions = torch.from_numpy(exp.actions.reshape(-1, *exp.actions.shape[2:])).to(device)
        length = cfg.bptt_horizon if self.recurrent else 1
        starts = ppo.segment_starts(exp.num_agents, self.horizon, length)
        per_minibatch = cfg.minibatch_size // length
        num_minibatches = max(1, len(starts) // per_minibatch)
        stats: list[torch.Tensor] = []
        stop = False
        flat_observations = exp.observations.view(-1, *exp.observations.shape[2:])
        for _epoch in range(cfg.update_epochs):
            if stop:
                break
            order = self._rng.permutation(len(starts))[:num_minibatches * per_minibatch]
            epoch_starts = starts[order].reshape(num_minibatches, per_minibatch)
            index = torch.from_numpy(ppo.segment_index(epoch_starts.reshape(-1), length)).to(device)
            # index_select, not advanced indexing: several times faster for row gathers on CPU.
            batch = table.index_select(0, index).view(num_minibatches, per_minibatch * length, -1)
            weights = ppo.minibatch_weights(batch[..., ppo.LEARNABLE])
            advantages = batch[..., ppo.ADVANTAGE]
            if cfg.norm_adv:
                advantages = ppo.normalize_advantages(advantages, weights)
            epoch_actions = actions.index_select(0, index).view(num_minibatches, per_minibatch * length,
                                                                *actions.shape[1:])
            epoch_observations = None
            if not self.recurrent:  # one gather of the epoch's observations, not one per minibatch
                epoch_observations = flat_observations.index_select(0, index.to(flat_observations.device))
                epoch_observations = epoch_observations.to(device, non_blocking=True).view(
                    num_minibatches, per_minibatch, *flat_observations.shape[1:])
            for i in range(num_minibatches):
                observations = None if epoch_observations is None else epoch_observations[i]
                stats.append(self.minibatch_step(epoch_starts[i], length, batch[i], advantages[i], weights[i],
                                                 epoch_actions[i], observations))
                stop = self.kl_exceeded(stats[-1])
                if stop:
                    break
        means = torch.stack(stats).mean(dim=0).tolist()
        return dict(zip(ppo.STAT_NAMES, means, strict=True)) | {"minibatches": float(len(stats))}

    def minibatch_step(self, starts: np.ndarray, length: int, minibatch: torch.Tensor,
                       advantages: torch.Tensor, weights: torch.Tensor, actions: torch.Tensor,
                       observations: torch.Tensor | None = None) -> torch.Tensor:
        """Forward, loss, backward, gradient clip and optimizer step on one minibatch (``self.learner``);
        returns its stats. ``observations``: the segments' observations, if already gathered."""
        forward = None
        if observations is None and not self.recurrent:
            exp = self.experience
            index = torch.from_numpy(ppo.segment_index(starts, length)).to(exp.observations.device)
            observations = exp.observations.view(-1, *exp.observations.shape[2:])[index].to(self.device)
        elif observations is None:
            def forward() -> tuple[Any, torch.Tensor]:
                return self._forward_segments(starts, length)[:2]
        return self.learner.step(observations, minibatch, advantages, weights, actions, forward,
                                 self._nonfinite_loss_message)

    def kl_exceeded(self, stats: torch.Tensor) -> bool:
        """True once a minibatch's approx-KL passes ``target_kl`` (ranks decide together, on the mean)."""
        target = self.config.target_kl
        if not target:
            return False
        approx_kl = float(stats[ppo.STAT_NAMES.index("approx_kl")])
        return (approx_kl if self._gradients is None else distributed.all_reduce_mean(approx_kl)) > target

    def update_observation_statistics(self, experience: Experience | None = None) -> None:
        """After the update, so that a rollout's stored log-probabilities and values match the
        training pass; frozen after ``observation_stats_until`` of the run."""
        cfg, exp = self.config, experience or self.experience
        frozen = self._rollout_start_step >= cfg.observation_stats_until * cfg.total_timesteps
        if not self.observation_normalizers or frozen:
            return
        seen = torch.from_numpy(exp.masks[:, :self.horizon]).to(exp.observations.device)
        observations = exp.observations[:, :self.horizon][seen]
        for normalizer in self.observation_normalizers:
            normalizer.update(observations)

    # -- phase 3: reporting ----------------------------------------------------------

    def report(self) -> dict[str, float]:
        """This update's metrics to every logger, and a checkpoint when one is due."""
        if self.record and not self._recording:
            self._check_folder()
            self._start_recording()
        self.stats = self.episode_log.take_means() or self.stats
        now = time.perf_counter()
        last_time, last_step = self._last_report
        self.sps = (self.global_step - last_step) / max(now - last_time, 1e-9)
        self._last_report = (now, self.global_step)
        metrics = self.metrics()
        for logger in self.loggers:
            logger.log(metrics, self.global_step)
        if self.rank == 0 and self.checkpoint_due():
            self.save_checkpoint()
        return metrics

    def _check_folder(self) -> None:
        """Refuse to write into another run's folder (once, before the first write)."""
        if not self._folder_checked and folders.holds_run(self.exp_dir):
            raise APIUsageError(f"{self.exp_dir} already holds a run: pass another exp_id (or none, for a "
                                "fresh one), load_checkpoint() it to resume, or exist_ok=True to write over "
                                "it.")
        self._folder_checked = True

    def _start_recording(self) -> None:
        """The run folder's ``metrics.jsonl`` (appended to: a resumed run continues it) and, unless the
        run layer wrote one, ``config.json``."""
        self.exp_dir.mkdir(parents=True, exist_ok=True)
        config_file = self.exp_dir / folders.CONFIG_FILE
        if not config_file.exists():
            vecenv = self.vecenv
            config = folders.python_run_config(self.exp_id, getattr(vecenv, "env_creator", None),
                                               getattr(vecenv, "env_kwargs", None),
                                               dataclasses.asdict(self.config))
            folders.write_json(config_file, config)
        self.loggers.insert(0, MetricsLogger(self.exp_dir / folders.METRICS_FILE))
        self._recording = True

    def metrics(self) -> dict[str, float]:
        """Everything worth logging: losses, episode stats, throughput and per-phase timing."""
        elapsed = time.perf_counter() - self.start_time
        metrics: dict[str, float] = {
            "global_step": float(self.global_step), "update": float(self.update), "sps": self.sps,
            "episodes": float(self.episodes), "elapsed": elapsed,
            "wall_time": self.elapsed_before + elapsed, "score": self.score(),
        }
        metrics.update({f"losses/{k}": v for k, v in self.losses.items()})
        metrics.update({f"environment/{k}": v for k, v in self.stats.items()})
        metrics.update({f"performance/{k}": v for k, v in self.timings.items()})
        return metrics

    def score(self) -> float:
        """The run's score: mean ``score_metric`` over the last 100 episodes (nan before any)."""
        return self.episode_log.score(self.config.score_metric)

    def checkpoint_due(self) -> bool:
        """True when ``checkpoint_interval`` updates or ``checkpoint_seconds`` have passed since the last."""
        cfg = self.config
        by_updates = bool(cfg.checkpoint_interval) and self.update % cfg.checkpoint_interval == 0
        since = time.monotonic() - self._last_checkpoint
        by_time = bool(cfg.checkpoint_seconds) and since >= cfg.checkpoint_seconds
        return by_updates or by_time

    # -- non-finite numbers ----------------------------------------------------------

    def check_rollout_finite(self) -> None:
        """``NonFiniteError`` naming the env rows whose rewards or observations are nan or inf."""
        exp = self.experience
        for what, values in (("rewards", exp.rewards), ("observations", exp.observations_np)):
            if values is None or values.dtype.kind != "f":
                continue
            finite = np.isfinite(values).reshape(values.shape[0], values.shape[1], -1).all(axis=-1)
            bad = ~finite & exp.masks
            if bad.any():
                rows, steps = np.nonzero(bad)
                per_env = max(1, exp.num_agents // max(1, self.vecenv.num_envs))
                envs = sorted({int(r) // per_env for r in rows})
                raise NonFiniteError(
                    f"the env returned nan or inf {what} (agent rows {sorted(set(rows.tolist()))[:8]}, env "
                    f"objects {envs[:8]}, first at rollout step {int(steps.min())} after update "
                    f"{self.update}); "
                    "training stopped before learning from them. Fix the env, or clip/scale what it returns."
                )

    def _nonfinite_loss_message(self, stats: torch.Tensor, norm: torch.Tensor) -> str:
        terms = ", ".join(f"{name} {value:.4g}" for name, value in zip(ppo.STAT_NAMES, stats.tolist(),
                                                                           strict=True))
        return (f"the loss or its gradient became non-finite at update {self.update} (gradient norm "
                f"{float(norm)}; "
                f"{terms}); the step was not applied. Lower train.learning_rate or train.reward_scale, or "
                f"turn "
                "on train.normalize_rewards.")

    # -- forward passes over stored segments ------------------------------------------

    def _forward_segments(self, starts: np.ndarray, length: int) -> tuple[Any, torch.Tensor, np.ndarray]:
        """Policy outputs for the ``length``-step segments of the rollout grid beginning at ``starts``.

        ``starts`` index the flattened ``(agent, step)`` grid. Returns ``(logits, values, flat
        indices)`` in segment-major order. Recurrent policies replay each segment from the LSTM
        state recorded during the rollout.
        """
        exp = self.experience
        index = ppo.segment_index(starts, length)
        observations = exp.observations.view(-1, *exp.observations.shape[2:])
        observations = observations[torch.from_numpy(index).to(observations.device)]
        observations = observations.to(self.device, non_blocking=True)
        if not self.recurrent:
            logits, values = self.forward(observations)
            return logits, values, index
        width = self.horizon + 1
        agents = torch.from_numpy(starts // width).to(self.device)
        slots = torch.from_numpy((starts % width) // length).to(self.device)
        assert exp.lstm_states is not None, "a recurrent rollout buffer records LSTM states"
        state = exp.lstm_states[:, :, agents, slots]
        episode_starts = torch.from_numpy(exp.episode_starts.reshape(-1)[index]).to(self.device)
        logits, values = self._replay(observations.view(len(starts), length, *observations.shape[1:]),
                                      (state[0], state[1]), episode_starts.view(len(starts), length))
        return logits, values, index

    def _replay(self, observations: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor],
                episode_starts: torch.Tensor) -> tuple[Any, torch.Tensor]:
        """Run the recurrent policy over ``(S, H)`` segments, zeroing the state at episode starts.

        Returns logits and values for the ``S * H`` steps, in segment-major order.
        """
        segments, length = episode_starts.shape
        if not bool(episode_starts[:, 1:].any()):
            logits, values, _ = self.forward(observations, state)
            return logits, values
        policy: LSTMWrapper = self.policy  # type: ignore[assignment]  # recurrent: an LSTMWrapper
        flat = observations.reshape(segments * length, *observations.shape[2:])
        hidden, lookup = policy.policy.encode_observations(flat)
        hidden = hidden.view(segments, length, -1)
        keep = (~episode_starts).to(hidden.dtype).view(segments, length, 1)
        h, c = state
        outputs = []
        for t in range(length):
            if t:
                h, c = h * keep[:, t], c * keep[:, t]
            # nn.LSTM is time-major: one step is a (1, S, features) sequence.
            out, (h, c) = policy.lstm(hidden[:, t].unsqueeze(0), (h, c))
            outputs.append(out[0])
        hidden = torch.stack(outputs, dim=1).reshape(segments * length, -1)
        return policy.policy.decode_actions(hidden, lookup)

    # -- checkpoints -----------------------------------------------------------------

    def save_checkpoint(self) -> Path:
        """Write ``model.pt`` (weights) and ``checkpoint.pt`` (weights + trainer state) as one save
        (``checkpoint.save_run``); weights that are not finite are never written."""
        self._join_learning()  # an overlapped update in flight would change the weights mid-save
        state = {
            "model": {k: v.detach().cpu() for k, v in self.policy.state_dict().items()},
            "optimizer": self.optimizer.state_dict(),
            "global_step": self.global_step,
            "update": self.update,
            "episodes": self.episodes,
            "torch_rng_state": torch.get_rng_state(),
            "reward_normalizer": self.reward_normalizer.state_dict() if self.reward_normalizer else None,
            "numpy_rng": self._rng.bit_generator.state,
            "wall_time": self.elapsed_before + time.perf_counter() - self.start_time,
            "scores": self.episode_log.state_dict(),
        }
        self._check_folder()
        score = self.score()
        new_best = math.isfinite(score) and score > self.best_score
        if new_best:
            self.best_score = score
        state["best_score"] = self.best_score
        checkpoint.save_run(self.exp_dir, state, self.config.checkpoint_history, best=new_best, score=score)
        self._last_checkpoint = time.monotonic()
        return self.exp_dir

    def load_checkpoint(self, path: str | os.PathLike) -> None:
        """Resume from a run folder or ``checkpoint.pt``: weights, optimizer, step count, schedule.

        Every problem (no file, a corrupt or foreign file, another policy's weights, non-finite
        weights) is an ``APIUsageError`` naming the file.
        """
        self._join_learning()
        state = checkpoint.load_trainer_state(path, self.policy, self.device)
        if folders.run_folder(path).resolve() == self.exp_dir.resolve():
            self._folder_checked = True  # continuing the run in its own folder
        checkpoint.load_optimizer(self.optimizer, state["optimizer"], path)
        self.global_step = self.start_step = self._rollout_start_step = int(state["global_step"])
        self.update = int(state["update"])
        if self.reward_normalizer is not None and state.get("reward_normalizer") is not None:
            self.reward_normalizer.load_state_dict(state["reward_normalizer"])
        torch.set_rng_state(state["torch_rng_state"].cpu())
        if isinstance(state.get("numpy_rng"), dict):
            self._rng.bit_generator.state = state["numpy_rng"]
        self.elapsed_before = float(state.get("wall_time", 0.0))
        self.best_score = float(state.get("best_score", -math.inf))
        self.episode_log.load_state_dict(state.get("scores") or {}, int(state.get("episodes", 0)))
        self.start_time = time.perf_counter()
        self._last_report = (self.start_time, self.global_step)
        if self.overlap:
            self.rollout_policy.load_state_dict(self.policy.state_dict())

    # -- the loop ----------------------------------------------------------------------

    def run(self, callback: Callable[[Trainer], Any] | None = None, progress: bool | str = True,
            interval: float = 5.0, title: str | None = None) -> dict[str, float]:
        """Train until ``total_timesteps``; ``callback(trainer)`` runs after every update.

        ``progress``: ``True`` or ``"plain"`` prints a progress line at most every ``interval``
        seconds and once at the end; ``"rich"`` a live panel; ``"auto"`` the panel on a terminal;
        ``False``/``"none"`` nothing. Returning False from ``callback`` stops training.
        """
        dashboard = None
        if progress not in (False, "none"):
            from pufferlib.dashboard import Dashboard

            live = {"rich": True, "auto": None}.get(str(progress), False)
            dashboard = Dashboard(title or self.exp_id, self.exp_id, self.config.total_timesteps, live=live,
                                  interval=interval)
        try:
            while not self.done:
                self.evaluate()
                self.train()
                if dashboard is not None:
                    dashboard.update(self.metrics())
                if callback is not None and callback(self) is False:
                    break
            if self._learning is not None:  # an overlapped run's last update
                self.finish()
                if dashboard is not None:
                    dashboard.update(self.metrics())
        finally:
            if dashboard is not None:
                dashboard.close()
        return self.metrics()

    def close(self, save: bool = True) -> Path | None:
        """Save a final checkpoint (unless ``save`` is False), close the vecenv and loggers.

        Under ``torch.distributed`` only rank 0 saves (every rank holds the same weights) and
        the other ranks return ``None``. An overlapped update still running is finished and
        reported first.
        """
        try:
            if self._learning is not None:
                self.finish()
            path = self.save_checkpoint() if save and self.rank == 0 else None
        finally:
            self.vecenv.close()
            for logger in self.loggers:
                logger.close()
        return path
