"""Checkpoints that survive and honest resumes: SIGTERM, periodic saves, history, best.pt, continuity."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from pufferlib import cli, experiment
from pufferlib.checkpoint import BEST_FILE, HISTORY_DIR, find_checkpoint, history_files, load_weights
from pufferlib.exceptions import APIUsageError
from pufferlib.plot import read_metrics
from pufferlib.trainer import TrainConfig


def run_main(capsys, *args: str) -> tuple[int, str, str]:
    try:
        code = cli.main(list(args))
    except SystemExit as e:
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


def test_checkpoints_are_periodic_by_default():
    config = TrainConfig()
    assert config.checkpoint_seconds > 0 and config.checkpoint_history > 0


def test_sigterm_saves_a_checkpoint_and_exits_nonzero(tmp_path):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "pufferlib", "train", "--env", "squared", "--data-dir", str(tmp_path),
               "--exp-id", "run", "--progress", "none", "--train.total-timesteps", "100_000_000",
               "--train.checkpoint-seconds", "0"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    metrics = tmp_path / "run" / "metrics.jsonl"
    deadline = time.monotonic() + 120
    while not (metrics.is_file() and metrics.read_text().count("\n") >= 2):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "training never started"
        time.sleep(0.2)
    assert not (tmp_path / "run" / "checkpoint.pt").exists()  # no periodic save: only the signal's
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 128 + signal.SIGTERM, err
    assert "checkpoint saved" in err and len(err.strip().splitlines()) <= 4
    state = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)
    assert state["global_step"] >= 2 * 1024


def test_history_is_bounded_and_best_is_the_top_score(tmp_path):
    config = experiment.load_config("squared")
    config["train"].update(total_timesteps=10 * 1024, checkpoint_interval=1, checkpoint_history=2,
                           checkpoint_seconds=0, data_dir=str(tmp_path))
    trainer = experiment.run_training(config, "run", progress="none")
    folder = tmp_path / "run"
    history = history_files(folder)
    assert [p.parent.name for p in history] == [HISTORY_DIR] * 2
    steps = [torch.load(p, weights_only=True)["global_step"] for p in history]
    assert steps[0] < steps[1] == trainer.global_step
    final = torch.load(folder / "checkpoint.pt", weights_only=True)
    assert math.isfinite(final["best_score"])
    assert final["best_score"] >= max(torch.load(p, weights_only=True)["best_score"] for p in history)
    assert final["best_score"] == trainer.best_score
    assert find_checkpoint(folder / "best") == folder / BEST_FILE
    assert find_checkpoint(folder / "latest") == folder / "checkpoint.pt"
    assert set(load_weights(folder / BEST_FILE)) == set(trainer.policy.state_dict())
    assert not list(folder.glob(".*.tmp")) and not list((folder / HISTORY_DIR).glob(".*.tmp"))
    with pytest.raises(APIUsageError, match="best.pt"):
        find_checkpoint(tmp_path / "elsewhere" / "best")
    # The run's curve is drawn beside its checkpoint.
    assert (folder / "curve.png").stat().st_size > 1000


@pytest.mark.timeout(300)
def test_resume_is_honest(tmp_path, capsys):
    data = str(tmp_path)
    common = ["--env", "squared", "--data-dir", data, "--progress", "none", "--exp-id", "run"]
    code, out, err = run_main(capsys, "train", *common, "--train.total-timesteps", "4096", "--tensorboard",
                              "--train.checkpoint-seconds", "0")
    assert code == 0, err
    folder = tmp_path / "run"
    first = torch.load(folder / "checkpoint.pt", weights_only=True)

    code, out, err = run_main(capsys, "train", "--resume", str(folder), "--progress", "none",
                              "--train.total-timesteps", "8192", "--tensorboard")
    assert code == 0, err
    second = torch.load(folder / "checkpoint.pt", weights_only=True)
    new = second["global_step"] - first["global_step"]
    assert f"for {new:,} steps (resumed at {first['global_step']:,}" in out
    sps = float(out.split(" sps)")[0].rsplit("(", 1)[1].replace(",", ""))
    elapsed = float(out.split(" in ")[1].split("s (")[0])
    # New steps only; the printed time is rounded to 0.1 s, so allow for that rounding.
    assert new / (elapsed + 0.05) - 1 <= sps <= new / max(elapsed - 0.05, 1e-3) + 1
    # Optimizer, RNG, wall time and the schedule continued.
    assert second["optimizer"]["state"][0]["step"] > first["optimizer"]["state"][0]["step"]
    assert second["numpy_rng"] != first["numpy_rng"] and "state" in second["numpy_rng"]
    assert second["wall_time"] > first["wall_time"]
    records = read_metrics(folder)
    resumed = [r for r in records if r["global_step"] > first["global_step"]]
    lr0 = 0.01 * (1 - first["global_step"] / 8192)
    assert resumed[0]["losses/learning_rate"] == pytest.approx(lr0, rel=1e-6)
    steps = [r["global_step"] for r in records]
    assert steps == sorted(steps) and steps[-1] == second["global_step"]
    walls = [r["wall_time"] for r in records]
    assert walls == sorted(walls)
    # TensorBoard continues the same curves in the same folder.
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    logged = []
    for events in sorted((folder / "tensorboard").glob("events.*")):
        accumulator = EventAccumulator(str(events))
        accumulator.Reload()
        logged += [e.step for e in accumulator.Scalars("global_step")]
    assert sorted(logged) == logged and logged[-1] == second["global_step"] and min(logged) < 4096

    # A finished run says so instead of reporting a zero-second "training".
    code, out, err = run_main(capsys, "train", "--resume", str(folder), "--progress", "none",
                              "--train.total-timesteps", "8192")
    assert code == 0, err
    assert "already finished" in out and "sps" not in out
    assert torch.load(folder / "checkpoint.pt", weights_only=True)["global_step"] == second["global_step"]


def test_resume_restores_reward_normalisation(tmp_path):
    from pufferlib.trainer import Trainer

    config = experiment.load_config("squared")
    config["train"].update(total_timesteps=4096, normalize_rewards=True, data_dir=str(tmp_path))
    experiment.run_training(config, "run", progress="none")
    saved = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)["reward_normalizer"]
    assert saved is not None and saved["moments"][2] > 0
    vecenv = experiment.make_vecenv(config)
    trainer = Trainer(vecenv, experiment.make_policy(config, vecenv.driver_env),
                      experiment.train_config(config), exp_id="other")
    try:
        trainer.load_checkpoint(tmp_path / "run")
        state = trainer.reward_normalizer.state_dict()
        assert torch.equal(state["moments"], saved["moments"])
        assert torch.equal(state["returns"].to(saved["returns"].dtype), saved["returns"])
    finally:
        trainer.close(save=False)


def test_wandb_resume_continues_the_same_run(tmp_path, monkeypatch):
    pytest.importorskip("wandb")
    from pufferlib.trainer import WandbLogger

    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    config = experiment.load_config("squared")
    config["train"].update(total_timesteps=2048, data_dir=str(tmp_path))
    ids = []

    def factory(folder: Path) -> WandbLogger:
        logger = WandbLogger("pufferlib-test", "run", config, folder)
        ids.append(logger.run.id)
        return logger

    experiment.run_training(config, "run", loggers=[factory], progress="none")
    config["train"]["total_timesteps"] = 4096
    experiment.run_training(config, "run", resume=tmp_path / "run", loggers=[factory], progress="none")
    assert len(ids) == 2 and ids[0] == ids[1]
    assert (tmp_path / "run" / WandbLogger.ID_FILE).read_text() == ids[0]
    runs = list((tmp_path / "run" / "wandb").glob(f"offline-run-*-{ids[0]}"))
    assert len(runs) == 2


def test_help_says_total_timesteps_is_the_runs_total(capsys):
    code, out, _ = run_main(capsys, "train", "--env", "squared", "--help")
    assert code == 0
    assert "the run's total steps" in " ".join(out.split())


def test_metrics_record_survives_a_resume_from_an_older_checkpoint(tmp_path):
    path = tmp_path / "metrics.jsonl"
    lines = [{"global_step": s, "x": s} for s in (1, 2, 3)] + [{"global_step": 2, "x": 20}]
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n{torn")
    assert [(r["global_step"], r["x"]) for r in read_metrics(path)] == [(1, 1), (2, 20)]
