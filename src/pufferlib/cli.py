"""The ``puffer`` command (also ``python -m pufferlib``): train, eval, autotune and sweep.

::

    puffer train --env squared [--vec serial|multiprocessing|ray] [--train.learning-rate 3e-4]
    puffer eval --env squared [--checkpoint PATH]
    puffer autotune --env cartpole
    puffer sweep --env bandit --sweep.trials 8

Settings come from the TOML files shipped in ``pufferlib/config``: a ``[default]``
table merged with the environment's own table (see ``config/default.toml``). Every
value is an option: ``--SECTION.KEY VALUE`` with SECTION one of env, policy, rnn,
vec, train, sweep, and ``--SECTION.KEY`` / ``--SECTION.no-KEY`` for booleans. The
env, policy and rnn options are read from the signatures of the environment factory
and of its binding's ``Policy`` and ``Recurrent``, so ``puffer train --env NAME --help``
lists exactly what that environment accepts. An unknown environment or option is an
error; every failure exits non-zero.
"""

from __future__ import annotations

import argparse
import ast
import copy
import functools
import importlib
import inspect
import json
import os
import sys
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

from pufferlib.exceptions import APIUsageError, EnvironmentSetupError

CONFIG_DIR = Path(__file__).parent / "config"
SECTIONS = ("env", "policy", "rnn", "vec", "train", "sweep")
COMMANDS = ("train", "eval", "autotune", "sweep")
CONFIG_JSON = "config.json"
# Arguments the commands supply themselves, never taken from the command line.
RESERVED_ENV_ARGS = frozenset({"render_mode", "buf"})


# ---------------------------------------------------------------------------------------
# Configuration files


def merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Deep merge of two nested dicts; ``override`` wins."""
    merged = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


@functools.cache
def load_config_files() -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """``([default] table, {env name: its table})`` from every shipped TOML file."""
    default: dict[str, Any] = {}
    envs: dict[str, dict[str, Any]] = {}
    for path in sorted(CONFIG_DIR.glob("*.toml")):
        with open(path, "rb") as f:
            data = tomllib.load(f)
        if path.stem == "default":
            default = data.get("default", {})
            continue
        for name, table in data.items():
            table = dict(table)
            table.setdefault("package", path.stem)
            table.setdefault("env_name", name)
            table["name"] = name
            for alias in [name, *table.pop("aliases", [])]:
                if alias in envs:
                    raise APIUsageError(
                        f"Environment {alias!r} is configured twice (second time in {path.name})."
                    )
                envs[alias] = table
    return default, envs


def env_names() -> list[str]:
    return list(load_config_files()[1])


def load_config(name: str) -> dict[str, Any]:
    """The merged configuration of environment ``name`` (or ``package:env_name``)."""
    default, envs = load_config_files()
    if name in envs:
        table = envs[name]
    elif ":" in name:
        package, env_name = name.split(":", 1)
        table = {"package": package, "env_name": env_name}
    else:
        raise APIUsageError(
            f"Unknown environment {name!r}. Configured environments: {', '.join(envs)}. Any other "
            "binding's environment can be named as PACKAGE:NAME, e.g. "
            "classic_control:MountainCarContinuous-v0."
        )
    config = merge(default, table)
    for section in SECTIONS:
        config.setdefault(section, {})
    config.setdefault("name", name)
    return config


def load_binding(package: str) -> ModuleType:
    """``pufferlib.environments.<package>``; a missing dependency raises ``EnvironmentSetupError``."""
    module = f"pufferlib.environments.{package}"
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as e:
        if e.name in (module, f"pufferlib.environments.{package.split('.')[0]}"):
            raise APIUsageError(
                f"No environment binding named {package!r} ({module} does not exist)."
            ) from None
        raise EnvironmentSetupError(e, package) from e


# ---------------------------------------------------------------------------------------
# Environment, policy and vecenv construction


def policy_classes(binding: ModuleType) -> tuple[Callable, Callable]:
    """The binding's ``Policy`` and ``Recurrent``, falling back on ``pufferlib.models``."""
    import pufferlib.models

    policy = getattr(binding, "Policy", None) or pufferlib.models.Default
    recurrent = getattr(binding, "Recurrent", None) or pufferlib.models.LSTMWrapper
    return policy, recurrent


