"""The typed config sections whose keys are the library's own: ``vec``, ``train`` and ``sweep``.

Each key is declared once, here, with its type, default and one-line help (``option``); the
command line, the TOML check, ``--help`` and ``config.json`` are derived from these
declarations (``pufferlib.run.options``). The ``env``, ``policy`` and ``rnn`` sections are the
keyword arguments of the env factory, the policy and its LSTM, declared by their signatures.

Adding a train option is one field below: it appears as ``--train.NAME``, in ``--help``, in
TOML files and in ``config.json``, and reaches ``Trainer.config.NAME`` with no other edit.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any

from pufferlib.exceptions import APIUsageError
from pufferlib.run.options import check_section, option, options_of_dataclass

DEVICE = re.compile(r"cpu|cuda(:\d+)?|mps")
BACKENDS = ("serial", "multiprocessing", "ray")


class Section:
    """Checks a section dataclass's fields against their declarations after every construction."""

    SECTION = ""

    def __post_init__(self) -> None:
        values = {field.name: getattr(self, field.name) for field in dataclasses.fields(self)}  # type: ignore[arg-type]  # every subclass is a dataclass
        checked = check_section(self.SECTION, values, options_of_dataclass(type(self)))
        for key, value in checked.items():
            object.__setattr__(self, key, value)
        self.check()

    def check(self) -> None:
        """Checks that involve several fields (a subclass's rules)."""

    @classmethod
    def from_table(cls, table: dict[str, Any]) -> Any:
        """The section from a TOML/JSON table: unknown keys are errors that name the closest key."""
        check_section(cls.SECTION, table, options_of_dataclass(cls))
        return cls(**table)

    def replace(self, **changes: Any) -> Any:
        """A copy with ``changes``, checked again."""
        return dataclasses.replace(self, **changes)  # type: ignore[type-var]  # every subclass is a dataclass


@dataclass
class TrainConfig(Section):
    """PPO hyperparameters. ``batch_size`` and ``minibatch_size`` count agent steps."""

    SECTION = "train"

    seed: int = option(1, "seed of torch, numpy and the envs", low=0)
    torch_deterministic: bool = option(True, "deterministic cuDNN kernels")
    device: str = option("cpu", "torch device: cpu, cuda, cuda:N or mps")
    torch_threads: int = option(1, "torch intra-op threads, process-wide; 0: torch's default (1 is fastest "
                                   "for small models on a CPU)", low=0)
    total_timesteps: int = option(1_000_000, "the run's total steps (agent steps): --resume trains until "
                                             "the run has this many, not this many more", low=1)
    batch_size: int = option(8192, "agent steps per update; a multiple of agents x bptt_horizon", low=1)
    minibatch_size: int = option(2048, "agent steps per gradient step; divides batch_size", low=1)
    bptt_horizon: int = option(16, "length of the sequences a recurrent policy is trained on", low=1)
    update_epochs: int = option(4, "passes over each batch", low=1)
    learning_rate: float = option(2.5e-4, "Adam's learning rate", low=0, low_open=True, high=10)
    anneal_lr: bool = option(True, "decay the learning rate linearly to 0 over the run")
    adam_eps: float = option(1e-5, "Adam's epsilon", low=0, low_open=True)
    gamma: float = option(0.99, "discount factor", low=0, high=1)
    gae_lambda: float = option(0.95, "GAE's lambda", low=0, high=1)
    reward_scale: float = option(1.0, "rewards are multiplied by this before GAE", low=0, high=1e6)
    normalize_rewards: bool = option(False, "divide rewards by the running spread of each agent's "
                                            "discounted return, clipped to [-10, 10] (CleanRL's "
                                            "NormalizeReward)")
    observation_stats_until: float = option(1.0, "fraction of the run after which observation-normalisation "
                                                 "statistics stop updating", low=0, high=1)
    norm_adv: bool = option(True, "normalise advantages per minibatch")
    clip_coef: float = option(0.2, "PPO's policy clip range", low=0)
    clip_vloss: bool = option(True, "clip the value loss around the old values")
    vf_coef: float = option(0.5, "value loss weight", low=0)
    vf_clip_coef: float = option(0.2, "value clip range (with clip_vloss)", low=0)
    ent_coef: float = option(0.01, "entropy bonus weight", low=0)
    max_grad_norm: float = option(0.5, "gradient norm clip", low=0)
    target_kl: float = option(0.0, "stop the update's epochs once approx-KL exceeds this; 0: never", low=0)
    learner: str = option("eager", "the PPO update: eager (op by op) or compiled (forward, loss, backward, "
                                   "clip and Adam as one torch.compile graph; feed-forward policies)",
                          choices=("eager", "compiled"))
    overlap: bool = option(False, "learn on each rollout in a thread while the next is collected by a "
                                  "copy of the policy one update behind (feed-forward policies, one "
                                  "process)")
    compile: bool = option(False, "torch.compile the policy's forward pass")
    compile_mode: str = option("default", "torch.compile mode",
                               choices=("default", "reduce-overhead", "max-autotune",
                                        "max-autotune-no-cudagraphs"))
    cpu_offload: bool = option(False, "keep rollout observations in pinned host memory on a GPU run")
    checkpoint_interval: int = option(0, "updates between checkpoints; 0: by checkpoint_seconds alone", low=0)
    checkpoint_seconds: float = option(300.0, "wall-clock seconds between checkpoints; 0: by "
                                              "checkpoint_interval alone", low=0)
    checkpoint_history: int = option(3, "earlier checkpoints kept in checkpoints/", low=0)
    score_metric: str = option("", "episode statistic that picks best.pt; empty: score, else episode_return")
    distributed_timeout: float = option(300.0, "torchrun: seconds a rank waits for a silent peer before the "
                                               "run "
                                               "stops with an error (and saves)", low=0, low_open=True)
    data_dir: str = option("experiments", "folder that holds the runs")

    def check(self) -> None:
        if self.batch_size % self.minibatch_size:
            raise APIUsageError(f"train.batch_size ({self.batch_size}) must be a multiple of "
                                f"train.minibatch_size ({self.minibatch_size}).")
        if self.minibatch_size % self.bptt_horizon:
            raise APIUsageError(f"train.minibatch_size ({self.minibatch_size}) must be a multiple of "
                                f"train.bptt_horizon ({self.bptt_horizon}).")
        if not DEVICE.fullmatch(self.device):
            raise APIUsageError(f"train.device {self.device!r} is not a torch device: use cpu, cuda, cuda:N "
                                f"or mps.")


