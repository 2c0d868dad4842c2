"""Checkpoints (issue 9, item 4): a save is consistent as a whole, crashed saves leave no
temporaries, loading stays ``weights_only``, and every unreadable or misfitting file is an
``APIUsageError`` naming it. The crash test kills real saving processes with SIGKILL."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

import pufferlib.models
import pufferlib.vector
from pufferlib import checkpoint
from pufferlib.checkpoint import (
    CHECKPOINT_FILE,
    MODEL_FILE,
    UnsafeCheckpointError,
    clean_stale_temporaries,
    load_weights,
)
from pufferlib.environments import ocean
from pufferlib.exceptions import APIUsageError
from pufferlib.trainer import TrainConfig, Trainer

HIDDEN = 768  # big enough that a save takes a while: kills land inside writes
KILLS = 6

SAVER = textwrap.dedent(f"""
    import os, stat, sys, time, torch
    sys.path.insert(0, {str(Path(__file__).parent)!r})
    from test_checkpoints import make_trainer

    real_fsync = os.fsync

    def announced_fsync(fd):
        # A file's data is on disk but not yet renamed into place: say so, and linger, so the
        # test can kill us inside a write on purpose.
        real_fsync(fd)
        if stat.S_ISREG(os.fstat(fd).st_mode):
            print("writing", os.readlink(f"/proc/self/fd/{{fd}}"), flush=True)
            time.sleep(0.05)

    os.fsync = announced_fsync
    trainer = make_trainer(sys.argv[1], sys.argv[2], int(sys.argv[3]), exist_ok=True)  # saves over the last
    step = int(sys.argv[4])
    while True:
        step += 1
        with torch.no_grad():
            for parameter in trainer.policy.parameters():
                parameter.fill_(step)
        trainer.global_step = step
        print("step", step, flush=True)
        trainer.save_checkpoint()
""")


def make_trainer(data_dir: str, exp_id: str, hidden_size: int = 16, exist_ok: bool = False) -> Trainer:
    vecenv = pufferlib.vector.make(ocean.env_creator("squared"), num_envs=2)
    policy = pufferlib.models.Default(vecenv.driver_env, hidden_size=hidden_size)
    config = TrainConfig(data_dir=data_dir, batch_size=64, minibatch_size=32, bptt_horizon=8,
                         total_timesteps=1000)
    return Trainer(vecenv, policy, config, exp_id=exp_id, exist_ok=exist_ok)


def _step_of(weights: dict[str, torch.Tensor]) -> int:
    """The step a save was made at (the saver fills every weight with it)."""
    values = {float(v.reshape(-1)[0]) for v in weights.values()}
    assert len(values) == 1, f"weights mix saves: {sorted(values)}"
    return int(values.pop())


def _temporaries(folder: Path) -> list[Path]:
    return sorted(folder.glob(".*.tmp"))


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_sigkill_during_saves_never_mixes_saves_and_leaves_no_temporaries(tmp_path):
    """Every other kill lands inside a write on purpose (the saver announces each file it has
    written but not yet renamed); the others land at random moments of the save loop."""
    folder = tmp_path / "exp"
    reader = make_trainer(str(tmp_path), "exp", HIDDEN)
    rng = random.Random(0)
    step = 0
    for kill in range(KILLS):
        saver = subprocess.Popen([sys.executable, "-c", SAVER, str(tmp_path), "exp", str(HIDDEN), str(step)],
                                 stdout=subprocess.PIPE, text=True)
        inside_a_write = kill % 2 == 0
        try:
            _read_until(saver, lambda line: line.startswith("step"))
            _read_until(saver, lambda line: line.startswith("step"))  # one save has completed
            if inside_a_write:
                _read_until(saver, lambda line: line.startswith("writing") and
                            Path(line.split(maxsplit=1)[1].strip()).parent == folder)
            else:
                time.sleep(rng.uniform(0.0, 0.4))
        finally:
            saver.send_signal(signal.SIGKILL)
            saver.wait()
        if inside_a_write:
            assert _temporaries(folder), "the kill inside a write left no temporary"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a model.pt newer than checkpoint.pt is reported
            reader.load_checkpoint(folder)
            saved = reader.global_step
            assert _step_of(reader.policy.state_dict()) == saved
            assert _step_of(load_weights(folder)) == saved
            assert _step_of(load_weights(folder / MODEL_FILE)) == saved
        step = saved + 100
    reader.global_step = step
    reader.save_checkpoint()
    assert _temporaries(folder) == []
    assert _step_of(load_weights(folder / MODEL_FILE)) == _step_of(load_weights(folder))
    reader.vecenv.close()


def _read_until(process: subprocess.Popen, wanted: Callable[[str], bool]) -> str:
    """The first line of ``process``'s output that is ``wanted``."""
    while True:
        line = process.stdout.readline()
        assert line, "the saver died"
        if wanted(line):
            return line