def signature_defaults(fn: Callable, skip: int = 0, exclude: frozenset = frozenset()
                       ) -> tuple[dict[str, tuple[Any, Any]], bool]:
    """``({name: (default, annotation)}, accepts **kwargs)`` of ``fn``'s keyword parameters.

    The first ``skip`` positional parameters (``env``, ``policy``) are left out, and so
    are ``*args``, ``**kwargs`` and the ``exclude`` names.
    """
    params = list(inspect.signature(fn).parameters.values())
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    skipped = {p.name for p in positional[:skip]}
    options: dict[str, tuple[Any, Any]] = {}
    var_kwargs = False
    for p in params:
        if p.kind is p.VAR_KEYWORD:
            var_kwargs = True
        elif p.kind is not p.VAR_POSITIONAL and p.name not in skipped and p.name not in exclude:
            default = None if p.default is inspect.Parameter.empty else p.default
            options[p.name] = (default, p.annotation)
    return options, var_kwargs


def section_options(config: Mapping[str, Any], binding: ModuleType
                    ) -> dict[str, dict[str, tuple[Any, Any]]]:
    """Every option per section: defaults from signatures, overridden by the TOML values."""
    from pufferlib.trainer import TrainConfig

    creator = binding.env_creator(config["env_name"])
    policy_cls, recurrent_cls = policy_classes(binding)
    sources = {
        "env": signature_defaults(creator, exclude=RESERVED_ENV_ARGS),
        "policy": signature_defaults(policy_cls, skip=1),
        "rnn": signature_defaults(recurrent_cls, skip=2),
        "train": signature_defaults(TrainConfig),
    }
    options: dict[str, dict[str, tuple[Any, Any]]] = {}
    for section in SECTIONS:
        known, var_kwargs = sources.get(section, ({}, True))
        known = dict(known)
        if section == "policy":
            known["recurrent"] = (False, "bool")
        for key, value in config[section].items():
            if section == "sweep" and isinstance(value, Mapping):
                continue
            if key not in known and not var_kwargs:
                raise APIUsageError(
                    f"Config for {config['name']!r}: {section}.{key} is not an option of "
                    f"{section} (valid: {', '.join(known) or 'none'})."
                )
            annotation = known.get(key, (None, None))[1]
            known[key] = (value, annotation)
        options[section] = known
    return options


def make_vecenv(config: Mapping[str, Any], binding: ModuleType,
                env_overrides: Mapping[str, Any] | None = None,
                vec_overrides: Mapping[str, Any] | None = None) -> Any:
    """A vecenv for the configured environment; zero-valued vec settings mean the backend's default."""
    import pufferlib.vector

    vec = {**config["vec"], **(vec_overrides or {})}
    kwargs = {key: vec[key] for key in ("num_workers", "batch_size") if vec.get(key)}
    backend = str(vec.get("backend", "serial")).lower()
    if backend == "multiprocessing":
        kwargs["zero_copy"] = bool(vec.get("zero_copy", True))
    env_kwargs = {**config["env"], **(env_overrides or {})}
    creator = binding.env_creator(config["env_name"])
    return pufferlib.vector.make(creator, env_kwargs=env_kwargs, backend=backend,
                                 num_envs=int(vec.get("num_envs", 1)), **kwargs)


def make_policy(config: Mapping[str, Any], binding: ModuleType, env: Any) -> Any:
    """The binding's ``Policy`` built for ``env`` (wrapped in its ``Recurrent`` if configured)."""
    policy_cls, recurrent_cls = policy_classes(binding)
    policy_kwargs = {k: v for k, v in config["policy"].items() if k != "recurrent"}
    policy = policy_cls(env, **policy_kwargs)
    if config["policy"].get("recurrent"):
        policy = recurrent_cls(env, policy, **config["rnn"])
    return policy


