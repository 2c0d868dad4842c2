"""Training progress: a live ``rich`` dashboard on a terminal, compact lines in CI logs.

``Dashboard.update(metrics)`` takes ``Trainer.metrics()`` after each update. On a
terminal it redraws a panel (throughput, per-phase timing, losses, episode stats,
CPU/RAM and GPU memory) at most a few times a second; when stdout is not a terminal
it prints one line every ``interval`` seconds, so CI logs stay readable. Both show the
trend of the run's score (``score``, else ``episode_return``) over the recent updates as a
sparkline.
"""

from __future__ import annotations

import math
import sys
import time
from collections import deque
from collections.abc import Mapping
from typing import IO, Any

PHASES = ("env", "forward", "learn")
TREND_KEYS = ("environment/score", "environment/episode_return")
TREND_LENGTH = 32


def _format(value: float) -> str:
    if not math.isfinite(value):
        return "-"
    if value != 0 and (abs(value) >= 1e5 or abs(value) < 1e-3):
        return f"{value:.2e}"
    if float(value).is_integer() and abs(value) >= 100:
        return f"{int(value):,}"
    return f"{value:.3f}" if abs(value) < 100 else f"{value:.1f}"


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"


def system_usage() -> dict[str, float]:
    """CPU and RAM use of the machine and this process, plus GPU memory when a GPU is in use."""
    import psutil

    usage = {
        "cpu_percent": psutil.cpu_percent(interval=None),
        "ram_percent": psutil.virtual_memory().percent,
        "process_ram_gb": psutil.Process().memory_info().rss / 2**30,
    }
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available() and torch.cuda.is_initialized():
        usage["gpu_memory_gb"] = torch.cuda.memory_allocated() / 2**30
        usage["gpu_memory_reserved_gb"] = torch.cuda.memory_reserved() / 2**30
    return usage


def _phase_shares(metrics: Mapping[str, float]) -> dict[str, float]:
    times = {phase: metrics.get(f"performance/{phase}", 0.0) for phase in PHASES}
    total = sum(times.values()) or 1.0
    return {phase: 100 * t / total for phase, t in times.items()}


