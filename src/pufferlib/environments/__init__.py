"""Environment bindings: ``pufferlib.environments.<name>``.

Each binding exposes ``env_creator(name)`` (returns a factory), ``make_env`` (alias
``make``), and, when torch is importable, ``Policy`` and ``Recurrent``.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from pufferlib.exceptions import EnvironmentSetupError


def try_import(module: str, extra: str, purpose: str = "") -> ModuleType:
    """Import an optional dependency, or raise ``EnvironmentSetupError`` naming the extra (and why)."""
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise EnvironmentSetupError(e, extra, purpose) from e