def train_config(config: Mapping[str, Any]) -> Any:
    from pufferlib.trainer import TrainConfig

    return TrainConfig(**config["train"])


# ---------------------------------------------------------------------------------------
# Command line parsing


def _parse_int(text: str) -> int:
    value = float(text.replace("_", "")) if any(c in text for c in ".eE") else int(text.replace("_", ""), 0)
    if value != int(value):
        raise ValueError(f"not an integer: {text}")
    return int(value)


def _parse_auto(text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _parse_bool(text: str) -> bool:
    lowered = text.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"not a boolean: {text}")


def _value_type(default: Any, annotation: Any) -> Callable[[str], Any]:
    """The parser for an option, from its annotation (a string under PEP 563) or else its default."""
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
    if isinstance(default, bool) or text == "bool":
        return _parse_bool
    for name, parse in (("float", float), ("int", _parse_int), ("str", str)):
        if text == name or text.startswith(f"{name} |") or text.endswith(f"| {name}"):
            return parse
    if isinstance(default, int):
        return _parse_int
    if isinstance(default, float):
        return float
    if isinstance(default, str):
        return str
    return _parse_auto


class _Toggle(argparse.Action):
    """``--section.key`` sets True, ``--section.no-key`` sets False."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any):
        super().__init__(option_strings, dest, nargs=0, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        setattr(namespace, self.dest, not option_string.split(".", 1)[1].startswith("no-"))


_SECTION_HELP = {
    "env": "keyword arguments of the environment factory",
    "policy": "keyword arguments of the policy (recurrent: wrap it in the LSTM)",
    "rnn": "keyword arguments of the recurrent (LSTM) wrapper, used with --policy.recurrent",
    "vec": "vectorization: backend, num_envs, num_workers, batch_size (0: default), zero_copy",
    "train": "PPO hyperparameters (pufferlib.trainer.TrainConfig)",
    "sweep": "hyperparameter search: metric, direction, trials",
}


def _normalise(argv: Sequence[str]) -> list[str]:
    """Accept ``--train.learning_rate`` as well as ``--train.learning-rate``."""
    normalised = []
    for arg in argv:
        if arg.startswith("--") and "." in arg.split("=", 1)[0]:
            flag, sep, value = arg.partition("=")
            arg = flag.replace("_", "-") + sep + value
        normalised.append(arg)
    return normalised


def _base_parser(command: str | None, add_help: bool = True) -> argparse.ArgumentParser:
    names = ", ".join(env_names())
    parser = argparse.ArgumentParser(
        prog=f"puffer {command}" if command else "puffer",
        usage=f"puffer {command} --env NAME [options]" if command else "puffer COMMAND --env NAME [options]",
        description="Train, evaluate, autotune and sweep PufferLib environments.",
        epilog=f"Environments: {names}; or PACKAGE:NAME for any binding's environment. "
               "Run `puffer COMMAND --env NAME --help` for that environment's options.",
        argument_default=argparse.SUPPRESS, allow_abbrev=False, add_help=add_help,
    )
    parser.add_argument("--env", metavar="NAME", help="environment to use (required)")
    return parser


def build_parser(command: str, config: Mapping[str, Any] | None = None,
                 options: Mapping[str, Mapping[str, tuple[Any, Any]]] | None = None
                 ) -> argparse.ArgumentParser:
    """The parser for ``command``; with ``options``, one flag per configurable value."""
    parser = _base_parser(command)
    parser.add_argument("--vec", dest="vec.backend", metavar="BACKEND",
                        choices=["serial", "multiprocessing", "ray"],
                        help="vectorization backend: serial, multiprocessing or ray (same as --vec.backend)")
    parser.add_argument("--data-dir", dest="train.data_dir", metavar="DIR",
                        help="where experiments are stored (same as --train.data-dir)")
    if command == "train":
        parser.add_argument("--exp-id", metavar="ID", help="experiment name (default: ENV-DATE-TIME-XXXX)")
        parser.add_argument("--resume", metavar="PATH", nargs="?", const="latest",
                            help="continue an experiment: its folder, its checkpoint.pt, or 'latest' "
                                 "(the newest experiment of this environment)")
        parser.add_argument("--tensorboard", action="store_true",
                            help="log to TensorBoard in the experiment folder")
        parser.add_argument("--wandb", action="store_true",
                            help="log to Weights & Biases (offline unless WANDB_MODE)")
        parser.add_argument("--wandb-project", metavar="NAME", help="wandb project (default: pufferlib)")
        parser.add_argument("--progress", choices=["auto", "rich", "plain", "none"],
                            help="dashboard: rich panel, plain lines, or auto (rich on a terminal)")
        parser.add_argument("--progress-interval", type=float, default=5.0, metavar="SECONDS",
                            help="seconds between plain progress lines (default: 5)")
    elif command == "eval":
        parser.add_argument("--checkpoint", metavar="PATH",
                            help="model.pt, checkpoint.pt or experiment folder (default: newest for "
                                 "this env; 'none' for an untrained policy)")
        parser.add_argument("--episodes", type=_parse_int, metavar="N",
                            help="episodes to evaluate (default: 10)")
        parser.add_argument("--render-mode", choices=["auto", "ansi", "rgb_array", "none"],
                            help="auto: ANSI in the terminal if the env has it, else a GIF/MP4 "
                                 "(default: auto)")
        parser.add_argument("--output", metavar="PATH", help="GIF or MP4 file for rgb_array frames")
        parser.add_argument("--fps", type=float, metavar="FPS", help="playback rate (default: env's, else 8)")
        parser.add_argument("--max-steps", type=_parse_int, metavar="N",
                            help="stop after N steps (default: 10000)")
    elif command == "autotune":
        parser.add_argument("--batch-size", type=_parse_int, metavar="N",
                            help="fewest agents per batch (default: vec.num_envs x agents per env)")
        parser.add_argument("--max-envs", type=_parse_int, metavar="N",
                            help="largest num_envs tried (default: 1024)")
        parser.add_argument("--time-per-test", type=float, metavar="S",
                            help="seconds per configuration (default: 5)")
        parser.add_argument("--model-forward-s", type=float, metavar="S",
                            help="simulated inference time per batch (default: 0)")
        parser.add_argument("--max-env-ram-gb", type=float, metavar="GB", help="RAM budget (default: 32)")
    elif command == "sweep":
        parser.add_argument("--sweep-id", metavar="ID",
                            help="sweep folder name (default: sweep-ENV-DATE-TIME)")
    if options is None:
        return parser
    for section in SECTIONS:
        if section == "sweep" and command != "sweep":
            continue
        values = options.get(section, {})
        group = parser.add_argument_group(f"{section} options", _SECTION_HELP[section])
        if section == "sweep":
            group.add_argument("--sweep.timesteps", dest="sweep.timesteps", type=_parse_int, metavar="N",
                               help="training steps per trial (default: train.total_timesteps)")
        for key, (default, annotation) in values.items():
            flag = f"--{section}.{key.replace('_', '-')}"
            dest = f"{section}.{key}"
            parse = _value_type(default, annotation)
            if parse is _parse_bool:
                group.add_argument(flag, f"--{section}.no-{key.replace('_', '-')}", dest=dest, action=_Toggle,
                                   help=f"(default: {default})")
            else:
                group.add_argument(flag, dest=dest, type=parse, metavar=key.upper(),
                                   help=f"(default: {default!r})")
    return parser


def parse_command(argv: Sequence[str]) -> tuple[str, dict[str, Any], argparse.Namespace, Any]:
    """``(command, merged config, parsed top-level options, binding)``; exits on bad input."""
    argv = _normalise(argv)
    if not argv or argv[0] in ("-h", "--help"):
        parser = _base_parser(None)
        parser.add_argument("command", choices=COMMANDS, help="train | eval | autotune | sweep")
        parser.print_help()
        raise SystemExit(0 if argv else 2)
    command, rest = argv[0], argv[1:]
    if command not in COMMANDS:
        _base_parser(None).error(f"unknown command {command!r}: choose from {', '.join(COMMANDS)}")
    probe = _base_parser(command, add_help=False)
    probe.add_argument("-h", "--help", action="store_true", default=False)
    known, _ = probe.parse_known_args(rest)
    parser = build_parser(command)
    if not hasattr(known, "env"):
        if getattr(known, "help", False):
            parser.print_help()
            raise SystemExit(0)
        parser.error("--env NAME is required")
    try:
        config = load_config(known.env)
        binding = load_binding(config["package"])
        options = section_options(config, binding)
    except (APIUsageError, EnvironmentSetupError) as e:
        parser.error(str(e))
    parser = build_parser(command, config, options)
    args = parser.parse_args(rest)
    explicit: dict[str, dict[str, Any]] = {}
    for dest, value in vars(args).items():
        if "." in dest:
            section, key = dest.split(".", 1)
            explicit.setdefault(section, {})[key] = value
    args.explicit = explicit
    config = merge(config, explicit)
    return command, config, args, binding


# ---------------------------------------------------------------------------------------
# Experiments on disk


def _new_exp_id(name: str) -> str:
    safe = name.replace(":", "-").replace("/", "-")
    return f"{safe}-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:4]}"


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str))
    os.replace(tmp, path)


def latest_experiment(data_dir: str | os.PathLike, name: str) -> Path | None:
    """The newest experiment folder of environment ``name`` that has a saved model."""
    from pufferlib.trainer import MODEL_FILE

    candidates = []
    root = Path(data_dir)
    if not root.is_dir():
        return None
    for folder in root.iterdir():
        try:
            saved = json.loads((folder / CONFIG_JSON).read_text())
        except (OSError, ValueError):
            continue
        model = folder / MODEL_FILE
        if saved.get("name") == name and model.is_file():
            candidates.append((model.stat().st_mtime, folder))
    return max(candidates)[1] if candidates else None


def _experiment_folder(path: str | os.PathLike) -> Path:
    path = Path(path)
    return path if path.is_dir() else path.parent


def _saved_config(folder: Path) -> dict[str, Any] | None:
    try:
        return json.loads((folder / CONFIG_JSON).read_text())
    except (OSError, ValueError):
        return None


def _apply_saved(config: dict[str, Any], folder: Path, explicit: Mapping[str, Any],
                 sections: Sequence[str]) -> dict[str, Any]:
    """Rebuild ``config`` from an experiment's saved one, keeping explicit command-line values."""
    saved = _saved_config(folder)
    if saved is None:
        return config
    if saved.get("name") != config["name"]:
        raise APIUsageError(
            f"{folder} holds an experiment of {saved.get('name')!r}, not {config['name']!r}: pass --env "
            f"{saved.get('name')} or another checkpoint."
        )
    rebuilt = copy.deepcopy(config)
    for section in sections:
        rebuilt[section] = merge(saved.get(section, {}), explicit.get(section, {}))
    return rebuilt


