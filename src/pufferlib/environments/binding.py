"""What every environment binding shares: an env factory, a policy and a config.

A binding package ``pufferlib.environments.NAME`` is three things:

- ``environment.py``: ``env_creator(name)`` (a picklable factory) and ``make_env``/``make``;
- ``torch.py``: ``Policy`` and ``Recurrent``, loaded only when asked for (``lazy_policies``), so
  the vector workers that only build envs never import torch;
- ``pufferlib/config/NAME.toml``: one table per configured environment.

Its ``__init__.py`` is::

    from pufferlib.environments.binding import lazy_policies

    from .environment import env_creator, make, make_env  # noqa: F401

    __getattr__ = lazy_policies(__name__)

and a policy that only changes a model's defaults is one ``with_defaults`` line, whose
signature (what ``puffer train --help`` lists) shows exactly those options::

    Policy = with_defaults(pufferlib.models.Default, "Policy", "An MLP.", hidden_size=256)
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

POLICY_NAMES = ("Policy", "Recurrent")


def lazy_policies(package: str) -> Callable[[str], Any]:
    """A module-level ``__getattr__`` for ``package`` that imports ``Policy``/``Recurrent`` from
    ``package.torch`` on first access.

    Without torch installed the names are absent (``AttributeError``), so callers fall
    back on ``pufferlib.models``' defaults.
    """

    def __getattr__(name: str) -> Any:
        if name in POLICY_NAMES:
            try:
                policies = importlib.import_module(f"{package}.torch")
            except ModuleNotFoundError as e:
                if e.name != "torch":
                    raise
                raise AttributeError(f"{package}.{name} needs torch (pip install pufferlib[torch])") from e
            return getattr(policies, name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__


_T = TypeVar("_T")


def with_defaults(base: type[_T], name: str, doc: str, fixed: Mapping[str, Any] | None = None,
                  **defaults: Any) -> type[_T]:
    """A subclass of ``base`` with new keyword defaults: ``name(env[, policy], **defaults)``.

    ``defaults`` are the options (in this order, positional or keyword, annotated as in
    ``base``); ``fixed`` arguments are always passed and not options. An unknown keyword
    is a ``TypeError``, as for a class written out by hand. The subclass adds no
    parameters, so saved weights are interchangeable with ``base``'s.
    """
    fixed = dict(fixed or {})
    base_parameters = inspect.signature(base).parameters
    required = [p for p in base_parameters.values()
                if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty]
    empty = inspect.Parameter.empty
    options = [inspect.Parameter(key, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=value,
                                 annotation=getattr(base_parameters.get(key), "annotation", empty))
               for key, value in defaults.items()]
    signature = inspect.Signature([p.replace(kind=p.POSITIONAL_OR_KEYWORD) for p in required] + options)

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        base.__init__(self, **bound.arguments, **fixed)

    return type(name, (base,), {"__init__": __init__, "__signature__": signature, "__doc__": doc,
                                "__module__": _caller_module()})


def _caller_module() -> str:
    frame = inspect.currentframe()
    caller = frame.f_back.f_back if frame is not None and frame.f_back is not None else None
    return caller.f_globals.get("__name__", __name__) if caller is not None else __name__
