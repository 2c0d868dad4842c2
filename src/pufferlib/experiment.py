"""The run layer's earlier, dict-based API, kept so that code written against it runs unchanged.

New code uses ``pufferlib.run`` (typed ``RunConfig``)::

    config = experiment.load_config("squared")          # a dict, as config.json holds it
    config["train"]["total_timesteps"] = 50_000
    trainer = experiment.run_training(config, "my-run")
    finished = experiment.evaluate(config, checkpoint=trainer.exp_dir, episodes=10).episodes

Every function here converts the dict with ``RunConfig.from_dict`` (which checks it) and calls
the run layer.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from pufferlib import run
from pufferlib.run.catalog import SECTIONS, env_names, merge  # noqa: F401
from pufferlib.run.catalog import shipped as load_config_files  # noqa: F401
from pufferlib.run.config import RunConfig, config_dict
from pufferlib.run.envs import (  # noqa: F401
    RecordedEpisodeStats,
    as_puffer_env,
    default_policy,
    default_recurrent,
    make_callable_env,
    make_gymnasium_env,
)
from pufferlib.run.evaluation import Evaluation, write_video  # noqa: F401
from pufferlib.run.folders import CONFIG_FILE as CONFIG_JSON  # noqa: F401
from pufferlib.run.folders import check_run_id as check_exp_id  # noqa: F401
from pufferlib.run.folders import new_run_id as new_exp_id  # noqa: F401
from pufferlib.run.folders import write_json  # noqa: F401
from pufferlib.run.sections import TrainConfig
from pufferlib.run.spec import EnvTarget, import_packages, load_binding, resolve_spec  # noqa: F401
from pufferlib.run.training import Terminated, say, sigterm_interrupts  # noqa: F401


def _config(config: Mapping[str, Any] | RunConfig) -> RunConfig:
    return config if isinstance(config, RunConfig) else RunConfig.from_dict(config)


def load_config(spec: str, imports: Sequence[str] = (), config_file: str | os.PathLike | None = None
                ) -> dict[str, Any]:
    """The merged, checked configuration for env spec ``spec``, as a ``config.json``-shaped dict."""
    return RunConfig.from_dict(config_dict(spec, imports, config_file)).to_dict()


def check_config(config: Mapping[str, Any]) -> None:
    """``APIUsageError`` for values no run can use, before anything is built or written."""
    _config(config)


def train_config(config: Mapping[str, Any]) -> TrainConfig:
    """``TrainConfig`` from the ``train`` section (checked there)."""
    return TrainConfig.from_table(dict(config["train"]))


def env_target(config: Mapping[str, Any]) -> EnvTarget:
    return _config(config).target


def make_vecenv(config: Mapping[str, Any], env_overrides: Mapping[str, Any] | None = None,
                vec_overrides: Mapping[str, Any] | None = None) -> Any:
    """A vecenv for the configured environment (``vec_overrides`` replace vec settings)."""
    overrides = {"vec": dict(vec_overrides)} if vec_overrides else {}
    return run.make_vecenv(_config(config).updated(overrides), env_overrides)


def make_policy(config: Mapping[str, Any], env: Any) -> Any:
    return run.make_policy(_config(config), env)


def run_training(config: Mapping[str, Any], exp_id: str, resume: str | Path | None = None,
                 loggers: Sequence[Callable[[Path], Any]] = (), progress: str = "auto",
                 progress_interval: float = 5.0, save: bool = True,
                 callback: Callable[[Any], Any] | None = None, overwrite: bool = False) -> Any:
    """``run.train`` on a dict config (see ``pufferlib.run.training.train``)."""
    return run.train(_config(config), exp_id, resume, loggers, progress, progress_interval, save, callback,
                     overwrite)


def evaluate(config: Mapping[str, Any], checkpoint: str | os.PathLike | None = None, episodes: int = 10,
             max_steps: int = 100_000, **kwargs: Any) -> Evaluation:
    """``run.evaluate`` on a dict config (``kwargs``: see ``pufferlib.run.evaluation.evaluate``)."""
    return run.evaluate(_config(config), checkpoint, episodes, max_steps, **kwargs)


def autotune(config: Mapping[str, Any], batch_size: int | None = None, **kwargs: Any) -> dict[str, Any]:
    return run.autotune(_config(config), batch_size, **kwargs)


def autotune_flags(best: Mapping[str, Any]) -> list[str]:
    return run.autotune_flags(best)
