"""Learning curves: the per-update record of a run (``metrics.jsonl``) and ``puffer plot``.

Every ``puffer train`` run appends one JSON line per update to ``<exp_dir>/metrics.jsonl``
(``MetricsLogger``): the step count, the run's wall time (continued across resumes) and
every episode statistic and loss. ``plot_runs`` draws the curves of one or many runs as a
PNG, score against steps and against wall time; runs that differ only in their seed are
one configuration, drawn as the mean over seeds with a shaded band (minimum to maximum
for two seeds, else one standard deviation)::

    plot.plot_runs(["experiments/run-a", "experiments/"], "curves.png")
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from pufferlib.exceptions import APIUsageError
from pufferlib.loggers import MetricsLogger  # noqa: F401 (importable from here too)
from pufferlib.run.folders import CURVE_FILE, METRICS_FILE  # noqa: F401

# Statistics tried in order for the y axis when none is named.
DEFAULT_METRICS = ("score", "episode_return")


def read_metrics(path: str | os.PathLike) -> list[dict[str, float]]:
    """The records of a ``metrics.jsonl`` (or its experiment folder), in step order.

    A run resumed from a checkpoint older than its last logged updates logs those steps
    again; the later records win. A torn last line (a killed writer) is skipped.
    """
    path = Path(path)
    if path.is_dir():
        path = path / METRICS_FILE
    records: list[dict[str, float]] = []
    try:
        lines = path.read_text().splitlines()
    except OSError as e:
        raise APIUsageError(f"Cannot read {path}: {e.strerror or e}.") from None
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if not isinstance(record, dict) or "global_step" not in record:
            continue
        while records and records[-1]["global_step"] >= record["global_step"]:
            records.pop()
        records.append(record)
    return records


def find_runs(paths: Sequence[str | os.PathLike]) -> list[Path]:
    """The experiment folders (those with a ``metrics.jsonl``) that ``paths`` name or contain."""
    runs: list[Path] = []
    for path in map(Path, paths):
        if (path / METRICS_FILE).is_file():
            runs.append(path)
        elif path.is_file() and path.name == METRICS_FILE:
            runs.append(path.parent)
        elif path.is_dir():
            found = sorted(p.parent for p in path.rglob(METRICS_FILE))
            if not found:
                raise APIUsageError(f"{path} holds no run with a {METRICS_FILE}: pass experiment folders "
                                    "written by `puffer train`.")
            runs.extend(found)
        else:
            raise APIUsageError(f"{path}: no such run or folder.")
    return list(dict.fromkeys(runs))


def run_label(folder: Path) -> tuple[str, int | None]:
    """``(configuration label, seed)`` of a run: seeds of one configuration share the label."""
    try:
        config = json.loads((folder / "config.json").read_text())
    except (OSError, ValueError):
        return folder.name, None
    train = dict(config.get("train", {}))
    seed = train.pop("seed", None)
    for key in ("data_dir", "total_timesteps"):
        train.pop(key, None)
    key = json.dumps({section: config.get(section) for section in ("env", "policy", "rnn")}
                     | {"train": train, "name": config.get("name")}, sort_keys=True, default=str)
    return key, seed


def seed_groups(runs: Sequence[Path]) -> tuple[dict[str, list[Path]], dict[str, str]]:
    """``({label: runs}, {label: display name})``: runs of one configuration with distinct seeds form
    one group (drawn as their mean); a run whose seed is unknown or already in its group (the same
    seed run again, e.g. for longer) stays a curve of its own, named by its folder."""
    groups: dict[str, list[Path]] = {}
    names: dict[str, str] = {}
    seeds: dict[str, set[int]] = {}
    for run in runs:
        label, seed = run_label(run)
        if seed is None or seed in seeds.setdefault(label, set()):
            label = f"{label}\n{run}"
            names[label] = run.name
        else:
            seeds[label].add(seed)
            names.setdefault(label, _display_name(run))
        groups.setdefault(label, []).append(run)
    return groups, names


def _display_name(folder: Path) -> str:
    """A run's name without its seed suffix (``lr-0.01-seed-2`` -> ``lr-0.01``), else its parent's name."""
    name = re.sub(r"[-_.]?seed[-_.]?\d+$", "", folder.name)
    return name or folder.parent.name or folder.name


def _pick_metric(records: Sequence[Mapping[str, float]], metric: str | None) -> str:
    keys = {k for record in records for k in record}
    if metric is not None:
        for candidate in (metric, f"environment/{metric}"):
            if candidate in keys:
                return candidate
        raise APIUsageError(f"No run records {metric!r}; recorded: "
                            f"{', '.join(sorted(k.removeprefix('environment/') for k in keys))}.")
    for name in DEFAULT_METRICS:
        if f"environment/{name}" in keys:
            return f"environment/{name}"
    raise APIUsageError("The runs record no episode statistic yet (no episode finished): train longer.")


def _aggregate(curves: list[tuple[np.ndarray, np.ndarray]], points: int = 200
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Mean and band of several ``(x, y)`` curves on a common grid over their shared x range."""
    if len(curves) == 1:
        x, y = curves[0]
        return x, y, y, y
    low = max(float(x[0]) for x, _ in curves)
    high = min(float(x[-1]) for x, _ in curves)
    if high <= low:
        high = max(float(x[-1]) for x, _ in curves)
    grid = np.linspace(low, high, points)
    ys = np.stack([np.interp(grid, x, y) for x, y in curves])
    mean = ys.mean(axis=0)
    if len(curves) == 2:
        return grid, mean, ys.min(axis=0), ys.max(axis=0)
    std = ys.std(axis=0)
    return grid, mean, mean - std, mean + std


