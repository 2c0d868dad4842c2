"""The ``puffer`` command (also ``python -m pufferlib``): train, eval, autotune, sweep and plot.

::

    puffer train --env squared [--vec serial|multiprocessing|ray] [--train.learning-rate 3e-4]
    puffer train cartpole                         # the env may also come first
    puffer train --env Acrobot-v1                 # any Gymnasium id (--import PKG registers more)
    puffer train --env mymodule:make_env --env.size 5   # a callable returning an env
    puffer eval --checkpoint experiments/RUN      # the env is read from RUN/config.json
    puffer autotune --env cartpole
    puffer sweep --env bandit --sweep.trials 8
    puffer plot experiments/RUN experiments/OTHER --output curves.png

This module only parses arguments and prints; the work is ``pufferlib.run``'s. Settings come
from the shipped TOML files, then ``--config FILE.toml``, then the command line:
``--SECTION.KEY VALUE`` for every option the run layer declares (``--SECTION.KEY`` /
``--SECTION.no-KEY`` for booleans), so ``puffer train --env NAME --help`` lists exactly what
that environment accepts. Every failure exits non-zero with a one- or two-line message.
"""

from __future__ import annotations

import argparse
import ast
import os
import re
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pufferlib.exceptions import APIUsageError, EnvironmentSetupError, NonFiniteError
from pufferlib.run import catalog, folders
from pufferlib.run.options import Option, did_you_mean

COMMANDS = ("train", "eval", "autotune", "sweep", "plot")
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
SECTION_HELP = {
    "env": "keyword arguments of the environment factory",
    "policy": "keyword arguments of the policy (recurrent: wrap it in the LSTM)",
    "rnn": "keyword arguments of the recurrent (LSTM) wrapper, used with --policy.recurrent",
    "vec": "vectorization (pufferlib.run.sections.VecConfig)",
    "train": "PPO hyperparameters (pufferlib.run.sections.TrainConfig)",
    "sweep": "hyperparameter search (pufferlib.run.sections.SweepConfig)",
}
# Flags renamed in the run layer: old flag -> (section.key it sets, its new flag).
RENAMED_FLAGS = {"--vec.num-envs": ("vec.num_copies", "--vec.num-copies")}


# ---------------------------------------------------------------------------------------
# Values


def _parse_int(text: str) -> int:
    try:
        digits = text.replace("_", "")
        value = float(digits) if any(c in digits for c in ".eE") else int(digits, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value != int(value):
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}")
    return int(value)


