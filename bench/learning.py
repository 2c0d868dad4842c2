"""Learning benchmark: our PPO against CleanRL's published returns at the published step budgets.

Each task trains with its shipped config (``pufferlib.experiment``: mujoco.toml,
classic_control.toml) for the budget CleanRL reports (MuJoCo v4: 1M steps, classic
control: 500k) over several seeds. One JSON line per run: the mean return of the last 100
episodes, wall time, process CPU time, SPS and the learning curve. Then a table of our
mean +- std beside the published figure, and the learning curves as PNG::

    python bench/learning.py --tasks invertedpendulum hopper --seeds 1 2 3
    python bench/learning.py --report bench/results/learning.jsonl   # table + PNG from saved lines

``--cleanrl PATH`` also runs CleanRL's own ``ppo_continuous_action.py`` (a copy outside this
repository, with ``--cleanrl-python`` an interpreter that has its dependencies) on the same
task, seed and budget, *at the same time* as ours, so both see the same machine load, and
reports the ratio of its wall and CPU time to ours, and of its time to the published return
(the first moment the mean of the last 100 episodes reaches it: ``time_to_published_s`` in each
line) to ours. ``--until-published`` ends each run (ours and CleanRL's) the moment it reaches
the published return, the way to measure that time without running out the budget;
``--cleanrl-threads 1`` gives CleanRL one torch thread (its fastest setting on a shared 2-core
machine). ``--cleanrl-settings`` trains ours with a task's ``<task>-cleanrl`` config (CleanRL's
settings; HalfCheetah and Hopper ship a faster one). ``--steps`` replaces the published
budget (state it when quoting results). ``--set vec.num_copies=8`` (repeatable) changes the
shipped config for a tuning run; the line records it and the table lists it as its own row.
"""

from __future__ import annotations

import argparse
import ast
import json
import math
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections import defaultdict
from pathlib import Path

# CleanRL's published PPO results (mean, std over seeds or None; None, None where there is
# none) and the budget they are quoted at.
PUBLISHED = {
    "halfcheetah": ("HalfCheetah-v4", 1_000_000, 1442.0, 46.0),
    "hopper": ("Hopper-v4", 1_000_000, 2383.0, 272.0),
    "walker2d": ("Walker2d-v4", 1_000_000, 2288.0, 572.0),
    "invertedpendulum": ("InvertedPendulum-v4", 1_000_000, 963.0, None),
    "cartpole": ("CartPole-v1", 500_000, 490.0, None),
    "acrobot": ("Acrobot-v1", 500_000, -86.0, None),
    # dm_control: no CleanRL figure to compare with; trained for 1M steps, the configs' budget.
    "cartpole-swingup": ("dm_control:cartpole-swingup", 1_000_000, None, None),
    "cheetah-run": ("dm_control:cheetah-run", 1_000_000, None, None),
    "walker-walk": ("dm_control:walker-walk", 1_000_000, None, None),
}
CURVE_POINTS = 200
CLEANRL_LOG = "cleanrl.log"
EPISODE_LINE = re.compile(r"global_step=(\d+), episodic_return=\[?([-\d.e+]+)")


def parse_overrides(items: list[str]) -> dict[str, dict[str, object]]:
    """``["vec.num_copies=8", ...]`` as ``{"vec": {"num_copies": 8}}`` (values: literals or strings)."""
    overrides: dict[str, dict[str, object]] = defaultdict(dict)
    for item in items:
        key, sep, text = item.partition("=")
        section, dot, name = key.partition(".")
        if not sep or not dot:
            raise SystemExit(f"--set takes SECTION.KEY=VALUE (e.g. train.minibatch_size=128), got {item!r}")
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            value = text
        overrides[section][name] = value
    return dict(overrides)


