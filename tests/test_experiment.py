"""The experiment layer: any env a user has (binding, Gymnasium id, MODULE:CALLABLE) trains and
evaluates, through the library and through the ``puffer`` command."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import gymnasium
import numpy as np
import pytest
import torch

import pufferlib.models
from pufferlib import cli, experiment, run
from pufferlib.exceptions import APIUsageError
from pufferlib.rollout import RolloutRunner, play
from pufferlib.run import catalog
from pufferlib.trainer import TrainConfig, Trainer, check_batch_fits

TESTS = Path(__file__).parent


def puffer(*args: str, extra_env: dict | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    """``python -m pufferlib ARGS`` with the user's modules (tests/user_envs.py) importable."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(TESTS), **(extra_env or {})}
    env.pop("PUFFER_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "pufferlib", *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


@pytest.fixture(autouse=True)
def user_modules_importable(monkeypatch):
    monkeypatch.syspath_prepend(str(TESTS))


def trained_return(stdout: str) -> float:
    match = re.search(r"'episode_return': (-?[\d.]+)", stdout)
    assert match, stdout
    return float(match.group(1))


# ---------------------------------------------------------------------------------------
# Structure


def test_importing_sweep_or_experiment_does_not_import_the_cli():
    code = ("import sys, pufferlib.sweep, pufferlib.experiment, pufferlib.rollout; "
            "assert 'pufferlib.cli' not in sys.modules, 'cli imported'")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_evaluation_and_training_share_one_rollout_runner():
    import pufferlib.trainer

    source = Path(pufferlib.trainer.__file__).read_text()
    assert ".recv()" not in source and "RolloutRunner(" in source
    assert "vecenv.recv()" not in Path(experiment.__file__).read_text()


# ---------------------------------------------------------------------------------------
# Resolving env specs


def test_spec_kinds():
    assert experiment.resolve_spec("squared") == ("binding", "squared")
    assert experiment.resolve_spec("CartPole-v1") == ("binding", "CartPole-v1")  # a declared alias
    assert experiment.resolve_spec("atari:breakout") == ("binding", "atari:breakout")
    assert experiment.resolve_spec("MountainCar-v0") == ("gymnasium", "MountainCar-v0")
    assert experiment.resolve_spec("user_envs:DictTupleEnv") == ("callable", "user_envs:DictTupleEnv")
    assert experiment.resolve_spec("gym:Acrobot-v1") == ("gymnasium", "Acrobot-v1")


@pytest.fixture
def user_registry():
    """Import tests/user_registry.py, and afterwards remove the ids it registered."""
    before = set(gymnasium.registry)
    yield "user_registry"
    for env_id in set(gymnasium.registry) - before:
        del gymnasium.registry[env_id]
    sys.modules.pop("user_registry", None)


def test_a_name_that_is_a_binding_and_a_gymnasium_id_is_ambiguous(user_registry):
    with pytest.raises(APIUsageError) as info:
        experiment.resolve_spec("squared", ["user_registry"])
    message = str(info.value)
    assert "ambiguous" in message and "binding:squared" in message and "gym:squared" in message
    assert experiment.resolve_spec("binding:squared", ["user_registry"]) == ("binding", "squared")
    assert experiment.resolve_spec("gym:squared", ["user_registry"]) == ("gymnasium", "squared")


@pytest.mark.parametrize("spec, message", [
    ("no_such_module:make", "no binding named 'no_such_module'"),
    ("user_envs:missing", "has no 'missing'"),
    ("NoSuchEnv-v9", "Unknown environment"),
])
def test_unknown_specs_are_usage_errors(spec, message):
    with pytest.raises(APIUsageError, match=message):
        experiment.resolve_spec(spec)


def test_a_callable_that_returns_no_env_is_a_usage_error():
    config = experiment.load_config("user_envs:not_an_env")
    with pytest.raises(APIUsageError, match="not an environment"):
        experiment.make_vecenv(config)


def test_callable_keyword_arguments_are_env_options():
    config = experiment.load_config("user_envs:make_dict_tuple_env")
    options = {o.name: o for o in cli.section_options(run.load("user_envs:make_dict_tuple_env"))["env"]}
    assert options["length"].default == 8 and options["num_goals"].default == 4
    config["env"]["length"] = 3
    vecenv = experiment.make_vecenv(config, vec_overrides={"num_copies": 1})
    try:
        finished = play(vecenv, experiment.make_policy(config, vecenv.driver_env), episodes=2)
    finally:
        vecenv.close()
    assert [info["episode_length"] for info in finished] == [3, 3]


def test_user_config_file_overrides_the_defaults(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text('["user_envs:DictTupleEnv".train]\nlearning_rate = 0.02\n[policy]\nhidden_size = 32\n')
    config = experiment.load_config("user_envs:DictTupleEnv", config_file=path)
    assert config["train"]["learning_rate"] == 0.02 and config["policy"]["hidden_size"] == 32
    assert config["train"]["gamma"] == 0.99  # [default] stays underneath
    path.write_text("[nonsense]\nx = 1\n[other]\ny = 2\n")
    with pytest.raises(APIUsageError, match="none for"):
        experiment.load_config("user_envs:DictTupleEnv", config_file=path)


def test_a_package_files_default_lies_between_the_global_default_and_each_env(tmp_path, monkeypatch):
    (tmp_path / "default.toml").write_text("[default.train]\ngamma = 0.9\nlearning_rate = 0.1\n")
    (tmp_path / "classic_control.toml").write_text(
        "[default.train]\nlearning_rate = 0.2\nupdate_epochs = 7\n"
        "[cartpole]\nenv_name = \"CartPole-v1\"\n[cartpole.train]\nupdate_epochs = 3\n"
        "[acrobot]\nenv_name = \"Acrobot-v1\"\n"
    )
    monkeypatch.setattr(catalog, "CONFIG_DIR", tmp_path)
    catalog.shipped.cache_clear()
    try:
        cartpole, acrobot = experiment.load_config("cartpole"), experiment.load_config("acrobot")
        assert "default" not in catalog.env_names()
    finally:
        catalog.shipped.cache_clear()
    assert (cartpole["train"]["gamma"], cartpole["train"]["learning_rate"]) == (0.9, 0.2)
    assert (cartpole["train"]["update_epochs"], acrobot["train"]["update_epochs"]) == (3, 7)


# ---------------------------------------------------------------------------------------
# Wrapping and default policies


def test_gymnasium_record_episode_statistics_is_recognised():
    from user_envs import recorded_cartpole

    env = experiment.as_puffer_env(recorded_cartpole())
    env.reset(seed=3)
    for _ in range(1000):
        _, _, terminal, truncated, info = env.step(env.action_space.sample())
        if terminal or truncated:
            break
    assert info["episode_length"] > 0 and info["episode_return"] == info["episode_length"]
    assert not any(key.startswith("episode/") for key in info)
    env.close()


def test_default_policy_fits_the_spaces():
    from user_envs import DictTupleEnv

    env = experiment.as_puffer_env(DictTupleEnv())
    policy = experiment.default_policy(env)
    assert isinstance(policy, pufferlib.models.Default) and policy.flatten.is_structured
    image = experiment.as_puffer_env(gymnasium.make("CarRacing-v3", continuous=False)) \
        if _has_box2d() else _image_env()
    assert isinstance(experiment.default_policy(image), pufferlib.models.Convolutional)
    lstm = experiment.default_recurrent(env, policy)
    assert isinstance(lstm.lstm, torch.nn.LSTM)


def _has_box2d() -> bool:
    try:
        import Box2D  # noqa: F401
    except ImportError:
        return False
    return True


def _image_env():
    class Frames(gymnasium.Env):
        observation_space = gymnasium.spaces.Box(0, 255, (64, 64, 3), np.uint8)
        action_space = gymnasium.spaces.Discrete(3)

        def reset(self, seed=None, options=None):
            return self.observation_space.sample(), {}

        def step(self, action):
            return self.observation_space.sample(), 0.0, False, False, {}

    return experiment.as_puffer_env(Frames())


# ---------------------------------------------------------------------------------------
# Training from Python


def test_trainer_run_prints_progress_by_default(capsys, tmp_path):
    config = experiment.load_config("squared")
    vecenv = experiment.make_vecenv(config)
    cfg = TrainConfig(total_timesteps=2048, batch_size=1024, minibatch_size=256, bptt_horizon=8,
                      data_dir=str(tmp_path))
    trainer = Trainer(vecenv, experiment.make_policy(config, vecenv.driver_env), cfg, exp_id="run")
    trainer.run()
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines and all(line.startswith("[run] step ") for line in lines)
    assert lines[-1].startswith("[run] step 2,048/2,048")
    assert len(lines) == len(set(lines))  # the final line once
    cfg.total_timesteps = 4096
    trainer.run(progress=False)
    trainer.close(save=False)
    assert capsys.readouterr().out == ""


def test_python_and_command_line_agree_on_speed_defaults():
    assert TrainConfig().torch_threads == experiment.load_config("squared")["train"]["torch_threads"] == 1


def test_recurrent_play_keeps_one_state_per_agent():
    config = experiment.load_config("user_envs:MatchAgents")
    config["policy"]["recurrent"] = True
    vecenv = experiment.make_vecenv(config, vec_overrides={"num_copies": 2})
    try:
        policy = experiment.make_policy(config, vecenv.driver_env)
        runner = RolloutRunner(vecenv, policy)
        assert runner.recurrent and runner.lstm_h.shape[1] == 6
        finished = play(vecenv, policy, episodes=6)
    finally:
        vecenv.close()
    assert len(finished) >= 6 and all(info["episode_length"] == 10 for info in finished)


# ---------------------------------------------------------------------------------------
# The command line, end to end (small step budgets)


SMALL = ["--progress", "plain", "--train.batch-size", "1536", "--train.minibatch-size", "768",
         "--train.learning-rate", "0.01"]


@pytest.mark.timeout(600)
def test_user_gymnasium_env_with_dict_observations_and_tuple_actions(tmp_path):
    result = puffer("train", "--env", "user_envs:DictTupleEnv", "--data-dir", str(tmp_path), "--exp-id", "dt",
                    "--train.total-timesteps", "12288", "--vec.num-copies", "6", *SMALL)
    assert result.returncode == 0, result.stderr
    # Random play scores 0.75 per step over 8 steps (6.0); learning beats it clearly.
    assert trained_return(result.stdout) > 7.0
    saved = json.loads((tmp_path / "dt" / "config.json").read_text())
    assert saved["env_spec"] == "user_envs:DictTupleEnv" and saved["kind"] == "callable"
    # A run folder is data: the callable it names runs only when the user names it too.
    result = puffer("eval", "--checkpoint", str(tmp_path / "dt"), "--episodes", "3")
    assert result.returncode == 2 and "names code to run (--env py:user_envs:DictTupleEnv)" in result.stderr
    result = puffer("eval", "--env", "user_envs:DictTupleEnv", "--checkpoint", str(tmp_path / "dt"),
                    "--episodes", "3")
    assert result.returncode == 0, result.stderr
    assert "user_envs:DictTupleEnv: 3 episodes" in result.stdout


@pytest.mark.timeout(600)
def test_user_pettingzoo_env_with_three_agents(tmp_path):
    result = puffer("train", "--env", "user_envs:MatchAgents", "--data-dir", str(tmp_path), "--exp-id", "ma",
                    "--train.total-timesteps", "8192", *SMALL)
    assert result.returncode == 0, result.stderr
    assert trained_return(result.stdout) > 5.0  # random: 2.5 of 10
    result = puffer("eval", "--env", "user_envs:MatchAgents", "--checkpoint",
                    str(tmp_path / "ma" / "model.pt"), "--episodes", "6")
    assert result.returncode == 0, result.stderr
    assert "user_envs:MatchAgents: 6 episodes" in result.stdout


@pytest.mark.timeout(600)
@pytest.mark.parametrize("env_id", ["Acrobot-v1", "gym:Acrobot-v1"])
def test_gymnasium_id_trains_and_evaluates_without_env(tmp_path, env_id):
    """Acrobot-v1 as the configured alias and as the plain Gymnasium id (default config and policy)."""
    # 8 envs x 512 steps: every env finishes an episode (at most 500 steps).
    result = puffer("train", "--env", env_id, "--data-dir", str(tmp_path), "--exp-id", "ac",
                    "--vec.num-copies", "8", "--train.total-timesteps", "4096", "--train.batch-size", "1024",
                    "--train.minibatch-size", "512", "--progress", "none")
    assert result.returncode == 0, result.stderr
    assert "Trained " in result.stdout and "'episode_length'" in result.stdout
    saved = json.loads((tmp_path / "ac" / "config.json").read_text())
    assert saved["kind"] == ("gymnasium" if env_id.startswith("gym:") else "binding")
    result = puffer("eval", "--checkpoint", str(tmp_path / "ac"), "--episodes", "1", "--max-steps", "600",
                    "--render-mode", "none")
    assert result.returncode == 0, result.stderr
    assert f"{saved['name']}: 1 episodes" in result.stdout


@pytest.mark.timeout(600)
def test_imported_registration_is_recorded_for_eval(tmp_path):
    result = puffer("train", "UserDictTuple-v0", "--import", "user_registry", "--data-dir", str(tmp_path),
                    "--exp-id", "reg", "--train.total-timesteps", "1536", *SMALL)
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "reg" / "config.json").read_text())["imports"] == ["user_registry"]
    result = puffer("eval", "--checkpoint", str(tmp_path / "reg"), "--episodes", "2")
    assert result.returncode == 2 and "--import user_registry" in result.stderr  # the folder names an import
    result = puffer("eval", "--import", "user_registry", "--checkpoint", str(tmp_path / "reg"),
                    "--episodes", "2")
    assert result.returncode == 0, result.stderr
    assert "UserDictTuple-v0: 2 episodes | episode_length 6" in result.stdout