class Dashboard:
    """Show training progress; ``live=None`` picks the rich panel exactly when stdout is a terminal."""

    def __init__(self, env_name: str, exp_id: str, total_timesteps: int, live: bool | None = None,
                 interval: float = 5.0, stream: IO[str] | None = None):
        self.env_name, self.exp_id, self.total_timesteps = env_name, exp_id, total_timesteps
        self.stream = stream if stream is not None else sys.stdout
        self.live = self.stream.isatty() if live is None else live
        self.interval = interval
        self._last_print = -math.inf
        self._metrics: Mapping[str, float] = {}
        self._printed = False
        self._last_line = ""
        self._rich_live = None
        self.trend: deque[float] = deque(maxlen=TREND_LENGTH)
        self._trend_key: str | None = None
        if self.live:
            import psutil
            from rich.console import Console
            from rich.live import Live

            psutil.cpu_percent(interval=None)  # the first call only starts the measurement

            # Off a terminal (forced rich output) rich would assume 80 columns and truncate the tables.
            width = None if self.stream.isatty() else 120
            console = Console(file=self.stream, width=width)
            self._console = console
            self._rich_live = Live(self._render(), console=console, refresh_per_second=4, transient=False)
            self._rich_live.start()

    def update(self, metrics: Mapping[str, float], force: bool = False) -> None:
        self._metrics = dict(metrics)
        self._printed = False
        if self._trend_key is None:
            self._trend_key = next((key for key in TREND_KEYS if key in metrics), None)
        if self._trend_key is not None and self._trend_key in metrics:
            self.trend.append(float(metrics[self._trend_key]))
        if self._rich_live is not None:
            self._rich_live.update(self._render())
            return
        now = time.monotonic()
        if force or now - self._last_print >= self.interval:
            self._last_print = now
            self._print_line()

    def _print_line(self) -> None:
        """Print the current line unless it is the one printed last (no duplicate final line)."""
        self._printed = True
        line = self.line(self._metrics)
        if line != self._last_line:
            self._last_line = line
            print(line, file=self.stream, flush=True)

    def close(self) -> None:
        """Stop the live panel (leaving its last frame) or print the final line if not yet shown."""
        if self._rich_live is not None:
            self._rich_live.update(self._render())
            self._rich_live.stop()
            self._rich_live = None
        elif self._metrics and not self._printed:
            self._print_line()

    def line(self, metrics: Mapping[str, float]) -> str:
        """One compact progress line: step, SPS, episode stats, main losses, phase shares."""
        step = self._shown_step(metrics)
        parts = [f"[{self.env_name}] step {step:,}/{self.total_timesteps:,}",
                 f"{_format(metrics.get('sps', 0.0))} sps",
                 f"{_duration(metrics.get('elapsed', 0.0))}"]
        for key in ("episode_return", "score", "episode_length"):
            value = metrics.get(f"environment/{key}")
            if value is not None:
                parts.append(f"{key.replace('episode_', '')} {_format(value)}")
        trend = self.sparkline()
        if trend:
            parts.append(f"trend {trend}")
        for key in ("policy_loss", "value_loss", "entropy", "approx_kl", "explained_variance"):
            value = metrics.get(f"losses/{key}")
            if value is not None:
                parts.append(f"{key} {_format(value)}")
        shares = _phase_shares(metrics)
        parts.append(" ".join(f"{phase} {share:.0f}%" for phase, share in shares.items()))
        return " | ".join(parts)

    def sparkline(self) -> str:
        """The score of the recent updates as block characters (empty before any episode)."""
        from pufferlib.plot import sparkline

        return sparkline(list(self.trend), TREND_LENGTH)

    def _shown_step(self, metrics: Mapping[str, float]) -> int:
        """The step count shown: the last update may pass the budget, the text does not."""
        return min(int(metrics.get("global_step", 0)), self.total_timesteps)

    def _render(self) -> Any:
        from rich.console import Group
        from rich.panel import Panel
        from rich.table import Table
        from rich.text import Text

        metrics = self._metrics
        step = self._shown_step(metrics)
        elapsed = metrics.get("elapsed", 0.0)
        sps = metrics.get("sps", 0.0)
        remaining = (self.total_timesteps - step) / sps if sps > 0 else math.nan

        # One wrapping line with explicit separators: at 80 columns fields wrap, never run together.
        header = Text.from_markup(
            f"[bold]{self.env_name}[/] {self.exp_id}  |  step [bold]{step:,}[/]/{self.total_timesteps:,}"
            f"  |  [bold cyan]{_format(sps)}[/] sps  |  elapsed {_duration(elapsed)}"
            + (f"  eta {_duration(remaining)}" if math.isfinite(remaining) else ""))

        def table(title: str, rows: list[tuple[str, str]]) -> Table:
            t = Table(title=title, title_justify="left", show_header=False, expand=True, box=None)
            # Names never truncate ("policy_l..."): they take the room they need.
            t.add_column(style="dim", no_wrap=True, min_width=max((len(n) for n, _ in rows), default=1))
            t.add_column(justify="right", no_wrap=True)
            for name, value in rows:
                t.add_row(name, value)
            return t

        shares = _phase_shares(metrics)
        performance = table("Performance", [
            (phase, f"{_format(metrics.get(f'performance/{phase}', 0.0))}s  {shares[phase]:.0f}%")
            for phase in PHASES
        ])
        usage = system_usage()
        system = table("System", [
            ("cpu", f"{usage['cpu_percent']:.0f}%"),
            ("ram", f"{usage['ram_percent']:.0f}%  (proc {usage['process_ram_gb']:.2f} GB)"),
            *([("gpu mem", f"{usage['gpu_memory_gb']:.2f} GB")] if "gpu_memory_gb" in usage else []),
        ])
        losses = table("Losses", [
            (key.removeprefix("losses/"), _format(value)) for key, value in metrics.items()
            if key.startswith("losses/")
        ])
        episodes = table("Episodes", [
            (key.removeprefix("environment/"), _format(value)) for key, value in metrics.items()
            if key.startswith("environment/")
        ] + [("finished", f"{int(metrics.get('episodes', 0)):,}")])
        trend = self.sparkline()
        if trend:
            header.append(f"\n{(self._trend_key or '').removeprefix('environment/')} trend ")
            header.append(trend, style="bold green")

        # Four tables side by side on a wide terminal, two by two below 120 columns.
        width = getattr(getattr(self, "_console", None), "width", 120)
        columns = 4 if width >= 120 else 2
        grid = Table.grid(expand=True, padding=(0, 2))
        for _ in range(columns):
            grid.add_column(ratio=1)
        tables = [performance, system, losses, episodes]
        for i in range(0, len(tables), columns):
            grid.add_row(*tables[i:i + columns])
        return Panel(Group(header, grid), title="[bold magenta]puffer[/]", border_style="magenta")
