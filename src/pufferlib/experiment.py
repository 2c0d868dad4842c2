"""Experiments: from an env spec to a trained, saved and evaluated policy.

This is the library behind the ``puffer`` command (which only parses arguments and
prints), ``pufferlib.sweep``, ``bench/`` and the tests::

    config = experiment.load_config("squared")                # or "Acrobot-v1", "mymodule:make_env"
    config["train"]["total_timesteps"] = 50_000
    trainer = experiment.run_training(config, "my-run")       # trains, saves, returns the Trainer
    finished = experiment.evaluate(config, checkpoint=trainer.exp_dir, episodes=10).episodes

An **env spec** names what to train on:

- a bundled binding's configured environment or alias (``squared``, ``cartpole``,
  ``CartPole-v1``), or any binding's environment as ``PACKAGE:NAME`` (``atari:breakout``);
- any id registered with Gymnasium (``Acrobot-v1``); ``imports`` names packages to import
  first so that they register theirs;
- ``MODULE:CALLABLE``: a callable (function or class) returning a Gymnasium env, a
  PettingZoo parallel env or a ``pufferlib.PufferEnv``; its keyword arguments are the
  ``env`` section's options.

Where two of these readings fit, the spec is ambiguous and rejected, with the explicit
spellings ``binding:NAME``, ``gym:ID`` and ``py:MODULE:CALLABLE``. Envs that are not
bindings are wrapped automatically (``GymnasiumPufferEnv``/``PettingZooPufferEnv``, with
``EpisodeStats``/``MultiagentEpisodeStats`` unless the env already reports episodes; a
Gymnasium ``RecordEpisodeStatistics`` ``info["episode"]`` is translated) and get
``default_policy``: an MLP over flat or nativized structured observations, a CNN over
images, an LSTM on top with ``policy.recurrent``.

A **config** is a dict with one table per section (``env``, ``policy``, ``rnn``, ``vec``,
``train``, ``sweep``) plus ``name``, ``env_spec`` and ``imports``; it is built from the
shipped TOML files (``[default]`` merged with the env's own table), an optional user
TOML file, and overrides. Every run's ``config.json`` records it, so an experiment
folder alone is enough to resume or evaluate it.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import functools
import importlib
import importlib.util
import inspect
import json
import math
import os
import pickle
import re
import signal
import sys
import threading
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

import gymnasium

from pufferlib.exceptions import APIUsageError, EnvironmentSetupError
from pufferlib.postprocess import final_stats

CONFIG_DIR = Path(__file__).parent / "config"
SECTIONS = ("env", "policy", "rnn", "vec", "train", "sweep")
CONFIG_JSON = "config.json"
# Arguments the commands supply themselves, never taken from the configuration.
RESERVED_ENV_ARGS = frozenset({"render_mode", "buf"})
EXPLICIT_PREFIXES = ("binding:", "gym:", "py:")


# ---------------------------------------------------------------------------------------
# Configuration files


def merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Deep merge of two nested dicts; ``override`` wins."""
    merged = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except OSError as e:
        raise APIUsageError(f"Cannot read config file {path}: {e.strerror or e}.") from None
    except tomllib.TOMLDecodeError as e:
        raise APIUsageError(f"Config file {path} is not valid TOML: {e}.") from None


@functools.cache
def load_config_files() -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """``([default] table, {env name or alias: its table})`` from every shipped TOML file."""
    default: dict[str, Any] = {}
    envs: dict[str, dict[str, Any]] = {}
    for path in sorted(CONFIG_DIR.glob("*.toml")):
        data = _read_toml(path)
        if path.stem == "default":
            default = data.get("default", {})
            continue
        # A package file's own [default] holds what its envs share: under each env table,
        # over the global [default].
        shared = data.pop("default", {})
        for name, table in data.items():
            table = merge(shared, table)
            table.setdefault("package", path.stem)
            table.setdefault("env_name", name)
            table["name"] = name
            aliases = table.pop("aliases", [])
            table["declared_aliases"] = list(aliases)
            for alias in [name, *aliases]:
                if alias in envs:
                    raise APIUsageError(
                        f"Environment {alias!r} is configured twice (second time in {path.name})."
                    )
                envs[alias] = table
    return default, envs


def env_names() -> list[str]:
    """Every configured environment name and alias."""
    return list(load_config_files()[1])


def user_config_table(path: str | os.PathLike, name: str) -> dict[str, Any]:
    """The sections a user's TOML file sets for env ``name``.

    The file has the shipped configs' format: a ``[default]`` table and/or a table per
    environment (``[NAME.train]``...). Its env table is the one named ``name``, or the
    file's only non-default table; bare section tables (``[train]``) are accepted too.
    """
    path = Path(path)
    data = _read_toml(path)
    table = merge({}, data.get("default", {}))
    bare = {key: value for key, value in data.items() if key in SECTIONS}
    named = {key: value for key, value in data.items() if key not in SECTIONS and key != "default"}
    if name in named:
        table = merge(table, named[name])
    elif len(named) == 1:
        table = merge(table, next(iter(named.values())))
    elif named:
        raise APIUsageError(
            f"{path} has tables for {', '.join(named)} but none for {name!r}: name one [{name}] or keep one."
        )
    table = merge(table, bare)
    unknown = [key for key in table if key not in SECTIONS]
    if unknown:
        raise APIUsageError(
            f"{path}: {', '.join(unknown)} are not config sections (valid: {', '.join(SECTIONS)})."
        )
    return table


