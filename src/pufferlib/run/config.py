"""``RunConfig``: what a run trains on and every option, checked once, typed, serializable.

Built by ``load`` from the shipped TOML files (``[default]``, then the env's table), an
optional user TOML file, and explicit overrides (the command line), in that order::

    config = run.load("squared", overrides={"train": {"learning_rate": 3e-4}})
    config.train.learning_rate          # 0.0003, checked against its declaration
    config.to_dict()                    # what config.json holds; RunConfig.from_dict reads it back

Sections: ``env`` (the env factory's keyword arguments, checked against its signature),
``policy`` (``recurrent`` plus the policy's keyword arguments), ``rnn`` (the LSTM wrapper's),
and the typed ``vec``, ``train`` and ``sweep`` (``pufferlib.run.sections``). The env spec is
resolved once (``EnvTarget``), when the config is built. Renamed keys keep working, with a
warning: ``vec.num_envs`` is now ``vec.num_copies`` (env objects), so that ``num_envs`` means
only the env's own argument (games per object for native envs).
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pufferlib.exceptions import APIUsageError
from pufferlib.run import catalog, folders
from pufferlib.run.options import check_section
from pufferlib.run.sections import SweepConfig, TrainConfig, VecConfig
from pufferlib.run.spec import EXPLICIT_PREFIX, EnvTarget, resolve_spec

# Old spelling -> new, per section.
RENAMED = {"vec": {"num_envs": "num_copies"}}


class RenamedOptionWarning(FutureWarning):
    """A config key was given by its old name (it still works)."""


@dataclass
class EnvConfig:
    """What to train on: the env spec, resolved, and the env factory's keyword arguments."""

    name: str
    """The configured name (``squared``, ``ocean:breakout``) or the spec itself."""
    kind: str
    """``binding``, ``gymnasium`` or ``callable``."""
    spec: str
    package: str = ""
    env_name: str = ""
    imports: list[str] = field(default_factory=list)
    kwargs: dict[str, Any] = field(default_factory=dict)

    @property
    def explicit_spec(self) -> str:
        """The spec with its kind's prefix (``py:mod:fn``), unambiguous on any command line."""
        return EXPLICIT_PREFIX[self.kind] + self.spec


@dataclass
class PolicyConfig:
    """The policy's keyword arguments, and whether (and how) to wrap it in its LSTM."""

    recurrent: bool = False
    kwargs: dict[str, Any] = field(default_factory=dict)
    rnn: dict[str, Any] = field(default_factory=dict)


@dataclass
class RunConfig:
    """Every option of a run, checked; ``target`` is what the env spec resolved to."""

    env: EnvConfig
    policy: PolicyConfig
    vec: VecConfig
    train: TrainConfig
    sweep: SweepConfig
    target: EnvTarget = field(repr=False, compare=False)

    @property
    def name(self) -> str:
        return self.env.name

    def to_dict(self) -> dict[str, Any]:
        """The ``config.json`` form (the shipped TOML files' sections, plus the env's identity)."""
        env = self.env
        return {
            "name": env.name, "kind": env.kind, "env_spec": env.spec, "package": env.package,
            "env_name": env.env_name, "imports": list(env.imports), "env": dict(env.kwargs),
            "policy": {"recurrent": self.policy.recurrent, **self.policy.kwargs},
            "rnn": dict(self.policy.rnn),
            "vec": dataclasses.asdict(self.vec), "train": dataclasses.asdict(self.train),
            "sweep": dataclasses.asdict(self.sweep),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], target: EnvTarget | None = None,
                  renamed: str = "warn") -> RunConfig:
        """Check a ``to_dict``/``config.json``-shaped dict (``target``: already resolved, else resolve it).

        ``renamed`` is ``warn`` (old key names are accepted with a warning) or ``quiet`` (for saved runs).
        """
        sections = renamed_keys({section: data.get(section) or {} for section in catalog.SECTIONS}, renamed)
        kind, spec = str(data.get("kind", "binding")), str(data.get("env_spec", data.get("name", "")))
        imports = [str(name) for name in data.get("imports", [])]
        package, env_name = str(data.get("package", "")), str(data.get("env_name", ""))
        if kind == "binding" and not package:
            package, _, env_name = spec.partition(":")
        target = target or EnvTarget.of(kind, spec, package, env_name, imports)
        env = EnvConfig(str(data.get("name", spec)), kind, spec, package, env_name, imports,
                        check_section("env", sections["env"], target.env_options, target.env_open_ended,
                                      owner=_owner(target.creator)))
        policy_options, policy_open = target.policy_options()
        policy_table = check_section("policy", sections["policy"], policy_options, policy_open,
                                     owner=_owner(target.policy))
        rnn_options, rnn_open = target.rnn_options()
        rnn = check_section("rnn", sections["rnn"], rnn_options, rnn_open, owner=_owner(target.recurrent))
        policy = PolicyConfig(bool(policy_table.pop("recurrent", False)), policy_table, rnn)
        vec, train = VecConfig.from_table(sections["vec"]), TrainConfig.from_table(sections["train"])
        return cls(env, policy, vec, train, SweepConfig.from_table(sections["sweep"]), target)

    def updated(self, overrides: Mapping[str, Mapping[str, Any]]) -> RunConfig:
        """A copy with ``{section: {key: value}}`` overrides applied and checked."""
        return RunConfig.from_dict(catalog.merge(self.to_dict(), renamed_keys(overrides)), self.target)