def train_once(task: str, seed: int, steps: int | None, overrides: dict | None = None,
               until_published: bool = False, cleanrl_settings: bool = False) -> dict:
    """Train ``task`` with its shipped config (changed by ``overrides``); the result line.
    ``until_published``: stop at the first update where the published return is reached.
    ``cleanrl_settings``: the task's ``<task>-cleanrl`` config (CleanRL's settings) where it has one."""
    from pufferlib import experiment
    from pufferlib.run import catalog

    env_id, budget, _, _ = PUBLISHED[task]
    name = f"{task}-cleanrl" if cleanrl_settings and f"{task}-cleanrl" in catalog.env_names() else env_id
    config = experiment.load_config(name)
    for section, values in (overrides or {}).items():
        if section not in config:
            raise SystemExit(f"--set: the config has no section {section!r} (it has {', '.join(config)})")
        config[section].update(values)
    total = steps or budget
    config["train"].update(seed=seed, total_timesteps=total)
    curve: list[tuple[int, float, float]] = []

    target = PUBLISHED[task][2]

    def record(trainer) -> bool:
        if trainer.episode_returns:
            returns = trainer.episode_returns
            curve.append((trainer.global_step, sum(returns) / len(returns), time.perf_counter() - start))
        return not (until_published and target is not None and curve and curve[-1][1] >= target)

    with tempfile.TemporaryDirectory() as data_dir:
        config["train"]["data_dir"] = data_dir
        cpu, start = time.process_time(), time.perf_counter()
        trainer = experiment.run_training(config, f"{task}-{seed}", progress="none", save=False,
                                          callback=record)
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    returns = list(trainer.episode_returns)
    stride = max(1, math.ceil(len(curve) / CURVE_POINTS))
    return {
        "bench": "learning", "impl": "pufferlib", "task": task, "env_id": env_id, "seed": seed,
        **({"config": name} if name != env_id else {}), "steps": trainer.global_step, "budget": total,
        "published_budget": budget,
        "final_return": sum(returns) / len(returns) if returns else float("nan"),
        "episodes": trainer.episodes, "wall_s": wall, "cpu_s": cpu, "sps": trainer.global_step / wall,
        **time_to_published(task, curve),
        "stopped_at_published": until_published and trainer.global_step < total,
        "curve": curve[::stride] + curve[-1:], **({"overrides": overrides} if overrides else {}),
    }


def time_to_published(task: str, curve: list[tuple[int, float, float]]) -> dict:
    """Wall seconds and steps until the mean return of the last 100 episodes first reached CleanRL's
    published return (``None``: never, or no published figure). ``curve``: (step, mean, seconds)."""
    target = PUBLISHED[task][2]
    reached = next(((step, seconds) for step, mean, seconds in curve
                    if target is not None and mean >= target), None)
    return {"published_return": target, "steps_to_published": reached[0] if reached else None,
            "time_to_published_s": reached[1] if reached else None}


def variant(line: dict) -> str:
    """The implementation a line measured: ``cleanrl``, or ``pufferlib`` with its config name when it is
    not the task's shipped one (``[hopper-cleanrl]``) and its overrides (``(train.x=1)``)."""
    overrides = line.get("overrides")
    impl = line["impl"] + (f" [{line['config']}]" if "config" in line else "")
    if not overrides:
        return impl
    changes = ", ".join(f"{section}.{key}={value}" for section, values in sorted(overrides.items())
                        for key, value in sorted(values.items()))
    return f"{impl} ({changes})"


def start_cleanrl(script: str, python: str, env_id: str, seed: int, steps: int, workdir: str,
                  stop_at: float | None = None, threads: int | None = None) -> subprocess.Popen:
    """CleanRL's script on ``env_id`` in ``workdir`` (its runs/ folder goes there), CPU only.

    A thread of ours reads its output as it comes and writes each line to ``workdir/cleanrl.log``
    prefixed with the seconds since the start (for the time to the published return). The pipe
    is always drained: a full pipe would stall CleanRL's run (it prints every episode).
    ``stop_at``: end the run (SIGTERM) once the mean of its last 100 episodic returns reaches it.
    ``threads``: its torch threads (``OMP_NUM_THREADS``; None: torch's default, two here).
    """
    command = [python, os.path.abspath(script), "--env-id", env_id, "--seed", str(seed),
               "--total-timesteps", str(steps), "--no-cuda"]
    environment = {**os.environ, "PYTHONUNBUFFERED": "1"}
    if threads is not None:
        environment["OMP_NUM_THREADS"] = str(threads)
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, bufsize=1, env=environment)

    def copy_output() -> None:
        window: list[float] = []
        with open(Path(workdir) / CLEANRL_LOG, "w") as log:
            for text in process.stdout:
                log.write(f"{time.perf_counter() - start:.3f} {text}")
                episode = EPISODE_LINE.search(text)
                if stop_at is not None and episode and process.poll() is None:
                    window = (window + [float(episode.group(2))])[-100:]
                    if sum(window) / len(window) >= stop_at:
                        process.stopped_at_target = True
                        process.terminate()

    process.stopped_at_target = False
    process.log_thread = threading.Thread(target=copy_output, daemon=True)
    process.log_thread.start()
    return process