# ---------------------------------------------------------------------------------------
# Env specs


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
            raise APIUsageError(
                f"No environment binding named {package!r} ({module} does not exist)."
            ) from None
        raise EnvironmentSetupError(e, package) from e


def _binding_exists(package: str) -> bool:
    if not re.fullmatch(r"[A-Za-z_]\w*", package):
        return False
    return importlib.util.find_spec(f"pufferlib.environments.{package}") is not None


def _gymnasium_ids() -> set[str]:
    return set(gymnasium.registry)


def _find_callable(module_name: str, attribute: str) -> Callable | None:
    """``module_name.attribute`` if the module can be found and has it; None if there is no such module."""
    try:
        if importlib.util.find_spec(module_name) is None:
            return None
    except (ImportError, ValueError):
        return None
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise APIUsageError(f"--env {module_name}:{attribute}: importing {module_name} failed: {e}."
                            ) from None
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
    if spec.startswith("binding:"):
        return "binding", _check_binding(spec.removeprefix("binding:"))
    if spec.startswith("gym:"):
        env_id = spec.removeprefix("gym:")
        if env_id not in _gymnasium_ids():
            raise APIUsageError(f"--env {spec}: {env_id!r} is not a registered Gymnasium id"
                                + (" (did you forget --import PKG?)" if not imports else "."))
        return "gymnasium", env_id
    if spec.startswith("py:"):
        target = spec.removeprefix("py:")
        module, _, attribute = target.partition(":")
        if not attribute or _find_callable(module, attribute) is None:
            raise APIUsageError(f"--env {spec}: expected py:MODULE:CALLABLE with an importable MODULE.")
        return "callable", target

    configured = load_config_files()[1]
    readings: list[tuple[str, str, str]] = []  # (kind, canonical, explicit spelling)
    if spec in configured:
        readings.append(("binding", spec, f"binding:{spec}"))
    elif ":" in spec:
        package, _, name = spec.partition(":")
        if _binding_exists(package):
            readings.append(("binding", spec, f"binding:{spec}"))
    if ":" in spec:
        module, _, attribute = spec.partition(":")
        plain = bool(module and attribute and re.fullmatch(r"[\w.]+", module)
                     and re.fullmatch(r"[\w.]+", attribute))
        if plain and _find_callable(module, attribute) is not None:
            readings.append(("callable", spec, f"py:{spec}"))
    # A configured alias (CartPole-v1) is that binding's declared spelling of the Gymnasium id.
    declared = spec in configured.get(spec, {}).get("declared_aliases", ())
    if spec in _gymnasium_ids() and not declared:
        readings.append(("gymnasium", spec, f"gym:{spec}"))
    if len(readings) > 1:
        spellings = " or ".join(f"--env {explicit}" for *_, explicit in readings)
        kinds = ", ".join(kind for kind, *_ in readings)
        raise APIUsageError(f"--env {spec} is ambiguous ({kinds}): write {spellings}.")
    if readings:
        return readings[0][0], readings[0][1]
    if ":" in spec:
        module = spec.partition(":")[0]
        raise APIUsageError(
            f"Unknown environment {spec!r}: no binding named {module!r} and no importable module {module!r} "
            "(for MODULE:CALLABLE, run from MODULE's folder or add it to PYTHONPATH)."
        )
    raise APIUsageError(
        f"Unknown environment {spec!r}: not a configured environment ({', '.join(configured)}), "
        "a Gymnasium id (add --import PKG to register more) or MODULE:CALLABLE."
    )


def _check_binding(name: str) -> str:
    if name in load_config_files()[1]:
        return name
    package, _, env_name = name.partition(":")
    if not env_name:
        raise APIUsageError(f"--env binding:{name}: no configured environment {name!r}; "
                            "other bindings' environments are named binding:PACKAGE:NAME.")
    load_binding(package)
    return name


# ---------------------------------------------------------------------------------------
# Wrapping any env as a Puffer env


def _inner_chain(env: Any) -> list[Any]:
    chain = []
    while env is not None and len(chain) < 64:
        chain.append(env)
        env = getattr(env, "env", None)
    return chain


def as_puffer_env(env: Any, source: str = "the env factory") -> Any:
    """``env`` wrapped for the vector backends, with episode statistics.

    Puffer envs pass through. A Gymnasium env gets ``EpisodeStats`` (or, if it already
    has ``RecordEpisodeStatistics``, a translation of its ``info["episode"]``) and
    ``GymnasiumPufferEnv``; a PettingZoo parallel env gets ``MultiagentEpisodeStats`` and
    ``PettingZooPufferEnv``.
    """
    from pettingzoo.utils.env import AECEnv, ParallelEnv

    from pufferlib.emulation import GymnasiumPufferEnv, PettingZooPufferEnv
    from pufferlib.postprocess import EpisodeStats, MultiagentEpisodeStats
    from pufferlib.puffer_env import PufferEnv

    if isinstance(env, PufferEnv | GymnasiumPufferEnv | PettingZooPufferEnv):
        return env
    if isinstance(env, gymnasium.Env):
        chain = _inner_chain(env)
        if any(isinstance(e, EpisodeStats) for e in chain):
            return GymnasiumPufferEnv(env=env)
        if any(isinstance(e, gymnasium.wrappers.RecordEpisodeStatistics) for e in chain):
            return GymnasiumPufferEnv(env=RecordedEpisodeStats(env))
        return GymnasiumPufferEnv(env=EpisodeStats(env))
    if isinstance(env, ParallelEnv):
        if any(isinstance(e, MultiagentEpisodeStats) for e in _inner_chain(env)):
            return PettingZooPufferEnv(env=env)
        return PettingZooPufferEnv(env=MultiagentEpisodeStats(env))
    if isinstance(env, AECEnv):
        raise APIUsageError(
            f"{source} returned a PettingZoo AEC env; return a parallel env instead "
            "(pettingzoo.utils.conversions.aec_to_parallel(env))."
        )
    raise APIUsageError(
        f"{source} returned {type(env).__name__}, not an environment: return a gymnasium.Env, a "
        "PettingZoo ParallelEnv or a pufferlib.PufferEnv."
    )


