"""The ``puffer`` command (also ``python -m pufferlib``): train, eval, autotune and sweep.

::

    puffer train --env squared [--vec serial|multiprocessing|ray] [--train.learning-rate 3e-4]
    puffer train cartpole                         # the env may also come first
    puffer train --env Acrobot-v1                 # any Gymnasium id (--import PKG registers more)
    puffer train --env mymodule:make_env --env.size 5   # a callable returning an env
    puffer eval --checkpoint experiments/RUN      # the env is read from RUN/config.json
    puffer autotune --env cartpole
    puffer sweep --env bandit --sweep.trials 8
    puffer plot experiments/RUN experiments/OTHER --output curves.png

This module only parses arguments and prints; everything else is ``pufferlib.experiment``.
Settings come from the shipped TOML files (``[default]`` merged with the env's own
table), then ``--config FILE.toml``, then the command line: ``--SECTION.KEY VALUE`` with
SECTION one of env, policy, rnn, vec, train, sweep, and ``--SECTION.KEY`` /
``--SECTION.no-KEY`` for booleans. The env, policy and rnn options are read from the
signatures of the env factory and its policy, so ``puffer train --env NAME --help``
lists exactly what that environment accepts. Every failure exits non-zero with a one-
or two-line message.
"""

from __future__ import annotations

import argparse
import ast
import os
import re
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from pufferlib import experiment
from pufferlib.exceptions import APIUsageError, EnvironmentSetupError

SECTIONS = experiment.SECTIONS
COMMANDS = ("train", "eval", "autotune", "sweep", "plot")
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


# ---------------------------------------------------------------------------------------
# Value parsing


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


# ---------------------------------------------------------------------------------------
# Parsers


def _base_parser(command: str | None, add_help: bool = True) -> argparse.ArgumentParser:
    names = ", ".join(experiment.env_names())
    parser = argparse.ArgumentParser(
        prog=f"puffer {command}" if command else "puffer",
        usage=f"puffer {command or 'COMMAND'} [--env] ENV [options]",
        description="Train, evaluate, autotune and sweep reinforcement learning environments.",
        epilog=f"ENV is a configured environment ({names}), a binding's PACKAGE:NAME, a Gymnasium id "
               "(e.g. Acrobot-v1) or MODULE:CALLABLE returning a Gymnasium, PettingZoo or Puffer env. "
               "Run `puffer COMMAND --env ENV --help` for that environment's options.",
        argument_default=argparse.SUPPRESS, allow_abbrev=False, add_help=add_help,
    )
    parser.add_argument("--env", metavar="ENV", help="environment to use (required unless a checkpoint "
                                                     "or --resume folder names it)")
    parser.add_argument("--import", dest="imports", action="append", metavar="PKG",
                        help="import PKG first (it registers Gymnasium envs); repeatable")
    parser.add_argument("--config", dest="config_file", metavar="FILE.toml",
                        help="settings in the shipped configs' format, over the defaults")
    return parser


def build_parser(command: str, options: Mapping[str, Mapping[str, tuple[Any, Any]]] | None = None,
                 add_help: bool = True) -> argparse.ArgumentParser:
    """The parser for ``command``; with ``options``, one flag per configurable value."""
    parser = _base_parser(command, add_help=add_help)
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
                            help="a .pt file, an experiment folder, FOLDER/best or FOLDER/latest, best or "
                                 "latest (of the newest run of this env; default: latest), or none")
        parser.add_argument("--deterministic", action="store_true",
                            help="take the policy's most likely action instead of sampling")
        parser.add_argument("--video", dest="output", metavar="FILE",
                            help="record every evaluated episode to a GIF or MP4 (same as --output)")
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
            group.add_argument("--sweep.storage", dest="sweep.storage", metavar="URL",
                               help="SQLAlchemy URL of the study (default: sqlite:///SWEEP_FOLDER/study.db)")
            group.add_argument("--sweep.pruner", dest="sweep.pruner", choices=["median", "none"],
                               help="stop trials behind the median of earlier ones (default: median)")
            group.add_argument("--sweep.space.SECTION.KEY", dest="sweep_space_help", metavar="SPEC",
                               help="search SECTION.KEY: uniform:LOW:HIGH, log_uniform:LOW:HIGH, "
                                    "int:LOW:HIGH, log_int:LOW:HIGH, categorical:A,B,C, or off; "
                                    "options given explicitly are fixed, not searched")
            values = {k: v for k, v in values.items() if k not in ("timesteps", "storage", "pruner")}
        for key, (default, annotation) in values.items():
            flag = f"--{section}.{key.replace('_', '-')}"
            dest = f"{section}.{key}"
            parse = _value_type(default, annotation)
            if parse is _parse_bool:
                group.add_argument(flag, f"--{section}.no-{key.replace('_', '-')}", dest=dest, action=_Toggle,
                                   help=f"(default: {default})")
            else:
                group.add_argument(flag, dest=dest, type=parse, metavar=key.upper(),
                                   help=_OPTION_HELP.get(dest, "") + f"(default: {default!r})")
    return parser