def plot_runs(paths: Sequence[str | os.PathLike], output: str | os.PathLike, metric: str | None = None,
              title: str | None = None, size: tuple[int, int] = (1200, 450), dpi: int = 100) -> Path:
    """Draw learning curves of the runs in ``paths`` into the PNG ``output`` (``size`` pixels).

    Two panels: ``metric`` (default ``score``, else ``episode_return``) against environment
    steps and against wall time. Runs of one configuration (equal ``config.json`` up to the
    seed) with distinct seeds become one curve: the mean over seeds with a shaded band
    (``seed_groups``). Returns ``output``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = find_runs(paths)
    if not runs:
        raise APIUsageError("Name at least one run or folder to plot.")
    data = {run: read_metrics(run) for run in runs}
    all_records = [r for records in data.values() for r in records]
    key = _pick_metric(all_records, metric)
    groups, names = seed_groups(runs)
    figure, axes = plt.subplots(1, 2, figsize=(size[0] / dpi, size[1] / dpi), dpi=dpi)
    for number, (label, members) in enumerate(groups.items()):
        colour = f"C{number % 10}"
        name = names[label] + (f" ({len(members)} seeds)" if len(members) > 1 else "")
        for axis, x_key in zip(axes, ("global_step", "wall_time")):
            curves = []
            for run in members:
                points = [(r[x_key], r[key]) for r in data[run] if key in r and x_key in r]
                if len(points) >= 1:
                    x, y = np.array(points, dtype=float).T
                    curves.append((x, y))
            if not curves:
                continue
            x, mean, low, high = _aggregate(curves)
            axis.plot(x, mean, color=colour, label=name, linewidth=1.8)
            if len(curves) > 1:
                axis.fill_between(x, low, high, color=colour, alpha=0.25, linewidth=0)
    shown = key.removeprefix("environment/")
    for axis, x_label in zip(axes, ("environment steps", "wall time (s)")):
        axis.set_xlabel(x_label)
        axis.set_ylabel(shown)
        axis.grid(alpha=0.3)
    axes[0].legend(loc="best", fontsize="small")
    figure.suptitle(title or f"{shown} of {len(runs)} run{'s' if len(runs) > 1 else ''}")
    figure.tight_layout()
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(output, dpi=dpi)
    plt.close(figure)
    return output


def sparkline(values: Sequence[float], width: int = 24) -> str:
    """The last ``width`` values as a line of block characters (``▁`` lowest, ``█`` highest)."""
    blocks = "▁▂▃▄▅▆▇█"
    values = [v for v in values if math.isfinite(v)][-width:]
    if not values:
        return ""
    low, high = min(values), max(values)
    if high == low:
        return blocks[3] * len(values)
    return "".join(blocks[min(7, int((v - low) / (high - low) * 8))] for v in values)


def curve_summary(records: Sequence[Mapping[str, Any]]) -> str:
    """``N updates, M steps`` for a record list (printed by ``puffer plot``)."""
    if not records:
        return "no updates"
    return f"{len(records)} updates, {int(records[-1]['global_step']):,} steps"
