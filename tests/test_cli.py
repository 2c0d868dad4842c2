"""The ``puffer`` command: options from configs and signatures, errors, and every subcommand end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from pufferlib import cli
from pufferlib.trainer import TrainConfig


def puffer(*args: str, cwd: Path | None = None, timeout: int = 240) -> subprocess.CompletedProcess:
    """``python -m pufferlib ARGS`` in a subprocess (stdout is a pipe, not a terminal)."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.run([sys.executable, "-m", "pufferlib", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=cwd, env=env)


def run_main(capsys, *args: str) -> tuple[int, str, str]:
    try:
        code = cli.main(list(args))
    except SystemExit as e:
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


# ---------------------------------------------------------------------------------------
# Configuration and parsing


def test_every_shipped_config_resolves_to_valid_options():
    for name in cli.env_names():
        config = cli.load_config(name)
        binding = cli.load_binding(config["package"])
        options = cli.section_options(config, binding)
        assert set(options) == set(cli.SECTIONS)
        TrainConfig(**config["train"])


def test_aliases_share_one_configuration():
    assert cli.load_config("CartPole-v1")["name"] == cli.load_config("cartpole")["name"] == "cartpole"


def test_help_lists_the_environment_and_policy_signatures(capsys):
    code, out, _ = run_main(capsys, "train", "--env", "squared", "--help")
    assert code == 0
    for flag in ("--env.distance-to-target", "--env.num-targets", "--policy.hidden-size", "--rnn.hidden-size",
                 "--train.learning-rate", "--train.no-anneal-lr", "--vec.num-envs", "--policy.recurrent"):
        assert flag in out, flag
    assert "--env.render-mode" not in out


def test_top_level_help_lists_commands_and_environments(capsys):
    code, out, _ = run_main(capsys, "--help")
    assert code == 0
    assert "train" in out and "squared" in out and "cartpole" in out


def test_overrides_reach_the_config():
    command, config, _, _ = cli.parse_command([
        "train", "--env", "squared", "--train.learning-rate", "3e-4", "--train.no-anneal-lr",
        "--env.distance-to-target", "4", "--vec", "multiprocessing", "--train.total_timesteps", "1e4",
        "--policy.recurrent",
    ])
    assert command == "train"
    assert config["train"]["learning_rate"] == 3e-4
    assert config["train"]["anneal_lr"] is False
    assert config["train"]["total_timesteps"] == 10_000
    assert config["env"]["distance_to_target"] == 4
    assert config["vec"]["backend"] == "multiprocessing"
    assert config["policy"]["recurrent"] is True
    assert config["train"]["gamma"] == 0.9  # the squared default stays


@pytest.mark.parametrize("args, message", [
    (["train", "--env", "nonexistent"], "Unknown environment"),
    (["train", "--env", "squared", "--train.learning-rat", "0.1"], "unrecognized arguments"),
    (["train", "--env", "squared", "--env.bogus", "3"], "unrecognized arguments"),
    (["train", "--env", "squared", "--train.learning-rate", "fast"], "invalid"),
    (["train", "--env", "squared", "--vec", "threads"], "invalid choice"),
    (["train"], "--env NAME is required"),
    (["fly", "--env", "squared"], "unknown command"),
    (["train", "--env", "nosuchpackage:thing"], "No environment binding"),
])
def test_bad_command_lines_fail_with_a_message(capsys, args, message):
    code, _, err = run_main(capsys, *args)
    assert code == 2
    assert message in err


def test_runtime_errors_exit_nonzero(capsys, tmp_path):
    code, _, err = run_main(capsys, "train", "--env", "squared", "--data-dir", str(tmp_path), "--progress",
                            "none", "--train.batch-size", "1000", "--train.minibatch-size", "200")
    assert code == 1
    assert "multiple" in err
    code, _, err = run_main(capsys, "eval", "--env", "squared", "--checkpoint", str(tmp_path / "missing"))
    assert code == 1 and "no such file" in err


# ---------------------------------------------------------------------------------------
# Commands end to end