def _owner(fn: Any) -> str:
    return getattr(fn, "__qualname__", None) or getattr(getattr(fn, "func", None), "__qualname__", "") or ""


def renamed_keys(layer: Mapping[str, Any], mode: str = "warn") -> dict[str, Any]:
    """``layer`` (one source of settings: ``{section: {key: value}}``) with old key names renamed.

    ``mode`` ``warn`` says so with a ``RenamedOptionWarning``; ``quiet`` does not (saved runs).
    """
    layer = {section: dict(table) if isinstance(table, Mapping) else table
             for section, table in layer.items()}
    for section, renames in RENAMED.items():
        table = layer.get(section)
        for old, new in renames.items():
            if not isinstance(table, dict) or old not in table:
                continue
            if new in table and table[new] != table[old]:
                raise APIUsageError(f"{section}.{old} is the old name of {section}.{new}: give only "
                                    f"{section}.{new}.")
            if mode == "warn":
                warnings.warn(f"{section}.{old} is now {section}.{new} (env objects the vecenv builds; "
                              "env.num_envs stays the env's own "
                              "argument)", RenamedOptionWarning, stacklevel=3)
            table[new] = table.pop(old)
    return layer


def load(spec: str, imports: Sequence[str] = (), config_file: str | os.PathLike | None = None,
         overrides: Mapping[str, Mapping[str, Any]] | None = None) -> RunConfig:
    """The checked ``RunConfig`` for env spec ``spec`` (see the module docstring)."""
    return RunConfig.from_dict(config_dict(spec, imports, config_file, overrides))


def config_dict(spec: str, imports: Sequence[str] = (), config_file: str | os.PathLike | None = None,
                overrides: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """The merged, not yet checked, ``config.json``-shaped dict for ``spec``."""
    default, envs = catalog.shipped()
    kind, canonical = resolve_spec(spec, imports)
    if kind == "binding" and canonical in envs:
        table = {k: v for k, v in envs[canonical].items() if k != "declared_aliases"}
        name = table["name"]
    elif kind == "binding":
        package, env_name = canonical.split(":", 1)
        table, name = {"package": package, "env_name": env_name}, canonical
    else:
        table, name = {}, canonical
    config = catalog.merge(default, table)
    for section in catalog.SECTIONS:
        config.setdefault(section, {})
    config.update(name=name, kind=kind, env_spec=name if kind == "binding" else canonical,
                  imports=list(imports))
    if config_file is not None:
        config = catalog.merge(config, renamed_keys(catalog.user_config_table(config_file, name)))
    return catalog.merge(config, renamed_keys(overrides or {}))


def load_saved(folder: str | os.PathLike, overrides: Mapping[str, Mapping[str, Any]] | None = None,
               named_spec: str | None = None, named_imports: Sequence[str] = (),
               trust: bool = False) -> RunConfig:
    """The ``RunConfig`` a run folder was started with (its ``config.json``), with ``overrides``.

    The folder is data: a ``MODULE:CALLABLE`` spec or ``imports`` it names run only if the user
    names them too (``named_spec``, ``named_imports``) or ``trust``s it (``folders.trusted_env``).
    A ``named_spec`` of another environment is an error. Runs saved by earlier releases load
    (renamed keys are renamed quietly).
    """
    folder = folders.run_folder(folder)
    saved = folders.saved_config(folder)
    if saved is not None and "env_spec" not in saved and named_spec is not None:
        return load(named_spec, named_imports, overrides=overrides)  # a Python run that did not name its env
    if saved is None or "env_spec" not in saved:
        what = f"has no readable {folders.CONFIG_FILE}" if saved is None else \
            "was trained from Python with an env factory that cannot be imported by name"
        raise APIUsageError(f"{folder} {what}: pass --env ENV (and the policy options it was trained with).")
    kind, spec, imports = folders.saved_env(folder) or ("binding", "", [])
    if named_spec is not None:
        named_kind, named = resolve_spec(named_spec, named_imports)
        named_name = config_dict(named_spec, named_imports)["name"] if named_kind == "binding" else named
        if named_name != saved.get("name"):
            raise APIUsageError(f"{folder} holds a run of {saved.get('name')!r}, not {named_name!r}: pass "
                                f"--env "
                                f"{EXPLICIT_PREFIX.get(kind, '')}{spec} or another run.")
    folders.trusted_env(folder, kind, spec, imports, named_spec, list(named_imports), trust)
    return RunConfig.from_dict(catalog.merge(saved, renamed_keys(overrides or {})), renamed="quiet")