# ---------------------------------------------------------------------------------------
# Commands


def run_training(config: Mapping[str, Any], binding: ModuleType, exp_id: str, resume: Path | None = None,
                 loggers: Sequence[Any] = (), progress: str = "auto", progress_interval: float = 5.0,
                 save: bool = True, callback: Callable[[Any], Any] | None = None) -> Any:
    """Train with ``config``; returns the closed ``Trainer`` (the core of ``puffer train`` and sweeps).

    ``callback(trainer)`` runs after every update; returning False stops training.
    """
    import torch

    from pufferlib.dashboard import Dashboard
    from pufferlib.trainer import Trainer, seed_everything

    train_cfg = train_config(config)
    if train_cfg.torch_threads:
        torch.set_num_threads(train_cfg.torch_threads)
    seed_everything(train_cfg.seed, train_cfg.torch_deterministic)
    vecenv = make_vecenv(config, binding)
    try:
        policy = make_policy(config, binding, vecenv.driver_env)
        trainer = Trainer(vecenv, policy, train_cfg, exp_id=exp_id, loggers=loggers)
    except BaseException:
        vecenv.close()
        raise
    if save:
        _write_json(trainer.exp_dir / CONFIG_JSON, config)
    if resume is not None:
        trainer.load_checkpoint(resume)
    dashboard = None
    if progress != "none":
        live = {"rich": True, "plain": False}.get(progress)
        dashboard = Dashboard(config["name"], exp_id, train_cfg.total_timesteps, live=live,
                              interval=progress_interval)
    def after_update(t: Any) -> Any:
        if dashboard is not None:
            dashboard.update(t.metrics())
        return callback(t) if callback is not None else None

    try:
        trainer.run(callback=after_update)
    except KeyboardInterrupt:
        if dashboard is not None:
            dashboard.close()
            dashboard = None
        trainer.close(save=save)
        print(f"Interrupted; checkpoint saved in {trainer.exp_dir}" if save else "Interrupted.",
              file=sys.stderr)
        raise
    if dashboard is not None:
        dashboard.update(trainer.metrics(), force=True)
        dashboard.close()
    trainer.close(save=save)
    return trainer


