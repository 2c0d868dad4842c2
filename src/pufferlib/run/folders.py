"""Run folders: their names, their files, and the rules that keep runs from being lost or mixed.

A run lives in ``<data_dir>/<exp_id>/``::

    config.json       the RunConfig it was started with (enough to resume or evaluate it)
    model.pt          the policy's weights (evaluation)
    checkpoint.pt     weights + trainer state (resuming); commits each save
    best.pt           the weights with the best score so far
    checkpoints/      the last few checkpoints, checkpoint_<step>.pt
    metrics.jsonl     one line per update (``puffer plot``)
    curve.png         the learning curve, drawn at the end

Rules: a new run never replaces an existing one (``claim`` refuses a folder that holds a run,
unless ``overwrite``; ``--resume`` continues one instead), and a folder is data, not code: the
``MODULE:CALLABLE`` spec or ``imports`` its ``config.json`` names run only when the user names
them again on the command line or trusts the folder (``trusted_env``).
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import sys
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pufferlib.exceptions import APIUsageError

CONFIG_FILE = "config.json"
MODEL_FILE = "model.pt"
CHECKPOINT_FILE = "checkpoint.pt"
BEST_FILE = "best.pt"
HISTORY_DIR = "checkpoints"
METRICS_FILE = "metrics.jsonl"
CURVE_FILE = "curve.png"
RUN_FILES = (CONFIG_FILE, MODEL_FILE, CHECKPOINT_FILE, BEST_FILE, METRICS_FILE)


def new_run_id(name: str) -> str:
    """``NAME-DATE-TIME-XXXX``: a fresh, unique folder name for a run of env ``name``."""
    safe = re.sub(r"[^\w.-]", "-", name).strip(".")
    return f"{safe}-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:4]}"


def check_run_id(exp_id: str) -> str:
    """``exp_id`` if it is a plain folder name (no path separators, not ``.``/``..``)."""
    separators = {"/", os.sep, *([os.altsep] if os.altsep else [])}
    if not exp_id or exp_id in (".", "..") or ".." in exp_id or any(s in exp_id for s in separators):
        raise APIUsageError(
            f"--exp-id {exp_id!r} must be a plain folder name (no '/', no '..'): it is created in --data-dir."
        )
    return exp_id


def holds_run(folder: Path) -> bool:
    """True when ``folder`` holds any file a run writes."""
    return folder.is_dir() and any((folder / name).exists() for name in (*RUN_FILES, HISTORY_DIR))


def claim(data_dir: str | os.PathLike, exp_id: str, overwrite: bool = False) -> Path:
    """The folder for a new run ``exp_id``, created now; an existing run there is an error.

    With ``overwrite`` the old run's files are deleted first. Creating the folder is the claim:
    of two processes starting the same ``exp_id`` at once, one gets an error.
    """
    check_run_id(exp_id)
    root = Path(data_dir)
    if root.exists() and not root.is_dir():
        raise APIUsageError(f"--data-dir {root} is a file: name a folder (it is created if missing).")
    folder = root / exp_id
    if holds_run(folder):
        if not overwrite:
            raise APIUsageError(
                f"{folder} already holds a run: continue it with --resume {folder}, choose another --exp-id, "
                "or pass --overwrite to replace it."
            )
        shutil.rmtree(folder)
    root.mkdir(parents=True, exist_ok=True)
    try:
        folder.mkdir()
    except FileExistsError:
        if holds_run(folder) or not folder.is_dir():
            raise APIUsageError(f"{folder} was just taken by another run: choose another --exp-id.") from None
    return folder


def write_json(path: Path, data: Any) -> None:
    """``data`` as indented JSON, written atomically (a reader never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str))
    os.replace(tmp, path)