@pytest.mark.timeout(300)
def test_train_then_eval_squared(tmp_path):
    data = str(tmp_path)
    result = puffer("train", "--env", "squared", "--data-dir", data, "--train.total-timesteps", "4096",
                    "--progress", "plain", "--tensorboard")
    assert result.returncode == 0, result.stderr
    assert "[squared] step" in result.stdout  # plain progress lines when stdout is not a terminal
    (folder,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    assert {"checkpoint.pt", "model.pt", "config.json"} <= {p.name for p in folder.iterdir()}
    assert list((folder / "tensorboard").glob("events.out.tfevents.*"))
    assert json.loads((folder / "config.json").read_text())["name"] == "squared"

    result = puffer("eval", "--env", "squared", "--data-dir", data, "--episodes", "4")
    assert result.returncode == 0, result.stderr
    assert f"Loaded {folder}" in result.stdout
    assert "\x1b[" in result.stdout  # the ANSI frames of an episode
    assert "squared: 4 episodes" in result.stdout and "score" in result.stdout

    gif = tmp_path / "episode.gif"
    result = puffer("eval", "--env", "squared", "--checkpoint", str(folder / "model.pt"),
                    "--output", str(gif), "--episodes", "1")
    assert result.returncode == 0, result.stderr
    import imageio.v2 as imageio

    frames = imageio.mimread(gif)
    assert len(frames) == 4 and frames[0].ndim == 3


@pytest.mark.timeout(300)
def test_resume_continues_step_count_and_schedule(tmp_path, capsys):
    data = str(tmp_path)
    common = ["--env", "bandit", "--data-dir", data, "--progress", "none", "--train.learning-rate", "0.005"]
    assert run_main(capsys, "train", *common, "--train.total-timesteps", "2048")[0] == 0
    (folder,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    first = torch.load(folder / "checkpoint.pt", weights_only=True)
    code, out, _ = run_main(capsys, "train", "--env", "bandit", "--data-dir", data, "--progress", "none",
                            "--resume", "latest", "--train.total-timesteps", "4096")
    assert code == 0
    second = torch.load(folder / "checkpoint.pt", weights_only=True)
    assert [p for p in tmp_path.iterdir() if p.is_dir()] == [folder]
    assert first["global_step"] >= 2048
    assert second["global_step"] >= 4096 and second["update"] > first["update"]
    # The saved learning rate (0.005) was kept, and the schedule continued from the saved step.
    lr = second["optimizer"]["param_groups"][0]["lr"]
    assert 0 < lr < 0.005 * (1 - first["global_step"] / 4096) + 1e-9


def test_eval_without_a_checkpoint_uses_an_untrained_policy(capsys, tmp_path):
    code, out, _ = run_main(capsys, "eval", "--env", "bandit", "--data-dir", str(tmp_path), "--episodes", "3",
                            "--render-mode", "none")
    assert code == 0
    assert "untrained policy" in out and "bandit: 3 episodes" in out


def test_eval_renders_continuous_control_to_a_gif(capsys, tmp_path):
    gif = tmp_path / "pendulum.gif"
    code, out, err = run_main(capsys, "eval", "--env", "pendulum", "--checkpoint", "none", "--episodes", "1",
                              "--output", str(gif), "--max-steps", "20")
    assert code == 0, err
    assert gif.stat().st_size > 0


@pytest.mark.timeout(300)
def test_train_with_multiprocessing_backend(tmp_path, capsys):
    code, out, err = run_main(capsys, "train", "--env", "squared", "--vec", "multiprocessing",
                              "--vec.num-workers", "2", "--vec.batch-size", "16", "--data-dir", str(tmp_path),
                              "--progress", "none", "--train.total-timesteps", "2048")
    assert code == 0, err
    assert "Trained squared" in out


@pytest.mark.timeout(300)
def test_autotune_reports_the_best_configuration(capsys):
    code, out, err = run_main(capsys, "autotune", "--env", "squared", "--batch-size", "4", "--max-envs", "8",
                              "--time-per-test", "0.2")
    assert code == 0, err
    assert "Best configuration" in out and "puffer train --env squared --vec.backend" in out


@pytest.mark.timeout(300)
def test_sweep_reports_the_best_configuration(capsys, tmp_path):
    code, out, err = run_main(capsys, "sweep", "--env", "bandit", "--data-dir", str(tmp_path),
                              "--sweep.trials", "2", "--sweep.timesteps", "2048")
    assert code == 0, err
    assert out.count("trial ") >= 2 and "Best score" in out and "--train.learning-rate" in out
    (best,) = tmp_path.glob("*/best.json")
    assert set(json.loads(best.read_text())["params"]) >= {"train.learning_rate", "train.ent_coef"}


def test_python_dash_m_matches_the_console_script():
    result = puffer("--help")
    assert result.returncode == 0 and "train" in result.stdout
    result = puffer("train", "--env", "not-an-env")
    assert result.returncode == 2 and "Unknown environment" in result.stderr


def test_rich_dashboard_shows_throughput_losses_and_episodes(capsys, tmp_path):
    code, out, err = run_main(capsys, "train", "--env", "bandit", "--data-dir", str(tmp_path),
                              "--progress", "rich", "--train.total-timesteps", "2048")
    assert code == 0, err
    for text in ("puffer", "sps", "Performance", "Losses", "Episodes", "policy_loss", "score", "cpu"):
        assert text in out, text


def test_tensorboard_and_offline_wandb_record_the_run(tmp_path):
    pytest.importorskip("wandb", reason="wandb is in the `wandb` extra (installed by scripts/test.sh)")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    env = {**os.environ, "WANDB_MODE": "offline", "WANDB_SILENT": "true"}
    result = subprocess.run(
        [sys.executable, "-m", "pufferlib", "train", "--env", "squared", "--train.total-timesteps", "3000",
         "--progress", "none", "--tensorboard", "--wandb", "--data-dir", str(tmp_path), "--exp-id", "run"],
        capture_output=True, text=True, timeout=240, env=env)
    assert result.returncode == 0, result.stderr
    events = EventAccumulator(str(tmp_path / "run" / "tensorboard"))
    events.Reload()
    assert any("policy_loss" in tag for tag in events.Tags()["scalars"])
    offline_runs = list((tmp_path / "run" / "wandb").glob("offline-run-*"))
    assert len(offline_runs) == 1 and any(offline_runs[0].glob("*.wandb"))