def _command_train(config: dict[str, Any], args: argparse.Namespace, binding: ModuleType) -> int:
    data_dir = config["train"].get("data_dir", "experiments")
    resume = None
    exp_id = getattr(args, "exp_id", None)
    if hasattr(args, "resume"):
        if args.resume == "latest":
            resume = latest_experiment(data_dir, config["name"])
            if resume is None:
                raise APIUsageError(f"--resume latest: no experiment of {config['name']!r} in {data_dir}.")
        else:
            resume = Path(args.resume)
            if not resume.exists():
                raise APIUsageError(f"--resume {resume}: no such file or folder.")
        folder = _experiment_folder(resume)
        config = _apply_saved(config, folder, args.explicit, ("env", "policy", "rnn", "vec", "train"))
        config["train"]["data_dir"] = str(folder.parent)
        exp_id = folder.name
    exp_id = exp_id or _new_exp_id(config["name"])
    exp_dir = Path(config["train"].get("data_dir", data_dir)) / exp_id

    loggers = []
    from pufferlib.trainer import TensorBoardLogger, WandbLogger

    if getattr(args, "tensorboard", False):
        loggers.append(TensorBoardLogger(exp_dir / "tensorboard"))
    if getattr(args, "wandb", False):
        loggers.append(WandbLogger(getattr(args, "wandb_project", "pufferlib"), exp_id, config, exp_dir))
    metrics = run_training(config, binding, exp_id, resume=resume, loggers=loggers,
                           progress=getattr(args, "progress", "auto"),
                           progress_interval=getattr(args, "progress_interval", 5.0)).metrics()
    summary = {k.removeprefix("environment/"): round(v, 4) for k, v in metrics.items()
               if k.startswith("environment/")}
    print(f"Trained {config['name']} for {int(metrics['global_step']):,} steps in {metrics['elapsed']:.1f}s "
          f"({metrics['global_step'] / max(metrics['elapsed'], 1e-9):,.0f} sps): {summary}")
    print(f"Saved to {exp_dir}. Evaluate with: puffer eval --env {config['name']} --checkpoint {exp_dir}")
    return 0