def _parse_float(text: str) -> float:
    try:
        return float(text.replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None


def _parse_auto(text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


PARSERS: dict[str, Callable[[str], Any]] = {"int": _parse_int, "float": _parse_float, "str": str}


class _Toggle(argparse.Action):
    """``--section.key`` sets True, ``--section.no-key`` sets False."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any):
        super().__init__(option_strings, dest, nargs=0, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        setattr(namespace, self.dest, not str(option_string).split(".", 1)[1].startswith("no-"))


class _Renamed(argparse.Action):
    """An old flag: sets its new option and says the new name once on stderr."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        new = RENAMED_FLAGS[str(option_string)][1]
        print(f"puffer: note: {option_string} is now {new} (env objects; --env.num-envs stays the env's own "
              "argument).", file=sys.stderr)
        setattr(namespace, self.dest, values)


def _normalise(argv: Sequence[str]) -> list[str]:
    """Accept ``--train.learning_rate`` as well as ``--train.learning-rate``."""
    normalised = []
    for arg in argv:
        if arg.startswith("--") and "." in arg.split("=", 1)[0]:
            flag, sep, value = arg.partition("=")
            arg = flag.replace("_", "-") + sep + value
        normalised.append(arg)
    return normalised


# ---------------------------------------------------------------------------------------
# Parsers


class _Parser(argparse.ArgumentParser):
    """argparse, with "did you mean" for an unknown flag."""

    def parse_args(self, args: Sequence[str] | None = None, namespace: Any = None) -> Any:  # type: ignore[override]
        parsed, unknown = self.parse_known_args(args, namespace)
        if unknown:
            flags = [s for action in self._actions for s in action.option_strings]
            hints = [did_you_mean(arg.split("=", 1)[0], flags) for arg in unknown if arg.startswith("-")]
            self.error(f"unrecognized arguments: {' '.join(unknown)}{''.join(hints)}")
        return parsed


def _base_parser(command: str | None, add_help: bool = True) -> _Parser:
    names = ", ".join(catalog.env_names())
    parser = _Parser(
        prog=f"puffer {command}" if command else "puffer",
        usage=f"puffer {command or 'COMMAND'} [--env] ENV [options]",
        description="Train, evaluate, autotune and sweep reinforcement learning environments.",
        epilog=f"ENV is a configured environment ({names}), a binding's PACKAGE:NAME, a Gymnasium id "
               "(e.g. Acrobot-v1) or MODULE:CALLABLE returning a Gymnasium, PettingZoo or Puffer env "
               "(run from MODULE's folder). Run `puffer COMMAND --env ENV --help` for that environment's "
               "options.",
        argument_default=argparse.SUPPRESS, allow_abbrev=False, add_help=add_help,
    )
    parser.add_argument("--env", metavar="ENV", help="environment to use (required unless a checkpoint "
                                                     "or --resume folder names it)")
    parser.add_argument("--import", dest="imports", action="append", metavar="PKG",
                        help="import PKG first (it registers Gymnasium envs); repeatable")
    parser.add_argument("--config", dest="config_file", metavar="FILE.toml",
                        help="settings in the shipped configs' format, over the defaults")
    return parser


def _command_options(parser: argparse.ArgumentParser, command: str) -> None:
    parser.add_argument("--vec", dest="vec.backend", metavar="BACKEND",
                        choices=["serial", "multiprocessing", "ray"],
                        help="vectorization backend: serial, multiprocessing or ray (same as --vec.backend)")
    parser.add_argument("--data-dir", dest="train.data_dir", metavar="DIR",
                        help="where runs are stored (same as --train.data-dir)")
    parser.add_argument("--trust-run", action="store_true",
                        help="run the MODULE:CALLABLE or imports a run folder's config.json names without "
                             "naming them again (only for folders you trust)")
    if command == "train":
        parser.add_argument("--exp-id", metavar="ID", help="run folder name (default: ENV-DATE-TIME-XXXX)")
        parser.add_argument("--overwrite", action="store_true", help="replace an existing run of the same "
                                                                     "--exp-id")
        parser.add_argument("--resume", metavar="PATH", nargs="?", const="latest",
                            help="continue a run: its folder, its checkpoint.pt, or 'latest' "
                                 "(the newest run of this environment)")
        parser.add_argument("--tensorboard", action="store_true", help="log to TensorBoard in the run folder")
        parser.add_argument("--wandb", action="store_true",
                            help="log to Weights & Biases (offline unless WANDB_MODE)")
        parser.add_argument("--wandb-project", metavar="NAME", help="wandb project (default: pufferlib)")
        parser.add_argument("--progress", choices=["auto", "rich", "plain", "none"],
                            help="dashboard: rich panel, plain lines, or auto (rich on a terminal)")
        parser.add_argument("--progress-interval", type=_parse_float, default=5.0, metavar="SECONDS",
                            help="seconds between plain progress lines (default: 5)")
    elif command == "eval":
        parser.add_argument("--checkpoint", metavar="PATH",
                            help="a .pt file, a run folder, FOLDER/best or FOLDER/latest, best or "
                                 "latest (of the newest run of this env; default: latest), or none")
        parser.add_argument("--deterministic", action="store_true",
                            help="take the policy's most likely action instead of sampling")
        parser.add_argument("--video", dest="output", metavar="FILE",
                            help="record every evaluated episode to a GIF or MP4 (same as --output)")
        parser.add_argument("--episodes", type=_parse_int, metavar="N", help="episodes to evaluate "
                                                                             "(default: 10)")
        parser.add_argument("--render-mode", choices=["auto", "ansi", "rgb_array", "none"],
                            help="auto: ANSI in the terminal if the env has it, else a GIF/MP4 (default: "
                                 "auto)")
        parser.add_argument("--output", metavar="PATH", help="GIF or MP4 file for rgb_array frames")
        parser.add_argument("--fps", type=_parse_float, metavar="FPS", help="playback rate (default: env's, "
                                                                            "else 8)")
        parser.add_argument("--max-steps", type=_parse_int, metavar="N", help="stop after N steps (default: "
                                                                              "100000)")
    elif command == "autotune":
        parser.add_argument("--batch-size", type=_parse_int, metavar="N",
                            help="fewest agents per batch (default: vec.num_copies x agents per env)")
        parser.add_argument("--max-envs", type=_parse_int, metavar="N", help="largest num_envs tried "
                                                                             "(default: 1024)")
        parser.add_argument("--time-per-test", type=_parse_float, metavar="S",
                            help="seconds per configuration (default: 5)")
        parser.add_argument("--model-forward-s", type=_parse_float, metavar="S",
                            help="simulated inference time per batch (default: 0)")
        parser.add_argument("--max-env-ram-gb", type=_parse_float, metavar="GB", help="RAM budget (default: "
                                                                                      "32)")
    elif command == "sweep":
        parser.add_argument("--sweep-id", metavar="ID", help="sweep folder name (default: "
                                                             "sweep-ENV-DATE-TIME)")


def _add_option(group: Any, section: str, option: Option) -> None:
    flag, dest = f"--{section}.{option.name.replace('_', '-')}", f"{section}.{option.name}"
    if option.kind == "bool":
        group.add_argument(flag, f"--{section}.no-{option.name.replace('_', '-')}", dest=dest, action=_Toggle,
                           help=option.help)
    else:
        choices = list(option.choices) or None
        group.add_argument(flag, dest=dest, type=PARSERS.get(option.kind, _parse_auto),
                           metavar=option.name.upper(), choices=choices, help=option.help)
    for old, (target, _) in RENAMED_FLAGS.items():
        if target == dest:
            group.add_argument(old, dest=dest, type=PARSERS.get(option.kind, _parse_auto), action=_Renamed,
                               help=argparse.SUPPRESS)


def build_parser(command: str, config: Any = None, add_help: bool = True) -> _Parser:
    """The parser for ``command``; with a ``RunConfig``, one flag per option of its sections."""
    parser = _base_parser(command, add_help=add_help)
    _command_options(parser, command)
    if config is None:
        return parser
    for section, options in section_options(config).items():
        if section == "sweep" and command != "sweep":
            continue
        group = parser.add_argument_group(f"{section} options", SECTION_HELP[section])
        for option in options:
            if (section, option.name) != ("sweep", "space"):
                _add_option(group, section, option)
        if section == "sweep":
            group.add_argument("--sweep.space.SECTION.KEY", dest="sweep_space_help", metavar="SPEC",
                               help="search SECTION.KEY: uniform:LOW:HIGH, log_uniform:LOW:HIGH, "
                                    "int:LOW:HIGH, "
                                    "log_int:LOW:HIGH, categorical:A,B,C, or off; options given explicitly "
                                    "are fixed, not searched")
    return parser


def section_options(config: Any) -> dict[str, list[Option]]:
    """Every section's options, declared by the run layer, with ``config``'s values as defaults."""
    import dataclasses

    from pufferlib.run.options import options_of_dataclass

    values = config.to_dict()
    target = config.target
    declared = {
        "env": target.env_options + [Option(k, "any", None, optional=True) for k in config.env.kwargs
                                     if k not in {o.name for o in target.env_options}],
        "policy": target.policy_options()[0],
        "rnn": target.rnn_options()[0],
        "vec": options_of_dataclass(type(config.vec)),
        "train": options_of_dataclass(type(config.train)),
        "sweep": options_of_dataclass(type(config.sweep)),
    }
    return {section: [dataclasses.replace(o, default=values[section].get(o.name, o.default)) for o in options]
            for section, options in declared.items()}


def _probe(command: str, rest: list[str]) -> argparse.Namespace:
    probe = build_parser(command, add_help=False)
    probe.add_argument("-h", "--help", action="store_true", default=False)
    return probe.parse_known_args(rest)[0]


def _saved_folder(command: str, known: argparse.Namespace) -> Path | None:
    """The run folder whose ``config.json`` says what to build: ``--checkpoint`` (eval) or ``--resume`` "
      "(train)."""
    path = None
    if command == "eval" and getattr(known, "checkpoint", "none") not in ("none", "best", "latest"):
        path = Path(known.checkpoint)
        if path.name in ("best", "latest") and not path.exists():
            path = path.parent
    elif command == "train" and getattr(known, "resume", "latest") != "latest":
        path = Path(known.resume)
    if path is None or not path.exists():
        return None
    folder = folders.run_folder(path)
    return folder if folders.saved_config(folder) is not None else None


def _check_named_run(command: str, known: argparse.Namespace) -> None:
    """A ``--checkpoint`` or ``--resume`` path that does not exist is said so, before anything else."""
    flag, path = ("--checkpoint", getattr(known, "checkpoint", None)) if command == "eval" else \
        ("--resume", getattr(known, "resume", None) if command == "train" else None)
    if path is None or path in ("none", "best", "latest"):
        return
    named = Path(path)
    exists = named.exists() or (named.name in ("best", "latest") and named.parent.is_dir())
    if not exists:
        raise APIUsageError(f"{flag} {path}: no such file or folder.")
    folder = folders.run_folder(named if named.exists() else named.parent)
    if getattr(known, "env", None) is None and folders.saved_config(folder) is None and \
            not any(folder.glob("*.pt")):
        raise APIUsageError(f"{flag} {path}: {folder} holds no run (no config.json, no checkpoint).")


def _base_config(command: str, known: argparse.Namespace, parser: argparse.ArgumentParser) -> Any:
    """The config the command line's options override: a saved run's, else the env spec's."""
    from pufferlib.run import config as run_config

    imports = list(getattr(known, "imports", None) or [])
    spec = getattr(known, "env", None)
    _check_named_run(command, known)
    folder = _saved_folder(command, known)
    if folder is not None:
        return run_config.load_saved(folder, named_spec=spec, named_imports=imports,
                                     trust=getattr(known, "trust_run", False))
    if spec is None:
        if known.help:
            parser.print_help()
            raise SystemExit(0)
        needs = {"eval": " (or --checkpoint DIR of a run)", "train": " (or --resume DIR)"}.get(command, "")
        parser.error(f"--env ENV is required{needs}")
    return run_config.load(spec, imports, getattr(known, "config_file", None))


def parse_command(argv: Sequence[str]) -> tuple[str, Any, argparse.Namespace]:
    """``(command, RunConfig, parsed top-level options)``; exits with status 2 on bad input."""
    argv = _normalise(argv)
    if not argv or argv[0] in ("-h", "--help"):
        parser = _base_parser(None)
        parser.add_argument("command", choices=COMMANDS, help="train | eval | autotune | sweep | plot")
        parser.print_help()
        raise SystemExit(0 if argv else 2)
    command, rest = argv[0], argv[1:]
    if command not in COMMANDS:
        _base_parser(None).error(f"unknown command {command!r}{did_you_mean(command, COMMANDS)}: choose from "
                                 f"{', '.join(COMMANDS)}")
    if command == "plot":
        return command, None, _plot_parser().parse_args(rest)
    rest, space = _split_space(command, rest)
    if rest and not rest[0].startswith("-"):
        rest = ["--env", *rest]  # `puffer train cartpole`, PufferLib 3.0's habit
    known = _probe(command, rest)
    parser = build_parser(command)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # renamed keys are reported once, below, when they are explicit
            base = _base_config(command, known, parser)
        parser = build_parser(command, base)
        args = parser.parse_args(rest)
        explicit: dict[str, dict[str, Any]] = {}
        for dest, value in vars(args).items():
            if "." in dest:
                section, key = dest.split(".", 1)
                explicit.setdefault(section, {})[key] = value
        if space:
            explicit.setdefault("sweep", {})["space"] = {**base.sweep.space, **_parse_space(space)}
        args.explicit = explicit
        config = base.updated(explicit)
    except (APIUsageError, EnvironmentSetupError) as e:
        parser.error(_one_line(e))
    return command, config, args


def _parse_space(space: dict[str, str]) -> dict[str, Any]:
    from pufferlib.sweep import parse_space

    return {name: parse_space(text) for name, text in space.items()}


def _split_space(command: str, rest: list[str]) -> tuple[list[str], dict[str, str]]:
    """Take the ``--sweep.space.SECTION.KEY SPEC`` pairs out of a sweep's arguments."""
    prefix = "--sweep.space."
    if command != "sweep":
        return rest, {}
    kept, space = [], {}
    i = 0
    while i < len(rest):
        arg = rest[i]
        if arg.startswith(prefix) and arg != f"{prefix}SECTION.KEY":
            name, sep, value = arg[len(prefix):].partition("=")
            if not sep:
                if i + 1 >= len(rest):
                    print(f"puffer sweep: error: {arg} needs a SPEC such as "
                          f"log_uniform:1e-4:1e-2", file=sys.stderr)
                    raise SystemExit(2)
                value = rest[i + 1]
                i += 1
            section, _, key = name.partition(".")
            space[f"{section}.{key.replace('-', '_')}"] = value
        else:
            kept.append(arg)
        i += 1
    return kept, space


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())


# ---------------------------------------------------------------------------------------
# Commands


def _loggers(config: Any, args: argparse.Namespace, exp_id: str) -> list[Callable[[Path], Any]]:
    loggers: list[Callable[[Path], Any]] = []
    if getattr(args, "tensorboard", False):
        from pufferlib.loggers import TensorBoardLogger

        loggers.append(lambda folder: TensorBoardLogger(folder / "tensorboard"))
    if getattr(args, "wandb", False):
        from pufferlib.loggers import WandbLogger

        project = getattr(args, "wandb_project", "pufferlib")
        loggers.append(lambda folder: WandbLogger(project, exp_id, config.to_dict(), folder))
    return loggers


def _resume_target(config: Any, args: argparse.Namespace) -> Path | None:
    if not hasattr(args, "resume"):
        return None
    if args.resume != "latest":
        return folders.resume_checkpoint(args.resume)
    latest = folders.latest_run(config.train.data_dir, config.name)
    if latest is None:
        raise APIUsageError(f"--resume latest: no run of {config.name!r} in {config.train.data_dir}.")
    return folders.resume_checkpoint(latest)


def _command_train(config: Any, args: argparse.Namespace) -> int:
    from pufferlib import distributed, run

    resume = _resume_target(config, args)
    if resume is not None and hasattr(args, "exp_id"):
        raise APIUsageError("--resume continues the run it names: drop --exp-id.")
    exp_id = getattr(args, "exp_id", None) or (folders.run_folder(resume).name if resume else
                                               folders.new_run_id(config.name))
    folders.check_run_id(exp_id)
    try:
        trainer = run.train(config, exp_id, resume=resume, loggers=_loggers(config, args, exp_id),
                            progress=getattr(args, "progress", "auto"),
                            progress_interval=getattr(args, "progress_interval", 5.0),
                            overwrite=getattr(args, "overwrite", False))
    finally:
        distributed.destroy()  # under torchrun each rank leaves the process group it joined
    if trainer.rank != 0:
        return 0
    _print_training(config, trainer)
    return 0


def _print_training(config: Any, trainer: Any) -> None:
    metrics = trainer.metrics()
    steps, elapsed = int(metrics["global_step"]), metrics["elapsed"]
    if getattr(trainer, "finished_before", False):
        print(f"{trainer.exp_dir} is already finished: {steps:,} of {trainer.config.total_timesteps:,} steps "
              "(--train.total-timesteps is the run's total; raise it to train further).")
        return
    new_steps = steps - trainer.start_step
    summary = {k.removeprefix("environment/"): round(v, 4) for k, v in metrics.items()
               if k.startswith("environment/")}
    resumed = f" (resumed at {trainer.start_step:,}; now {steps:,})" if trainer.start_step else ""
    print(f"Trained {config.name} for {new_steps:,} steps{resumed} in {elapsed:.1f}s "
          f"({new_steps / max(elapsed, 1e-9):,.0f} sps): {summary or 'no episode finished'}")
    if not summary:
        print(f"No episode finished in {steps:,} steps: train longer (--train.total-timesteps) or check that "
              "the env ends episodes (terminated/truncated).")
    print(f"Saved to {trainer.exp_dir}. Evaluate with: puffer eval --checkpoint {trainer.exp_dir}")
    if getattr(trainer, "curve", None) is not None:
        print(f"Learning curve: {trainer.curve}")


def _colour_allowed(stream: Any = None) -> bool:
    """ANSI escapes only on a terminal and only without ``NO_COLOR`` (https://no-color.org)."""
    stream = stream if stream is not None else sys.stdout
    return stream.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def _eval_checkpoint(config: Any, requested: str | None) -> Path | None:
    """The weights ``--checkpoint`` names; None for an untrained policy (``none``, or no run yet)."""
    from pufferlib.checkpoint import find_checkpoint

    if requested == "none":
        return None
    if requested is None or requested in ("best", "latest"):
        folder = folders.latest_run(config.train.data_dir, config.name)
        if folder is None:
            if requested is None:
                print(f"No trained {config.name} in {config.train.data_dir}: evaluating an untrained policy.")
                return None
            raise APIUsageError(f"--checkpoint {requested}: no trained {config.name!r} in "
                                f"{config.train.data_dir}.")
        return find_checkpoint(folder / (requested or "latest"))
    return find_checkpoint(requested)


class _Frames:
    """Where ``evaluate`` sends frames: text to the terminal (``ansi``), images to a video."""

    def __init__(self, mode: str, fps: float | None):
        self.mode, self.fps_wanted = mode, fps
        self.colour = _colour_allowed()
        self.images: list[Any] = []
        self.printed = 0
        self.fps = fps or 8.0

    def __call__(self, frame: Any, fps: float) -> None:
        self.fps = self.fps_wanted or fps
        if self.mode == "ansi":
            text = str(frame)
            if self.colour:
                print("\033[H\033[J" + text, flush=True)
                time.sleep(1 / self.fps)
            elif self.printed < 100:
                print(ANSI_ESCAPE.sub("", text), flush=True)
                self.printed += 1
        elif len(self.images) < 20_000:
            import numpy as np

            self.images.append(np.asarray(frame))


def _command_eval(config: Any, args: argparse.Namespace) -> int:
    from pufferlib import run
    from pufferlib.run.evaluation import check_video_path, choose_render_mode, write_video

    checkpoint = _eval_checkpoint(config, getattr(args, "checkpoint", None))
    if checkpoint is not None and folders.saved_config(folders.run_folder(checkpoint)) is not None \
            and getattr(args, "checkpoint", None) in (None, "best", "latest"):
        from pufferlib.run.config import load_saved

        config = load_saved(checkpoint, args.explicit, named_spec=config.env.explicit_spec,
                            named_imports=config.env.imports, trust=getattr(args, "trust_run", False))
    output = getattr(args, "output", None)
    if output is not None:
        check_video_path(output)
    episodes = getattr(args, "episodes", 10)
    mode = choose_render_mode(config, getattr(args, "render_mode", "auto"), video=output is not None)
    if mode == "rgb_array" and output is None:
        output = str(check_video_path(re.sub(r"[^\w.-]", "-", config.name) + ".gif"))
    frames = _Frames(mode, getattr(args, "fps", None))
    counted = 0

    def on_episode(info: dict[str, float]) -> None:
        nonlocal counted
        counted += 1
        stats = " ".join(f"{k} {v:.4g}" for k, v in info.items() if k in ("score", "episode_return",
                                                                         "episode_length"))
        print(f"episode {counted}/{episodes}: {stats}", file=sys.stderr, flush=True)

    max_steps = getattr(args, "max_steps", 100_000)
    result = run.evaluate(config, checkpoint, episodes, max_steps, render_mode=mode, on_frame=frames,
                          deterministic=getattr(args, "deterministic", False), on_episode=on_episode)
    if checkpoint is not None:
        print(f"Loaded {checkpoint}")
    if frames.images:
        write_video(output, frames.images, frames.fps)
        print(f"Wrote {len(frames.images)} frames to {output}")
    if len(result.episodes) < episodes:
        print(f"Only {len(result.episodes)} of {episodes} episodes finished within {max_steps:,} steps "
              "(--max-steps raises the limit).")
    if result.episodes:
        print(f"{config.name}: {len(result.episodes)} episodes | "
              + " | ".join(f"{k} {v:.4g}" for k, v in result.means().items()))
    return 0


def _command_autotune(config: Any, args: argparse.Namespace) -> int:
    from pufferlib import run

    kwargs = {option: getattr(args, option) for option in
              ("max_envs", "time_per_test", "model_forward_s", "max_env_ram_gb") if hasattr(args, option)}
    best = run.autotune(config, getattr(args, "batch_size", None), **kwargs)
    if best:
        print(f"Best configuration: {dict(best)}")
        flags = " ".join(run.autotune_flags(best))
        print(f"Train with: puffer train --env {config.env.spec} {flags}")
    return 0


def _plot_parser() -> _Parser:
    parser = _Parser(
        prog="puffer plot", allow_abbrev=False,
        description="Learning curves (score against steps and wall time) of runs as a PNG; seeds of one "
                    "configuration are drawn as their mean with a shaded band.")
    parser.add_argument("runs", nargs="+", metavar="RUN_OR_FOLDER",
                        help="run folders, or folders holding them (e.g. a sweep's)")
    parser.add_argument("--output", "-o", default="curves.png", metavar="FILE.png",
                        help="the PNG to write (default: curves.png)")
    parser.add_argument("--metric", metavar="NAME", help="episode statistic (default: score, else "
                                                         "episode_return)")
    parser.add_argument("--title", metavar="TEXT", help="figure title")
    parser.add_argument("--size", default="1200x450", metavar="WxH", help="pixels (default: 1200x450)")
    return parser


def _command_plot(config: Any, args: argparse.Namespace) -> int:
    from pufferlib.plot import plot_runs

    if not str(args.output).lower().endswith(".png"):
        raise APIUsageError(f"--output {args.output}: the file must end in .png.")
    try:
        width, height = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        raise APIUsageError(f"--size {args.size}: write WIDTHxHEIGHT in pixels, e.g. 1200x450.") from None
    if not (100 <= width <= 8000 and 100 <= height <= 8000):
        raise APIUsageError(f"--size {args.size}: each side must be 100 to 8000 pixels.")
    path = plot_runs(args.runs, args.output, metric=args.metric, title=args.title, size=(width, height))
    print(f"Wrote {path}")
    return 0


def _command_sweep(config: Any, args: argparse.Namespace) -> int:
    from pufferlib.sweep import run_sweep

    sweep_id = getattr(args, "sweep_id", None) or f"sweep-{folders.new_run_id(config.name)}"
    folders.check_run_id(sweep_id)
    run_sweep(config, sweep_id, fixed=args.explicit)
    return 0


COMMAND_FUNCTIONS = {
    "train": _command_train,
    "eval": _command_eval,
    "autotune": _command_autotune,
    "sweep": _command_sweep,
    "plot": _command_plot,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``puffer``; returns the exit status (never raises but ``SystemExit``).

    Run as the console script, the current folder is importable, as under ``python -m``
    (``--env mymodule:make_env`` from mymodule's folder), here and in the processes the run starts.
    """
    from pufferlib.run.training import Terminated

    if argv is None:  # the console script (not a caller that passes its own arguments)
        _current_folder_importable()
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        command, config, args = parse_command(argv)
        return COMMAND_FUNCTIONS[command](config, args)
    except (APIUsageError, EnvironmentSetupError) as e:
        print(f"puffer: error: {_one_line(e)}", file=sys.stderr)
        return 1
    except NonFiniteError as e:
        print(f"puffer: training stopped: {_one_line(e)}", file=sys.stderr)
        return 1
    except Terminated as e:
        print(f"puffer: stopped by signal {e.signum}.", file=sys.stderr)
        return 128 + e.signum
    except KeyboardInterrupt:
        return 130
    except Exception as e:  # noqa: BLE001 (the command prints one line, never a traceback)
        if os.environ.get("PUFFER_DEBUG"):
            raise
        print(f"puffer: error: {type(e).__name__}: {_one_line(e)[:500]}{_where(e)}", file=sys.stderr)
        print("puffer: set PUFFER_DEBUG=1 to see the traceback.", file=sys.stderr)
        return 1


def _where(error: BaseException) -> str:
    """`` (at FILE:LINE in FUNCTION)``: the innermost frame of the user's code (not pufferlib's, not an
    installed package's) that the error passed through, so an error in one's own env is findable."""
    import sysconfig
    import traceback

    import pufferlib

    paths = sysconfig.get_paths()
    roots = (paths["purelib"], paths["stdlib"], Path(pufferlib.__file__).parent)
    installed = {str(Path(p).resolve()) for p in roots}
    frames = traceback.extract_tb(error.__traceback__)
    own = [f for f in frames if not any(str(Path(f.filename).resolve()).startswith(p) for p in installed)]
    frame = (own or frames or [None])[-1]
    return f" (at {frame.filename}:{frame.lineno} in {frame.name})" if frame is not None else ""


def _current_folder_importable() -> None:
    cwd = os.getcwd()
    if cwd not in sys.path and "" not in sys.path:
        sys.path.insert(0, cwd)
    paths = os.environ.get("PYTHONPATH", "")
    if cwd not in paths.split(os.pathsep):
        os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (cwd, paths) if p)


if __name__ == "__main__":
    raise SystemExit(main())
