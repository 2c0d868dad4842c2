"""Suite-wide fixtures."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True, scope="module")
def _shut_down_ray_after_each_module() -> Iterator[None]:
    """The Ray backend starts a local cluster on first use and leaves it running (starting one
    costs seconds); a module that used it must not hand it to the next, whose fixtures start
    clusters of their own (multi-node, or with test-only import paths)."""
    yield
    ray = sys.modules.get("ray")
    if ray is not None and ray.is_initialized():
        ray.shutdown()
