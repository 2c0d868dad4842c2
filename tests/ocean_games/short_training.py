"""Learning tests on a step budget: a shipped ``["ocean:NAME"]`` configuration trained for fewer
steps than it ships with (its table states the budget the reference scores were compared at)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parents[1]))  # tests/: test_ocean_native's helpers

from test_ocean_native import play_stats, shipped_config, train_shipped  # noqa: E402


def train(
    name: str, steps: int, tmp_path: Path, env: dict | None = None, **train_overrides: Any
) -> tuple[Any, dict]:
    """Train ``ocean:NAME``'s shipped configuration for ``steps`` agent steps, with ``env`` and
    ``train_overrides`` over its env and train sections; (policy, the configuration used)."""
    return train_shipped(name, tmp_path, steps, env, **train_overrides)


__all__ = ["play_stats", "shipped_config", "train"]
