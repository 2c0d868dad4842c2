"""The run layer: declarations, checks, configs, run folders (pufferlib.run)."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pufferlib import cli, run
from pufferlib.exceptions import APIUsageError
from pufferlib.run import catalog, folders
from pufferlib.run.config import RenamedOptionWarning, RunConfig
from pufferlib.run.options import Option, options_of_dataclass, options_of_signature
from pufferlib.run.sections import SweepConfig, TrainConfig, VecConfig

# ---------------------------------------------------------------------------------------
# Options: one declaration, every check derived from it


def test_an_options_type_comes_from_its_annotation_or_default():
    def factory(size: int = 3, rate: float = 0.5, name: str = "x", flag: bool = False, width=7,
                anything=None):
        return size

    options = {o.name: o for o in options_of_signature(factory)[0]}
    assert [options[k].kind for k in ("size", "rate", "name", "flag", "width")] == [
        "int", "float", "str", "bool", "int"]
    assert options["anything"].kind == "any" and options["anything"].optional


@pytest.mark.parametrize("kind, good, bad", [
    ("bool", [True, False], ["yes", 1, 0, "true"]),
    ("int", [0, 3, 4.0], ["3", 3.5, True, None]),
    ("float", [0, 1.5, 2], ["fast", True, None]),
    ("str", ["a"], [1, None, True]),
])
def test_a_value_of_the_wrong_type_is_refused_with_the_key(kind, good, bad):
    option = Option("key", kind, {"bool": False, "int": 1, "float": 1.0, "str": "s"}[kind])
    for value in good:
        option.check(value, "section.key")
    for value in bad:
        with pytest.raises(APIUsageError, match=r"section\.key = "):
            option.check(value, "section.key")


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_bounded_numbers_are_finite_and_within_their_bounds(value):
    option = Option("rate", "float", 0.5, low=0.0, high=1.0)
    accepted = True
    try:
        option.check(value, "train.rate")
    except APIUsageError:
        accepted = False
    assert accepted == (0.0 <= value <= 1.0)


def test_an_unknown_key_names_the_closest_one():
    with pytest.raises(APIUsageError, match=r"vec\.num_workerz is not an option.*did you mean num_workers\?"):
        VecConfig.from_table({"num_workerz": 2})
    with pytest.raises(APIUsageError, match=r"sweep\.trails .*did you mean trials\?"):
        SweepConfig.from_table({"trails": 3})
    with pytest.raises(APIUsageError, match=r"vec\.backnd .*did you mean backend\?"):
        VecConfig.from_table({"backnd": "multiprocessing"})


@pytest.mark.parametrize("section, table, message", [
    (TrainConfig, {"anneal_lr": "no"}, "expected true or false"),
    (VecConfig, {"zero_copy": "no"}, "expected true or false"),
    (VecConfig, {"backend": "threads"}, "choose one of"),
    (VecConfig, {"timeout": -1.0}, "at least 0"),
    (TrainConfig, {"learning_rate": "fast"}, "expected a number"),
    (TrainConfig, {"batch_size": 1000, "minibatch_size": 300}, "multiple of"),
    (SweepConfig, {"direction": "up"}, "choose one of"),
])
def test_typed_sections_refuse_what_no_run_can_use(section, table, message):
    with pytest.raises(APIUsageError, match=message):
        section.from_table(table)


def test_vec_timeout_takes_fractions_of_a_second():
    assert VecConfig.from_table({"timeout": 2.5}).timeout == 2.5


def test_every_declared_option_has_a_type_and_a_doc():
    for section in (TrainConfig, VecConfig, SweepConfig):
        for option in options_of_dataclass(section):
            assert option.kind in ("bool", "int", "float", "str", "any"), option
            assert option.doc and len(option.doc) < 200, option.name


# ---------------------------------------------------------------------------------------
# RunConfig: loaded once, checked, serialized


def test_a_config_round_trips_through_config_json():
    config = run.load("squared", overrides={"train": {"learning_rate": 3e-4}, "env": {"num_targets": 2}})
    assert config.train.learning_rate == 3e-4 and config.env.kwargs["num_targets"] == 2
    again = RunConfig.from_dict(json.loads(json.dumps(config.to_dict())))
    assert again == config


def test_every_train_option_reaches_the_trainer_from_its_declaration_alone():
    """A new TrainConfig field is a flag, a checked TOML key, a --help line and a config.json entry."""
    parser = cli.build_parser("train", run.load("squared"))
    parser_flags = {s for action in parser._actions for s in action.option_strings}
    for option in options_of_dataclass(TrainConfig):
        flag = f"--train.{option.name.replace('_', '-')}"
        assert flag in parser_flags, flag
        assert option.name in run.load("squared").to_dict()["train"]
    command, config, _ = cli.parse_command(["train", "--env", "squared", "--train.target-kl", "0.05"])
    trainer = run.make_trainer(config, "probe", record=False)
    try:
        assert trainer.config.target_kl == 0.05 and trainer.config is config.train
    finally:
        trainer.vecenv.close()


def test_policy_options_are_checked_against_the_policys_signature():
    with pytest.raises(APIUsageError, match=r"policy\.recurrent = 'yes': expected true or false"):
        run.load("squared", overrides={"policy": {"recurrent": "yes"}})
    with pytest.raises(APIUsageError, match=r"policy\.hidden_sise is not an option.*did you mean hidden_s"):
        run.load("squared", overrides={"policy": {"hidden_sise": 8}})
    with pytest.raises(APIUsageError, match=r"policy\.hidden_size = 0: must be at least 1"):
        run.load("squared", overrides={"policy": {"hidden_size": 0}})


def test_the_old_vec_num_envs_still_works_with_a_warning():
    with pytest.warns(RenamedOptionWarning, match="vec.num_envs is now vec.num_copies"):
        config = run.load("squared", overrides={"vec": {"num_envs": 4}})
    assert config.vec.num_copies == 4
    with pytest.raises(APIUsageError, match="give only vec.num_copies"):
        run.load("squared", overrides={"vec": {"num_envs": 4, "num_copies": 2}})


def test_a_saved_run_of_the_last_release_still_loads(tmp_path):
    old = run.load("squared").to_dict()
    old["vec"]["num_envs"] = old["vec"].pop("num_copies")  # how 1.0.0's runs recorded it
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "config.json").write_text(json.dumps(old))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a saved run is renamed quietly
        config = run.config.load_saved(tmp_path / "run")
    assert config.vec.num_copies == old["vec"]["num_envs"]


def test_a_user_file_with_a_misspelt_section_says_so(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text("[trian]\nlearning_rate = 0.1\n")
    with pytest.raises(APIUsageError, match=r"\[trian\] is not a config section \(did you mean train\?\)"):
        run.load("squared", config_file=path)


# ---------------------------------------------------------------------------------------
# Run folders


def test_a_new_run_never_replaces_an_existing_one(tmp_path):
    folder = folders.claim(tmp_path, "dup")
    (folder / folders.MODEL_FILE).write_bytes(b"weights")
    with pytest.raises(APIUsageError, match="already holds a run: continue it with --resume"):
        folders.claim(tmp_path, "dup")
    again = folders.claim(tmp_path, "dup", overwrite=True)
    assert again == folder and not (folder / folders.MODEL_FILE).exists()


def test_a_history_checkpoint_belongs_to_its_run_folder(tmp_path):
    history = tmp_path / "run" / folders.HISTORY_DIR
    history.mkdir(parents=True)
    (history / "checkpoint_000000001024.pt").write_bytes(b"x")
    assert folders.run_folder(history / "checkpoint_000000001024.pt") == tmp_path / "run"
    assert folders.run_folder(history) == tmp_path / "run"


@pytest.mark.parametrize("saved, named, imports, refused", [
    (("callable", "os:system", []), None, [], "--env py:os:system"),
    (("binding", "squared", ["evil_module"]), None, [], "--import evil_module"),
    (("callable", "mymod:make", []), "mymod:make", [], None),
    (("callable", "mymod:make", []), "py:mymod:make", [], None),
    (("binding", "squared", ["pkg"]), None, ["pkg"], None),
    (("gymnasium", "CartPole-v1", []), None, [], None),
])
def test_a_run_folder_runs_no_code_the_user_did_not_name(tmp_path, saved, named, imports, refused):
    kind, spec, saved_imports = saved
    if refused is None:
        folders.trusted_env(tmp_path, kind, spec, saved_imports, named, imports, trust=False)
        return
    with pytest.raises(APIUsageError, match=f"names code to run \\({refused}\\)"):
        folders.trusted_env(tmp_path, kind, spec, saved_imports, named, imports, trust=False)
    folders.trusted_env(tmp_path, kind, spec, saved_imports, named, imports, trust=True)


def test_eval_of_a_planted_config_runs_nothing(tmp_path):
    planted = run.load("squared").to_dict() | {"env_spec": "os:system", "kind": "callable",
                                               "name": "os:system",
                                               "env": {"command": f"touch {tmp_path / 'PWNED'}"}}
    folder = tmp_path / "shared-run"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(planted))
    (folder / "model.pt").write_bytes(b"")
    for args in (["eval", "--checkpoint", str(folder)], ["eval", "--checkpoint", f"{folder}/best"],
                 ["train", "--resume", str(folder)]):
        result = subprocess.run([sys.executable, "-m", "pufferlib", *args], capture_output=True, text=True,
                                timeout=120, cwd=tmp_path)
        assert result.returncode != 0 and not (tmp_path / "PWNED").exists(), (args, result.stderr)


# ---------------------------------------------------------------------------------------
# The light layer


def test_help_imports_no_torch():
    code = ("import sys\nfrom pufferlib import cli\n"
            "for argv in (['--help'], ['train', '--help']):\n"
            "    try:\n        cli.main(argv)\n    except SystemExit:\n        pass\n"
            "assert 'torch' not in sys.modules, 'torch was imported'\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "--exp-id" in result.stdout


def test_sections_are_the_catalogs_sections():
    assert set(catalog.SECTIONS) == {"env", "policy", "rnn", "vec", "train", "sweep"}
    config = run.load("squared")
    assert set(config.to_dict()) >= set(catalog.SECTIONS)
    assert dataclasses.is_dataclass(config.train) and dataclasses.is_dataclass(config.vec)


def test_the_console_script_imports_the_users_module_from_the_current_folder(tmp_path):
    """The installed ``puffer``, run from the folder holding the user's env, with no PYTHONPATH."""
    (tmp_path / "gridworld.py").write_text(
        "import gymnasium as gym, numpy as np\n"
        "class Grid(gym.Env):\n"
        "    observation_space = gym.spaces.Box(0, 1, (2,), np.float32)\n"
        "    action_space = gym.spaces.Discrete(2)\n"
        "    def __init__(self, size=3):\n        self.size, self.t = size, 0\n"
        "    def reset(self, seed=None, options=None):\n        self.t = 0\n"
        "        return np.zeros(2, np.float32), {}\n"
        "    def step(self, action):\n        self.t += 1\n"
        "        return np.zeros(2, np.float32), float(action), self.t >= self.size, False, {}\n"
        "def make_env(size=3):\n    return Grid(size)\n")
    puffer = Path(sys.executable).parent / "puffer"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    common = ["--data-dir", str(tmp_path / "runs"), "--progress", "none"]
    result = subprocess.run([str(puffer), "train", "--env", "gridworld:make_env", "--env.size", "5",
                             "--exp-id", "grid", "--train.total-timesteps", "2048",
                             "--train.batch-size", "512", "--train.minibatch-size", "256", *common],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    result = subprocess.run([str(puffer), "eval", "--env", "gridworld:make_env", "--checkpoint",
                             str(tmp_path / "runs" / "grid"), "--episodes", "3"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "gridworld:make_env: 3 episodes | episode_length 5" in result.stdout
