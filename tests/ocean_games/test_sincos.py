"""ocean.native.sincos: the inline float sine and cosine equal the C library's, bit for bit."""

from __future__ import annotations

import numba
import numpy as np

from pufferlib.environments.ocean.native.sincos import libm_sincosf, sincosf


@numba.njit(cache=True)
def _mismatches(angles: np.ndarray) -> int:
    bad = 0
    for angle in angles:
        ours, theirs = sincosf(angle), libm_sincosf(angle)
        for a, b in zip(ours, theirs):
            if a != b or np.signbit(a) != np.signbit(b):
                bad += 1
    return bad


def test_equals_the_c_library_on_every_heading_a_game_keeps():
    """Every 101st float in [0, 2 pi] (the whole range was checked once: no difference), both
    ends, the small-angle and tiny-angle branches' edges, and random angles in (-120, 120)."""
    top = np.float32(2 * np.pi).view(np.uint32)
    angles = np.arange(0, top + 1, 101, dtype=np.uint32).view(np.float32)
    edges = np.array([0.0, -0.0, 2.0**-12, 0.75, np.pi / 4, np.pi / 2, np.pi, 2 * np.pi], np.float32)
    edges = np.concatenate([edges, np.nextafter(edges, np.float32(-1)), np.nextafter(edges, np.float32(9))])
    rng = np.random.default_rng(0)
    wide = rng.uniform(-119.9, 119.9, 1_000_000).astype(np.float32)
    assert _mismatches(angles) == 0
    assert _mismatches(edges) == 0
    assert _mismatches(wide) == 0
    assert sincosf(np.float32(0.0)) == (0.0, 1.0)
