"""Attribute bags that are also read-only mappings."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any


class _MappingMethods(Mapping):
    """Read-only Mapping over the instance ``__dict__``, in insertion order."""

    def __getitem__(self, key: str) -> Any:
        try:
            return self.__dict__[key]
        except KeyError:
            raise KeyError(key) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self.__dict__)

    def __len__(self) -> int:
        return len(self.__dict__)

    def keys(self) -> list[str]:  # type: ignore[override]
        return list(self.__dict__.keys())

    def values(self) -> list[Any]:  # type: ignore[override]
        return list(self.__dict__.values())

    def items(self) -> list[tuple[str, Any]]:  # type: ignore[override]
        return list(self.__dict__.items())


class Namespace(_MappingMethods):
    """An attribute bag: ``ns.k`` and ``ns['k']`` both work; ``dict(ns)`` copies it."""

    def __init__(self, **kwargs: Any):
        self.__dict__.update(kwargs)

    if TYPE_CHECKING:  # any attribute may be set and read: tell the checker so
        def __getattr__(self, name: str) -> Any: ...

        def __setattr__(self, name: str, value: Any) -> None: ...

    def __repr__(self) -> str:
        body = ", ".join(f"{k}={v!r}" for k, v in self.__dict__.items())
        return f"Namespace({body})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            return dict(self.items()) == dict(other.items())
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]


def namespace(self: Any = None, **kwargs: Any) -> Any:
    """Return a ``Namespace`` of ``kwargs``, or, given ``self``, update its attributes."""
    if self is None:
        return Namespace(**kwargs)
    self.__dict__.update(kwargs)
    return self


def dataclass(cls: type) -> type:
    """Keyword-only constructor over annotated fields, then plain class attributes.

    Class-level values are defaults; annotated fields without one are required.
    Instances are read-only mappings of their fields in declaration order.
    """
    annotations = cls.__dict__.get("__annotations__", {})
    fields = list(annotations)
    fields += [
        k for k, v in cls.__dict__.items()
        if not k.startswith("_") and k not in annotations and not callable(v)
        and not isinstance(v, (property, staticmethod, classmethod))
    ]
    defaults = {k: cls.__dict__[k] for k in fields if k in cls.__dict__}

    def __init__(self, **kwargs: Any) -> None:
        unknown = [k for k in kwargs if k not in fields]
        if unknown:
            raise TypeError(f"{cls.__name__} got unexpected fields {unknown}; valid fields: {fields}")
        for name in fields:
            if name in kwargs:
                value = kwargs[name]
            elif name in defaults:
                value = defaults[name]
            else:
                raise TypeError(f"{cls.__name__} missing required field {name!r}")
            object.__setattr__(self, name, value)

    def __repr__(self) -> str:
        body = ", ".join(f"{k}={getattr(self, k)!r}" for k in fields)
        return f"{cls.__name__}({body})"

    namespace_dict = {
        "__init__": __init__,
        "__repr__": __repr__,
        "__fields__": tuple(fields),
    }
    bases = (cls,) if issubclass(cls, _MappingMethods) else (cls, _MappingMethods)
    new_cls = type(cls.__name__, bases, namespace_dict)
    new_cls.__qualname__ = cls.__qualname__
    new_cls.__module__ = cls.__module__
    new_cls.__doc__ = cls.__doc__
    return new_cls