@pytest.mark.timeout(600)
def test_puffer_env_class_and_resume_without_env(tmp_path):
    spec = "pufferlib.environments.ocean.squared:SquaredNative"
    result = puffer("train", "--env", spec, "--env.num-envs", "16", "--vec.num-copies", "1", "--data-dir",
                    str(tmp_path), "--exp-id", "native", "--train.total-timesteps", "1024",
                    "--train.batch-size", "512", "--train.minibatch-size", "256", "--progress", "none")
    assert result.returncode == 0, result.stderr
    result = puffer("train", "--resume", str(tmp_path / "native"), "--train.total-timesteps", "2048",
                    "--progress", "none", "--trust-run")
    assert result.returncode == 0, result.stderr
    assert torch.load(tmp_path / "native" / "checkpoint.pt", weights_only=True)["global_step"] >= 2048


def test_a_run_without_finished_episodes_says_so(tmp_path):
    result = puffer("train", "--env", "user_envs:NeverEnds", "--data-dir", str(tmp_path),
                    "--train.total-timesteps", "512", "--train.batch-size", "512", "--train.minibatch-size",
                    "256", "--progress", "none")
    assert result.returncode == 0, result.stderr
    assert re.search(r"No episode finished in [\d,]+ steps", result.stdout), result.stdout


