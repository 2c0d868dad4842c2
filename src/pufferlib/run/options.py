"""Options: one declaration per config key, from which parsing, checking and help are derived.

A static section (``TrainConfig``, ``VecConfig``, ``SweepConfig``) declares each key once, as a
dataclass field made with ``option(default, doc, ...)``: its type is the annotation, its
default and one-line help are the arguments, and bounds or choices travel with it. The env,
policy and LSTM sections are declared by the signatures of the callables they configure
(``options_of_signature``). Either way the result is a list of ``Option``s, and every interface
reads that list: ``check_section`` validates a TOML/JSON table against it (unknown keys with a
"did you mean", wrong types, values out of range), the command line makes one flag per option,
``--help`` prints the docs, and ``config.json`` stores the checked values.

This module imports neither torch nor numpy: ``puffer --help`` stays fast.
"""

from __future__ import annotations

import dataclasses
import difflib
import inspect
import math
import re
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pufferlib.exceptions import APIUsageError

SIZE_NAME = re.compile(r".*_size|num_layers|framestack")


@dataclass(frozen=True)
class Option:
    """One configurable key: its name, type, default, help, and the values it accepts."""

    name: str
    kind: str
    """``bool``, ``int``, ``float``, ``str``, ``list`` or ``any`` (untyped: any TOML value)."""
    default: Any
    doc: str = ""
    optional: bool = False
    """None is accepted (the annotation includes ``None``)."""
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    """``low`` itself is excluded (the value must be greater than ``low``)."""
    choices: tuple[Any, ...] = ()

    def check(self, value: Any, where: str) -> Any:
        """``value`` converted to this option's type; ``APIUsageError`` naming ``where`` otherwise."""
        if value is None and (self.optional or self.default is None):
            return None
        value = _convert(self.kind, value, f"{where} = {value!r}")
        if self.choices and value not in self.choices:
            raise APIUsageError(f"{where} = {value!r}: choose one of {', '.join(map(repr, self.choices))}.")
        if self.kind in ("int", "float"):
            self._check_range(value, where)
        return value

    def _check_range(self, value: float, where: str) -> None:
        if not math.isfinite(value):
            raise APIUsageError(f"{where} = {value}: must be a finite number.")
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            bound = f"greater than {self.low:g}" if self.low_open else f"at least {self.low:g}"
            raise APIUsageError(f"{where} = {value!r}: must be {bound}.")
        if self.high is not None and value > self.high:
            raise APIUsageError(f"{where} = {value!r}: must be at most {self.high:g}.")

    @property
    def help(self) -> str:
        """The option's help line: its doc and its default."""
        doc = f"{self.doc} " if self.doc else ""
        return f"{doc}(default: {self.default!r})"


def _convert(kind: str, value: Any, where: str) -> Any:
    if kind == "bool":
        if isinstance(value, bool):
            return value
        raise APIUsageError(f"{where}: expected true or false.")
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
            raise APIUsageError(f"{where}: expected an integer.")
        return int(value)
    if kind == "float":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise APIUsageError(f"{where}: expected a number.")
        return float(value)
    if kind == "str":
        if not isinstance(value, str):
            raise APIUsageError(f"{where}: expected a string.")
        return value
    if kind == "list" and not isinstance(value, list | tuple):
        raise APIUsageError(f"{where}: expected a list.")
    return value


def option(default: Any, doc: str, *, low: float | None = None, high: float | None = None,
           low_open: bool = False, choices: Sequence[Any] = ()) -> Any:
    """A dataclass field declaring one config key (type from the annotation; see ``Option``)."""
    metadata = {"doc": doc, "low": low, "high": high, "low_open": low_open, "choices": tuple(choices)}
    if isinstance(default, list | dict):
        return dataclasses.field(default_factory=lambda: type(default)(default), metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def _kind(annotation: Any, default: Any) -> tuple[str, bool]:
    """``(kind, optional)`` from an annotation (a string under PEP 563, or a type), else the default."""
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
    if not isinstance(annotation, str) and typing.get_origin(annotation) is not None:
        text = str(annotation)
    parts = [part.strip() for part in text.replace("typing.", "").split("|")]
    optional = "None" in parts or text.startswith("Optional[")
    for kind in ("bool", "int", "float", "str"):
        if kind in parts or text == f"Optional[{kind}]":
            return kind, optional
    if any(part.startswith(("list", "tuple", "Sequence")) for part in parts):
        return "list", optional
    for kind, python in (("bool", bool), ("int", int), ("float", float), ("str", str)):
        if type(default) is python:
            return kind, optional
    return "any", True


def options_of_dataclass(cls: type) -> list[Option]:
    """The ``Option`` of every field of a dataclass declared with ``option()``."""
    hints = typing.get_type_hints(cls)
    result = []
    for field in dataclasses.fields(cls):
        if not field.init:
            continue
        meta = field.metadata
        if field.default is not dataclasses.MISSING:
            default = field.default
        elif field.default_factory is not dataclasses.MISSING:
            default = field.default_factory()
        else:
            default = None
        kind, optional = _kind(hints.get(field.name, field.type), default)
        result.append(Option(field.name, kind, default, meta.get("doc", ""), optional, meta.get("low"),
                             meta.get("high"), meta.get("low_open", False), meta.get("choices", ())))
    return result


def options_of_signature(fn: Callable | None, skip: int = 0, exclude: Iterable[str] = ()
                         ) -> tuple[list[Option], bool]:
    """``(options, accepts **kwargs)`` from ``fn``'s keyword parameters.

    The first ``skip`` positional parameters (``env``, ``policy``) and the ``exclude`` names are
    left out, and so are ``*args`` and ``**kwargs``. A parameter without a default has default
    None. A callable whose signature cannot be read accepts anything.
    """
    if fn is None:
        return [], True
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return [], True
    excluded = set(exclude)
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    excluded.update(p.name for p in positional[:skip])
    options, var_kwargs = [], False
    for p in params:
        if p.kind is p.VAR_KEYWORD:
            var_kwargs = True
        elif p.kind is not p.VAR_POSITIONAL and p.name not in excluded:
            default = None if p.default is inspect.Parameter.empty else p.default
            annotation = None if p.annotation is inspect.Parameter.empty else p.annotation
            kind, optional = _kind(annotation, default)
            # Sizes and counts of a network are positive (a 0-wide layer builds, and learns nothing).
            low = 1 if kind == "int" and SIZE_NAME.fullmatch(p.name) else None
            options.append(Option(p.name, kind, default, optional=optional or default is None, low=low))
    return options, var_kwargs


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """`` (did you mean X?)`` for the closest candidate, or an empty string."""
    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


def check_section(section: str, values: Mapping[str, Any], options: Sequence[Option],
                  open_ended: bool = False, owner: str = "") -> dict[str, Any]:
    """``values`` checked against ``options``: converted values, in declaration order where known.

    An unknown key is an ``APIUsageError`` naming the closest valid one, unless
    ``open_ended`` (a callable that takes ``**kwargs``), where it passes unchecked.
    """
    known = {o.name: o for o in options}
    checked = {}
    for key, value in values.items():
        where = f"{section}.{key}"
        if key in known:
            checked[key] = known[key].check(value, where)
        elif open_ended:
            checked[key] = value
        else:
            valid = ", ".join(known) or "none"
            raise APIUsageError(f"{where} is not an option{f' of {owner}' if owner else ''}"
                                f"{did_you_mean(key, known)}; valid: {valid}.")
    return checked


def defaults(options: Sequence[Option]) -> dict[str, Any]:
    return {o.name: o.default for o in options}