_OPTION_HELP = {
    "train.total_timesteps": "the run's total steps: --resume trains until the run has this many, "
                             "not this many more ",
    "train.checkpoint_seconds": "wall-clock seconds between checkpoints (0: only by updates) ",
    "train.checkpoint_interval": "updates between checkpoints (0: only by time) ",
    "train.checkpoint_history": "earlier checkpoints kept in checkpoints/ ",
    "train.score_metric": "episode statistic that picks best.pt (empty: score, else episode_return) ",
}


def _env_from_saved(command: str, known: argparse.Namespace) -> tuple[str, list[str]] | None:
    """The env spec recorded beside the checkpoint (eval) or resumed experiment (train)."""
    path = None
    if command == "eval" and getattr(known, "checkpoint", "none") not in ("none", "best", "latest"):
        path = Path(known.checkpoint)
        if path.name in ("best", "latest") and not path.exists():
            path = path.parent
    elif command == "train" and getattr(known, "resume", "latest") != "latest":
        path = known.resume
    if path is None or not Path(path).exists():
        return None
    return experiment.saved_env(path)


def parse_command(argv: Sequence[str]) -> tuple[str, dict[str, Any], argparse.Namespace]:
    """``(command, merged config, parsed top-level options)``; exits with status 2 on bad input."""
    argv = _normalise(argv)
    if not argv or argv[0] in ("-h", "--help"):
        parser = _base_parser(None)
        parser.add_argument("command", choices=COMMANDS, help="train | eval | autotune | sweep | plot")
        parser.print_help()
        raise SystemExit(0 if argv else 2)
    command, rest = argv[0], argv[1:]
    if command not in COMMANDS:
        _base_parser(None).error(f"unknown command {command!r}: choose from {', '.join(COMMANDS)}")
    if command == "plot":
        return command, {}, _plot_parser().parse_args(rest)
    rest, space = _split_space(command, rest)
    if rest and not rest[0].startswith("-"):
        rest = ["--env", *rest]  # `puffer train cartpole`, PufferLib 3.0's habit
    probe = build_parser(command, add_help=False)
    probe.add_argument("-h", "--help", action="store_true", default=False)
    known, _ = probe.parse_known_args(rest)
    parser = build_parser(command)
    imports = list(getattr(known, "imports", None) or [])
    spec = getattr(known, "env", None)
    if spec is None:
        saved = _env_from_saved(command, known)
        if saved is None:
            if known.help:
                parser.print_help()
                raise SystemExit(0)
            needs = {"eval": " (or --checkpoint DIR of a run)", "train": " (or --resume DIR)"}
            needs = needs.get(command, "")
            parser.error(f"--env ENV is required{needs}")
        spec, saved_imports = saved
        imports = imports or saved_imports
    try:
        config = experiment.load_config(spec, imports, getattr(known, "config_file", None))
        options = experiment.section_options(config)
    except (APIUsageError, EnvironmentSetupError) as e:
        parser.error(_one_line(e))
    parser = build_parser(command, options)
    args = parser.parse_args(rest)
    explicit: dict[str, dict[str, Any]] = {}
    for dest, value in vars(args).items():
        if "." in dest:
            section, key = dest.split(".", 1)
            explicit.setdefault(section, {})[key] = value
    args.explicit = explicit
    config = experiment.merge(config, explicit)
    if space:
        from pufferlib.sweep import parse_space

        try:
            parsed = {name: parse_space(text) for name, text in space.items()}
        except APIUsageError as e:
            parser.error(_one_line(e))
        config["sweep"]["space"] = {**config["sweep"].get("space", {}), **parsed}
    return command, config, args


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
                    raise SystemExit(_usage_error(f"{arg} needs a SPEC such as log_uniform:1e-4:1e-2"))
                value = rest[i + 1]
                i += 1
            section, _, key = name.partition(".")
            space[f"{section}.{key.replace('-', '_')}"] = value
        else:
            kept.append(arg)
        i += 1
    return kept, space


def _usage_error(message: str) -> int:
    print(f"puffer sweep: error: {message}", file=sys.stderr)
    return 2


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())