def _render_modes(creator: Callable, env_kwargs: Mapping[str, Any]) -> list[str]:
    env = creator(**env_kwargs)
    try:
        for candidate in (env, getattr(env, "env", None)):
            modes = getattr(candidate, "metadata", {}).get("render_modes")
            if modes:
                return list(modes)
        return []
    finally:
        env.close()


def _command_eval(config: dict[str, Any], args: argparse.Namespace, binding: ModuleType) -> int:
    import numpy as np

    from pufferlib.trainer import load_weights, seed_everything

    data_dir = config["train"].get("data_dir", "experiments")
    checkpoint = getattr(args, "checkpoint", None)
    if checkpoint is None:
        checkpoint = latest_experiment(data_dir, config["name"])
        if checkpoint is None:
            print(f"No trained {config['name']} in {data_dir}: evaluating an untrained policy.")
    elif checkpoint == "none":
        checkpoint = None
    else:
        checkpoint = Path(checkpoint)
        if not checkpoint.exists():
            raise APIUsageError(f"--checkpoint {checkpoint}: no such file or folder.")
    if checkpoint is not None:
        config = _apply_saved(config, _experiment_folder(checkpoint), args.explicit, ("env", "policy", "rnn"))

    seed_everything(int(config["train"].get("seed", 1)))
    creator = binding.env_creator(config["env_name"])
    modes = _render_modes(creator, config["env"])
    mode = getattr(args, "render_mode", "auto")
    output = getattr(args, "output", None)
    if mode == "auto":
        if "ansi" in modes and output is None:
            mode = "ansi"
        elif "rgb_array" in modes:
            mode = "rgb_array"
        else:
            mode = "none"
    elif mode != "none" and mode not in modes:
        raise APIUsageError(f"{config['name']} cannot render as {mode!r}; it supports {modes or 'nothing'}.")
    if mode == "rgb_array" and output is None:
        output = f"{config['name'].replace(':', '-')}.gif"
    if output is not None and Path(output).suffix.lower() not in (".gif", ".mp4"):
        raise APIUsageError(f"--output {output}: the file must end in .gif or .mp4.")
    env_overrides = {"render_mode": mode} if mode != "none" else {}

    single = {"backend": "serial", "num_envs": 1, "num_workers": 0, "batch_size": 0}
    vecenv = make_vecenv(config, binding, env_overrides=env_overrides, vec_overrides=single)
    try:
        policy = make_policy(config, binding, vecenv.driver_env)
        if checkpoint is not None:
            policy.load_state_dict(load_weights(checkpoint))
            print(f"Loaded {checkpoint}")
        policy.eval()
        render_env = vecenv.driver_env
        envs = getattr(vecenv, "envs", None)
        if envs:
            render_env = envs[0]
        episodes_wanted = getattr(args, "episodes", 10)
        max_steps = getattr(args, "max_steps", 10_000)
        fps = getattr(args, "fps", None) or render_env_fps(render_env)
        tty = sys.stdout.isatty()
        frames = []
        printed_frames = 0

        def show() -> None:
            nonlocal printed_frames
            if mode == "ansi":
                frame = render_env.render()
                if tty:
                    print("\033[H\033[J" + frame, flush=True)
                    time.sleep(1 / fps)
                elif printed_frames < 100:
                    print(frame, flush=True)
                    printed_frames += 1
            elif mode == "rgb_array" and len(frames) < 2000:
                frames.append(np.asarray(render_env.render()))

        finished = play(vecenv, policy, episodes_wanted, max_steps, seed=int(config["train"].get("seed", 1)),
                        on_step=show)
    finally:
        vecenv.close()

    if frames:
        _write_video(output, frames, fps)
        print(f"Wrote {len(frames)} frames to {output}")
    if not finished:
        print(f"No episode finished within {max_steps} steps.")
        return 0
    keys = sorted({k for info in finished for k, v in info.items() if isinstance(v, int | float)})
    means = {k: float(np.mean([info[k] for info in finished if k in info])) for k in keys}
    print(f"{config['name']}: {len(finished)} episodes | "
          + " | ".join(f"{k} {v:.4g}" for k, v in means.items()))
    return 0


