"""Exceptions raised by pufferlib. Each message says what was wrong and how to fix it."""

from __future__ import annotations

from collections.abc import Iterable


class APIUsageError(RuntimeError):
    """The library was called in a way its API does not allow."""

    def __init__(self, message: str = ""):
        self.message = message
        super().__init__(message)


class NonFiniteError(RuntimeError):
    """Training met a nan or inf (from the env, or in the loss) and stopped before learning from it."""

    def __init__(self, message: str = ""):
        self.message = message
        super().__init__(message)


class InvalidAgentError(ValueError):
    """An agent id that the environment does not know."""

    def __init__(self, agent_id, agents: Iterable):
        self.agent_id = agent_id
        self.agents = list(agents)
        super().__init__(f"Invalid agent {agent_id!r}: valid agents are {self.agents}")

    def __reduce__(self):
        return type(self), (self.agent_id, self.agents)


class EnvironmentSetupError(RuntimeError):
    """An optional dependency is missing or failed to import; the message says how to install it.

    ``package`` is the pufferlib extra that installs it (``atari``, ``ray``, ...) or, for a
    Gymnasium id, the id (the cause then carries Gymnasium's own install hint). ``purpose`` says
    what needed it (e.g. "the Ray backend"); ``hint`` replaces the extra's install command.
    """

    def __init__(self, e: BaseException | None, package: str, purpose: str = "", hint: str | None = None):
        self.e = e
        self.package = package
        self.purpose = purpose
        self.hint = hint
        cause = "" if e is None else f" ({type(e).__name__}: {e})"
        what = f"{purpose} needs the `{package}` extra" if purpose else f"{package}: a dependency is missing"
        message = f"{what}{cause}. {install_hint(package) if hint is None else hint}".strip()
        self.message = message
        super().__init__(message)

    def __reduce__(self):
        return type(self), (self.e, self.package, self.purpose, self.hint)


# Extras whose packages pin stale versions of numpy/gym/gymnasium but run on ours: pip installs
# them without their pins (as scripts/setup.sh does).
_NO_DEPS_RECIPES = {
    "procgen": "pip install --no-deps procgen-mirror==0.10.7 gym3==0.3.3 gym==0.26.2 && "
               "pip install cffi filelock cloudpickle pybind11",
    "nethack": "pip install --no-deps nle==1.3.0",
    "minihack": "pip install --no-deps nle==1.3.0 minihack==1.0.2 && pip install 'setuptools<81'",
}


def install_hint(package: str) -> str:
    """How to install pufferlib's extra ``package`` (empty if it is not one of its extras)."""
    if package in _NO_DEPS_RECIPES:
        return f"Install it with: {_NO_DEPS_RECIPES[package]} (its releases pin stale versions)."
    if package.replace("_", "-") in _extras():  # metadata spells extras normalized (PEP 685)
        return (f"Install it from your pufferlib checkout with: pip install -e '.[{package}]' "
                "(PyPI's `pufferlib` is another project).")
    return ""


def _extras() -> list[str]:
    from importlib import metadata

    try:
        return list(metadata.metadata("pufferlib").get_all("Provides-Extra") or [])
    except metadata.PackageNotFoundError:
        return []
