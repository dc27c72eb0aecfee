"""`dataclass(frozen=True)` for the typed config (config.py, user_config.py) and other value
classes every command loads (identity, versioning objects, sync requests…), without its start-up
cost. Not for classes made per block or per message on a hot path (`slots=True` there): their
generated `__init__` is faster per instance than the generic one here.

`dataclasses.dataclass` writes each class's `__init__`, `__repr__`, `__eq__`, `__hash__`,
`__setattr__` and `__delattr__` as source text and compiles it: six `exec()` calls per class.
config.py and user_config.py hold ~30 classes that nearly every command imports; that was
~25 ms of each command's start (measured with `-X importtime`), more than anything else of ours.

Here `dataclasses` still collects the fields (so `dataclasses.fields`, `replace`, `asdict`,
`is_dataclass` and `field(default_factory=…)` work as before) but generates no method; the class
gets generic methods written once in this module instead. They behave like the generated ones:
arguments by position (field order) or keyword, defaults and default factories, `__post_init__`,
`FrozenInstanceError` on assignment or deletion, `==` and `hash` over the fields, the same repr.
Only `frozen=True` with the other options at their defaults, and classes that write none of these
methods themselves, are supported (a TypeError otherwise).
Differences: `inspect.signature(cls)` shows `(*args, **kwargs)`, and `__dataclass_params__`
reads frozen=False/eq=False (the methods are ours, not dataclasses').
"""

from __future__ import annotations

import dataclasses
import reprlib
from collections.abc import Callable
from dataclasses import MISSING, FrozenInstanceError
from typing import Any, TypeVar, dataclass_transform

T = TypeVar("T", bound=type)


def _param(f: dataclasses.Field[Any]) -> str:
    default = "" if f.default is MISSING and f.default_factory is MISSING else \
        f" = {f.default!r}" if f.default is not MISSING else " = <factory>"
    return f"{f.name}: {f.type}{default}"


@dataclass_transform(frozen_default=True, field_specifiers=(dataclasses.field,))
def dataclass(cls: T | None = None, /, *, frozen: bool = True) -> Any:
    """`@dataclass(frozen=True)` (the only form accepted)."""
    if not frozen:
        raise TypeError("jiaozi_node.frozen.dataclass makes frozen classes only")
    if cls is None:
        return _make
    return _make(cls)


def _make(cls: T) -> T:
    doc = cls.__doc__
    # (a class without a docstring would make dataclasses parse a signature for it: ~0.3 ms)
    cls.__doc__ = doc or cls.__name__
    # fields only: no __init__/__repr__/__eq__ (and, not frozen, no __setattr__/__delattr__/__hash__)
    cls = dataclasses.dataclass(init=False, repr=False, eq=False)(cls)
    flds = dataclasses.fields(cls)
    if not doc:  # dataclasses' own: the class name and its fields
        cls.__doc__ = f"{cls.__name__}({', '.join(_param(f) for f in flds if f.init)})"
    for f in flds:
        if f.kw_only is True:
            raise TypeError(f"{cls.__name__}.{f.name}: kw_only fields are not supported here")
    names = tuple(f.name for f in flds)
    init = tuple((f.name, f.default, f.default_factory) for f in flds if f.init)
    later = tuple((f.name, f.default, f.default_factory) for f in flds if not f.init)
    shown = tuple(f.name for f in flds if f.repr)
    compared = tuple(f.name for f in flds if f.compare)
    hashed = tuple(f.name for f in flds if (f.compare if f.hash is None else f.hash))
    post_init: Callable[[Any], None] | None = getattr(cls, "__post_init__", None)
    setter = object.__setattr__
    qualname = cls.__qualname__

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        if len(args) > len(init):
            raise TypeError(f"{qualname}.__init__() takes {len(init) + 1} positional arguments "
                            f"but {len(args) + 1} were given")
        for (name, _, _), value in zip(init, args, strict=False):
            if name in kwargs:
                raise TypeError(f"{qualname}.__init__() got multiple values for argument '{name}'")
            setter(self, name, value)
        for name, default, factory in init[len(args):]:
            if name in kwargs:
                setter(self, name, kwargs.pop(name))
            elif default is not MISSING:
                setter(self, name, default)
            elif factory is not MISSING:
                setter(self, name, factory())
            else:
                raise TypeError(f"{qualname}.__init__() missing 1 required positional argument: '{name}'")
        if kwargs:
            raise TypeError(f"{qualname}.__init__() got an unexpected keyword argument '{next(iter(kwargs))}'")
        for name, default, factory in later:
            if default is not MISSING:
                setter(self, name, default)
            elif factory is not MISSING:
                setter(self, name, factory())
        if post_init is not None:
            self.__post_init__()

    @reprlib.recursive_repr()
    def __repr__(self: Any) -> str:
        return f"{type(self).__qualname__}({', '.join(f'{n}={getattr(self, n)!r}' for n in shown)})"

    def __eq__(self: Any, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return tuple(getattr(self, n) for n in compared) == tuple(getattr(other, n) for n in compared)

    def __hash__(self: Any) -> int:
        return hash(tuple(getattr(self, n) for n in hashed))

    def __setattr__(self: Any, name: str, value: Any) -> None:
        if type(self) is cls or name in names:
            raise FrozenInstanceError(f"cannot assign to field {name!r}")
        super(cls, self).__setattr__(name, value)

    def __delattr__(self: Any, name: str) -> None:
        if type(self) is cls or name in names:
            raise FrozenInstanceError(f"cannot delete field {name!r}")
        super(cls, self).__delattr__(name)

    for fn in (__init__, __repr__, __eq__, __hash__, __setattr__, __delattr__):
        if fn.__name__ in cls.__dict__ and not (fn is __hash__ and cls.__dict__["__hash__"] is None):
            raise TypeError(f"{cls.__name__} defines {fn.__name__}: use dataclasses.dataclass for it")
        fn.__qualname__ = f"{qualname}.{fn.__name__}"
        setattr(cls, fn.__name__, fn)
    return cls
