"""PPO: a CleanRL-style trainer that reads top to bottom and is fast.

One update is ``evaluate()`` (collect ``batch_size`` agent steps through the vecenv's
``send``/``recv`` pool, one batch in flight) then ``train()`` (GAE, then
``update_epochs`` passes of clipped-PPO minibatch updates)::

    trainer = Trainer(vecenv, policy, TrainConfig(total_timesteps=100_000))
    while not trainer.done:
        trainer.evaluate()
        trainer.train()
    trainer.close()

Experience is stored per agent: row ``a`` of every buffer is agent ``a``'s own
trajectory (``env_ids`` are global agent indices), ``horizon + 1`` steps long. The extra
last step is the bootstrap: its value ends the GAE recursion, and it becomes step 0 of
the next rollout, so no transition is lost between updates. Transitions are linked
only within a row, so advantages never leak across agents.

Episode boundaries come in two conventions, both handled:

- Wrapped Gymnasium/PettingZoo envs (the vector backends' auto-reset): the step that
  ends an episode carries the *final* observation with ``terminal``/``truncated`` set;
  the next step carries the reset observation, and the action taken on the final
  observation is ignored by the env. That transition is never learned from. At a
  truncation the value of the final observation bootstraps the return.
- Native ``PufferEnv``s reset finished games inside ``step``: the flagged step carries
  the reward of the final move and the *first* observation of the next episode, whose
  action is real and is learned from (these envs report no final observation, so a
  truncation there is treated like a termination).

Recurrent policies keep one LSTM state per agent, zeroed at every episode start,
carried across rollouts and across the BPTT segments a row is cut into; the learning
pass replays each segment from the state recorded during the rollout and re-zeroes it
at the same episode starts. Padded agents (``mask`` False) are excluded from every loss
and statistic.
"""

from __future__ import annotations

import dataclasses
import math
import os
import random
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Mapping
from itertools import repeat
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from torch import nn

from pufferlib import distributed, spaces
from pufferlib.checkpoint import (  # noqa: F401 (re-exported: the names predate checkpoint.py)
    BEST_FILE,
    CHECKPOINT_FILE,
    HISTORY_DIR,
    MODEL_FILE,
    UnsafeCheckpointError,
    _check_state_dict,
    _is_checkpoint,
    _load_file,
    atomic_save,
    check_weights_fit,
    clean_stale_temporaries,
    find_checkpoint,
    load_weights,
    save_best,
    save_files,
    save_history,
)
from pufferlib.exceptions import APIUsageError
from pufferlib.frameworks.cleanrl import sample_logits
from pufferlib.normalization import RewardNormalizer, observation_normalizers
from pufferlib.rollout import Batch, RolloutRunner, is_recurrent


