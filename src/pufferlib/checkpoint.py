"""Checkpoint files: atomic saves, a bounded history, the best model, weights-only loading.

A run folder holds one save as two files: ``model.pt`` (the policy's weights, for evaluation)
and ``checkpoint.pt`` (weights plus trainer state, for resuming). ``save_run`` writes them so
that a crash at any instant leaves the previous complete save readable; ``load_weights`` and
``load_trainer_state`` read them with ``weights_only=True`` and turn every problem into an
``APIUsageError`` naming the file: a torn or foreign file, bytes changed since the save
(``checkpoint.pt`` records a SHA-256 digest of its contents), weights of another policy,
non-finite weights, or an impossible step count.

Beside them, ``save_history`` keeps the last few checkpoints under ``checkpoints/``
(``checkpoint_<step>.pt``, oldest pruned) and ``save_best`` writes ``best.pt`` (the
weights with the best score so far); ``find_checkpoint`` resolves the names ``best``
and ``latest`` that ``puffer eval --checkpoint`` accepts.
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import pickle
import re
import tempfile
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from pufferlib.exceptions import APIUsageError, NonFiniteError
from pufferlib.run.folders import BEST_FILE, CHECKPOINT_FILE, HISTORY_DIR, MODEL_FILE
from pufferlib.vector.workers import process_exists

_HISTORY_NAME = re.compile(r"checkpoint_(\d+)\.pt")
# A temporary a save writes: .<file name>.<writer pid>.<random>.tmp
_TEMPORARY = re.compile(r"\.(?:checkpoint|model|best|checkpoint_\d+)\.pt\.(?P<writer>[^.]+)\..*tmp")
MAX_STEPS = 10**15  # no run reaches this many steps: a larger count is a corrupt checkpoint
DIGEST_KEY = "digest"


def _temporary_prefix(path: Path) -> str:
    return f".{path.name}."


def clean_stale_temporaries(folder: str | os.PathLike) -> list[Path]:
    """Delete the temporary files that interrupted saves left in ``folder``; return them.

    Temporaries are named ``.<file>.<writer pid>.<random>.tmp`` (``model.pt``, ``checkpoint.pt``,
    ``best.pt`` and the history's ``checkpoint_<step>.pt`` alike); one whose writer process still
    runs (another save in progress) is kept.
    """
    removed = []
    folder = Path(folder)
    if not folder.is_dir():
        return removed
    for tmp in folder.glob(".*.tmp"):
        match = _TEMPORARY.fullmatch(tmp.name)
        if match is None:
            continue
        writer = match["writer"]
        if writer.isdigit() and int(writer) != os.getpid() and process_exists(int(writer)):
            continue
        tmp.unlink(missing_ok=True)
        removed.append(tmp)
    return removed


def _atomic_write(data: bytes, path: Path) -> None:
    """Write ``data`` to a temporary file beside ``path``, fsync it, rename it over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f"{_temporary_prefix(path)}{os.getpid()}.",
                               suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    # The rename itself must reach the disk before a later file may depend on it.
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def _serialized(obj: Any) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def atomic_save(obj: Any, path: str | os.PathLike) -> None:
    """``torch.save`` to a temporary file in the same folder, then rename it over ``path``.

    A reader sees the old file or the new one, never a partial one; a temporary left by a
    crash is removed by ``clean_stale_temporaries`` (every ``save_checkpoint`` runs it).
    """
    _atomic_write(_serialized(obj), Path(path))


def save_files(folder: str | os.PathLike, state: dict[str, Any]) -> None:
    """Write one save: ``model.pt`` (``state['model']``) then ``checkpoint.pt`` (``state``).

    ``checkpoint.pt`` is the commit record: it is written last and names the SHA-256 of the
    ``model.pt`` of the same save, so a reader can tell when a crash between the two
    renames left a ``model.pt`` newer than ``checkpoint.pt`` (``load_weights`` then uses
    the weights inside ``checkpoint.pt``). Stale temporaries are removed first.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    clean_stale_temporaries(folder)
    model = _serialized(state["model"])
    _atomic_write(model, folder / MODEL_FILE)
    _atomic_write(_serialized(with_digest({**state, "model_sha256": hashlib.sha256(model).hexdigest()})),
                  folder / CHECKPOINT_FILE)


def digest(obj: Any) -> str:
    """SHA-256 over every value of a (nested) checkpoint dict: tensors' bytes, numbers, strings."""
    h = hashlib.sha256()

    def visit(value: Any) -> None:
        if isinstance(value, torch.Tensor):
            data = value.detach().cpu().contiguous().reshape(-1)
            h.update(f"T{value.dtype}{tuple(value.shape)}".encode())
            h.update(data.view(torch.uint8).numpy().tobytes() if data.numel() else b"")
        elif isinstance(value, Mapping):
            for key in sorted(value, key=str):
                h.update(f"K{key!s}".encode())
                visit(value[key])
        elif isinstance(value, list | tuple):
            h.update(f"L{len(value)}".encode())
            for item in value:
                visit(item)
        else:
            h.update(f"V{value!r}".encode())

    visit(obj)
    return h.hexdigest()


def with_digest(state: Mapping[str, Any]) -> dict[str, Any]:
    """``state`` plus the digest of its contents (checked by ``load_trainer_state``)."""
    state = {key: value for key, value in state.items() if key != DIGEST_KEY}
    return {**state, DIGEST_KEY: digest(state)}


def save_run(folder: str | os.PathLike, state: dict[str, Any], history: int, best: bool = False,
             score: float = math.nan) -> None:
    """One complete save of a run: ``best.pt`` (if ``best``), ``model.pt`` + ``checkpoint.pt``, and a
    history copy (the ``history`` newest kept). Weights that are not finite are never written."""
    nonfinite = [name for name, tensor in state["model"].items()
                 if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all())]
    if nonfinite:
        raise NonFiniteError(f"not saving {folder}: the weights {', '.join(nonfinite[:3])} hold nan or inf; "
                             "the last save there is the last finite one.")
    if best:
        save_best(folder, state["model"], score, state["global_step"])
    save_files(folder, state)
    save_history(folder, state, state["global_step"], history)