def test_help_shows_the_callables_signature():
    result = puffer("train", "--env", "user_envs:make_dict_tuple_env", "--help")
    assert result.returncode == 0, result.stderr
    assert "--env.length" in result.stdout and "--env.num-goals" in result.stdout
    assert "--import" in result.stdout and "--config" in result.stdout


# ---------------------------------------------------------------------------------------
# The README's "Train from Python" examples, run as a user runs them


def readme_examples() -> list[str]:
    text = (TESTS.parent / "README.md").read_text()
    section = text.split("## Train from Python", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)


def test_readme_has_both_examples():
    examples = readme_examples()
    assert len(examples) == 2
    assert "GymnasiumPufferEnv" in examples[0] and "PettingZooPufferEnv" in examples[1]


@pytest.mark.timeout(600)
@pytest.mark.parametrize("index", [0, 1])
def test_readme_train_from_python_example_runs(tmp_path, index):
    script = tmp_path / "example.py"
    script.write_text(readme_examples()[index])
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=540,
                            cwd=tmp_path, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert result.returncode == 0, result.stderr
    progress = [line for line in result.stdout.splitlines() if " step " in line]
    assert progress and progress[-1].split(" step ")[1].startswith(("20,000/20,000", "10,000/10,000"))
    mean = float(result.stdout.rsplit("mean return:", 1)[1].split()[0])
    assert mean > (40 if index == 0 else 5)  # random play: ~22 on CartPole, 2.5 on Match
    assert list(tmp_path.glob("experiments/*/model.pt"))