# ---------------------------------------------------------------------------------------
# Commands


def _command_train(config: dict[str, Any], args: argparse.Namespace) -> int:
    data_dir = config["train"].get("data_dir", "experiments")
    resume = None
    exp_id = getattr(args, "exp_id", None)
    if exp_id is not None:
        experiment.check_exp_id(exp_id)
    if hasattr(args, "resume"):
        if args.resume == "latest":
            resume = experiment.latest_experiment(data_dir, config["name"])
            if resume is None:
                raise APIUsageError(f"--resume latest: no experiment of {config['name']!r} in {data_dir}.")
        else:
            resume = Path(args.resume)
            if not resume.exists():
                raise APIUsageError(f"--resume {resume}: no such file or folder.")
        experiment.resume_checkpoint(resume)
        folder = experiment.experiment_folder(resume)
        config = experiment.apply_saved(config, folder, args.explicit,
                                        ("env", "policy", "rnn", "vec", "train"))
        config["train"]["data_dir"] = str(folder.parent)
        exp_id = folder.name
    exp_id = exp_id or experiment.new_exp_id(config["name"])
    exp_dir = Path(config["train"].get("data_dir", data_dir)) / exp_id
    experiment.check_config(config)

    loggers: list[Callable[[Path], Any]] = []
    if getattr(args, "tensorboard", False):
        from pufferlib.trainer import TensorBoardLogger

        loggers.append(lambda folder: TensorBoardLogger(folder / "tensorboard"))
    if getattr(args, "wandb", False):
        from pufferlib.trainer import WandbLogger

        project = getattr(args, "wandb_project", "pufferlib")
        loggers.append(lambda folder: WandbLogger(project, exp_id, config, folder))
    try:
        trainer = experiment.run_training(config, exp_id, resume=resume, loggers=loggers,
                                          progress=getattr(args, "progress", "auto"),
                                          progress_interval=getattr(args, "progress_interval", 5.0))
    finally:
        # Under torchrun each rank leaves the process group it joined in run_training.
        from pufferlib import distributed

        distributed.destroy()
    if trainer.rank != 0:
        return 0
    metrics = trainer.metrics()
    steps, elapsed = int(metrics["global_step"]), metrics["elapsed"]
    if getattr(trainer, "finished_before", False):
        print(f"{exp_dir} is already finished: {steps:,} of {trainer.config.total_timesteps:,} steps "
              "(--train.total-timesteps is the run's total; raise it to train further).")
        return 0
    new_steps = steps - trainer.start_step
    summary = {k.removeprefix("environment/"): round(v, 4) for k, v in metrics.items()
               if k.startswith("environment/")}
    resumed = f" (resumed at {trainer.start_step:,}; now {steps:,})" if trainer.start_step else ""
    print(f"Trained {config['name']} for {new_steps:,} steps{resumed} in {elapsed:.1f}s "
          f"({new_steps / max(elapsed, 1e-9):,.0f} sps): {summary or 'no episode finished'}")
    if not summary:
        print(f"No episode finished in {steps:,} steps: train longer (--train.total-timesteps) or check that "
              "the env ends episodes (terminated/truncated).")
    print(f"Saved to {exp_dir}. Evaluate with: puffer eval --checkpoint {exp_dir}")
    if getattr(trainer, "curve", None) is not None:
        print(f"Learning curve: {trainer.curve}")
    return 0