@dataclass
class VecConfig(Section):
    """How the envs are vectorized (``pufferlib.vector.make``)."""

    SECTION = "vec"

    backend: str = option("serial", "serial, multiprocessing or ray", choices=BACKENDS)
    num_copies: int = option(8, "env objects the vecenv builds (a native env hosts env.num_envs games "
                                "in each); was vec.num_envs", low=1)
    num_workers: int = option(0, "worker processes; 0: the backend's default", low=0)
    batch_size: int = option(0, "env objects per batch; 0: all of them (no asynchronous pool)", low=0)
    zero_copy: bool = option(True, "multiprocessing: batches are views of shared memory")
    timeout: float = option(300.0, "seconds a worker may stay silent (building, resetting or stepping its "
                                   "envs) before the run stops with an error and saves; 0: no limit", low=0)
    address: str = option("", "ray: an existing cluster to join; empty: start one or use RAY_ADDRESS")
    recover: bool = option(False, "ray: restart workers lost with a node and reset their envs")

    def make_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of ``pufferlib.vector.make`` (zero values: the backend's default)."""
        kwargs: dict[str, Any] = {key: getattr(self, key) for key in ("num_workers", "batch_size")
                                  if getattr(self, key)}
        if self.backend == "multiprocessing":
            kwargs["zero_copy"] = self.zero_copy
        if self.backend == "ray":
            kwargs.update({key: getattr(self, key) for key in ("address", "recover") if getattr(self, key)})
        if self.timeout and self.backend != "serial":
            kwargs["timeout"] = self.timeout
        return kwargs


@dataclass
class SweepConfig(Section):
    """``puffer sweep``: what to optimise and how (see ``pufferlib.sweep``)."""

    SECTION = "sweep"

    metric: str = option("episode_return", "episode statistic to optimise (score, episode_return, ...)")
    direction: str = option("maximize", "maximize or minimize", choices=("maximize", "minimize"))
    trials: int = option(16, "finished trials the study should have", low=1)
    timesteps: int = option(0, "training steps per trial; 0: train.total_timesteps", low=0)
    storage: str = option("", "SQLAlchemy URL of the study; empty: sqlite:///SWEEP_FOLDER/study.db")
    pruner: str = option("median", "stop trials behind the median of earlier ones, or none",
                         choices=("median", "none"))
    space: dict = option({}, "the search space: {\"section.key\": {distribution, low, high | choices}}")
