"""The shipped configuration files: ``[default]`` plus one table per environment.

``src/pufferlib/config/*.toml``: ``default.toml`` holds ``[default]`` (what every env shares);
each package file (``ocean.toml``, ``mujoco.toml``, ...) holds a table per environment, and may
have its own ``[default]``, which lies between the global one and each env's table. An env
table may declare ``aliases`` (``CartPole-v1`` for ``cartpole``), its ``package`` (default: the
file's name) and ``env_name`` (the binding's name for it; default: the table's name).

A user's file (``--config FILE.toml``) has the same format; ``user_config_table`` picks the
sections it sets for one env.
"""

from __future__ import annotations

import copy
import functools
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10
    import tomli as tomllib

from pufferlib.exceptions import APIUsageError
from pufferlib.run.options import did_you_mean

CONFIG_DIR = Path(__file__).parents[1] / "config"
SECTIONS = ("env", "policy", "rnn", "vec", "train", "sweep")


def merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Deep merge of two nested dicts; ``override`` wins."""
    merged = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except OSError as e:
        raise APIUsageError(f"Cannot read config file {path}: {e.strerror or e}.") from None
    except tomllib.TOMLDecodeError as e:
        raise APIUsageError(f"Config file {path} is not valid TOML: {e}.") from None


@functools.cache
def shipped() -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """``([default] table, {env name or alias: its table})`` from every shipped TOML file."""
    default: dict[str, Any] = {}
    envs: dict[str, dict[str, Any]] = {}
    for path in sorted(CONFIG_DIR.glob("*.toml")):
        data = read_toml(path)
        if path.stem == "default":
            default = data.get("default", {})
            continue
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
                    raise APIUsageError(f"Environment {alias!r} is configured twice (second time in "
                                        f"{path.name}).")
                envs[alias] = table
    return default, envs


def env_names() -> list[str]:
    """Every configured environment name and alias."""
    return list(shipped()[1])


def user_config_table(path: str | os.PathLike, name: str) -> dict[str, Any]:
    """The sections a user's TOML file sets for env ``name``.

    Its env table is the one named ``name``, or the file's only non-default table; bare section
    tables (``[train]``) are accepted too. A top-level table that is neither a section, nor
    ``default``, nor an env of the file is an error naming the closest section.
    """
    path = Path(path)
    data = read_toml(path)
    table = merge({}, data.get("default", {}))
    bare = {key: value for key, value in data.items() if key in SECTIONS}
    named = {key: value for key, value in data.items() if key not in SECTIONS and key != "default"}
    for key, value in named.items():
        hint = did_you_mean(key, SECTIONS)
        if not isinstance(value, Mapping) or hint:
            raise APIUsageError(f"{path}: [{key}] is not a config section{hint}; sections are "
                                f"{', '.join(SECTIONS)} (or a table per environment holding them).")
    if name in named:
        table = merge(table, named[name])
    elif len(named) == 1:
        table = merge(table, next(iter(named.values())))
    elif named:
        raise APIUsageError(
            f"{path} has tables for {', '.join(named)} but none for {name!r}: name one [{name}] or keep one."
        )
    table = merge(table, bare)
    for key in table:
        if key not in SECTIONS:
            raise APIUsageError(f"{path}: {key!r} is not a config section{did_you_mean(key, SECTIONS)} "
                                f"(sections: {', '.join(SECTIONS)}).")
    return table
