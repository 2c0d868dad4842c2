"""Pictures: learning-curve PNGs, evaluation videos of every episode, greedy evaluation, the trend line."""

from __future__ import annotations

import os
import subprocess
import sys

import imageio.v2 as imageio
import numpy as np
import pytest
import torch

from pufferlib import experiment, plot
from pufferlib.dashboard import Dashboard
from pufferlib.distributions import greedy_action


def puffer(*args: str, timeout: int = 240) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.run([sys.executable, "-m", "pufferlib", *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Three seeds of one squared configuration and one run of another."""
    root = tmp_path_factory.mktemp("runs")
    config = experiment.load_config("squared")
    config["train"].update(total_timesteps=6144, data_dir=str(root / "seeds"))
    for seed in (1, 2, 3):
        config["train"]["seed"] = seed
        experiment.run_training(config, f"seed-{seed}", progress="none")
    config["train"].update(seed=1, learning_rate=0.001, data_dir=str(root / "other"))
    experiment.run_training(config, "slow-lr", progress="none")
    return root


def non_blank(image: np.ndarray) -> float:
    """Fraction of pixels that are not the white background."""
    rgb = image[..., :3].astype(float)
    rgb = rgb / 255 if rgb.max() > 1 else rgb
    return float((rgb.min(axis=-1) < 0.9).mean())


def test_seeds_of_one_configuration_are_one_curve_with_a_band(runs, tmp_path):
    output = plot.plot_runs([runs / "seeds", runs / "other" / "slow-lr"], tmp_path / "curves.png",
                            size=(1000, 400))
    image = imageio.imread(output)
    assert image.shape[:2] == (400, 1000)
    assert 0.02 < non_blank(image) < 0.6
    labels, groups = {}, set()
    for run in plot.find_runs([runs]):
        label, seed = plot.run_label(run)
        labels[run.name] = seed
        groups.add(label)
    assert labels == {"seed-1": 1, "seed-2": 2, "seed-3": 3, "slow-lr": 1} and len(groups) == 2
    # The shaded band: light (alpha-blended) pixels of the first colour appear only with several seeds.
    single = imageio.imread(plot.plot_runs([runs / "seeds" / "seed-1"], tmp_path / "one.png",
                                           size=(1000, 400)))
    assert non_blank(image) > non_blank(single)


def test_a_seed_run_again_is_its_own_curve_not_a_second_seed(runs, tmp_path):
    config = experiment.load_config("squared")
    config["train"].update(total_timesteps=8192, seed=1, data_dir=str(tmp_path))
    experiment.run_training(config, "long", progress="none")  # the configuration of seeds/, seed 1, longer
    members = [runs / "seeds" / "seed-1", runs / "seeds" / "seed-2", tmp_path / "long"]
    groups, names = plot.seed_groups(members)
    assert sorted(len(group) for group in groups.values()) == [1, 2]
    assert sorted(names.values()) == ["long", "seeds"]  # two seeds of seeds/, and the longer run apart


def test_every_run_draws_its_curve_beside_its_checkpoint(runs):
    for name in ("seed-1", "seed-2", "seed-3"):
        image = imageio.imread(runs / "seeds" / name / "curve.png")
        assert image.shape[:2] == (450, 1200) and non_blank(image) > 0.02
    records = plot.read_metrics(runs / "seeds" / "seed-1")
    assert records[-1]["global_step"] >= 6144 and "environment/score" in records[-1]


def test_puffer_plot_command(runs, tmp_path):
    output = tmp_path / "cli.png"
    result = puffer("plot", str(runs), "--output", str(output), "--size", "800x600", "--metric",
                    "episode_return")
    assert result.returncode == 0, result.stderr
    assert imageio.imread(output).shape[:2] == (600, 800)
    result = puffer("plot", str(tmp_path / "missing"))
    assert result.returncode == 1 and "no such run" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    result = puffer("plot", str(runs), "--metric", "nothing", "-o", str(tmp_path / "x.png"))
    assert result.returncode == 1 and "recorded:" in result.stderr


def test_eval_records_every_episode_greedily_and_picks_best_by_name(runs, tmp_path):
    data = str(runs / "seeds")
    gif = tmp_path / "episodes.gif"
    result = puffer("eval", "--env", "squared", "--data-dir", data, "--checkpoint", "best",
                    "--video", str(gif), "--episodes", "3", "--deterministic")
    assert result.returncode == 0, result.stderr
    assert "best.pt" in result.stdout and "squared: 3 episodes" in result.stdout
    assert result.stderr.count("episode ") == 3 and "episode 3/3" in result.stderr
    lengths = [int(line.rsplit("episode_length ", 1)[1]) for line in result.stderr.splitlines()
               if line.startswith("episode ")]
    # Every frame of every episode: the first observation of each plus one per step.
    assert len(imageio.mimread(gif)) == sum(length + 1 for length in lengths)
    folder = max((runs / "seeds").iterdir(), key=lambda p: (p / "model.pt").stat().st_mtime)
    result = puffer("eval", "--checkpoint", str(folder / "latest"), "--episodes", "1")
    assert result.returncode == 0, result.stderr
    assert f"Loaded {folder / 'checkpoint.pt'}" in result.stdout


def test_greedy_actions_are_the_most_likely_ones():
    logits = torch.tensor([[0.1, 2.0, -1.0], [3.0, 0.0, 0.0]])
    assert greedy_action(logits).tolist() == [1, 0]
    normal = torch.distributions.Normal(torch.tensor([[0.5, -0.25]]), torch.ones(1, 2))
    assert greedy_action(normal).tolist() == [[0.5, -0.25]]
    assert greedy_action([logits, -logits]).tolist() == [[1, 2], [0, 1]]


def test_dashboard_shows_a_score_trend():
    import io

    stream = io.StringIO()
    dashboard = Dashboard("squared", "run", 10_000, live=False, interval=0.0, stream=stream)
    for step, score in enumerate([0.0, 0.1, 0.4, 0.9, 1.0], 1):
        dashboard.update({"global_step": step * 1000, "environment/score": score})
    line = stream.getvalue().strip().splitlines()[-1]
    assert "trend ▁▁▄██" in line
    assert plot.sparkline([0, 1, 2, 3, 4, 5, 6, 7]) == "▁▂▃▄▅▆▇█"
    assert plot.sparkline([]) == "" and plot.sparkline([2, 2]) == "▄▄"

    rich_stream = io.StringIO()
    live = Dashboard("squared", "run", 10_000, live=True, stream=rich_stream)
    for step, score in enumerate([0.0, 0.5, 1.0], 1):
        live.update({"global_step": step * 1000, "environment/score": score})
    live.close()
    assert "score trend" in rich_stream.getvalue() and "█" in rich_stream.getvalue()