class RecordedEpisodeStats(gymnasium.Wrapper):
    """Reports Gymnasium ``RecordEpisodeStatistics``' ``info["episode"]`` the Puffer way.

    The final step's info becomes ``episode_return``/``episode_length`` (from
    ``episode["r"]``/``["l"]``: the returns recorded below any reward wrappers) plus the
    env's other numeric info; every other step's info is empty, as with ``EpisodeStats``.
    """

    def step(self, action: Any) -> tuple[Any, Any, bool, bool, dict]:
        observation, reward, terminated, truncated, info = self.env.step(action)
        if not (terminated or truncated):
            return observation, reward, terminated, truncated, {}
        info = dict(info)
        episode = info.pop("episode", None) or {}
        stats = final_stats(info, float(episode.get("r", math.nan)), int(episode.get("l", 0)))
        return observation, reward, terminated, truncated, stats


def make_gymnasium_env(env_id: str, imports: Sequence[str] = (), render_mode: str | None = None,
                       **kwargs: Any) -> Any:
    """``gymnasium.make(env_id, **kwargs)`` as a Puffer env (importing ``imports`` first, also in workers)."""
    import_packages(imports)
    try:
        if render_mode is not None:  # envs without rendering need not accept the argument
            kwargs["render_mode"] = render_mode
        env = gymnasium.make(env_id, **kwargs)
    except gymnasium.error.DependencyNotInstalled as e:
        raise EnvironmentSetupError(e, env_id) from e
    except TypeError as e:
        raise APIUsageError(f"{env_id}: bad keyword arguments ({e}).") from None
    return as_puffer_env(env, f"gymnasium.make({env_id!r})")


def make_callable_env(target: str, imports: Sequence[str] = (), render_mode: str | None = None,
                      **kwargs: Any) -> Any:
    """``MODULE:CALLABLE(**kwargs)`` as a Puffer env; ``render_mode`` is passed only if set."""
    import_packages(imports)
    module, _, attribute = target.partition(":")
    factory = _find_callable(module, attribute)
    if factory is None:
        raise APIUsageError(f"--env {target}: cannot find module {module!r}.")
    if render_mode is not None:
        kwargs["render_mode"] = render_mode
    try:
        inspect.signature(factory).bind(**kwargs)
    except TypeError as e:
        raise APIUsageError(f"{target}: bad keyword arguments ({e}).") from None
    except ValueError:  # builtins without a signature: let the call report problems
        pass
    return as_puffer_env(factory(**kwargs), target)


# ---------------------------------------------------------------------------------------
# Default policy for envs without a binding


def default_policy(env: Any, hidden_size: int = 128) -> Any:
    """A policy fitting ``env``'s spaces: NatureCNN over images, else an MLP.

    Images are ``uint8`` ``(C, H, W)`` or ``(H, W, C)`` observations with at most 4
    channels and sides of at least 36 pixels; structured (Dict/Tuple) observations are
    nativized and one-hot encoded by ``pufferlib.models.Default``.
    """
    import numpy as np

    import pufferlib.models

    _check_positive("policy.hidden_size", hidden_size)
    space = env.single_observation_space
    shape = tuple(space.shape)
    structured = np.dtype(getattr(getattr(env, "emulated", None), "emulated_observation_dtype",
                                  space.dtype)).fields is not None
    if len(shape) == 3 and space.dtype == np.uint8 and not structured:
        channels_last = shape[2] <= 4 < shape[0]
        channels, height, width = (shape[2], shape[0], shape[1]) if channels_last else shape
        if channels <= 4 and min(height, width) >= 36:
            flat = pufferlib.models.conv_flat_size((channels, height, width))
            return pufferlib.models.Convolutional(env, framestack=channels, flat_size=flat,
                                                  hidden_size=hidden_size, output_size=hidden_size,
                                                  channels_last=channels_last)
    return pufferlib.models.Default(env, hidden_size=hidden_size)


def default_recurrent(env: Any, policy: Any, num_layers: int = 1) -> Any:
    """An LSTM sized to ``policy`` (``pufferlib.models.PolicySizedLSTM``)."""
    import pufferlib.models

    _check_positive("rnn.num_layers", num_layers)
    return pufferlib.models.PolicySizedLSTM(env, policy, num_layers=num_layers)


# ---------------------------------------------------------------------------------------
# Resolved environments