def test_a_model_pt_newer_than_its_checkpoint_is_not_mixed_with_it(tmp_path):
    trainer = make_trainer(str(tmp_path), "exp")
    for step in (1, 2):
        with torch.no_grad():
            for parameter in trainer.policy.parameters():
                parameter.fill_(step)
        trainer.save_checkpoint()
        if step == 1:
            committed = (tmp_path / "exp" / CHECKPOINT_FILE).read_bytes()
    # A crash between the two renames of save 2: model.pt is new, checkpoint.pt is old.
    (tmp_path / "exp" / CHECKPOINT_FILE).write_bytes(committed)
    with pytest.warns(UserWarning, match="interrupted"):
        assert _step_of(load_weights(tmp_path / "exp" / MODEL_FILE)) == 1
    assert _step_of(load_weights(tmp_path / "exp")) == 1
    trainer.vecenv.close()


def test_stale_temporaries_are_removed_but_a_live_writers_are_kept(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    stale = [tmp_path / f".checkpoint.pt.{dead}.abc.tmp", tmp_path / ".model.pt.k2j4.tmp"]
    live = tmp_path / f".model.pt.{os.getppid()}.xyz.tmp"  # our parent is alive
    other = tmp_path / ".notes.txt.1.tmp"
    for path in (*stale, live, other):
        path.write_bytes(b"partial")
    assert sorted(clean_stale_temporaries(tmp_path)) == sorted(stale)
    assert live.exists() and other.exists()


@pytest.fixture
def saved(tmp_path):
    trainer = make_trainer(str(tmp_path), "exp")
    trainer.save_checkpoint()
    yield trainer, tmp_path / "exp"
    trainer.vecenv.close()


@pytest.mark.parametrize("content, match", [
    (b"", r"is empty \(0 bytes\)"),
    (os.urandom(4096), r"\(4096 bytes\) is not a readable PyTorch checkpoint"),
    ("truncated", r"is not a readable PyTorch checkpoint .*truncated"),
])
@pytest.mark.parametrize("name", [CHECKPOINT_FILE, MODEL_FILE])
def test_unreadable_files_are_named_api_usage_errors(saved, content, match, name):
    trainer, folder = saved
    path = folder / name
    if content == "truncated":
        content = path.read_bytes()[: path.stat().st_size // 2]
    path.write_bytes(content)
    with pytest.raises(APIUsageError, match=match) as info:
        load_weights(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)
    if name == CHECKPOINT_FILE:
        with pytest.raises(APIUsageError, match=match):
            trainer.load_checkpoint(folder)


def test_model_pt_given_to_resume_is_a_clear_error(saved):
    trainer, folder = saved
    match = r"model.pt.*holds only policy weights.*not a training checkpoint"
    with pytest.raises(APIUsageError, match=match):
        trainer.load_checkpoint(folder / MODEL_FILE)


def test_weights_of_another_policy_are_a_clear_error_and_change_nothing(saved, tmp_path):
    trainer, folder = saved
    other = make_trainer(str(tmp_path), "other", hidden_size=32)
    before = {k: v.clone() for k, v in other.policy.state_dict().items()}
    with pytest.raises(APIUsageError, match=r"do not fit this policy \(shapes differ: .*\(16, .*\) vs \(32"):
        other.load_checkpoint(folder)
    with pytest.raises(APIUsageError, match=r"do not fit this policy"):
        load_weights(folder / MODEL_FILE, policy=other.policy)
    for key, value in other.policy.state_dict().items():
        assert torch.equal(value, before[key])
    assert other.global_step == 0
    other.vecenv.close()


def test_load_weights_into_a_policy_and_foreign_files(saved, tmp_path):
    trainer, folder = saved
    fresh = make_trainer(str(tmp_path), "fresh")
    weights = load_weights(folder, policy=fresh.policy)
    for key, value in trainer.policy.state_dict().items():
        assert torch.equal(fresh.policy.state_dict()[key], value) and torch.equal(weights[key], value)
    torch.save([1, 2, 3], tmp_path / "list.pt")
    with pytest.raises(APIUsageError, match=r"does not hold policy weights .*list"):
        load_weights(tmp_path / "list.pt")
    fresh.vecenv.close()


class _Payload:
    def __reduce__(self):
        return (print, ("arbitrary code ran",))


def test_loading_stays_weights_only(tmp_path, capsys):
    path = tmp_path / "model.pt"
    torch.save({"weight": torch.zeros(1), "payload": _Payload()}, path)
    with pytest.raises(UnsafeCheckpointError, match="weights_only") as info:
        load_weights(path)
    assert isinstance(info.value, APIUsageError)
    assert "arbitrary code ran" not in capsys.readouterr().out


def _rewrite(path: Path, change: Callable[[dict], None], digest_again: bool) -> None:
    """Change a saved checkpoint; ``digest_again``: as if a faulty writer had saved it (its digest
    matches), else as if it were damaged after the save."""
    state = torch.load(path, weights_only=True)
    change(state)
    if digest_again:
        state = checkpoint.with_digest({k: v for k, v in state.items() if k != checkpoint.DIGEST_KEY})
    torch.save(state, path)


@pytest.mark.parametrize("change, digest_again, match", [
    (lambda s: s.update(global_step=-10**12), True, "global_step is -1000000000000"),
    (lambda s: s.update(update=10**18), True, "update is 1000000000000000000"),
    (lambda s: s["model"][next(iter(s["model"]))].fill_(0.5), False, "changed or damaged after it was saved"),
])
def test_a_checkpoint_that_is_not_what_was_saved_is_refused(saved, change, digest_again, match):
    trainer, folder = saved
    _rewrite(folder / CHECKPOINT_FILE, change, digest_again)
    with pytest.raises(APIUsageError, match=match):
        trainer.load_checkpoint(folder)


def test_flipped_bytes_in_tensor_data_are_caught_by_the_digest(saved):
    trainer, folder = saved
    path = folder / CHECKPOINT_FILE
    data = bytearray(path.read_bytes())
    # The largest tensor's bytes sit in one stored record: flip a run of bytes in its middle.
    name = max(trainer.policy.state_dict().items(), key=lambda kv: kv[1].numel())[1]
    blob = name.detach().numpy().tobytes()
    at = bytes(data).find(blob[:64])
    assert at > 0
    data[at + 8:at + 72] = bytes(b ^ 0xFF for b in data[at + 8:at + 72])
    path.write_bytes(bytes(data))
    with pytest.raises(APIUsageError, match="changed or damaged|not a readable"):
        trainer.load_checkpoint(folder)


def test_non_finite_weights_are_never_saved_nor_resumed(saved):
    trainer, folder = saved
    with torch.no_grad():
        next(trainer.policy.parameters()).fill_(float("nan"))
    from pufferlib.exceptions import NonFiniteError

    before = (folder / CHECKPOINT_FILE).read_bytes()
    with pytest.raises(NonFiniteError, match="hold nan or inf"):
        trainer.save_checkpoint()
    assert (folder / CHECKPOINT_FILE).read_bytes() == before

    def poison(state: dict) -> None:
        state["model"][next(iter(state["model"]))].fill_(float("inf"))
        state.pop("digest")  # as an older release wrote it

    _rewrite(folder / CHECKPOINT_FILE, poison, digest_again=False)
    with pytest.raises(APIUsageError, match="nan or inf weights"):
        trainer.load_checkpoint(folder)


def test_a_history_save_torn_by_a_kill_is_cleaned_by_the_next_save(saved):
    trainer, folder = saved
    history = folder / "checkpoints"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True).stdout.strip()
    torn = [history / f".checkpoint_000000000064.pt.{dead}.abc.tmp", folder / f".best.pt.{dead}.x.tmp"]
    for path in torn:
        path.write_bytes(b"partial")
    trainer.save_checkpoint()
    trainer.save_checkpoint()
    assert not any(path.exists() for path in torn)