# ---------------------------------------------------------------------------------------
# The shared binding helper


def test_importing_a_binding_does_not_import_torch():
    code = ("import sys, pufferlib.environments.atari as a, pufferlib.environments.classic_control as c; "
            "assert 'torch' not in sys.modules; a.Policy; assert 'torch' in sys.modules")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_with_defaults_is_the_base_model_with_other_defaults():
    import inspect

    from pufferlib.environments.binding import with_defaults

    Wide = with_defaults(pufferlib.models.Default, "Wide", "A wide MLP.", hidden_size=256)
    assert list(inspect.signature(Wide).parameters) == ["env", "hidden_size"]
    assert inspect.signature(Wide).parameters["hidden_size"].default == 256
    env = experiment.as_puffer_env(gymnasium.make("CartPole-v1"))
    wide, narrow = Wide(env), Wide(env, hidden_size=8)
    assert wide.hidden_size == 256 and narrow.hidden_size == 8 and isinstance(wide, pufferlib.models.Default)
    base = pufferlib.models.Default(env, hidden_size=256)
    shapes = lambda model: {k: v.shape for k, v in model.state_dict().items()}  # noqa: E731
    assert shapes(wide) == shapes(base)
    with pytest.raises(TypeError):
        Wide(env, hidden=3)


@pytest.mark.parametrize("agents", [3, 24, 7, 100])
def test_a_batch_that_does_not_fit_the_agents_gets_working_values(agents):
    config = TrainConfig()
    with pytest.raises(APIUsageError) as info:
        check_batch_fits(config, agents)
    batch, minibatch = map(int, re.search(r"--train.batch-size (\d+) --train.minibatch-size (\d+)",
                                          str(info.value)).groups())
    fitted = TrainConfig(batch_size=batch, minibatch_size=minibatch)
    check_batch_fits(fitted, agents)