@dataclasses.dataclass
class EnvTarget:
    """What an env spec resolves to: a picklable env factory, a policy and their options."""

    kind: str
    spec: str
    creator: Callable[..., Any]
    """``creator(**env_kwargs)`` returns a Puffer env; picklable for the worker processes."""
    options_source: Callable[..., Any]
    """The callable whose signature lists the env options."""
    policy: Callable[..., Any]
    recurrent: Callable[..., Any]
    env_defaults: dict[str, Any]


def _binding_policies(binding: ModuleType) -> tuple[Callable, Callable]:
    return (getattr(binding, "Policy", None) or default_policy,
            getattr(binding, "Recurrent", None) or default_recurrent)


def env_target(config: Mapping[str, Any]) -> EnvTarget:
    """The env factory, policy classes and option sources of a config."""
    kind, spec, imports = config["kind"], config["env_spec"], tuple(config.get("imports", ()))
    import_packages(imports)
    if kind == "binding":
        binding = load_binding(config["package"])
        creator = binding.env_creator(config["env_name"])
        policy, recurrent = _binding_policies(binding)
        return EnvTarget(kind, spec, creator, creator, policy, recurrent, {})
    if kind == "gymnasium":
        creator = functools.partial(make_gymnasium_env, spec, imports)
        defaults = dict(gymnasium.spec(spec).kwargs)
        return EnvTarget(kind, spec, creator, lambda **kwargs: None, default_policy, default_recurrent,
                         defaults)
    if kind == "callable":
        module, _, attribute = spec.partition(":")
        factory = _find_callable(module, attribute)
        creator = functools.partial(make_callable_env, spec, imports)
        return EnvTarget(kind, spec, creator, factory, default_policy, default_recurrent, {})
    raise APIUsageError(f"Unknown env kind {kind!r} in the config.")


def load_config(spec: str, imports: Sequence[str] = (), config_file: str | os.PathLike | None = None
                ) -> dict[str, Any]:
    """The merged configuration for env spec ``spec`` (see the module docstring)."""
    default, envs = load_config_files()
    kind, canonical = resolve_spec(spec, imports)
    if kind == "binding" and canonical in envs:
        table = {k: v for k, v in envs[canonical].items() if k != "declared_aliases"}
        name = table["name"]
    elif kind == "binding":
        package, env_name = canonical.split(":", 1)
        table, name = {"package": package, "env_name": env_name}, canonical
    else:
        table, name = {}, canonical
    config = merge(default, table)
    for section in SECTIONS:
        config.setdefault(section, {})
    config.update(name=name, kind=kind, env_spec=name if kind == "binding" else canonical,
                  imports=list(imports))
    if config_file is not None:
        config = merge(config, user_config_table(config_file, name))
    return config


def signature_defaults(fn: Callable, skip: int = 0, exclude: frozenset = frozenset()
                       ) -> tuple[dict[str, tuple[Any, Any]], bool]:
    """``({name: (default, annotation)}, accepts **kwargs)`` of ``fn``'s keyword parameters.

    The first ``skip`` positional parameters (``env``, ``policy``) are left out, and so
    are ``*args``, ``**kwargs`` and the ``exclude`` names.
    """
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return {}, True
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    skipped = {p.name for p in positional[:skip]}
    options: dict[str, tuple[Any, Any]] = {}
    var_kwargs = False
    for p in params:
        if p.kind is p.VAR_KEYWORD:
            var_kwargs = True
        elif p.kind is not p.VAR_POSITIONAL and p.name not in skipped and p.name not in exclude:
            default = None if p.default is inspect.Parameter.empty else p.default
            options[p.name] = (default, p.annotation)
    return options, var_kwargs


def section_options(config: Mapping[str, Any]) -> dict[str, dict[str, tuple[Any, Any]]]:
    """Every option per section: defaults from signatures, overridden by the config's values.

    A config value that no signature accepts is an ``APIUsageError``.
    """
    from pufferlib.trainer import TrainConfig

    target = env_target(config)
    env_options, env_var = signature_defaults(target.options_source, exclude=RESERVED_ENV_ARGS)
    env_options = {**{k: (v, None) for k, v in target.env_defaults.items()
                      if k not in RESERVED_ENV_ARGS}, **env_options}
    sources = {
        "env": (env_options, env_var or target.kind == "gymnasium"),
        "policy": signature_defaults(target.policy, skip=1),
        "rnn": signature_defaults(target.recurrent, skip=2),
        "train": signature_defaults(TrainConfig),
    }
    options: dict[str, dict[str, tuple[Any, Any]]] = {}
    for section in SECTIONS:
        known, var_kwargs = sources.get(section, ({}, True))
        known = dict(known)
        if section == "policy":
            known["recurrent"] = (False, "bool")
        for key, value in config[section].items():
            if section == "sweep" and isinstance(value, Mapping):
                continue
            if key not in known and not var_kwargs:
                raise APIUsageError(
                    f"Config for {config['name']!r}: {section}.{key} is not an option of "
                    f"{section} (valid: {', '.join(known) or 'none'})."
                )
            annotation = known.get(key, (None, None))[1]
            known[key] = (value, annotation)
        options[section] = known
    return options


# ---------------------------------------------------------------------------------------
# Validation


def _check_positive(name: str, value: Any) -> None:
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if not number or not value > 0 or not math.isfinite(value):
        raise APIUsageError(f"{name} must be a positive number, got {value!r}.")


