"""``puffer sweep``: a study in a real SQLite database, resumed, shared by processes, pruned, reproduced."""

from __future__ import annotations

import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest

from pufferlib import experiment, sweep
from pufferlib.exceptions import APIUsageError

pytestmark = pytest.mark.timeout(400)


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "pufferlib", *args]


def puffer(*args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.run(command(*args), capture_output=True, text=True, timeout=timeout, env=env)


def load(folder: Path, sweep_id: str) -> optuna.Study:
    return optuna.load_study(study_name=sweep_id, storage=f"sqlite:///{folder / sweep_id / 'study.db'}")


def states(study: optuna.Study) -> list[str]:
    return [t.state.name for t in study.get_trials(deepcopy=False)]


def test_sweep_persists_fixes_explicit_options_resumes_and_reproduces(tmp_path):
    args = ["sweep", "--env", "squared", "--data-dir", str(tmp_path), "--sweep-id", "s", "--sweep.timesteps",
            "2048", "--train.learning-rate", "0.02", "--sweep.space.train.clip-coef", "uniform:0.1:0.3",
            "--sweep.space.train.gamma", "off", "--sweep.pruner", "none"]
    result = puffer(*args, "--sweep.trials", "2")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.count("complete") == 2 and "rank  trial" in out and "Train with: puffer train" in out
    study = load(tmp_path, "s")
    assert states(study) == ["COMPLETE", "COMPLETE"]
    for trial in study.trials:
        assert "train.learning_rate" not in trial.params and "train.gamma" not in trial.params
        assert 0.1 <= trial.params["train.clip_coef"] <= 0.3
        saved = json.loads((tmp_path / "s" / f"trial-{trial.number:03d}" / "config.json").read_text())
        assert saved["train"]["learning_rate"] == 0.02 and saved["train"]["total_timesteps"] == 2048
    best = json.loads((tmp_path / "s" / "best.json").read_text())
    assert best["value"] == max(t.value for t in study.trials)
    assert "--train.learning-rate 0.02" in best["command"] and "--train.clip-coef" in best["command"]

    # The same command continues the study: two trials done, one more to reach three.
    result = puffer(*args, "--sweep.trials", "3")
    assert result.returncode == 0, result.stderr
    assert "(2 trials already done)" in result.stdout and result.stdout.count("complete") == 1
    assert states(load(tmp_path, "s")) == ["COMPLETE"] * 3

    # The best trial's command runs.
    best = json.loads((tmp_path / "s" / "best.json").read_text())
    words = shlex.split(best["command"])
    assert words[:2] == ["puffer", "train"]
    result = puffer(*words[1:], "--data-dir", str(tmp_path / "again"), "--progress", "none")
    assert result.returncode == 0, result.stderr
    assert "Trained squared for" in result.stdout


def test_two_processes_work_on_one_study(tmp_path):
    args = command("sweep", "--env", "squared", "--data-dir", str(tmp_path), "--sweep-id", "shared",
                   "--sweep.timesteps", "2048", "--sweep.trials", "4", "--sweep.pruner", "none")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    processes = [subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
                 for _ in range(2)]
    outputs = [p.communicate(timeout=350) for p in processes]
    for process, (_, err) in zip(processes, outputs):
        assert process.returncode == 0, err
    study = load(tmp_path, "shared")
    ran = [t for t in study.trials if "surplus" not in t.user_attrs]
    assert states(study).count("COMPLETE") == 4 and len(ran) == 4  # together: exactly the trials asked
    assert all(out.count("complete") >= 1 for out, _ in outputs)  # both processes ran trials
    # Each trial trained in its own folder.
    assert {f"trial-{t.number:03d}" for t in ran} <= {p.name for p in (tmp_path / "shared").iterdir()}


def test_the_median_pruner_stops_a_trial_behind_earlier_ones(tmp_path, capsys):
    config = experiment.load_config("squared")
    config["train"]["data_dir"] = str(tmp_path)
    config["sweep"].update(trials=4, timesteps=8192)
    config["sweep"]["space"] = {"train.clip_coef": {"distribution": "uniform", "low": 0.1, "high": 0.3}}
    folder = tmp_path / "p"
    folder.mkdir()
    study = optuna.create_study(study_name="p", storage=f"sqlite:///{folder / 'study.db'}",
                                direction="maximize")
    steps = [32 + 1024 * k for k in range(1, 12)]
    for _ in range(3):  # three earlier trials that scored far above anything squared reaches
        study.add_trial(optuna.trial.create_trial(value=10.0, intermediate_values={s: 10.0 for s in steps}))
    best = sweep.run_sweep(config, "p", report=print)
    out = capsys.readouterr().out
    trial = load(tmp_path, "p").trials[3]
    assert trial.state.name == "PRUNED" and "trial 3: pruned" in out
    assert len(trial.intermediate_values) < 8192 // 1024  # stopped before its budget
    assert best["value"] == 10.0


def test_ctrl_c_leaves_a_study_that_resumes(tmp_path):
    args = ["sweep", "--env", "squared", "--data-dir", str(tmp_path), "--sweep-id", "c",
            "--sweep.trials", "1", "--sweep.pruner", "none"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONFAULTHANDLER": "1"}
    # A background job of a non-interactive shell inherits SIGINT ignored, and so would the sweep.
    process = subprocess.Popen(command(*args, "--sweep.timesteps", "10_000_000"), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=env,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    metrics = tmp_path / "c" / "trial-000" / "metrics.jsonl"
    deadline = time.monotonic() + 120
    while not metrics.is_file() or not metrics.read_text():
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    try:
        process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGABRT)  # faulthandler prints every thread's stack
        _, stderr = process.communicate(timeout=30)
        pytest.fail(f"puffer sweep was still running 60 s after Ctrl-C; its stacks:\n{stderr[-6000:]}")
    assert process.returncode == 130
    assert states(load(tmp_path, "c")) == ["FAIL"]
    result = puffer(*args, "--sweep.timesteps", "2048")
    assert result.returncode == 0, result.stderr
    assert states(load(tmp_path, "c")) == ["FAIL", "COMPLETE"]


@pytest.mark.parametrize("text", ["log_uniform:0:1", "uniform:2:1", "int:a:b", "normal:0:1", "categorical:"])
def test_bad_space_specs_are_usage_errors(text):
    with pytest.raises(APIUsageError, match="log_uniform:LOW:HIGH"):
        sweep.parse_space(text)


def test_space_specs_parse():
    assert sweep.parse_space("log_uniform:1e-4:1e-2") == {"distribution": "log_uniform", "low": 1e-4,
                                                          "high": 1e-2}
    assert sweep.parse_space("int:1:8") == {"distribution": "int", "low": 1, "high": 8}
    assert sweep.parse_space("categorical:64,128,true") == {"distribution": "categorical",
                                                           "choices": [64, 128, True]}
    assert sweep.parse_space("off") is None


def test_bad_sweep_command_lines_fail_in_one_or_two_lines(tmp_path):
    result = puffer("sweep", "--env", "squared", "--data-dir", str(tmp_path),
                    "--sweep.space.train.learning-rate", "log_uniform:0:1")
    assert result.returncode == 2 and "log_uniform:LOW:HIGH" in result.stderr
    result = puffer("sweep", "--env", "squared", "--data-dir", str(tmp_path), "--sweep.storage",
                    "nosuchdb://x", "--sweep.trials", "1")
    assert result.returncode == 1 and "sweep.storage" in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 2


def test_a_sweep_folder_whose_study_is_gone_is_not_mixed_with_a_new_one(tmp_path):
    (tmp_path / "old" / "trial-000").mkdir(parents=True)
    result = puffer("sweep", "--env", "squared", "--data-dir", str(tmp_path), "--sweep-id", "old",
                    "--sweep.trials", "1", "--sweep.timesteps", "1024")
    assert result.returncode == 1 and "trial folders of an earlier sweep" in result.stderr


def test_a_damaged_study_database_is_refused(tmp_path):
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "study.db").write_bytes(b"SQLite format 3\x00" + os.urandom(4096))
    result = puffer("sweep", "--env", "squared", "--data-dir", str(tmp_path), "--sweep-id", "broken",
                    "--sweep.trials", "1", "--sweep.timesteps", "1024")
    assert result.returncode == 1 and "is damaged" in result.stderr


def test_a_trial_left_running_by_a_killed_sweep_is_failed_on_the_next_start(tmp_path):
    folder = tmp_path / "killed"
    folder.mkdir()
    study = optuna.create_study(study_name="killed", storage=f"sqlite:///{folder / 'study.db'}",
                                direction="maximize")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True).stdout.strip()
    abandoned = study.ask()
    abandoned.set_user_attr(sweep.OWNER, f"{socket.gethostname()}:{dead}")
    result = puffer("sweep", "--env", "squared", "--data-dir", str(tmp_path), "--sweep-id", "killed",
                    "--sweep.trials", "1", "--sweep.timesteps", "1024", "--sweep.pruner", "none")
    assert result.returncode == 0, result.stderr
    assert f"trial {abandoned.number}: failed (its process {dead} is gone)" in result.stdout
    assert states(load(tmp_path, "killed")) == ["FAIL", "COMPLETE"]