def finish_cleanrl(process: subprocess.Popen, workdir: str, task: str, env_id: str, seed: int, steps: int,
                   start: float, children_cpu: float) -> dict:
    """Wait for CleanRL's run; its line, with the last 100 episodic returns it printed."""
    process.wait()
    process.log_thread.join()
    wall = time.perf_counter() - start
    output = (Path(workdir) / CLEANRL_LOG).read_text()
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = usage.ru_utime + usage.ru_stime - children_cpu
    if process.returncode != 0 and not process.stopped_at_target:
        raise RuntimeError(f"CleanRL's script failed ({process.returncode}):\n{output[-2000:]}")
    episodes = [(float(line.partition(" ")[0]), int(match.group(1)), float(match.group(2)))
                for line in output.splitlines() if (match := EPISODE_LINE.search(line))]
    returns = [r for _, _, r in episodes][-100:]
    curve, window = [], []
    for seconds, step, value in episodes:
        window = (window + [value])[-100:]
        curve.append((step, sum(window) / len(window), seconds))
    stride = max(1, math.ceil(len(curve) / CURVE_POINTS))
    done = episodes[-1][1] if process.stopped_at_target else steps  # steps it ran
    return {
        "bench": "learning", "impl": "cleanrl", "task": task, "env_id": env_id, "seed": seed,
        "steps": done,
        "budget": steps, "published_budget": PUBLISHED[task][1],
        "final_return": sum(returns) / len(returns) if returns else float("nan"), "episodes": len(episodes),
        "wall_s": wall, "cpu_s": cpu, "sps": done / wall,
        "stopped_at_published": process.stopped_at_target, **time_to_published(task, curve),
        "curve": curve[::stride] + curve[-1:],
    }


def own_wall(line: dict) -> float:
    """A run's wall time less ``output_stall_s``: time it spent blocked on a full output pipe
    (before CleanRL's output went to a file), measured from its TensorBoard log."""
    return line["wall_s"] - line.get("output_stall_s", 0.0)