def _colour_allowed(stream: Any = None) -> bool:
    """ANSI escapes only on a terminal and only without ``NO_COLOR`` (https://no-color.org)."""
    stream = stream if stream is not None else sys.stdout
    return stream.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def _command_eval(config: dict[str, Any], args: argparse.Namespace) -> int:
    data_dir = config["train"].get("data_dir", "experiments")
    requested = getattr(args, "checkpoint", None)
    checkpoint = experiment.eval_checkpoint(requested, data_dir, config["name"])
    if checkpoint is None and requested is None:
        print(f"No trained {config['name']} in {data_dir}: evaluating an untrained policy.")
    if checkpoint is not None:
        config = experiment.apply_saved(config, experiment.experiment_folder(checkpoint), args.explicit,
                                        ("env", "policy", "rnn"))
    output = getattr(args, "output", None)
    if output is not None and Path(output).suffix.lower() not in (".gif", ".mp4"):
        raise APIUsageError(f"--output {output}: the file must end in .gif or .mp4.")
    episodes = getattr(args, "episodes", 10)
    max_steps = getattr(args, "max_steps", 10_000)
    mode = experiment.choose_render_mode(config, getattr(args, "render_mode", "auto"),
                                         video=output is not None)
    if mode == "rgb_array" and output is None:
        output = re.sub(r"[^\w.-]", "-", config["name"]) + ".gif"
    colour = _colour_allowed()
    frames: list[Any] = []
    printed = 0
    fps_wanted = getattr(args, "fps", None)
    video_fps = fps_wanted or 8.0

    def on_frame(frame: Any, fps: float) -> None:
        nonlocal printed, video_fps
        video_fps = fps_wanted or fps
        if mode == "ansi":
            text = str(frame)
            if colour:
                print("\033[H\033[J" + text, flush=True)
                time.sleep(1 / (fps_wanted or fps))
            elif printed < 100:
                print(ANSI_ESCAPE.sub("", text), flush=True)
                printed += 1
        elif len(frames) < 20_000:
            import numpy as np

            frames.append(np.asarray(frame))

    finished = 0

    def on_episode(info: dict[str, float]) -> None:
        nonlocal finished
        finished += 1
        stats = " ".join(f"{k} {v:.4g}" for k, v in info.items() if k in ("score", "episode_return",
                                                                         "episode_length"))
        print(f"episode {finished}/{episodes}: {stats}", file=sys.stderr, flush=True)

    result = experiment.evaluate(config, checkpoint, episodes, max_steps, render_mode=mode, on_frame=on_frame,
                                 deterministic=getattr(args, "deterministic", False), on_episode=on_episode)
    if checkpoint is not None:
        print(f"Loaded {checkpoint}")
    if frames:
        experiment.write_video(output, frames, video_fps)
        print(f"Wrote {len(frames)} frames to {output}")
    if not result.episodes:
        print(f"No episode finished within {max_steps} steps.")
        return 0
    print(f"{config['name']}: {len(result.episodes)} episodes | "
          + " | ".join(f"{k} {v:.4g}" for k, v in result.means().items()))
    return 0


def _command_autotune(config: dict[str, Any], args: argparse.Namespace) -> int:
    kwargs = {option: getattr(args, option) for option in
              ("max_envs", "time_per_test", "model_forward_s", "max_env_ram_gb") if hasattr(args, option)}
    best = experiment.autotune(config, getattr(args, "batch_size", None), **kwargs)
    if best:
        print(f"Best configuration: {dict(best)}")
        flags = " ".join(experiment.autotune_flags(best))
        print(f"Train with: puffer train --env {config['env_spec']} {flags}")
    return 0


def _plot_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="puffer plot", allow_abbrev=False,
        description="Learning curves (score against steps and wall time) of runs as a PNG; seeds of one "
                    "configuration are drawn as their mean with a shaded band.")
    parser.add_argument("runs", nargs="+", metavar="RUN_OR_FOLDER",
                        help="experiment folders, or folders holding them (e.g. a sweep's)")
    parser.add_argument("--output", "-o", default="curves.png", metavar="FILE.png",
                        help="the PNG to write (default: curves.png)")
    parser.add_argument("--metric", metavar="NAME",
                        help="episode statistic (default: score, else episode_return)")
    parser.add_argument("--title", metavar="TEXT", help="figure title")
    parser.add_argument("--size", default="1200x450", metavar="WxH", help="pixels (default: 1200x450)")
    return parser


def _command_plot(config: dict[str, Any], args: argparse.Namespace) -> int:
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


def _command_sweep(config: dict[str, Any], args: argparse.Namespace) -> int:
    from pufferlib.sweep import run_sweep

    sweep_id = getattr(args, "sweep_id", None) or f"sweep-{experiment.new_exp_id(config['name'])}"
    experiment.check_exp_id(sweep_id)
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
    """Entry point of ``puffer``; returns the exit status (never raises but ``SystemExit``)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        command, config, args = parse_command(argv)
        return COMMAND_FUNCTIONS[command](config, args)
    except (APIUsageError, EnvironmentSetupError) as e:
        print(f"puffer: error: {_one_line(e)}", file=sys.stderr)
        return 1
    except experiment.Terminated as e:
        print(f"puffer: stopped by signal {e.signum}.", file=sys.stderr)
        return 128 + e.signum
    except KeyboardInterrupt:
        return 130
    except Exception as e:  # noqa: BLE001 (the command prints one line, never a traceback)
        if os.environ.get("PUFFER_DEBUG"):
            raise
        print(f"puffer: error: {type(e).__name__}: {_one_line(e)[:500]}", file=sys.stderr)
        print("puffer: set PUFFER_DEBUG=1 to see the traceback.", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