def check_config(config: Mapping[str, Any]) -> None:
    """Reject values no run can use, before anything is built or written.

    Sizes and counts of the policy, LSTM and vecenv must be positive; the ``train``
    section is checked by ``TrainConfig``; the data folder must not be a file.
    """
    for section in ("policy", "rnn"):
        for key, value in config.get(section, {}).items():
            if (key.endswith("_size") or key in ("num_layers", "framestack")) and value is not None:
                _check_positive(f"{section}.{key}", value)
    vec = config.get("vec", {})
    if "num_envs" in vec:
        _check_positive("vec.num_envs", vec["num_envs"])
    for key in ("num_workers", "batch_size"):
        value = vec.get(key, 0)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise APIUsageError(f"vec.{key} must be a non-negative integer (0: the default), got {value!r}.")
    train_config(config)
    data_dir = Path(config["train"].get("data_dir", "experiments"))
    if data_dir.exists() and not data_dir.is_dir():
        raise APIUsageError(f"--data-dir {data_dir} is a file: name a folder (it is created if missing).")


def check_exp_id(exp_id: str) -> str:
    """``exp_id`` if it is a plain folder name (no path separators, not ``.``/``..``)."""
    separators = {"/", os.sep, *([os.altsep] if os.altsep else [])}
    if not exp_id or exp_id in (".", "..") or ".." in exp_id or any(s in exp_id for s in separators):
        raise APIUsageError(
            f"--exp-id {exp_id!r} must be a plain folder name (no '/', no '..'): it is created in --data-dir."
        )
    return exp_id


def train_config(config: Mapping[str, Any]) -> Any:
    """``TrainConfig`` from the ``train`` section (validated there)."""
    from pufferlib.trainer import TrainConfig

    try:
        return TrainConfig(**config["train"])
    except TypeError as e:
        raise APIUsageError(f"train section: {e}.") from None


# ---------------------------------------------------------------------------------------
# Construction


def make_vecenv(config: Mapping[str, Any], env_overrides: Mapping[str, Any] | None = None,
                vec_overrides: Mapping[str, Any] | None = None) -> Any:
    """A vecenv for the configured environment; zero-valued vec settings mean the backend's default."""
    import pufferlib.vector

    vec = {**config["vec"], **(vec_overrides or {})}
    kwargs = {key: vec[key] for key in ("num_workers", "batch_size") if vec.get(key)}
    backend = str(vec.get("backend", "serial")).lower()
    if backend == "multiprocessing":
        kwargs["zero_copy"] = bool(vec.get("zero_copy", True))
    if backend == "ray":
        kwargs.update({key: vec[key] for key in ("address", "placement", "recover") if vec.get(key)})
    if vec.get("timeout"):
        kwargs["timeout"] = float(vec["timeout"])
    env_kwargs = {**config["env"], **(env_overrides or {})}
    creator = env_target(config).creator
    return pufferlib.vector.make(creator, env_kwargs=env_kwargs, backend=backend,
                                 num_envs=int(vec.get("num_envs", 1)), **kwargs)


def make_policy(config: Mapping[str, Any], env: Any) -> Any:
    """The env's policy built for ``env`` (wrapped in its recurrent core with ``policy.recurrent``)."""
    target = env_target(config)
    policy_kwargs = {k: v for k, v in config["policy"].items() if k != "recurrent"}
    try:
        policy = target.policy(env, **policy_kwargs)
        if config["policy"].get("recurrent"):
            policy = target.recurrent(env, policy, **config["rnn"])
    except (TypeError, ValueError, RuntimeError) as e:
        raise APIUsageError(f"Cannot build the policy for {config['name']} with {policy_kwargs}: "
                            f"{_first_line(e)}") from None
    return policy


def load_policy_weights(policy: Any, path: str | os.PathLike) -> None:
    """Load a saved policy into ``policy``; unreadable files and mismatched weights are ``APIUsageError``."""
    from pufferlib.trainer import load_weights

    try:
        weights = load_weights(path, policy=policy)  # checks that the weights fit the policy
    except APIUsageError:
        raise
    except (EOFError, pickle.UnpicklingError, RuntimeError, ValueError, zipfile.BadZipFile, OSError) as e:
        raise APIUsageError(f"{path} is not a readable checkpoint ({_first_line(e)}): "
                            "pass a model.pt/checkpoint.pt saved by pufferlib.") from None
    if not isinstance(weights, Mapping):
        raise APIUsageError(f"{path} does not hold policy weights.")
    try:
        policy.load_state_dict(weights)
    except RuntimeError as e:
        raise APIUsageError(f"{path} holds weights of another policy ({_first_line(e)}): "
                            "pass the --env and policy options it was trained with.") from None


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return (text[0] if text else type(error).__name__)[:200]


# ---------------------------------------------------------------------------------------
# Experiments on disk


def new_exp_id(name: str) -> str:
    safe = re.sub(r"[^\w.-]", "-", name).strip(".")
    return f"{safe}-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:4]}"


def write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str))
    os.replace(tmp, path)