def report(lines: list[dict], png: Path | None) -> None:
    """The table (ours beside the published figure and any CleanRL runs) and the curves."""
    runs: dict[tuple[str, str, int], list[dict]] = defaultdict(list)
    for line in lines:
        if line.get("bench") == "learning":
            runs[(line["task"], variant(line), line["budget"])].append(line)
    print("\n| task | impl | steps | seeds | final return (mean +- std) | published | wall s | CPU s | SPS |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for (task, impl, budget), group in sorted(runs.items()):
        finals = [g["final_return"] for g in group]
        spread = f"+- {statistics.stdev(finals):.0f}" if len(finals) > 1 else "(1 seed)"
        _, published_budget, mean, published_std = PUBLISHED[task]
        if mean is None:
            published = "none"
        else:
            published = f"{mean:g}" + (f" +- {published_std:g}" if published_std is not None else "")
        if mean is not None and budget != published_budget:
            published += f" (at {published_budget:,})"
        wall = statistics.mean(own_wall(g) for g in group)
        sps = statistics.mean(g["steps"] / own_wall(g) for g in group)
        cpu = statistics.mean(g["cpu_s"] for g in group)
        print(f"| {PUBLISHED[task][0]} | {impl} | {budget:,} | {len(group)} | "
              f"{statistics.mean(finals):.0f} {spread} | {published} | {wall:.0f} | {cpu:.0f} | {sps:.0f} |")
    pairs = defaultdict(dict)
    for line in lines:  # a run beside CleanRL's is written just before it: the last of each impl pairs
        if line.get("bench") == "learning":
            pairs[(line["task"], line["seed"], line["budget"])][line["impl"]] = line
    for (task, seed, budget), pair in sorted(pairs.items()):
        if {"pufferlib", "cleanrl"} <= pair.keys():
            theirs = pair["cleanrl"]
            for impl, ours in sorted(pair.items()):
                if impl == "cleanrl":
                    continue
                times = theirs.get("time_to_published_s"), ours.get("time_to_published_s")
                print(json.dumps({"bench": "learning_walltime", "task": task, "seed": seed, "steps": budget,
                                  "ours": variant(ours),
                                  "cleanrl_wall_over_ours": own_wall(theirs) / own_wall(ours),
                                  "cleanrl_cpu_over_ours": theirs["cpu_s"] / ours["cpu_s"],
                                  "time_to_published_s": {"cleanrl": times[0], "ours": times[1]},
                                  "cleanrl_time_to_published_over_ours": (times[0] / times[1]
                                                                          if None not in times else None)}))
    if png is not None and runs:
        plot(runs, png)


def plot(runs: dict, png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = sorted({task for task, _, _ in runs})
    # Each task's longest runs only (its published budget once run): short comparison runs
    # would crowd the axes.
    longest = {task: max(budget for t, _, budget in runs if t == task) for task in tasks}
    columns = min(3, len(tasks))
    rows = math.ceil(len(tasks) / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(5.5 * columns, 4 * rows), squeeze=False)
    variants = sorted({impl for _, impl, _ in runs} - {"pufferlib", "cleanrl"})
    colours = {"pufferlib": "C0", "cleanrl": "C1", **{v: f"C{i + 2}" for i, v in enumerate(variants)}}
    for ax in axes.flat[len(tasks):]:
        ax.set_visible(False)
    for ax, task in zip(axes.flat, tasks):
        labelled = set()
        for (t, impl, budget), group in sorted(runs.items()):
            if t != task or budget != longest[task]:
                continue
            for line in group:
                if line["curve"]:
                    steps = [point[0] for point in line["curve"]]
                    values = [point[1] for point in line["curve"]]
                    ax.plot(steps, values, color=colours[impl], alpha=0.8,
                            label=None if impl in labelled else textwrap.fill(impl, 50))
                    labelled.add(impl)
        if PUBLISHED[task][2] is not None:
            ax.axhline(PUBLISHED[task][2], color="gray", linestyle="--",
                       label=f"CleanRL published at {PUBLISHED[task][1]:,} steps")
        ax.set_title(PUBLISHED[task][0])
        ax.set_xlabel("agent steps")
        ax.set_ylabel("mean return (last 100 episodes)")
        ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=90)
    print(f"curves: {png}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", nargs="+", choices=sorted(PUBLISHED), default=sorted(PUBLISHED))
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3])
    parser.add_argument("--steps", type=int, default=None, help="replace the published budget")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "learning.jsonl",
                        help="JSON lines are appended here")
    parser.add_argument("--png", type=Path, default=None,
                        help="where the curves go (default: the lines' file with a .png suffix)")
    parser.add_argument("--report", type=Path, default=None, help="only print the table/PNG of these lines")
    parser.add_argument("--cleanrl", default=None, help="path to CleanRL's ppo_continuous_action.py")
    parser.add_argument("--cleanrl-python", default=sys.executable)
    parser.add_argument("--cleanrl-threads", type=int, default=None,
                        help="CleanRL's torch threads (OMP_NUM_THREADS; default: torch's own). With its two "
                             "beside other processes on 2 cores, OpenMP's waits collapse its speed")
    parser.add_argument("--until-published", action="store_true",
                        help="end each run (ours and CleanRL's) once it reaches the published return")
    parser.add_argument("--cleanrl-settings", action="store_true",
                        help="train ours with each task's `<task>-cleanrl` config (CleanRL's settings), "
                             "where the shipped one differs")
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                        help="change the shipped config for a tuning run (repeatable)")
    args = parser.parse_args()
    overrides = parse_overrides(args.set)

    if args.report is not None:
        lines = [json.loads(text) for text in args.report.read_text().splitlines() if text.strip()]
        report(lines, args.png or args.report.with_suffix(".png"))
        return
    args.out.parent.mkdir(parents=True, exist_ok=True)
    new_lines = []
    for task in args.tasks:
        for seed in args.seeds:
            env_id, budget, _, _ = PUBLISHED[task]
            process = workdir = None
            if args.cleanrl is not None:
                workdir = tempfile.TemporaryDirectory()
                usage = resource.getrusage(resource.RUSAGE_CHILDREN)
                children_cpu, cleanrl_start = usage.ru_utime + usage.ru_stime, time.perf_counter()
                stop_at = PUBLISHED[task][2] if args.until_published else None
                process = start_cleanrl(args.cleanrl, args.cleanrl_python, env_id, seed, args.steps or budget,
                                        workdir.name, stop_at, args.cleanrl_threads)
            results = [train_once(task, seed, args.steps, overrides, args.until_published,
                                  args.cleanrl_settings)]
            if process is not None:
                results.append(finish_cleanrl(process, workdir.name, task, env_id, seed, args.steps or budget,
                                              cleanrl_start, children_cpu))
                workdir.cleanup()
            for line in results:
                text = json.dumps(line)
                print(json.dumps({k: v for k, v in line.items() if k != "curve"}), flush=True)
                with open(args.out, "a") as f:
                    f.write(text + "\n")
                new_lines.append(line)
    lines = [json.loads(text) for text in args.out.read_text().splitlines() if text.strip()]
    report(lines, args.png or args.out.with_suffix(".png"))


if __name__ == "__main__":
    main()