class UnsafeCheckpointError(APIUsageError, pickle.UnpicklingError):
    """A checkpoint file that only loads by running code from it (``weights_only`` refused it)."""


def _load_file(path: Path, map_location: Any) -> Any:
    """``torch.load(path, weights_only=True)``, every failure an ``APIUsageError`` naming the file."""
    if not path.is_file():
        raise APIUsageError(
            f"No checkpoint at {path}: pass a model.pt/checkpoint.pt file or an experiment folder."
        )
    size = path.stat().st_size
    if size == 0:
        raise APIUsageError(f"Checkpoint {path} is empty (0 bytes): the save that wrote it was "
                            "interrupted. Use another checkpoint.")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        if "global" in str(e).lower():
            raise UnsafeCheckpointError(
                f"Checkpoint {path} holds Python objects that only load by running code from the "
                "file; pufferlib loads weights only (weights_only=True). Save plain state_dicts."
            ) from e
        raise APIUsageError(_corrupt_message(path, size, e)) from e
    except Exception as e:  # noqa: BLE001 - random bytes make torch.load raise nearly anything
        raise APIUsageError(_corrupt_message(path, size, e)) from e


def _corrupt_message(path: Path, size: int, error: BaseException) -> str:
    reason = str(error).split(". ", 1)[0].splitlines()[0] if str(error) else type(error).__name__
    return (f"Checkpoint {path} ({size} bytes) is not a readable PyTorch checkpoint ({reason}): it is "
            "truncated, corrupted or not written by torch.save. Use another checkpoint.")


def _is_checkpoint(data: Any) -> bool:
    return isinstance(data, dict) and "model" in data and "optimizer" in data


def _check_state_dict(weights: Any, path: Path) -> dict[str, torch.Tensor]:
    if not (isinstance(weights, Mapping) and weights
            and all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in weights.items())):
        raise APIUsageError(
            f"{path} does not hold policy weights (a state_dict of tensors), it holds "
            f"{type(weights).__name__}: pass a model.pt or checkpoint.pt written by pufferlib."
        )
    return dict(weights)


