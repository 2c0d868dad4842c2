"""Where a run's metrics go: one ``log(metrics, step)`` per update, ``close()`` at the end.

``MetricsLogger`` appends JSON lines to the run's ``metrics.jsonl`` (what ``puffer plot`` and
``puffer eval`` read); ``TensorBoardLogger`` and ``WandbLogger`` are the optional back ends of
``puffer train --tensorboard`` / ``--wandb``. Any object with the two methods is a ``Logger``.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol


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

        wandb = try_import("wandb", "wandb", "--wandb")
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


class MetricsLogger:
    """Appends each update's finite metrics as one JSON line to ``path`` (a resumed run continues it)."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.file = open(self.path, "a")  # noqa: SIM115 (kept open for the run; closed by close())

    def log(self, metrics: Mapping[str, float], step: int) -> None:
        record = {key: float(value) for key, value in metrics.items()
                  if isinstance(value, int | float) and math.isfinite(value)}
        record["global_step"] = float(step)
        self.file.write(json.dumps(record) + "\n")
        self.file.flush()

    def close(self) -> None:
        self.file.close()
