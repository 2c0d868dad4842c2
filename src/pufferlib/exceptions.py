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
    """An optional environment dependency is missing or failed to import."""

    def __init__(self, e: BaseException | None, package: str):
        self.e = e
        self.package = package
        cause = "" if e is None else f" ({type(e).__name__}: {e})"
        message = (
            f"{package}: the environment could not be set up{cause}. "
            f"Install its dependencies with `pip install pufferlib[{package}]`."
        )
        self.message = message
        super().__init__(message)

    def __reduce__(self):
        return type(self), (self.e, self.package)
