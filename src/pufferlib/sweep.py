"""``puffer sweep``: hyperparameter search with Optuna (TPE), one short training run per trial.

The search space is the environment's ``[NAME.sweep.space]`` table (merged over
``[default.sweep.space]``), keyed by ``"section.option"``::

    "train.learning_rate" = { distribution = "log_uniform", low = 1e-4, high = 3e-2 }
    "train.update_epochs" = { distribution = "int", low = 1, high = 8 }
    "train.clip_coef" = { distribution = "categorical", choices = [0.1, 0.2, 0.3] }

Each trial trains for ``sweep.timesteps`` steps (default ``train.total_timesteps``) and
is scored by the mean of ``sweep.metric`` (an episode statistic such as ``score`` or
``episode_return``) over the episodes of its last update. The best configuration is
printed as command-line flags and written to ``<data_dir>/<sweep_id>/best.json``.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

from pufferlib.exceptions import APIUsageError

DISTRIBUTIONS = ("uniform", "log_uniform", "int", "log_int", "categorical")


def suggest(trial: Any, name: str, spec: Mapping[str, Any]) -> Any:
    """One value for ``name`` drawn by an Optuna ``trial`` from ``spec``."""
    kind = spec.get("distribution", "uniform")
    if kind == "categorical":
        return trial.suggest_categorical(name, list(spec["choices"]))
    if kind not in DISTRIBUTIONS or "low" not in spec or "high" not in spec:
        raise APIUsageError(
            f"sweep.space.{name}: need distribution (one of {', '.join(DISTRIBUTIONS)}) with low and high "
            f"(or choices for categorical), got {dict(spec)}."
        )
    if kind in ("int", "log_int"):
        return trial.suggest_int(name, int(spec["low"]), int(spec["high"]), log=kind == "log_int")
    return trial.suggest_float(name, float(spec["low"]), float(spec["high"]), log=kind == "log_uniform")


def _flags(params: Mapping[str, Any]) -> str:
    parts = []
    for name, value in params.items():
        section, key = name.split(".", 1)
        parts.append(f"--{section}.{key.replace('_', '-')} {value:.6g}" if isinstance(value, float)
                     else f"--{section}.{key.replace('_', '-')} {value}")
    return " ".join(parts)


def run_sweep(config: Mapping[str, Any], binding: ModuleType, sweep_id: str) -> dict[str, Any]:
    """Run the sweep described by ``config['sweep']``; returns the best trial's parameters and value."""
    import optuna

    from pufferlib.cli import run_training

    sweep = config["sweep"]
    space = sweep.get("space", {})
    if not space:
        raise APIUsageError(
            f"No sweep space configured for {config['name']!r}: add [{config['name']}.sweep.space]."
        )
    for name in space:
        section, _, key = name.partition(".")
        if section not in ("env", "policy", "rnn", "vec", "train") or not key:
            raise APIUsageError(f"sweep.space key {name!r} must look like 'train.learning_rate'.")
    metric = sweep.get("metric", "episode_return")
    direction = sweep.get("direction", "maximize")
    trials = int(sweep.get("trials", 16))
    timesteps = int(sweep.get("timesteps", config["train"].get("total_timesteps", 1_000_000)))
    folder = Path(config["train"].get("data_dir", "experiments")) / sweep_id
    worst = -math.inf if direction == "maximize" else math.inf

    def objective(trial: Any) -> float:
        trial_config = copy.deepcopy(dict(config))
        for name, spec in space.items():
            section, key = name.split(".", 1)
            trial_config[section][key] = suggest(trial, name, spec)
        trial_config["train"]["total_timesteps"] = timesteps
        trial_config["train"]["data_dir"] = str(folder)
        try:
            trainer = run_training(trial_config, binding, f"trial-{trial.number:03d}", progress="none")
        except APIUsageError as e:
            # A sampled combination the trainer rejects (e.g. inconsistent batch sizes) scores worst.
            print(f"trial {trial.number}: rejected ({e})")
            return worst
        value = trainer.stats.get(metric, worst)
        print(f"trial {trial.number}: {metric} {value:.4g} with {_flags(trial.params)}", flush=True)
        return value

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    seed = int(config["train"].get("seed", 1))
    study = optuna.create_study(direction=direction, sampler=optuna.samplers.TPESampler(seed=seed))
    study.optimize(objective, n_trials=trials)
    best = {"metric": metric, "value": study.best_value, "params": study.best_params,
            "flags": _flags(study.best_params), "trial": study.best_trial.number}
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "best.json").write_text(json.dumps(best, indent=2))
    print(f"Best {metric}: {study.best_value:.4g} (trial {best['trial']})")
    print(f"Train with: puffer train --env {config['name']} {best['flags']}")
    return best
