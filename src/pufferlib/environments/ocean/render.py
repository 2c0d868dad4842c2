"""Terminal (ANSI) and RGB rendering shared by the Ocean environments."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

from pufferlib.exceptions import APIUsageError

# Cell values the Ocean envs render: +1 (targets, bit 1), -1 (the agent, bit 0), 0 (empty).
_ANSI_COLOURS = {1: 94, -1: 91, 0: 90}
_RGB_COLOURS = {1: (80, 150, 255), -1: (240, 70, 70), 0: (35, 35, 45)}


def ansi_cells(values: Iterable[float]) -> str:
    """One coloured block per value: blue for +1, red for -1, grey otherwise."""
    return "".join(f"\033[{_ANSI_COLOURS.get(int(np.sign(v)), 90)}m██\033[0m" for v in values)


def ansi_grid(grid: np.ndarray) -> str:
    """A 2-D array of cell values as lines of coloured blocks."""
    return "\n".join(ansi_cells(row) for row in grid) + "\n"


def ansi_rows(rows: Mapping[str, Iterable[float]]) -> str:
    """Labelled lines of coloured blocks, e.g. ``{'Solution': bits, 'Prediction': guesses}``."""
    return "".join(f"{ansi_cells(values)} {label}\n" for label, values in rows.items())


def rgb_grid(grid: np.ndarray, cell_pixels: int = 16) -> np.ndarray:
    """A 2-D array of cell values as an ``(H, W, 3)`` uint8 image, ``cell_pixels`` per cell."""
    signs = np.sign(grid).astype(np.int64)
    palette = np.array([_RGB_COLOURS[-1], _RGB_COLOURS[0], _RGB_COLOURS[1]], dtype=np.uint8)
    image = palette[signs + 1]
    return np.repeat(np.repeat(image, cell_pixels, axis=0), cell_pixels, axis=1)


def check_render_mode(env_name: str, render_mode: str | None, modes: list[str]) -> str | None:
    """Return ``render_mode`` if the env supports it, else raise ``APIUsageError``."""
    if render_mode is not None and render_mode not in modes:
        raise APIUsageError(f"{env_name} supports render_mode in {modes} or None, got {render_mode!r}.")
    return render_mode