@dataclasses.dataclass
class TrainConfig:
    """PPO hyperparameters. ``batch_size`` and ``minibatch_size`` count agent steps."""

    seed: int = 1
    torch_deterministic: bool = True
    device: str = "cpu"
    torch_threads: int = 1
    """Intra-op threads for torch (set process-wide); 0 leaves torch's default. One thread is
    fastest for the small models RL uses on a CPU (torch's default can be 10-40x slower)."""
    total_timesteps: int = 1_000_000
    """The run's total: a resumed run trains until its step count reaches this (not this many more)."""
    batch_size: int = 8192
    """Agent steps per update; a multiple of ``num_agents * bptt_horizon``."""
    minibatch_size: int = 2048
    bptt_horizon: int = 16
    """Length of the sequences recurrent policies are trained on."""
    update_epochs: int = 4
    learning_rate: float = 2.5e-4
    anneal_lr: bool = True
    adam_eps: float = 1e-5
    gamma: float = 0.99
    gae_lambda: float = 0.95
    reward_scale: float = 1.0
    """Rewards are multiplied by this before GAE (keeps value targets near unit scale)."""
    normalize_rewards: bool = False
    """Divide rewards by the running spread of each agent's discounted return and clip them to
    [-10, 10] before GAE (CleanRL's NormalizeReward, kept for the whole run and checkpointed;
    see ``pufferlib.normalization``). Applied before ``reward_scale``."""
    observation_stats_until: float = 1.0
    """Fraction of ``total_timesteps`` after which the policy's observation-normalisation
    statistics stop updating (1: the whole run). A statistics update changes what the policy
    does outside PPO's clipped step, and late in a run the annealed learning rate leaves it
    little room to adapt (Hopper-v4 ships 0.5: see bench/results/NOTES.md)."""
    norm_adv: bool = True
    clip_coef: float = 0.2
    clip_vloss: bool = True
    vf_coef: float = 0.5
    vf_clip_coef: float = 0.2
    ent_coef: float = 0.01
    max_grad_norm: float = 0.5
    target_kl: float = 0.0
    """Stop the update's epochs once approx-KL exceeds this; 0 disables."""
    compile: bool = False
    compile_mode: str = "default"
    cpu_offload: bool = False
    """Keep rollout observations in (pinned) host memory when training on a GPU."""
    checkpoint_interval: int = 0
    """Updates between checkpoints; 0: by ``checkpoint_seconds`` alone (and at ``close()``)."""
    checkpoint_seconds: float = 300.0
    """Wall-clock seconds between checkpoints; 0: by ``checkpoint_interval`` alone."""
    checkpoint_history: int = 3
    """Earlier checkpoints kept under ``checkpoints/`` besides the latest (0: none)."""
    score_metric: str = ""
    """Episode statistic that picks ``best.pt`` (mean of the last 100 episodes); empty: ``score`` if the
    env reports it, else ``episode_return``."""
    data_dir: str = "experiments"

    def __post_init__(self) -> None:
        positive = ("total_timesteps", "batch_size", "minibatch_size", "bptt_horizon", "update_epochs")
        for name in positive:
            value = getattr(self, name)
            if not isinstance(value, int | np.integer) or value < 1:
                raise APIUsageError(f"train.{name} must be a positive integer, got {value!r}.")
        if self.batch_size % self.minibatch_size:
            raise APIUsageError(
                f"train.batch_size ({self.batch_size}) must be a multiple of train.minibatch_size "
                f"({self.minibatch_size})."
            )
        if self.minibatch_size % self.bptt_horizon:
            raise APIUsageError(
                f"train.minibatch_size ({self.minibatch_size}) must be a multiple of "
                f"train.bptt_horizon ({self.bptt_horizon})."
            )
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, float) and not math.isfinite(value):
                raise APIUsageError(f"train.{field.name} must be a finite number, got {value}.")
        if not 0.0 <= self.gamma <= 1.0 or not 0.0 <= self.gae_lambda <= 1.0:
            raise APIUsageError("train.gamma and train.gae_lambda must lie in [0, 1].")
        if not 0.0 <= self.observation_stats_until <= 1.0:
            raise APIUsageError(
                "train.observation_stats_until is a fraction of the run in [0, 1], "
                f"got {self.observation_stats_until}."
            )
        if self.learning_rate <= 0:
            raise APIUsageError(f"train.learning_rate must be positive, got {self.learning_rate}.")
        non_negative = ("clip_coef", "vf_coef", "vf_clip_coef", "ent_coef", "max_grad_norm", "target_kl",
                        "adam_eps", "reward_scale", "torch_threads", "checkpoint_interval",
                        "checkpoint_seconds", "checkpoint_history")
        for name in non_negative:
            if getattr(self, name) < 0:
                raise APIUsageError(f"train.{name} must not be negative, got {getattr(self, name)}.")
        self.device = check_device(self.device)


def check_device(device: str) -> str:
    """``device`` if torch knows it and it is usable here; otherwise ``APIUsageError`` saying why."""
    try:
        parsed = torch.device(device)
    except (RuntimeError, TypeError):
        raise APIUsageError(
            f"train.device {device!r} is not a torch device: use cpu, cuda, cuda:N or mps."
        ) from None
    if parsed.type == "cuda" and not torch.cuda.is_available():
        raise APIUsageError(f"train.device {device!r}: CUDA is not available here; use --train.device cpu.")
    if parsed.type == "cuda" and parsed.index is not None and parsed.index >= torch.cuda.device_count():
        raise APIUsageError(f"train.device {device!r}: only {torch.cuda.device_count()} CUDA device(s).")
    if parsed.type == "mps" and not torch.backends.mps.is_available():
        raise APIUsageError(f"train.device {device!r}: MPS is not available here; use --train.device cpu.")
    if parsed.type not in ("cpu", "cuda", "mps"):
        raise APIUsageError(f"train.device {device!r} is not supported: use cpu, cuda, cuda:N or mps.")
    return device


