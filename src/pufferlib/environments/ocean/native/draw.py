"""Tiny numpy drawing primitives for the native envs' ``rgb_array`` renders (first game only)."""

from __future__ import annotations

import numpy as np

BACKGROUND = (20, 22, 30)
COLOURS = {
    "background": BACKGROUND,
    "wall": (110, 110, 130),
    "agent": (240, 70, 70),
    "other": (80, 150, 255),
    "food": (90, 220, 110),
    "ball": (245, 245, 245),
    "text": (200, 200, 200),
}


def canvas(height: int, width: int) -> np.ndarray:
    """An ``(height, width, 3)`` uint8 image filled with the background colour."""
    image = np.empty((height, width, 3), dtype=np.uint8)
    image[:] = BACKGROUND
    return image


def fill_rect(
    image: np.ndarray, top: float, left: float, height: float, width: float, colour: tuple[int, int, int]
) -> None:
    """Fill the pixel rectangle, clipped to the image."""
    rows, cols = image.shape[:2]
    r0, c0 = max(0, int(round(top))), max(0, int(round(left)))
    r1, c1 = min(rows, int(round(top + height))), min(cols, int(round(left + width)))
    if r1 > r0 and c1 > c0:
        image[r0:r1, c0:c1] = colour


def draw_line(
    image: np.ndarray,
    r0: float,
    c0: float,
    r1: float,
    c1: float,
    colour: tuple[int, int, int],
    thickness: int = 2,
) -> None:
    """A straight line from ``(r0, c0)`` to ``(r1, c1)``, ``thickness`` pixels wide."""
    steps = int(max(abs(r1 - r0), abs(c1 - c0))) + 1
    for t in np.linspace(0.0, 1.0, steps):
        r, c = r0 + t * (r1 - r0), c0 + t * (c1 - c0)
        fill_rect(image, r - thickness / 2, c - thickness / 2, thickness, thickness, colour)


def grid_image(
    codes: np.ndarray, palette: dict[int, tuple[int, int, int]], cell_pixels: int = 8
) -> np.ndarray:
    """A 2-D array of cell codes as an image, ``cell_pixels`` per cell (unknown codes: background)."""
    lut = np.empty((max(palette) + 1, 3), dtype=np.uint8)
    lut[:] = BACKGROUND
    for code, colour in palette.items():
        lut[code] = colour
    image = lut[np.clip(codes, 0, len(lut) - 1)]
    return np.repeat(np.repeat(image, cell_pixels, axis=0), cell_pixels, axis=1)