def check_weights_fit(policy: nn.Module, weights: Mapping[str, torch.Tensor],
                      path: str | os.PathLike) -> None:
    """Raise ``APIUsageError`` unless ``weights`` has exactly ``policy``'s tensors and shapes."""
    expected = policy.state_dict()
    missing = [k for k in expected if k not in weights]
    unexpected = [k for k in weights if k not in expected]
    mismatched = [f"{k} {tuple(weights[k].shape)} vs {tuple(v.shape)}" for k, v in expected.items()
                  if k in weights and tuple(weights[k].shape) != tuple(v.shape)]
    if missing or unexpected or mismatched:
        problems = []
        if mismatched:
            problems.append(f"shapes differ: {', '.join(mismatched[:3])}")
        if missing:
            problems.append(f"missing {', '.join(missing[:3])}")
        if unexpected:
            problems.append(f"unexpected {', '.join(unexpected[:3])}")
        raise APIUsageError(
            f"Weights in {path} do not fit this policy ({'; '.join(problems)}): they were saved for "
            "another env or policy configuration. Use the same env and policy settings as the run "
            "that saved them."
        )


def load_weights(path: str | os.PathLike, map_location: str | torch.device = "cpu",
                 policy: nn.Module | None = None) -> dict[str, torch.Tensor]:
    """A policy ``state_dict`` from ``model.pt``, ``checkpoint.pt`` or an experiment folder.

    A folder reads its ``checkpoint.pt`` (the last complete save), else its ``model.pt``. A
    ``model.pt`` left newer than its ``checkpoint.pt`` by a crash mid-save is not mixed with
    it: the weights of the last complete save are returned, with a warning. Given
    ``policy``, the weights are checked against it and loaded into it. Every problem (no
    file, an empty, truncated or foreign file, weights of another policy) is an
    ``APIUsageError`` naming the file and what is wrong.
    """
    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT_FILE if (path / CHECKPOINT_FILE).is_file() else path / MODEL_FILE
    data = _load_file(path, map_location)
    if _is_checkpoint(data):
        weights = data["model"]
    else:
        weights = data
        commit = path.parent / CHECKPOINT_FILE
        if path.name == MODEL_FILE and commit.is_file():
            weights = _committed_weights(path, commit, weights, map_location)
    weights = _check_state_dict(weights, path)
    if policy is not None:
        check_weights_fit(policy, weights, path)
        policy.load_state_dict(weights)
    return weights


def _committed_weights(model_path: Path, commit: Path, weights: Any, map_location: Any) -> Any:
    """``weights`` (read from ``model_path``) unless ``commit`` names another save's model."""
    try:
        state = _load_file(commit, map_location)
    except APIUsageError:
        return weights  # an unreadable checkpoint.pt cannot contradict model.pt
    digest = state.get("model_sha256") if _is_checkpoint(state) else None
    if digest is None or digest == hashlib.sha256(model_path.read_bytes()).hexdigest():
        return weights
    warnings.warn(
        f"{model_path} is from a save that was interrupted before {commit.name} was written; "
        f"loading the weights of the last complete save (in {commit}) instead.", stacklevel=3)
    return state["model"]


def save_history(folder: str | os.PathLike, state: Mapping[str, Any], step: int, keep: int) -> Path | None:
    """Write ``state`` atomically as ``checkpoints/checkpoint_<step>.pt``, keeping the ``keep`` newest.

    ``keep`` 0 writes nothing. Returns the file written.
    """
    if keep <= 0:
        return None
    history = Path(folder) / HISTORY_DIR
    history.mkdir(parents=True, exist_ok=True)
    clean_stale_temporaries(history)
    path = history / f"checkpoint_{int(step):012d}.pt"
    atomic_save(with_digest(state), path)
    for old in history_files(folder)[:-keep]:
        old.unlink(missing_ok=True)
    return path


def history_files(folder: str | os.PathLike) -> list[Path]:
    """The history checkpoints of an experiment folder, oldest first."""
    history = Path(folder) / HISTORY_DIR
    if not history.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in history.iterdir() if (m := _HISTORY_NAME.fullmatch(p.name))]
    return [p for _, p in sorted(found)]


def save_best(folder: str | os.PathLike, weights: Mapping[str, torch.Tensor], score: float,
              step: int) -> Path:
    """Write ``best.pt``: the policy ``weights`` with the run's best score, atomically.

    The file holds a plain state_dict, like ``model.pt``, so every loader reads it; the
    score and step are kept in the trainer's checkpoint (``best_score``).
    """
    path = Path(folder) / BEST_FILE
    clean_stale_temporaries(folder)
    atomic_save(dict(weights), path)
    return path


