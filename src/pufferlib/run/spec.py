"""Env specs: what ``--env`` names, resolved once into a factory, a policy and their options.

An env spec is

- a bundled binding's configured environment or alias (``squared``, ``cartpole``,
  ``CartPole-v1``), or any binding's environment as ``PACKAGE:NAME`` (``atari:breakout``);
- any id registered with Gymnasium (``Acrobot-v1``); ``imports`` names packages to import
  first so that they register theirs;
- ``MODULE:CALLABLE``: a callable (function or class) returning a Gymnasium env, a PettingZoo
  parallel env or a ``pufferlib.PufferEnv``; its keyword arguments are the env options.

Where two readings fit, the spec is ambiguous and rejected, with the explicit spellings
``binding:NAME``, ``gym:ID`` and ``py:MODULE:CALLABLE``. ``resolve_spec`` picks the reading;
``EnvTarget.of`` imports what it names: the picklable env factory, the policy and LSTM classes,
and the callables whose signatures declare the ``env``, ``policy`` and ``rnn`` options.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from pufferlib.exceptions import APIUsageError, EnvironmentSetupError
from pufferlib.run import catalog
from pufferlib.run.options import Option, did_you_mean, options_of_signature

KINDS = ("binding", "gymnasium", "callable")
EXPLICIT_PREFIX = {"binding": "binding:", "gymnasium": "gym:", "callable": "py:"}
# Arguments the commands supply themselves, never taken from the configuration.
RESERVED_ENV_ARGS = frozenset({"render_mode", "buf"})
_PLAIN = re.compile(r"[\w.]+")


def import_packages(imports: Sequence[str]) -> None:
    """Import each package (so that it registers its Gymnasium envs)."""
    for name in imports:
        try:
            importlib.import_module(name)
        except ImportError as e:
            raise APIUsageError(f"--import {name}: cannot import it ({e}).") from None


def load_binding(package: str) -> ModuleType:
    """``pufferlib.environments.<package>``; a missing dependency raises ``EnvironmentSetupError``."""
    module = f"pufferlib.environments.{package}"
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as e:
        if e.name in (module, f"pufferlib.environments.{package.split('.')[0]}"):
            raise APIUsageError(f"No environment binding named {package!r} ({module} does not "
                                f"exist).") from None
        raise EnvironmentSetupError(e, package) from e


def binding_exists(package: str) -> bool:
    if not re.fullmatch(r"[A-Za-z_]\w*", package):
        return False
    return importlib.util.find_spec(f"pufferlib.environments.{package}") is not None


def gymnasium_ids() -> set[str]:
    import gymnasium

    return set(gymnasium.registry)


def find_callable(module_name: str, attribute: str) -> Callable | None:
    """``module_name.attribute`` if the module can be found and has it; None if there is no such module."""
    try:
        if importlib.util.find_spec(module_name) is None:
            return None
    except (ImportError, ValueError):
        return None
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise APIUsageError(f"--env {module_name}:{attribute}: importing {module_name} failed: "
                            f"{e}.") from None
    target: Any = module
    for part in attribute.split("."):
        if not hasattr(target, part):
            raise APIUsageError(f"--env {module_name}:{attribute}: {module_name} has no {attribute!r}.")
        target = getattr(target, part)
    if not callable(target):
        raise APIUsageError(f"--env {module_name}:{attribute}: {attribute} is not callable.")
    return target


def resolve_spec(spec: str, imports: Sequence[str] = ()) -> tuple[str, str]:
    """``(kind, canonical spec)`` for an env spec; kind is ``binding``, ``gymnasium`` or ``callable``.

    Raises ``APIUsageError`` for an unknown or ambiguous spec.
    """
    import_packages(imports)
    if not spec or spec != spec.strip():
        raise APIUsageError(f"--env {spec!r}: give an environment name.")
    for kind, prefix in EXPLICIT_PREFIX.items():
        if spec.startswith(prefix):
            return kind, _explicit(kind, spec.removeprefix(prefix), imports)
    readings = _readings(spec)
    if len(readings) > 1:
        spellings = " or ".join(f"--env {EXPLICIT_PREFIX[kind]}{spec}" for kind in readings)
        raise APIUsageError(f"--env {spec} is ambiguous ({', '.join(readings)}): write {spellings}.")
    if readings:
        return readings[0], spec
    raise APIUsageError(_unknown(spec))


def _explicit(kind: str, name: str, imports: Sequence[str]) -> str:
    if kind == "binding":
        return _check_binding(name)
    if kind == "gymnasium":
        if name not in gymnasium_ids():
            hint = " (did you forget --import PKG?)" if not imports else "."
            raise APIUsageError(f"--env gym:{name}: {name!r} is not a registered Gymnasium id{hint}")
        return name
    module, _, attribute = name.partition(":")
    if not attribute or find_callable(module, attribute) is None:
        raise APIUsageError(f"--env py:{name}: expected py:MODULE:CALLABLE with an importable MODULE.")
    return name


def _readings(spec: str) -> list[str]:
    """The kinds ``spec`` can be read as, in the order binding, callable, gymnasium."""
    configured = catalog.shipped()[1]
    readings = []
    module, colon, attribute = spec.partition(":")
    if spec in configured or (colon and binding_exists(module)):
        readings.append("binding")
    plain = bool(colon and _PLAIN.fullmatch(module) and _PLAIN.fullmatch(attribute))
    if plain and find_callable(module, attribute) is not None:
        readings.append("callable")
    # A configured alias (CartPole-v1) is that binding's declared spelling of the Gymnasium id.
    declared = spec in configured.get(spec, {}).get("declared_aliases", ())
    if not declared and spec in gymnasium_ids():
        readings.append("gymnasium")
    return readings


def _unknown(spec: str) -> str:
    if ":" in spec:
        module = spec.partition(":")[0]
        return (f"Unknown environment {spec!r}: no binding named {module!r} and no importable module "
                f"{module!r} (for MODULE:CALLABLE, run from MODULE's folder or add it to PYTHONPATH).")
    names = catalog.env_names()
    return (f"Unknown environment {spec!r}{did_you_mean(spec, names)}: not a configured environment "
            f"({', '.join(names)}), a Gymnasium id (add --import PKG to register more) or MODULE:CALLABLE.")


def _check_binding(name: str) -> str:
    if name in catalog.shipped()[1]:
        return name
    package, _, env_name = name.partition(":")
    if not env_name:
        raise APIUsageError(f"--env binding:{name}: no configured environment {name!r}; "
                            "other bindings' environments are named binding:PACKAGE:NAME.")
    load_binding(package)
    return name


@dataclass
class EnvTarget:
    """What an env spec resolves to: a picklable env factory, a policy and their options."""

    kind: str
    spec: str
    creator: Callable[..., Any]
    """``creator(**env_kwargs)`` returns a Puffer env; picklable for the worker processes."""
    policy: Callable[..., Any]
    recurrent: Callable[..., Any]
    env_options: list[Option] = field(default_factory=list)
    env_open_ended: bool = False
    """The factory takes ``**kwargs`` (or has no readable signature): env options are not checked."""

    @classmethod
    def of(cls, kind: str, spec: str, package: str = "", env_name: str = "",
           imports: Sequence[str] = ()) -> EnvTarget:
        """Import what ``spec`` names (a binding's module, a Gymnasium id's spec, a user's callable)."""
        from pufferlib.run import envs

        import_packages(imports)
        if kind == "binding":
            binding = load_binding(package)
            creator = binding.env_creator(env_name)
            policy = getattr(binding, "Policy", None) or envs.default_policy
            recurrent = getattr(binding, "Recurrent", None) or envs.default_recurrent
            options, open_ended = options_of_signature(creator, exclude=RESERVED_ENV_ARGS)
            return cls(kind, spec, creator, policy, recurrent, options, open_ended)
        if kind == "gymnasium":
            import gymnasium

            creator = functools.partial(envs.make_gymnasium_env, spec, tuple(imports))
            registered = gymnasium.spec(spec).kwargs
            options = [Option(key, "any", value, optional=True) for key, value in registered.items()
                       if key not in RESERVED_ENV_ARGS]
            return cls(kind, spec, creator, envs.default_policy, envs.default_recurrent, options, True)
        if kind == "callable":
            module, _, attribute = spec.partition(":")
            factory = find_callable(module, attribute)
            if factory is None:
                raise APIUsageError(f"--env {spec}: cannot find module {module!r}.")
            creator = functools.partial(envs.make_callable_env, spec, tuple(imports))
            options, open_ended = options_of_signature(factory, exclude=RESERVED_ENV_ARGS)
            return cls(kind, spec, creator, envs.default_policy, envs.default_recurrent, options, open_ended)
        raise APIUsageError(f"Unknown env kind {kind!r}: expected one of {', '.join(KINDS)}.")

    def policy_options(self) -> tuple[list[Option], bool]:
        """The policy's keyword options (after ``env``), plus ``recurrent``."""
        options, open_ended = options_of_signature(self.policy, skip=1)
        recurrent = Option("recurrent", "bool", False, "wrap the policy in its LSTM (the rnn section)")
        return [recurrent, *options], open_ended

    def rnn_options(self) -> tuple[list[Option], bool]:
        """The LSTM wrapper's keyword options (after ``env`` and ``policy``)."""
        return options_of_signature(self.recurrent, skip=2)
