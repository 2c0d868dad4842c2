"""The ``puffer`` command: options from configs and signatures, errors, and every subcommand end to end."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from pufferlib import cli, experiment, run
from pufferlib.run import catalog


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
    for name in catalog.env_names():
        config = run.load(name)
        options = cli.section_options(config)
        assert set(options) == set(catalog.SECTIONS)
        assert run.RunConfig.from_dict(config.to_dict()) == config


def test_aliases_share_one_configuration():
    alias, name = experiment.load_config("CartPole-v1"), experiment.load_config("cartpole")
    assert alias["name"] == name["name"] == "cartpole"
    assert run.load("CartPole-v1") == run.load("cartpole")


def test_help_lists_the_environment_and_policy_signatures(capsys):
    code, out, _ = run_main(capsys, "train", "--env", "squared", "--help")
    assert code == 0
    for flag in ("--env.distance-to-target", "--env.num-targets", "--policy.hidden-size", "--rnn.hidden-size",
                 "--train.learning-rate", "--train.no-anneal-lr", "--vec.num-copies", "--policy.recurrent"):
        assert flag in out, flag
    assert "--env.render-mode" not in out


def test_top_level_help_lists_commands_and_environments(capsys):
    code, out, _ = run_main(capsys, "--help")
    assert code == 0
    assert "train" in out and "squared" in out and "cartpole" in out


def test_overrides_reach_the_config():
    command, config, _ = cli.parse_command([
        "train", "--env", "squared", "--train.learning-rate", "3e-4", "--train.no-anneal-lr",
        "--env.distance-to-target", "4", "--vec", "multiprocessing", "--train.total_timesteps", "1e4",
        "--policy.recurrent",
    ])
    assert command == "train"
    assert config.train.learning_rate == 3e-4
    assert config.train.anneal_lr is False
    assert config.train.total_timesteps == 10_000
    assert config.env.kwargs["distance_to_target"] == 4
    assert config.vec.backend == "multiprocessing"
    assert config.policy.recurrent is True
    assert config.train.gamma == 0.9  # the squared default stays


@pytest.mark.parametrize("args, message", [
    (["train", "--env", "nonexistent"], "Unknown environment"),
    (["train", "--env", "squared", "--train.learning-rat", "0.1"], "unrecognized arguments"),
    (["train", "--env", "squared", "--env.bogus", "3"], "unrecognized arguments"),
    (["train", "--env", "squared", "--train.learning-rate", "fast"], "expected a number, got 'fast'"),
    (["train", "--env", "squared", "--train.total-timesteps", "abc"], "expected an integer, got 'abc'"),
    (["train", "--env", "squared", "--train.learning-rat", "0.1"], "did you mean --train.learning-rate?"),
    (["train", "--env", "squared", "--vec", "threads"], "invalid choice"),
    (["train"], "--env ENV is required"),
    (["fly", "--env", "squared"], "unknown command"),
    (["train", "--env", "nosuchpackage:thing"], "no binding named 'nosuchpackage'"),
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
    assert code == 2 and "no such file" in err  # a path that does not exist: checked with the arguments


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
    assert "\x1b[" not in result.stdout  # a pipe gets the frames as plain text
    assert "█" in result.stdout
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


# ---------------------------------------------------------------------------------------
# Every failure: non-zero exit, one or two lines on stderr, never a traceback


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A trained squared experiment, and broken or foreign checkpoints next to it."""
    root = tmp_path_factory.mktemp("runs")
    config = experiment.load_config("squared")
    config["train"].update(total_timesteps=1024, data_dir=str(root / "data"))
    experiment.run_training(config, "squared-run", progress="none")
    folder = root / "data" / "squared-run"
    model = (folder / "model.pt").read_bytes()
    (root / "empty.pt").write_bytes(b"")
    (root / "truncated.pt").write_bytes(model[: len(model) // 2])
    (root / "random.pt").write_bytes(os.urandom(4096))
    lone = root / "lone"  # squared's weights without their config.json
    lone.mkdir()
    (lone / "model.pt").write_bytes(model)
    (lone / "checkpoint.pt").write_bytes((folder / "checkpoint.pt").read_bytes())
    (root / "a-file").write_text("not a folder")
    (root / "empty-folder").mkdir()
    return root


BAD_INVOCATIONS = {
    "empty checkpoint": ["eval", "--env", "squared", "--checkpoint", "{root}/empty.pt"],
    "truncated checkpoint": ["eval", "--env", "squared", "--checkpoint", "{root}/truncated.pt"],
    "random-bytes checkpoint": ["eval", "--env", "squared", "--checkpoint", "{root}/random.pt"],
    "model.pt to --resume": ["train", "--resume", "{root}/data/squared-run/model.pt"],
    "empty checkpoint to --resume": ["train", "--env", "squared", "--resume", "{root}/empty.pt"],
    "another env's run": ["eval", "--env", "bandit", "--checkpoint", "{root}/data/squared-run"],
    "another env's weights": ["eval", "--env", "bandit", "--checkpoint", "{root}/lone/model.pt"],
    "resume another env's weights": ["train", "--env", "bandit", "--resume", "{root}/lone"],
    "cuda without CUDA": ["train", "--env", "squared", "--train.device", "cuda"],
    "unknown device": ["train", "--env", "squared", "--train.device", "tpu7"],
    "learning rate inf": ["train", "--env", "squared", "--train.learning-rate", "inf"],
    "learning rate nan": ["train", "--env", "squared", "--train.learning-rate", "nan"],
    "negative clip-coef": ["train", "--env", "squared", "--train.clip-coef", "-0.2"],
    "negative max-grad-norm": ["train", "--env", "squared", "--train.max-grad-norm", "-1"],
    "negative vf-coef": ["train", "--env", "squared", "--train.vf-coef", "-0.5"],
    "hidden size 0": ["train", "--env", "squared", "--policy.hidden-size", "0"],
    "negative hidden size": ["train", "--env", "squared", "--policy.hidden-size", "-8"],
    "episodes 0": ["eval", "--env", "squared", "--checkpoint", "none", "--episodes", "0"],
    "negative episodes": ["eval", "--env", "squared", "--checkpoint", "none", "--episodes", "-3"],
    "sweep with 0 trials": ["sweep", "--env", "bandit", "--sweep.trials", "0"],
    "data dir is a file": ["train", "--env", "squared", "--data-dir", "{root}/a-file"],
    "exp id with a separator": ["train", "--env", "squared", "--exp-id", "a/b"],
    "exp id with ..": ["train", "--env", "squared", "--exp-id", ".."],
    "exp id escaping": ["train", "--env", "squared", "--exp-id", "../outside"],
    "unknown env": ["train", "--env", "no-such-env"],
    "eval without env or checkpoint": ["eval"],
    "missing checkpoint folder": ["eval", "--checkpoint", "{root}/no-such-run"],
    "resume of a missing folder": ["train", "--resume", "{root}/no-such-run"],
    "resume of an empty folder": ["train", "--resume", "{root}/empty-folder"],
    "video to an unwritable folder": ["eval", "--env", "squared", "--checkpoint", "none", "--video",
                                      "/proc/no/such/dir/x.gif"],
    "video of an env without images": ["eval", "--env", "bandit", "--checkpoint", "none", "--video", "b.gif"],
    "an env name with a typo": ["train", "--env", "sqaured"],
    "a string learning rate": ["train", "--env", "squared", "--train.learning-rate", "fast"],
    "a typo in a vec option": ["train", "--env", "squared", "--vec.num-workerz", "2"],
    "a fractional worker timeout is fine but a negative one is not": ["train", "--env", "squared",
                                                                     "--vec.timeout", "-2.5"],
    "an absurd game count": ["train", "--env", "ocean:cartpole", "--env.num-envs", "10000000000"],
    "reused exp id": ["train", "--env", "squared", "--data-dir", "{root}/data", "--exp-id", "squared-run"],
}


@pytest.mark.timeout(120)
@pytest.mark.parametrize("case", list(BAD_INVOCATIONS))
def test_bad_invocations_exit_nonzero_with_a_short_message(runs, case):
    args = [arg.format(root=runs) for arg in BAD_INVOCATIONS[case]]
    if "--data-dir" not in args:
        args += ["--data-dir", str(runs / "scratch")]
    result = puffer(*args, "--progress", "none") if args[0] == "train" else puffer(*args)
    lines = result.stderr.strip().splitlines()
    assert result.returncode != 0, result.stdout
    assert 1 <= len(lines) <= 2, result.stderr
    assert "Traceback" not in result.stderr
    assert not (runs / "outside").exists()


def test_a_failed_resume_writes_nothing_into_its_folder(runs):
    lone = runs / "lone"
    before = {p.name: p.stat().st_mtime_ns for p in lone.iterdir()}
    result = puffer("train", "--env", "bandit", "--resume", str(lone), "--progress", "none", "--tensorboard")
    assert result.returncode == 1 and "another policy" in result.stderr or "checkpoint" in result.stderr
    assert {p.name: p.stat().st_mtime_ns for p in lone.iterdir()} == before


def test_positional_env_is_the_same_as_env_flag():
    _, positional, _ = cli.parse_command(["train", "cartpole", "--train.learning-rate", "0.02"])
    _, flagged, _ = cli.parse_command(["train", "--env", "cartpole", "--train.learning-rate", "0.02"])
    assert positional == flagged


@pytest.mark.timeout(300)
def test_autotune_suggests_a_command_that_runs(tmp_path):
    result = puffer("autotune", "--env", "squared", "--batch-size", "4", "--max-envs", "8",
                    "--time-per-test", "0.2")
    assert result.returncode == 0, result.stderr
    (line,) = [line for line in result.stdout.splitlines() if line.startswith("Train with: puffer train")]
    suggested = line.removeprefix("Train with: puffer ").split()
    result = puffer(*suggested, "--data-dir", str(tmp_path), "--train.total-timesteps", "1024",
                    "--progress", "none")
    assert result.returncode == 0, (line, result.stderr)
    assert "Trained squared" in result.stdout


def test_plain_progress_prints_the_last_line_once_within_the_budget(tmp_path):
    result = puffer("train", "--env", "squared", "--data-dir", str(tmp_path), "--progress", "plain",
                    "--train.total-timesteps", "3000", "--progress-interval", "0")
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith("[squared] step")]
    steps = [int(re.search(r"step ([\d,]+)/", line).group(1).replace(",", "")) for line in lines]
    assert len(lines) == len(set(lines)) and steps == sorted(set(steps))
    assert steps[-1] == 3000  # the last update passed the budget; the text does not


def test_dashboard_at_80_columns_keeps_names_and_separates_fields():
    import io

    from rich.console import Console

    from pufferlib.dashboard import Dashboard

    metrics = {"global_step": 5000.0, "sps": 12345.0, "elapsed": 3.0, "episodes": 40.0,
               "losses/policy_loss": -0.01, "losses/explained_variance": 0.5, "losses/approx_kl": 0.001,
               "environment/episode_return": 1.0, "environment/episode_length": 3.0,
               "performance/env": 1.0, "performance/forward": 1.0, "performance/learn": 1.0}
    stream = io.StringIO()
    dashboard = Dashboard("squared", "squared-20260101-000000-abcd", 10_000, live=False, stream=stream)
    dashboard._metrics = metrics
    console = Console(file=stream, width=80, force_terminal=False, color_system=None)
    dashboard._console = console
    console.print(dashboard._render())
    text = stream.getvalue()
    assert max(len(line) for line in text.splitlines()) <= 80
    for name in ("policy_loss", "explained_variance", "approx_kl", "episode_return", "episode_length"):
        assert name in text, name
    assert "…" not in text and "..." not in text
    assert "sps  |  elapsed" in text or "sps  |" in text


def test_eval_honours_no_color_on_a_terminal(monkeypatch):
    master, slave = os.openpty()
    try:
        with os.fdopen(slave, "w", closefd=False) as terminal:
            monkeypatch.delenv("NO_COLOR", raising=False)
            monkeypatch.setenv("TERM", "xterm")
            assert cli._colour_allowed(terminal)
            monkeypatch.setenv("NO_COLOR", "1")
            assert not cli._colour_allowed(terminal)
    finally:
        os.close(master)
        os.close(slave)


def test_slow_phases_announce_themselves_on_stderr(tmp_path):
    result = puffer("train", "--env", "squared", "--data-dir", str(tmp_path), "--train.total-timesteps",
                    "2048", "--progress", "plain")
    assert result.returncode == 0, result.stderr
    assert "[squared] building 32 envs (serial)..." in result.stderr
    assert "envs ready in" in result.stderr and "collecting the first batch of 1,024 steps" in result.stderr
    assert "Learning curve:" in result.stdout


def test_readme_research_loop_commands_parse(capsys):
    """Every command of the README's research loop is one the parser accepts."""
    import shlex

    text = (Path(__file__).parents[1] / "README.md").read_text()
    block = text.split("## Research loop", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    commands = [shlex.split(line.split("  #")[0], comments=True)
                for line in block.replace("\\\n", " ").splitlines() if line.strip()]
    assert {words[words.index("puffer") + 1] for words in commands} == {"train", "sweep", "plot", "eval"}
    for words in commands:
        words = words[words.index("puffer") + 1:]
        if "--resume" in words or "--checkpoint" in words or words[0] == "plot":
            continue  # they need the runs the other commands make
        command, config, _ = cli.parse_command(words)
        assert command == words[0] and config.name == "squared"
    assert "docs/research_loop.png" in text
    assert (Path(__file__).parents[1] / "docs" / "research_loop.png").stat().st_size > 10_000


@pytest.mark.parametrize("args, message", [
    (["eval", "--checkpoint", "nowhere"], "--checkpoint nowhere: no such file or folder"),
    (["eval", "--env", "bandit", "--checkpoint", "none", "--video", "b.gif"], "cannot render images"),
    (["train", "--env", "sqaured"], "did you mean squared?"),
    (["train", "--env", "squared", "--vec.num-workerz", "2"], "did you mean --vec.num-workers?"),
])
def test_mistakes_name_the_fix(capsys, args, message):
    code, _, err = run_main(capsys, *args)
    assert code != 0 and message in " ".join(err.split()), err


def test_reusing_an_exp_id_keeps_the_first_run(runs, capsys):
    folder = runs / "data" / "squared-run"
    before = (folder / "model.pt").read_bytes()
    code, _, err = run_main(capsys, "train", "--env", "squared", "--data-dir", str(runs / "data"), "--exp-id",
                            "squared-run", "--progress", "none", "--train.total-timesteps", "1024")
    assert code == 1 and "already holds a run: continue it with --resume" in err
    assert (folder / "model.pt").read_bytes() == before


def test_the_old_vec_num_envs_flag_still_works_and_says_its_new_name(capsys, tmp_path):
    command, config, _ = cli.parse_command(["train", "--env", "squared", "--vec.num-envs", "4"])
    assert config.vec.num_copies == 4
    assert "--vec.num-envs is now --vec.num-copies" in capsys.readouterr().err
