"""Learning tests on a step budget: a shipped ``["ocean:NAME"]`` configuration trained for fewer
steps than it ships with (its table states the budget the reference scores were compared at)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parents[1]))  # tests/: test_ocean_native's helpers

from test_ocean_native import play_stats, shipped_config  # noqa: E402


def train(
    name: str, steps: int, tmp_path: Path, env: dict | None = None, **train_overrides: Any
) -> tuple[Any, dict]:
    """Train ``ocean:NAME``'s shipped configuration for ``steps`` agent steps, with ``env`` and
    ``train_overrides`` over its env and train sections; (policy, the configuration used)."""
    import torch  # noqa: F401 (only the learning tests need torch)

    import pufferlib.vector
    from pufferlib.environments import ocean
    from pufferlib.trainer import TrainConfig, Trainer, seed_everything

    config = shipped_config(name)
    config["train"].update(total_timesteps=steps, **train_overrides)
    config["env"].update(env or {})
    seed_everything(config["train"]["seed"])
    vecenv = pufferlib.vector.make(
        ocean.env_creator(config["env_name"]), env_kwargs=config["env"], num_envs=config["vec"]["num_envs"]
    )
    policy_kwargs = {k: v for k, v in config["policy"].items() if k != "recurrent"}
    policy = ocean.Policy(vecenv.driver_env, **policy_kwargs)
    trainer = Trainer(vecenv, policy, TrainConfig(**{**config["train"], "data_dir": str(tmp_path)}))
    trainer.run()
    trainer.close(save=False)
    return policy, config


__all__ = ["play_stats", "train"]