def saved_config(folder: str | os.PathLike) -> dict[str, Any] | None:
    """The ``config.json`` of an experiment folder, or None."""
    try:
        data = json.loads((Path(folder) / CONFIG_JSON).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def latest_experiment(data_dir: str | os.PathLike, name: str) -> Path | None:
    """The newest experiment folder of environment ``name`` that has a saved model."""
    from pufferlib.trainer import MODEL_FILE

    candidates = []
    root = Path(data_dir)
    if not root.is_dir():
        return None
    for folder in root.iterdir():
        saved = saved_config(folder)
        model = folder / MODEL_FILE
        if saved is not None and saved.get("name") == name and model.is_file():
            candidates.append((model.stat().st_mtime, folder))
    return max(candidates)[1] if candidates else None


def experiment_folder(path: str | os.PathLike) -> Path:
    path = Path(path)
    return path if path.is_dir() else path.parent


def apply_saved(config: dict[str, Any], folder: Path, explicit: Mapping[str, Any],
                sections: Sequence[str]) -> dict[str, Any]:
    """Rebuild ``config`` from an experiment's saved one, keeping explicit command-line values."""
    saved = saved_config(folder)
    if saved is None:
        return config
    if saved.get("name") != config["name"]:
        raise APIUsageError(
            f"{folder} holds an experiment of {saved.get('name')!r}, not {config['name']!r}: pass --env "
            f"{saved.get('env_spec', saved.get('name'))} or another checkpoint."
        )
    rebuilt = copy.deepcopy(config)
    for section in sections:
        rebuilt[section] = merge(saved.get(section, {}), explicit.get(section, {}))
    return rebuilt


def saved_env(folder: str | os.PathLike) -> tuple[str, list[str]] | None:
    """``(env spec, imports)`` recorded by an experiment folder's ``config.json``, or None."""
    saved = saved_config(experiment_folder(folder))
    if saved is None or "env_spec" not in saved and "name" not in saved:
        return None
    spec = saved.get("env_spec", saved.get("name"))
    kind = saved.get("kind", "binding")
    explicit = {"binding": "binding:", "gymnasium": "gym:", "callable": "py:"}.get(kind, "")
    return explicit + spec, list(saved.get("imports", []))


def eval_checkpoint(spec: str | os.PathLike | None, data_dir: str | os.PathLike, name: str) -> Path | None:
    """The weights ``puffer eval --checkpoint SPEC`` means; None for an untrained policy.

    ``SPEC`` is a file, an experiment folder (its latest save), ``FOLDER/best`` or
    ``FOLDER/latest``, ``best``/``latest`` (of the newest experiment of env ``name`` in
    ``data_dir``), ``none``, or None (the newest experiment's latest save, if any).
    """
    from pufferlib.checkpoint import find_checkpoint

    if spec is not None and str(spec) == "none":
        return None
    if spec is None or str(spec) in ("best", "latest"):
        folder = latest_experiment(data_dir, name)
        if folder is None:
            if spec is None:
                return None
            raise APIUsageError(f"--checkpoint {spec}: no trained {name!r} in {data_dir}.")
        return find_checkpoint(folder / str(spec or "latest"))
    return find_checkpoint(spec)


def resume_checkpoint(path: str | os.PathLike) -> Path:
    """The ``checkpoint.pt`` a ``--resume PATH`` names (a folder or the file itself)."""
    from pufferlib.trainer import CHECKPOINT_FILE, MODEL_FILE

    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT_FILE
    if path.name == MODEL_FILE:
        raise APIUsageError(f"--resume {path}: model.pt holds weights only; pass the experiment folder "
                            "or its checkpoint.pt.")
    if not path.is_file():
        raise APIUsageError(f"--resume {path}: no checkpoint there; pass an experiment folder or "
                            "its checkpoint.pt.")
    return path


# ---------------------------------------------------------------------------------------
# Training and evaluation


class Terminated(KeyboardInterrupt):
    """SIGTERM (a scheduler's or ``timeout``'s stop) turned into an interrupt, so it saves like Ctrl-C."""

    def __init__(self, signum: int):
        super().__init__(f"signal {signum}")
        self.signum = signum


@contextlib.contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """Within the block, SIGTERM raises ``Terminated`` in the main thread (elsewhere: no change)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise Terminated(signum)

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def say(message: str) -> None:
    """A progress message for a phase that may take a while, on stderr (stdout keeps the results)."""
    print(message, file=sys.stderr, flush=True)


def run_training(config: Mapping[str, Any], exp_id: str, resume: str | os.PathLike | None = None,
                 loggers: Sequence[Callable[[Path], Any]] = (), progress: str = "auto",
                 progress_interval: float = 5.0, save: bool = True,
                 callback: Callable[[Any], Any] | None = None) -> Any:
    """Train with ``config``; returns the closed ``Trainer`` (the core of ``puffer train`` and sweeps).

    ``loggers`` are factories called with the experiment folder once a resume (if any)
    has succeeded, so that a failed resume writes nothing. ``progress`` is ``rich``,
    ``plain``, ``none`` or ``auto`` (rich on a terminal); besides the dashboard, slow
    phases (building the envs, the first batch) are announced on stderr. ``callback(trainer)``
    runs after every update; returning False stops training.

    ``train.total_timesteps`` is the run's total: a resumed run trains the remaining steps,
    and one already at its total trains nothing (``trainer.finished_before`` is True).
    With ``save``, every update is appended to ``metrics.jsonl`` and the run's learning
    curve is drawn into ``curve.png`` at the end. SIGTERM and Ctrl-C save a checkpoint and
    re-raise (``Terminated`` for SIGTERM, a ``KeyboardInterrupt``).
    """
    with sigterm_interrupts():
        return _run_training(config, exp_id, resume, loggers, progress, progress_interval, save, callback)


def _run_training(config: Mapping[str, Any], exp_id: str, resume: str | os.PathLike | None,
                  loggers: Sequence[Callable[[Path], Any]], progress: str, progress_interval: float,
                  save: bool, callback: Callable[[Any], Any] | None) -> Any:
    import torch

    from pufferlib import distributed
    from pufferlib.dashboard import Dashboard
    from pufferlib.plot import CURVE_FILE, METRICS_FILE, MetricsLogger
    from pufferlib.trainer import Trainer, seed_everything

    check_exp_id(exp_id)
    check_config(config)
    train_cfg = train_config(config)
    # Under torchrun every rank trains (its own envs, seeded apart); rank 0 alone logs, prints and saves.
    train_cfg, exp_id, context = distributed.prepare_run(train_cfg, exp_id)
    if not context.is_main:
        save, progress, loggers = False, "none", ()
    if train_cfg.torch_threads:
        torch.set_num_threads(train_cfg.torch_threads)
    seed_everything(train_cfg.seed, train_cfg.torch_deterministic)
    checkpoint = resume_checkpoint(resume) if resume is not None else None
    announce = progress != "none"
    started = time.perf_counter()
    if announce:
        say(f"[{config['name']}] building {config['vec'].get('num_envs', 1)} envs "
            f"({config['vec'].get('backend', 'serial')})...")
    vecenv = make_vecenv(config)
    try:
        check_batch_fits(train_cfg, vecenv.num_agents)
        policy = make_policy(config, vecenv.driver_env)
        trainer = Trainer(vecenv, policy, train_cfg, exp_id=exp_id)
        if checkpoint is not None:
            _load_checkpoint(trainer, checkpoint)
        trainer.finished_before = checkpoint is not None and trainer.done
        if trainer.finished_before:
            trainer.close(save=False)
            return trainer
        if save:
            loggers = [lambda folder: MetricsLogger(folder / METRICS_FILE), *loggers]
        trainer.loggers.extend(factory(trainer.exp_dir) for factory in loggers)
    except BaseException:
        vecenv.close()
        raise
    if announce:
        say(f"[{config['name']}] envs ready in {time.perf_counter() - started:.1f}s; collecting the first "
            f"batch of {train_cfg.batch_size:,} steps...")
    if save:
        write_json(trainer.exp_dir / CONFIG_JSON, config)
    dashboard = None
    if progress != "none":
        live = {"rich": True, "plain": False}.get(progress)
        dashboard = Dashboard(config["name"], exp_id, train_cfg.total_timesteps, live=live,
                              interval=progress_interval)

    def after_update(t: Any) -> Any:
        if dashboard is not None:
            dashboard.update(t.metrics())
        return callback(t) if callback is not None else None

    try:
        trainer.run(callback=after_update, progress=False)
    except KeyboardInterrupt:
        if dashboard is not None:
            dashboard.close()
            dashboard = None
        trainer.close(save=save)
        print(f"Interrupted; checkpoint saved in {trainer.exp_dir}" if save else "Interrupted.",
              file=sys.stderr)
        if save:
            _draw_curve(trainer.exp_dir, trainer.exp_dir / CURVE_FILE)
        raise
    if dashboard is not None:
        dashboard.close()
    trainer.close(save=save)
    if save:
        trainer.curve = _draw_curve(trainer.exp_dir, trainer.exp_dir / CURVE_FILE)
    return trainer


def _draw_curve(folder: Path, output: Path) -> Path | None:
    """The run's learning curve as a PNG, or None when it has none yet (no finished episode)."""
    from pufferlib.plot import plot_runs

    try:
        return plot_runs([folder], output)
    except APIUsageError:
        return None


def check_batch_fits(train_cfg: Any, num_agents: int) -> None:
    """``APIUsageError`` with working values unless ``batch_size`` splits into whole BPTT rows per agent."""
    unit = num_agents * train_cfg.bptt_horizon
    if train_cfg.batch_size % unit == 0:
        return
    rows = max(1, train_cfg.batch_size // unit)
    split = max(k for k in (1, 2, 3, 4) if rows % k == 0)
    raise APIUsageError(
        f"train.batch_size ({train_cfg.batch_size}) must be a multiple of agents ({num_agents}) x "
        f"train.bptt_horizon ({train_cfg.bptt_horizon}) = {unit}: e.g. --train.batch-size {rows * unit} "
        f"--train.minibatch-size {rows * unit // split}."
    )


def _load_checkpoint(trainer: Any, path: Path) -> None:
    try:
        trainer.load_checkpoint(path)
    except APIUsageError:
        raise
    except (EOFError, pickle.UnpicklingError, RuntimeError, ValueError, KeyError, TypeError,
            zipfile.BadZipFile, OSError) as e:
        raise APIUsageError(f"--resume {path}: not a usable checkpoint of this policy "
                            f"({_first_line(e)}).") from None


@dataclasses.dataclass
class Evaluation:
    """What ``evaluate`` returns: the finished episodes' infos and the render mode used."""

    episodes: list[dict[str, float]]
    render_mode: str
    checkpoint: Path | None

    def means(self) -> dict[str, float]:
        """Mean of every numeric episode statistic."""
        keys = sorted({k for info in self.episodes for k, v in info.items() if isinstance(v, int | float)})
        return {k: sum(info[k] for info in self.episodes if k in info)
                / sum(1 for info in self.episodes if k in info) for k in keys}


def render_modes(config: Mapping[str, Any]) -> list[str]:
    """The render modes the configured env declares."""
    env = env_target(config).creator(**config["env"])
    try:
        for candidate in (env, getattr(env, "env", None)):
            modes = getattr(candidate, "metadata", {}).get("render_modes")
            if modes:
                return list(modes)
        return []
    finally:
        env.close()


def render_env_fps(env: Any) -> float:
    for candidate in (env, getattr(env, "env", None)):
        fps = getattr(candidate, "metadata", {}).get("render_fps")
        if fps:
            return float(fps)
    return 8.0


def choose_render_mode(config: Mapping[str, Any], mode: str = "auto", video: bool = False) -> str:
    """``auto``: ANSI text if the env has it and no video is wanted, else ``rgb_array`` frames, else none."""
    modes = render_modes(config) if mode != "none" else []
    if mode == "auto":
        if "ansi" in modes and not video:
            return "ansi"
        return "rgb_array" if "rgb_array" in modes else "none"
    if mode != "none" and mode not in modes:
        raise APIUsageError(f"{config['name']} cannot render as {mode!r}; it supports {modes or 'nothing'}.")
    return mode


def evaluate(config: Mapping[str, Any], checkpoint: str | os.PathLike | None = None, episodes: int = 10,
             max_steps: int = 10_000, render_mode: str = "none",
             on_frame: Callable[[Any, float], Any] | None = None, deterministic: bool = False,
             on_episode: Callable[[dict[str, float]], Any] | None = None) -> Evaluation:
    """Play ``episodes`` episodes with the policy saved at ``checkpoint`` (None: untrained).

    One env on the Serial backend, actions sampled from the policy (its most likely ones
    with ``deterministic``). With ``render_mode`` ``ansi`` or ``rgb_array``,
    ``on_frame(frame, fps)`` gets each frame of every requested episode;
    ``on_episode(info)`` runs as each finishes. Bad checkpoints and counts are ``APIUsageError``.
    """
    from pufferlib.rollout import play
    from pufferlib.trainer import seed_everything

    if isinstance(episodes, bool) or not isinstance(episodes, int) or episodes < 1:
        raise APIUsageError(f"--episodes must be a positive integer, got {episodes!r}.")
    if isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < 1:
        raise APIUsageError(f"--max-steps must be a positive integer, got {max_steps!r}.")
    check_config(config)
    seed = int(config["train"].get("seed", 1))
    seed_everything(seed)
    env_overrides = {"render_mode": render_mode} if render_mode != "none" else {}
    single = {"backend": "serial", "num_envs": 1, "num_workers": 0, "batch_size": 0}
    vecenv = make_vecenv(config, env_overrides=env_overrides, vec_overrides=single)
    try:
        policy = make_policy(config, vecenv.driver_env)
        if checkpoint is not None:
            load_policy_weights(policy, checkpoint)
        policy.eval()
        envs = getattr(vecenv, "envs", None)
        render_env = envs[0] if envs else vecenv.driver_env
        fps = render_env_fps(render_env)

        def show() -> None:
            if on_frame is not None and render_mode != "none":
                on_frame(render_env.render(), fps)

        finished = play(vecenv, policy, episodes, max_steps, seed=seed, on_step=show,
                        deterministic=deterministic, on_episode=on_episode)
    finally:
        vecenv.close()
    return Evaluation(finished, render_mode, Path(checkpoint) if checkpoint is not None else None)


def write_video(path: str | os.PathLike, frames: list, fps: float) -> None:
    """Frames to a GIF (or MP4 with the ``imageio-ffmpeg`` package)."""
    import imageio.v2 as imageio

    if str(path).lower().endswith(".mp4"):
        try:
            import imageio_ffmpeg  # noqa: F401
        except ImportError as e:
            raise EnvironmentSetupError(e, "train") from e
        imageio.mimsave(path, frames, fps=fps)
    else:
        imageio.mimsave(path, frames, duration=1000 / fps, loop=0)


def autotune_flags(best: Mapping[str, Any]) -> list[str]:
    """``puffer train`` flags for an autotune result (booleans as ``--vec.KEY``/``--vec.no-KEY``)."""
    flags = []
    for key, value in best.items():
        flag = key.replace("_", "-")
        if key == "backend":
            flags.append(f"--vec.backend {str(getattr(value, '__name__', value)).lower()}")
        elif isinstance(value, bool):
            flags.append(f"--vec.{flag}" if value else f"--vec.no-{flag}")
        else:
            flags.append(f"--vec.{flag} {value}")
    return flags


def autotune(config: Mapping[str, Any], batch_size: int | None = None, **kwargs: Any) -> dict[str, Any]:
    """``pufferlib.vector.autotune`` on the configured env; ``batch_size`` defaults to agents per batch."""
    import pufferlib.vector

    creator = env_target(config).creator
    env_kwargs = dict(config["env"])
    if batch_size is None:
        # autotune's batch_size counts agents: vec.num_envs envs carry num_envs times the
        # agents of one env (several for multi-agent and native vectorized envs).
        env = creator(**env_kwargs)
        try:
            agents_per_env = int(getattr(env, "num_agents", 1))
        finally:
            env.close()
        batch_size = int(config["vec"].get("num_envs", 1)) * agents_per_env
    return pufferlib.vector.autotune(creator, env_kwargs=env_kwargs, batch_size=batch_size, **kwargs)