def play(vecenv: Any, policy: Any, episodes: int, max_steps: int = 10_000, seed: int | None = 1,
         on_step: Callable[[], Any] | None = None) -> list[dict[str, float]]:
    """Run ``policy`` (sampling its actions) until ``episodes`` episodes finish or ``max_steps`` pass.

    Returns the finished episodes' info dicts. ``on_step()`` runs after the reset and after
    every step until the first episode is over (for rendering). Recurrent policies keep
    one state per agent, zeroed at episode starts as in training.
    """
    import numpy as np
    import torch

    from pufferlib import spaces
    from pufferlib.frameworks.cleanrl import sample_logits
    from pufferlib.puffer_env import PufferEnv

    recurrent = isinstance(getattr(policy, "lstm", None), torch.nn.Module)
    reset_in_step = isinstance(vecenv.driver_env, PufferEnv)
    action_space = vecenv.single_action_space
    obs, _ = vecenv.reset(seed=seed)
    state = None
    if recurrent:
        lstm = policy.lstm
        state = tuple(torch.zeros(lstm.num_layers, vecenv.num_agents, lstm.hidden_size) for _ in range(2))
    previous_done = np.zeros(vecenv.num_agents, dtype=bool)
    finished: list[dict[str, float]] = []
    if on_step is not None:
        on_step()
    for _ in range(max_steps):
        with torch.no_grad():
            x = torch.from_numpy(np.asarray(obs))
            if recurrent:
                logits, _, state = policy(x, state)
            else:
                logits, _ = policy(x)
            action = sample_logits(logits)[0].numpy()
        if isinstance(action_space, spaces.Box):
            action = np.clip(action, action_space.low, action_space.high)
        obs, _, terminals, truncations, infos = vecenv.step(action)
        done = np.asarray(terminals) | np.asarray(truncations)
        if recurrent:
            starts = done if reset_in_step else previous_done
            keep = torch.from_numpy(~starts).float().view(1, -1, 1)
            state = (state[0] * keep, state[1] * keep)
            previous_done = done
        first_episode = not finished
        finished += [info for info in infos if "episode_return" in info or "score" in info]
        if first_episode and on_step is not None:
            on_step()
        if len(finished) >= episodes:
            break
    return finished