def find_checkpoint(path: str | os.PathLike) -> Path:
    """The weights file ``path`` names: a file, a folder (its latest save), ``FOLDER/best`` or ``/latest``.

    ``best`` is the folder's ``best.pt``; ``latest`` (and a plain folder) its ``checkpoint.pt``,
    else ``model.pt``. A name that does not exist is an ``APIUsageError`` saying what does.
    """
    path = Path(path)
    if path.name in ("best", "latest") and not path.exists():
        folder = path.parent
        if path.name == "best":
            if (folder / BEST_FILE).is_file():
                return folder / BEST_FILE
            raise APIUsageError(f"{path}: {folder} has no {BEST_FILE} yet (it is written at checkpoints "
                                "once episodes finish); use FOLDER/latest.")
        path = folder
    if path.is_dir():
        for name in (CHECKPOINT_FILE, MODEL_FILE):
            if (path / name).is_file():
                return path / name
        raise APIUsageError(f"{path} holds no {CHECKPOINT_FILE} or {MODEL_FILE}: pass an experiment folder "
                            "that a training run saved into.")
    if not path.is_file():
        raise APIUsageError(f"{path}: no such file or folder; pass a .pt file, an experiment folder, "
                            "FOLDER/best or FOLDER/latest.")
    return path


def load_policy(policy: nn.Module, path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Load the weights ``path`` names into ``policy`` (``load_weights``, then a finiteness check)."""
    weights = load_weights(path, policy=policy)
    _check_finite(weights, Path(path))
    return weights


def _check_finite(weights: Mapping[str, torch.Tensor], path: Path) -> None:
    bad = [name for name, tensor in weights.items()
           if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all())]
    if bad:
        raise APIUsageError(f"{path} holds nan or inf weights ({', '.join(bad[:3])}): the run diverged "
                            f"before "
                            "it was saved. Use an earlier checkpoint (checkpoints/ keeps a few).")


def load_trainer_state(path: str | os.PathLike, policy: nn.Module, map_location: Any = "cpu"
                       ) -> dict[str, Any]:
    """The trainer state in ``checkpoint.pt`` (or a run folder's), checked, with its weights loaded
    into ``policy``.

    Checked: it is a trainer checkpoint (not a ``model.pt``), its contents match the digest
    written with it, its weights fit ``policy`` and are finite, and its step counts are sane.
    """
    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT_FILE
    state = _load_file(path, map_location)
    if not _is_checkpoint(state):
        raise APIUsageError(f"{path} holds only policy weights (a model.pt), not a training checkpoint: "
                            f"resume "
                            f"from the run folder or its {CHECKPOINT_FILE}; model.pt is for evaluation.")
    missing = [key for key in ("global_step", "update", "torch_rng_state") if key not in state]
    if missing:
        raise APIUsageError(f"Checkpoint {path} lacks {', '.join(missing)}: it was not written by "
                            f"pufferlib's "
                            "Trainer. Resume from a checkpoint.pt it saved.")
    recorded = state.get(DIGEST_KEY)
    if recorded is not None and digest({k: v for k, v in state.items() if k != DIGEST_KEY}) != recorded:
        raise APIUsageError(f"Checkpoint {path} was changed or damaged after it was saved (its contents do "
                            f"not "
                            "match their digest). Use another checkpoint (checkpoints/ keeps a few).")
    for key in ("global_step", "update"):
        value = state[key]
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_STEPS:
            raise APIUsageError(f"Checkpoint {path}: {key} is {value!r}, not a step count a run can reach; "
                                "the file is corrupt. Use another checkpoint.")
    weights = _check_state_dict(state["model"], path)
    check_weights_fit(policy, weights, path)
    _check_finite(weights, path)
    policy.load_state_dict(weights)
    return state


def load_optimizer(optimizer: torch.optim.Optimizer, state: Any, path: str | os.PathLike) -> None:
    """``optimizer.load_state_dict(state)``; a state of another policy or optimizer is an "
      "``APIUsageError``."""
    try:
        optimizer.load_state_dict(state)
    except (ValueError, KeyError, RuntimeError, TypeError) as e:
        raise APIUsageError(f"The optimizer state in {path} does not fit this policy's optimizer ({e}): "
                            f"resume "
                            "with the same policy and optimizer settings.") from e