def saved_config(folder: str | os.PathLike) -> dict[str, Any] | None:
    """The ``config.json`` of a run folder, or None."""
    try:
        data = json.loads((Path(folder) / CONFIG_FILE).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def run_folder(path: str | os.PathLike) -> Path:
    """The run folder a path names: itself, the folder of a file in it, or the run of a history file."""
    path = Path(path)
    if path.is_dir() and path.name != HISTORY_DIR:
        return path
    folder = path if path.is_dir() else path.parent
    return folder.parent if folder.name == HISTORY_DIR else folder


def latest_run(data_dir: str | os.PathLike, name: str) -> Path | None:
    """The newest run folder of environment ``name`` that has a saved model."""
    root = Path(data_dir)
    if not root.is_dir():
        return None
    candidates = []
    for folder in root.iterdir():
        saved = saved_config(folder)
        model = folder / MODEL_FILE
        if saved is not None and saved.get("name") == name and model.is_file():
            candidates.append((model.stat().st_mtime, folder))
    return max(candidates)[1] if candidates else None


def resume_checkpoint(path: str | os.PathLike) -> Path:
    """The ``checkpoint.pt`` a ``--resume PATH`` names (a run folder, its checkpoint.pt, or a history "
      "file)."""
    path = Path(path)
    if not path.exists():
        raise APIUsageError(f"--resume {path}: no such file or folder; pass a run folder or its "
                            f"checkpoint.pt.")
    if path.is_dir():
        path = path / CHECKPOINT_FILE
    if path.name == MODEL_FILE:
        raise APIUsageError(f"--resume {path}: model.pt holds weights only; pass the run folder or its "
                            "checkpoint.pt.")
    if not path.is_file():
        raise APIUsageError(f"--resume {path}: no checkpoint there; pass a run folder or its checkpoint.pt.")
    return path


def saved_env(folder: str | os.PathLike) -> tuple[str, str, list[str]] | None:
    """``(kind, env spec, imports)`` recorded by a run folder's ``config.json``, or None."""
    saved = saved_config(run_folder(folder))
    if saved is None or ("env_spec" not in saved and "name" not in saved):
        return None
    kind = str(saved.get("kind", "binding"))
    spec = str(saved.get("env_spec", saved.get("name")))
    imports = saved.get("imports", [])
    return kind, spec, [str(i) for i in imports] if isinstance(imports, list) else []


def trusted_env(folder: Path, kind: str, spec: str, imports: list[str], named_spec: str | None,
                named_imports: list[str], trust: bool) -> None:
    """Refuse to run code a folder names unless the user named it too (or ``trust``).

    A ``MODULE:CALLABLE`` spec and ``imports`` import and run the user's code; read from a shared
    run folder they could run anything. Bindings and Gymnasium ids are safe to follow.
    """
    if trust:
        return
    untrusted = []
    if kind == "callable" and named_spec not in (spec, f"py:{spec}"):
        untrusted.append(f"--env py:{spec}")
    untrusted += [f"--import {name}" for name in imports if name not in named_imports]
    if untrusted:
        raise APIUsageError(
            f"{folder / CONFIG_FILE} names code to run ({' '.join(untrusted)}): a run folder is data, so "
            f"pass {' '.join(untrusted)} yourself to confirm, or --trust-run if you trust this folder."
        )


def creator_spec(creator: Callable | None) -> str | None:
    """``MODULE:CALLABLE`` naming an env factory, when it can be imported by name; else None.

    A factory defined in the script being run (``__main__``) is named by the script's file
    (importable from its folder: its ``if __name__ == "__main__"`` block does not run again).
    """
    while isinstance(creator, functools.partial):
        if creator.args:
            return None
        creator = creator.func
    module, name = getattr(creator, "__module__", None), getattr(creator, "__qualname__", "")
    if not module or not name or "<" in name:
        return None
    if module == "__main__":
        script = getattr(sys.modules.get("__main__"), "__file__", None)
        if not script:
            return None
        module = Path(script).stem
    return f"{module}:{name}"


def python_run_config(name: str, creator: Callable | None, env_kwargs: Mapping[str, Any] | None,
                      train: Mapping[str, Any]) -> dict[str, Any]:
    """The ``config.json`` of a run started from Python (a ``Trainer`` without the run layer).

    It names the env factory when it can (``creator_spec``), so that ``puffer eval --env SPEC
    --checkpoint FOLDER`` and ``puffer plot`` work on the folder; the policy is whatever the
    script built (pass its options to ``puffer eval``).
    """
    spec = creator_spec(creator)
    config: dict[str, Any] = {"name": spec or name, "train": dict(train), "written_by": "Trainer"}
    if spec is not None:
        keywords = dict(getattr(creator, "keywords", None) or {})
        config.update(kind="callable", env_spec=spec, imports=[],
                      env={**keywords, **dict(env_kwargs or {})})
    return config