def seed_everything(seed: int, torch_deterministic: bool = True) -> None:
    """Seed Python, numpy and torch so that a run with the Serial backend is reproducible."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.backends.cudnn.deterministic = torch_deterministic


# ---------------------------------------------------------------------------------------
# Advantages


def compute_gae(values: np.ndarray, rewards: np.ndarray, terminals: np.ndarray, truncations: np.ndarray,
                gamma: float, gae_lambda: float) -> np.ndarray:
    """Generalised advantage estimates for ``(agents, T + 1)`` arrays in arrival convention.

    Column ``t`` holds what ``recv`` returned at step ``t``: the observation's value, and
    the reward and flags of the transition that *led to* it. So the transition taken
    from step ``t`` earns ``rewards[:, t+1]``, bootstraps from ``values[:, t+1]`` unless
    ``terminals[:, t+1]`` (a truncated step's value is the value of its final
    observation), and the recursion is cut wherever step ``t+1`` ends an episode. The
    result is ``(agents, T)``: one advantage per step that has a successor. Vectorised
    over agents, sequential over time.
    """
    steps = values.shape[1] - 1
    advantages = np.zeros((values.shape[0], steps), dtype=np.float32)
    continues = ~(terminals | truncations)
    bootstrap = gamma * values * ~terminals
    deltas = rewards[:, 1:] + bootstrap[:, 1:] - values[:, :-1]
    decay = (gamma * gae_lambda) * continues[:, 1:]
    last = np.zeros(values.shape[0], dtype=np.float32)
    for t in range(steps - 1, -1, -1):
        last = deltas[:, t] + decay[:, t] * last
        advantages[:, t] = last
    return advantages


def segment_index(starts: np.ndarray, length: int) -> np.ndarray:
    """Flat indices of the ``length``-step segments beginning at ``starts``, segment-major."""
    if length == 1:
        return starts
    return (starts[:, None] + np.arange(length)[None, :]).reshape(-1)


def explained_variance(predicted: np.ndarray, target: np.ndarray) -> float:
    """``1 - Var(target - predicted) / Var(target)`` on aligned arrays; nan if ``target`` is constant."""
    if predicted.size == 0:
        return float("nan")
    variance = np.var(target)
    if variance == 0:
        return float("nan")
    return float(1.0 - np.var(target - predicted) / variance)


# ---------------------------------------------------------------------------------------
# Rollout storage


class Experience:
    """Per-agent rollout buffers: ``(num_agents, horizon + 1)`` steps, filled by ``store``.

    Each agent has its own write pointer, so batches may arrive in any agent order. The
    rollout is ``full`` when every agent has ``horizon + 1`` steps; ``carry_over`` then
    moves the last step to the front for the next rollout. Observations live in a torch
    tensor on ``storage_device``; everything else in numpy arrays (GAE runs there).
    """

    def __init__(self, num_agents: int, horizon: int, bptt_horizon: int, observation_space: Any,
                 action_space: Any, storage_device: torch.device,
                 lstm_shape: tuple[int, int] | None = None, lstm_device: torch.device | None = None):
        if horizon % bptt_horizon:
            raise APIUsageError(
                f"Steps per agent per update ({horizon}) must be a multiple of train.bptt_horizon "
                f"({bptt_horizon}): set train.batch_size to a multiple of num_agents * bptt_horizon "
                f"({num_agents * bptt_horizon})."
            )
        n, width = num_agents, horizon + 1
        self.num_agents, self.horizon, self.bptt_horizon = num_agents, horizon, bptt_horizon
        obs_dtype = torch.from_numpy(np.zeros(0, dtype=observation_space.dtype)).dtype
        pin = storage_device.type == "cpu" and torch.cuda.is_available()
        self.observations = torch.zeros((n, width, *observation_space.shape), dtype=obs_dtype,
                                        device=storage_device, pin_memory=pin)
        self.observations_np = self.observations.numpy() if storage_device.type == "cpu" else None
        if isinstance(action_space, spaces.Box):
            atn_shape, atn_dtype = action_space.shape, np.float32
        elif isinstance(action_space, spaces.MultiDiscrete):
            atn_shape, atn_dtype = action_space.shape, np.int64
        elif isinstance(action_space, spaces.Discrete):
            atn_shape, atn_dtype = (), np.int64
        else:
            raise APIUsageError(
                f"The trainer supports Discrete, MultiDiscrete and Box actions, got {action_space}."
            )
        self.actions = np.zeros((n, width, *atn_shape), dtype=atn_dtype)
        self.logprobs = np.zeros((n, width), dtype=np.float32)
        self.values = np.zeros((n, width), dtype=np.float32)
        self.rewards = np.zeros((n, width), dtype=np.float32)
        self.terminals = np.zeros((n, width), dtype=bool)
        self.truncations = np.zeros((n, width), dtype=bool)
        self.masks = np.zeros((n, width), dtype=bool)
        self.learnable = np.zeros((n, width), dtype=bool)
        self.episode_starts = np.zeros((n, width), dtype=bool)
        self.pointers = np.zeros(n, dtype=np.int64)
        # LSTM state at the start of every BPTT segment (slot horizon // bptt is the bootstrap step's).
        self.lstm_states = None
        if lstm_shape is not None:
            layers, hidden = lstm_shape
            slots = horizon // bptt_horizon + 1
            self.lstm_states = torch.zeros((2, layers, n, slots, hidden), device=lstm_device)

    @property
    def full(self) -> bool:
        return bool(self.pointers.min() > self.horizon)

    def positions(self, env_ids: np.ndarray) -> np.ndarray:
        """Each agent's next step index; raises if an agent got more steps than the rest."""
        steps = self.pointers[env_ids]
        if steps.max() > self.horizon:
            raise RuntimeError(
                "The vecenv returned an agent more often than the others within one rollout; the "
                "trainer needs every agent stepped once per cycle (spec 3.3)."
            )
        return steps

    def store(self, env_ids: np.ndarray, steps: np.ndarray, observations: np.ndarray | torch.Tensor,
              rewards: np.ndarray, terminals: np.ndarray, truncations: np.ndarray, masks: np.ndarray,
              learnable: np.ndarray, episode_starts: np.ndarray, actions: np.ndarray,
              logprobs: np.ndarray, values: np.ndarray) -> None:
        at = _slice_index(env_ids, steps) or (env_ids, steps)
        if self.observations_np is not None:
            self.observations_np[at] = observations
        elif isinstance(at[0], slice):
            self.observations[at] = observations
        else:  # a device tensor takes index tensors on its device
            index = torch.from_numpy(env_ids).to(self.observations.device)
            self.observations[index, torch.from_numpy(steps).to(self.observations.device)] = observations
        self.rewards[at] = rewards
        self.terminals[at] = terminals
        self.truncations[at] = truncations
        self.masks[at] = masks
        self.learnable[at] = learnable
        self.episode_starts[at] = episode_starts
        self.actions[at] = actions
        self.logprobs[at] = logprobs
        self.values[at] = values
        self.pointers[at[0]] = steps + 1

    def store_lstm_state(self, env_ids: np.ndarray, steps: np.ndarray, h: torch.Tensor,
                         c: torch.Tensor) -> None:
        """Record the state with which the agents' step ``steps`` is processed, at segment starts."""
        at_start = steps % self.bptt_horizon == 0
        if not at_start.any():
            return
        rows = np.flatnonzero(at_start)
        device = self.lstm_states.device
        agents = torch.from_numpy(env_ids[rows]).to(device)
        slots = torch.from_numpy(steps[rows] // self.bptt_horizon).to(device)
        rows = torch.from_numpy(rows).to(device)
        self.lstm_states[0][:, agents, slots] = h[:, rows]
        self.lstm_states[1][:, agents, slots] = c[:, rows]

    def carry_over(self) -> None:
        """Start the next rollout from this one's bootstrap step."""
        last = self.horizon
        for buffer in (self.observations, self.actions, self.logprobs, self.values, self.rewards,
                       self.terminals, self.truncations, self.masks, self.learnable, self.episode_starts):
            buffer[:, 0] = buffer[:, last]
        if self.lstm_states is not None:
            self.lstm_states[:, :, :, 0] = self.lstm_states[:, :, :, last // self.bptt_horizon]
        self.pointers[:] = 1


def _slice_index(env_ids: np.ndarray, steps: np.ndarray) -> tuple[slice, int] | None:
    """``(agents lo:hi, step)`` when the batch is a run of consecutive agents all at one step.

    That is the usual batch (a whole env or worker group, stepped in lockstep), and slice
    writes skip numpy's fancy indexing, which dominates ``store`` for large batches.
    """
    first, count = int(env_ids[0]), len(env_ids)
    if int(env_ids[-1]) - first != count - 1 or steps[0] != steps[-1]:
        return None
    if count > 2 and not ((np.diff(env_ids) == 1).all() and (steps == steps[0]).all()):
        return None
    return slice(first, first + count), int(steps[0])


# ---------------------------------------------------------------------------------------
# Logging back ends


class Logger(Protocol):
    def log(self, metrics: Mapping[str, float], step: int) -> None: ...
    def close(self) -> None: ...


class TensorBoardLogger:
    """Scalars to TensorBoard event files under ``log_dir``."""

    def __init__(self, log_dir: str | os.PathLike):
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(str(log_dir))

    def log(self, metrics: Mapping[str, float], step: int) -> None:
        for key, value in metrics.items():
            if isinstance(value, int | float) and math.isfinite(value):
                self.writer.add_scalar(key, value, step)

    def close(self) -> None:
        self.writer.close()


class WandbLogger:
    """Weights & Biases run; offline (``WANDB_MODE=offline``) unless the environment says otherwise.

    The run id is kept in ``log_dir/wandb_run_id``: a resumed experiment continues the same
    wandb run (``resume="allow"``) instead of starting a new one.
    """

    ID_FILE = "wandb_run_id"

    def __init__(self, project: str, name: str, config: Mapping[str, Any], log_dir: str | os.PathLike):
        from pufferlib.environments import try_import

        wandb = try_import("wandb", "wandb")
        mode = os.environ.get("WANDB_MODE", "offline")
        id_file = Path(log_dir) / self.ID_FILE
        run_id = id_file.read_text().strip() if id_file.is_file() else os.urandom(4).hex()
        Path(log_dir).mkdir(parents=True, exist_ok=True)
        id_file.write_text(run_id)
        self.run = wandb.init(project=project, name=name, config=dict(config), dir=str(log_dir), mode=mode,
                              id=run_id, resume="allow")

    def log(self, metrics: Mapping[str, float], step: int) -> None:
        self.run.log(dict(metrics), step=step)

    def close(self) -> None:
        self.run.finish()


# ---------------------------------------------------------------------------------------
# The trainer


class Trainer:
    """PPO over a pufferlib vecenv with a ``pufferlib.models``-style policy.

    ``policy(obs) -> (logits, value)``, or for recurrent policies (an ``LSTMWrapper``)
    ``policy(obs, state) -> (logits, value, state)``. ``exp_id`` names the experiment
    folder ``<data_dir>/<exp_id>/`` that checkpoints go to. ``loggers`` receive the
    metrics of every update. The trainer seeds torch's RNG and resets the vecenv with
    ``config.seed``; seed it before building the policy too (``seed_everything``) for
    fully reproducible runs.
    """

    def __init__(self, vecenv: Any, policy: nn.Module, config: TrainConfig | None = None,
                 exp_id: str | None = None, loggers: Iterable[Logger] = ()):
        self.config = cfg = config if config is not None else TrainConfig()
        self.vecenv = vecenv
        self.exp_id = exp_id or time.strftime("puffer-%Y%m%d-%H%M%S")
        self.exp_dir = Path(cfg.data_dir) / self.exp_id
        self.loggers = list(loggers)
        if cfg.torch_threads:
            torch.set_num_threads(cfg.torch_threads)
        # Under torch.distributed (torchrun) every rank trains this policy on its own envs, seeded
        # apart; one rank alone is an ordinary run (rank 0, world size 1, the seed unchanged).
        self.rank, self.world_size = distributed.rank(), distributed.world_size()
        self.seed = distributed.rank_seed(cfg.seed, vecenv.num_envs)
        torch.manual_seed(self.seed)
        self._rng = np.random.default_rng(self.seed)

        self.device = torch.device(cfg.device)
        self.policy = policy.to(self.device)
        self._gradients = None
        if self.world_size > 1:
            # Every rank starts from rank 0's weights and averages gradients every minibatch,
            # so the weights stay identical; collectives need the same layout on every rank.
            distributed.check_same_on_every_rank(
                "num_agents, batch_size, minibatch_size, bptt_horizon, update_epochs",
                [vecenv.num_agents, cfg.batch_size, cfg.minibatch_size, cfg.bptt_horizon, cfg.update_epochs])
            distributed.broadcast_module(self.policy)
            self._gradients = distributed.GradientAverager(self.policy.parameters())
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

        num_agents = vecenv.num_agents
        if cfg.batch_size % num_agents:
            raise APIUsageError(
                f"train.batch_size ({cfg.batch_size}) must be a multiple of the number of agents "
                f"({num_agents}) times train.bptt_horizon ({cfg.bptt_horizon})."
            )
        self.horizon = cfg.batch_size // num_agents
        # The rollout loop (per-agent LSTM state, episode starts, Box clipping) is shared with `play`.
        self.runner = RolloutRunner(vecenv, policy, self.device, self.forward)
        self.reset_in_step = self.runner.reset_in_step
        self.action_space = vecenv.single_action_space

        storage = torch.device("cpu") if cfg.cpu_offload else self.device
        lstm_shape = None
        if self.recurrent:
            lstm = policy.lstm
            lstm_shape = (lstm.num_layers, lstm.hidden_size)
        self.experience = Experience(num_agents, self.horizon, cfg.bptt_horizon,
                                     vecenv.single_observation_space, self.action_space, storage,
                                     lstm_shape, self.device)

        self.global_step = 0
        self.update = 0
        self.start_time = time.perf_counter()
        self.timings = {"env": 0.0, "forward": 0.0, "learn": 0.0}
        self.losses: dict[str, float] = {}
        self.stats: dict[str, float] = {}
        self.episodes = 0
        self.episode_returns: deque[float] = deque(maxlen=100)
        """Returns of the last 100 finished episodes (for rolling averages)."""
        self.sps = 0.0
        self._episode_infos: dict[str, list[float]] = defaultdict(list)
        self._last_report = (self.start_time, 0)
        self._rollout_start_step = 0
        # Resume bookkeeping: steps and wall time before this session, the best score so far.
        self.start_step = 0
        self.elapsed_before = 0.0
        self.best_score = -math.inf
        self.scores: dict[str, deque[float]] = defaultdict(lambda: deque(maxlen=100))
        self._last_checkpoint = time.monotonic()
        vecenv.async_reset(self.seed)

    @property
    def done(self) -> bool:
        return self.global_step >= self.config.total_timesteps

    @property
    def learning_rate(self) -> float:
        cfg = self.config
        if not cfg.anneal_lr:
            return cfg.learning_rate
        return cfg.learning_rate * max(0.0, 1.0 - self._rollout_start_step / cfg.total_timesteps)

    # -- rollout ---------------------------------------------------------------------

    def evaluate(self) -> None:
        """Collect one rollout: ``batch_size`` agent steps plus each agent's bootstrap step."""
        exp = self.experience
        self._rollout_start_step = self.global_step
        positions: dict[str, np.ndarray] = {}

        def observe(batch: Batch) -> None:
            steps = positions["steps"] = exp.positions(batch.env_ids)
            self.global_step += len(batch.env_ids) * self.world_size  # every rank collects as many
            if batch.infos:
                self._collect(batch.infos)
            if batch.state is not None:
                exp.store_lstm_state(batch.env_ids, steps, *batch.state)

        def act(batch: Batch, action: np.ndarray, logprob: torch.Tensor, value: torch.Tensor) -> None:
            obs = batch.observations if exp.observations_np is not None else batch.observations_device
            exp.store(batch.env_ids, positions["steps"], obs, batch.rewards, batch.terminals,
                      batch.truncations, batch.masks, batch.learnable, batch.episode_starts, action,
                      logprob.cpu().numpy(), value.view(-1).cpu().numpy())

        runner = self.runner
        before = dict(runner.timings)
        runner.run(lambda: exp.full, observe=observe, act=act)
        for phase in ("env", "forward"):
            self.timings[phase] += runner.timings[phase] - before[phase]

    def _collect(self, infos: list[dict]) -> None:
        # A native env summarises many finished episodes in one dict: their means, with the
        # count under "n"; each statistic is weighted by that count.
        for info in infos:
            count = int(info.get("n", 1))
            if "episode_return" in info:
                self.episodes += count
                self.episode_returns.extend(repeat(float(info["episode_return"]), min(count, 100)))
            for key, value in info.items():
                numeric = isinstance(value, int | float | np.number) and not isinstance(value, complex)
                if numeric and key != "n":
                    self._episode_infos[key].extend(repeat(float(value), count))
                    self.scores[key].extend(repeat(float(value), min(count, 100)))

    # -- learning --------------------------------------------------------------------

    def train(self) -> dict[str, float]:
        """One PPO update on the collected rollout; returns this update's metrics."""
        cfg, exp, device = self.config, self.experience, self.device
        start = time.perf_counter()
        for group in self.optimizer.param_groups:
            group["lr"] = self.learning_rate

        horizon, width = self.horizon, self.horizon + 1
        advantages = np.zeros_like(exp.values)
        rewards = exp.rewards
        if self.reward_normalizer is not None:
            rewards = self.reward_normalizer.normalize(rewards, exp.terminals | exp.truncations, exp.masks)
        rewards = rewards * cfg.reward_scale if cfg.reward_scale != 1.0 else rewards
        advantages[:, :horizon] = compute_gae(exp.values, rewards, exp.terminals, exp.truncations,
                                              cfg.gamma, cfg.gae_lambda)
        learnable = exp.learnable.copy()
        learnable[:, horizon] = False
        returns = advantages + exp.values
        explained = explained_variance(exp.values[learnable], returns[learnable])

        # Every per-step learning target in one (steps, 5) table: one gather per epoch, not five
        # per minibatch (small models are bound by per-op overhead, not arithmetic).
        targets = np.stack([exp.logprobs, exp.values, advantages, returns, learnable], axis=-1,
                           dtype=np.float32)
        targets = torch.from_numpy(targets.reshape(exp.num_agents * width, 5)).to(device)
        actions = torch.from_numpy(exp.actions.reshape(exp.num_agents * width, *exp.actions.shape[2:]))
        actions = actions.to(device)

        # Minibatches index the flattened (agent, step) grid; the bootstrap column is never sampled.
        H = cfg.bptt_horizon if self.recurrent else 1
        starts = (np.arange(exp.num_agents)[:, None] * width + np.arange(0, horizon, H)[None, :]).reshape(-1)
        per_minibatch = cfg.minibatch_size // H
        num_minibatches = max(1, len(starts) // per_minibatch)
        rows = per_minibatch * H
        obs_device = exp.observations.device

        stats: list[torch.Tensor] = []
        stop = False
        for _epoch in range(cfg.update_epochs):
            if stop:
                break
            order = self._rng.permutation(len(starts))[:num_minibatches * per_minibatch]
            epoch_starts = starts[order]
            index = torch.from_numpy(segment_index(epoch_starts, H))
            batch = targets[index.to(device)].view(num_minibatches, rows, 5)
            epoch_actions = actions[index.to(device)].view(num_minibatches, rows, *actions.shape[1:])
            # Loss terms are weighted means over the learnable steps of each minibatch: with the
            # weights pre-divided by their sum, each is a single dot product.
            weights = batch[..., 4]
            weights = weights / weights.sum(dim=1, keepdim=True).clamp(min=1.0)
            epoch_advantages = batch[..., 2]
            if cfg.norm_adv:
                mean = (epoch_advantages * weights).sum(dim=1, keepdim=True)
                centered = epoch_advantages - mean
                std = (centered.square() * weights).sum(dim=1, keepdim=True).sqrt()
                epoch_advantages = centered / (std + 1e-8)

            for i in range(num_minibatches):
                observations = exp.observations.view(-1, *exp.observations.shape[2:])
                observations = observations[index[i * rows:(i + 1) * rows].to(obs_device)]
                logits, new_values = self._segment_outputs(
                    observations.to(device, non_blocking=True),
                    epoch_starts[i * per_minibatch:(i + 1) * per_minibatch], H)
                w, mb_advantages = weights[i], epoch_advantages[i]
                old_logprobs, old_values, mb_returns = batch[i, :, 0], batch[i, :, 1], batch[i, :, 3]
                _, new_logprobs, entropy = sample_logits(logits, epoch_actions[i])
                log_ratio = new_logprobs - old_logprobs
                ratio = log_ratio.exp()
                clipped_ratio = ratio.clamp(1 - cfg.clip_coef, 1 + cfg.clip_coef)
                policy_loss = -torch.dot(torch.min(mb_advantages * ratio, mb_advantages * clipped_ratio), w)

                new_values = new_values.view(-1)
                value_loss = (new_values - mb_returns).square()
                if cfg.clip_vloss:
                    change = (new_values - old_values).clamp(-cfg.vf_clip_coef, cfg.vf_clip_coef)
                    value_loss = torch.max(value_loss, (old_values + change - mb_returns).square())
                value_loss = 0.5 * torch.dot(value_loss, w)
                entropy_mean = torch.dot(entropy, w)
                loss = policy_loss - cfg.ent_coef * entropy_mean + cfg.vf_coef * value_loss

                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if self._gradients is not None:
                    self._gradients.average()
                nn.utils.clip_grad_norm_(self.policy.parameters(), cfg.max_grad_norm)
                self.optimizer.step()

                with torch.no_grad():
                    approx_kl = torch.dot((ratio - 1) - log_ratio, w)
                    clip_fraction = torch.dot(((ratio - 1).abs() > cfg.clip_coef).float(), w)
                    stats.append(torch.stack([policy_loss, value_loss, entropy_mean, approx_kl, clip_fraction,
                                              loss]))
                # Ranks stop together (on the mean KL), or the next all-reduce would never be matched.
                if cfg.target_kl and (approx_kl.item() if self._gradients is None else
                                      distributed.all_reduce_mean(approx_kl.item())) > cfg.target_kl:
                    stop = True
                    break

        means = torch.stack(stats).mean(dim=0).tolist()
        self.losses = {
            "policy_loss": means[0], "value_loss": means[1], "entropy": means[2], "approx_kl": means[3],
            "clipfrac": means[4], "loss": means[5], "explained_variance": explained,
            "learning_rate": self.optimizer.param_groups[0]["lr"], "minibatches": float(len(stats)),
        }
        stats_frozen = self._rollout_start_step >= cfg.observation_stats_until * cfg.total_timesteps
        if self.observation_normalizers and not stats_frozen:
            # After the update: the statistics stay fixed while a rollout is collected and learned
            # from, so stored log-probabilities and values match the training pass.
            seen = torch.from_numpy(exp.masks[:, :horizon]).to(exp.observations.device)
            observations = exp.observations[:, :horizon][seen]
            for normalizer in self.observation_normalizers:
                normalizer.update(observations)
        exp.carry_over()
        self.update += 1
        self.timings["learn"] += time.perf_counter() - start

        if self._episode_infos:
            self.stats = {key: float(np.mean(values)) for key, values in self._episode_infos.items()}
            self._episode_infos.clear()
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

    def checkpoint_due(self) -> bool:
        """True when ``checkpoint_interval`` updates or ``checkpoint_seconds`` have passed since the last."""
        cfg = self.config
        by_updates = bool(cfg.checkpoint_interval) and self.update % cfg.checkpoint_interval == 0
        by_time = bool(cfg.checkpoint_seconds) and (
            time.monotonic() - self._last_checkpoint >= cfg.checkpoint_seconds)
        return by_updates or by_time

    def score(self) -> float:
        """The run's score: mean ``score_metric`` over the last 100 episodes (nan before any)."""
        metric = self.config.score_metric or ("score" if self.scores.get("score") else "episode_return")
        values = self.scores.get(metric)
        return float(np.mean(values)) if values else math.nan

    def _forward_segments(self, starts: np.ndarray, length: int) -> tuple[Any, torch.Tensor, np.ndarray]:
        """Policy outputs for the ``length``-step segments of the rollout grid beginning at ``starts``.

        ``starts`` index the flattened ``(agent, step)`` grid. Returns ``(logits, values,
        flat indices)`` in segment-major order.
        """
        exp = self.experience
        index = segment_index(starts, length)
        observations = exp.observations.view(-1, *exp.observations.shape[2:])
        observations = observations[torch.from_numpy(index).to(observations.device)]
        observations = observations.to(self.device, non_blocking=True)
        logits, values = self._segment_outputs(observations, starts, length)
        return logits, values, index

    def _segment_outputs(self, observations: torch.Tensor, starts: np.ndarray, length: int
                         ) -> tuple[Any, torch.Tensor]:
        """Policy outputs for the observations of the segments beginning at ``starts``.

        Recurrent policies replay each segment from the LSTM state recorded during the rollout.
        """
        if not self.recurrent:
            return self.forward(observations)
        exp, width = self.experience, self.horizon + 1
        agents = torch.from_numpy(starts // width).to(self.device)
        slots = torch.from_numpy((starts % width) // length).to(self.device)
        state = exp.lstm_states[:, :, agents, slots]
        index = segment_index(starts, length)
        episode_starts = torch.from_numpy(exp.episode_starts.reshape(-1)[index]).to(self.device)
        return self._replay(observations.view(len(starts), length, *observations.shape[1:]),
                            (state[0], state[1]), episode_starts.view(len(starts), length))

    def _replay(self, observations: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor],
                episode_starts: torch.Tensor) -> tuple[Any, torch.Tensor]:
        """Run the recurrent policy over ``(S, H)`` segments, zeroing the state at episode starts.

        Returns logits and values for the ``S * H`` steps, in segment-major order.
        """
        segments, length = episode_starts.shape
        inner_starts = episode_starts[:, 1:]
        if not bool(inner_starts.any()):
            logits, values, _ = self.forward(observations, state)
            return logits, values
        policy = self.policy
        hidden, lookup = policy.policy.encode_observations(observations.reshape(segments * length,
                                                                               *observations.shape[2:]))
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

    # -- reporting and checkpoints ---------------------------------------------------

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

    def save_checkpoint(self) -> Path:
        """Write ``model.pt`` (weights) and ``checkpoint.pt`` (weights + trainer state) as one
        save: ``checkpoint.pt`` commits it (see ``save_files``); crashed saves leave nothing."""
        weights = {k: v.detach().cpu() for k, v in self.policy.state_dict().items()}
        state = {
            "model": weights,
            "optimizer": self.optimizer.state_dict(),
            "global_step": self.global_step,
            "update": self.update,
            "episodes": self.episodes,
            "torch_rng_state": torch.get_rng_state(),
            "reward_normalizer": (self.reward_normalizer.state_dict()
                                  if self.reward_normalizer is not None else None),
            "numpy_rng": self._rng.bit_generator.state,
            "wall_time": self.elapsed_before + time.perf_counter() - self.start_time,
            "scores": {key: list(values) for key, values in self.scores.items()},
        }
        score = self.score()
        if math.isfinite(score) and score > self.best_score:
            self.best_score = score
            save_best(self.exp_dir, weights, score, self.global_step)
        state["best_score"] = self.best_score
        save_files(self.exp_dir, state)
        save_history(self.exp_dir, state, self.global_step, self.config.checkpoint_history)
        self._last_checkpoint = time.monotonic()
        return self.exp_dir

    def load_checkpoint(self, path: str | os.PathLike) -> None:
        """Resume from an experiment folder or ``checkpoint.pt``: weights, optimizer, step count, schedule."""
        path = Path(path)
        if path.is_dir():
            path = path / CHECKPOINT_FILE
        if not path.is_file():
            raise APIUsageError(f"No checkpoint to resume from at {path}.")
        state = _load_file(path, self.device)
        if not _is_checkpoint(state):
            raise APIUsageError(
                f"{path} holds only policy weights (a model.pt), not a training checkpoint: resume "
                f"from the experiment folder or its {CHECKPOINT_FILE}; model.pt is for evaluation."
            )
        missing = [k for k in ("global_step", "update", "torch_rng_state") if k not in state]
        if missing:
            raise APIUsageError(f"Checkpoint {path} lacks {', '.join(missing)}: it was not written by "
                                "pufferlib's Trainer. Resume from a checkpoint.pt it saved.")
        weights = _check_state_dict(state["model"], path)
        check_weights_fit(self.policy, weights, path)
        self.policy.load_state_dict(weights)
        try:
            self.optimizer.load_state_dict(state["optimizer"])
        except (ValueError, KeyError, RuntimeError) as e:
            raise APIUsageError(f"The optimizer state in {path} does not fit this policy's optimizer "
                                f"({e}): resume with the same policy and optimizer settings.") from e
        self.global_step = int(state["global_step"])
        self.update = int(state["update"])
        self.episodes = int(state.get("episodes", 0))
        if self.reward_normalizer is not None and state.get("reward_normalizer") is not None:
            self.reward_normalizer.load_state_dict(state["reward_normalizer"])
        torch.set_rng_state(state["torch_rng_state"].cpu())
        if isinstance(state.get("numpy_rng"), dict):
            self._rng.bit_generator.state = state["numpy_rng"]
        self.elapsed_before = float(state.get("wall_time", 0.0))
        self.best_score = float(state.get("best_score", -math.inf))
        for key, values in (state.get("scores") or {}).items():
            self.scores[key].extend(float(v) for v in values)
        self._rollout_start_step = self.start_step = self.global_step
        self.start_time = time.perf_counter()
        self._last_report = (self.start_time, self.global_step)

    def run(self, callback: Callable[[Trainer], Any] | None = None, progress: bool = True,
            interval: float = 5.0) -> dict[str, float]:
        """Train until ``total_timesteps``; ``callback(trainer)`` runs after every update.

        With ``progress`` (the default) a progress line like ``puffer train --progress plain``
        is printed to stdout at most every ``interval`` seconds, and once at the end.
        Returning False from ``callback`` stops training.
        """
        dashboard = None
        if progress:
            from pufferlib.dashboard import Dashboard

            dashboard = Dashboard(self.exp_id, self.exp_id, self.config.total_timesteps, live=False,
                                  interval=interval)
        try:
            while not self.done:
                self.evaluate()
                self.train()
                if dashboard is not None:
                    dashboard.update(self.metrics())
                if callback is not None and callback(self) is False:
                    break
        finally:
            if dashboard is not None:
                dashboard.close()
        return self.metrics()

    def close(self, save: bool = True) -> Path | None:
        """Save a final checkpoint (unless ``save`` is False), close the vecenv and loggers.

        Under ``torch.distributed`` only rank 0 saves (every rank holds the same weights) and
        the other ranks return ``None``.
        """
        path = self.save_checkpoint() if save and self.rank == 0 else None
        self.vecenv.close()
        for logger in self.loggers:
            logger.close()
        return path