def render_env_fps(env: Any) -> float:
    for candidate in (env, getattr(env, "env", None)):
        fps = getattr(candidate, "metadata", {}).get("render_fps")
        if fps:
            return float(fps)
    return 8.0


def _write_video(path: str | os.PathLike, frames: list, fps: float) -> None:
    import imageio.v2 as imageio

    if str(path).lower().endswith(".mp4"):
        try:
            import imageio_ffmpeg  # noqa: F401
        except ImportError as e:
            raise EnvironmentSetupError(e, "train") from e
        imageio.mimsave(path, frames, fps=fps)
    else:
        imageio.mimsave(path, frames, duration=1000 / fps, loop=0)


def _command_autotune(config: dict[str, Any], args: argparse.Namespace, binding: ModuleType) -> int:
    import pufferlib.vector

    creator = binding.env_creator(config["env_name"])
    env_kwargs = dict(config["env"])
    batch_size = getattr(args, "batch_size", None)
    if batch_size is None:
        # autotune's batch_size counts agents: vec.num_envs envs carry num_envs times the
        # agents of one env (several for multi-agent and native vectorized envs).
        env = creator(**env_kwargs)
        try:
            agents_per_env = int(getattr(env, "num_agents", 1))
        finally:
            env.close()
        batch_size = int(config["vec"].get("num_envs", 1)) * agents_per_env
    kwargs = {"batch_size": batch_size}
    for option in ("max_envs", "time_per_test", "model_forward_s", "max_env_ram_gb"):
        if hasattr(args, option):
            kwargs[option] = getattr(args, option)
    best = pufferlib.vector.autotune(creator, env_kwargs=env_kwargs, **kwargs)
    if best:
        flags = []
        for key, value in dict(best).items():
            if key == "backend":
                value = getattr(value, "__name__", value)
                value = str(value).lower()
            flags.append(f"--vec.{key.replace('_', '-')} {value}")
        print(f"Best configuration: {dict(best)}")
        print(f"Train with: puffer train --env {config['name']} {' '.join(flags)}")
    return 0


def _command_sweep(config: dict[str, Any], args: argparse.Namespace, binding: ModuleType) -> int:
    from pufferlib.sweep import run_sweep

    sweep_id = getattr(args, "sweep_id", None) or f"sweep-{_new_exp_id(config['name'])}"
    run_sweep(config, binding, sweep_id)
    return 0


COMMAND_FUNCTIONS = {
    "train": _command_train,
    "eval": _command_eval,
    "autotune": _command_autotune,
    "sweep": _command_sweep,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``puffer``; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        command, config, args, binding = parse_command(argv)
        return COMMAND_FUNCTIONS[command](config, args, binding)
    except (APIUsageError, EnvironmentSetupError) as e:
        print(f"puffer: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
