"""Suite-wide fixtures."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

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


@pytest.fixture(autouse=True, scope="session")
def _stable_baselines3_logs_in_a_test_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """SB3's logger makes a folder on every ``learn()`` (``$SB3_LOGDIR``, else ``/tmp/SB3-<time>``):
    keep them with the suite's temporary files instead of littering ``/tmp``."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SB3_LOGDIR", str(tmp_path_factory.mktemp("sb3_logs")))
        yield


@pytest.fixture(autouse=True)
def _each_test_in_its_own_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs written to a relative folder (``experiments/``, the default) land in the test's own
    temporary folder, never in the checkout, and never in another test's way."""
    monkeypatch.chdir(tmp_path)
