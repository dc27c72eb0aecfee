"""jiaozi_node.frozen.dataclass behaves like dataclasses.dataclass(frozen=True) for the config
classes (the same class body built both ways, compared), and stays cheap: no exec per class."""

from __future__ import annotations

import dataclasses
import pickle
import subprocess
import sys
from dataclasses import FrozenInstanceError, field

import pytest

from jiaozi_node import config, frozen, user_config


def _both(body: dict[str, object]) -> tuple[type, type]:
    def build(deco):  # noqa: ANN001, ANN202 - test helper
        ns = dict(body)
        return deco(type("Limits", (), ns))
    return build(dataclasses.dataclass(frozen=True)), build(frozen.dataclass(frozen=True))


BODY = {"__annotations__": {"a": "int", "b": "tuple[str, ...]", "c": "dict"},
        "a": 1, "b": ("x",), "c": field(default_factory=dict), "__module__": __name__}


def test_same_behaviour_as_dataclasses() -> None:
    std, ours = _both(BODY)
    assert [f.name for f in dataclasses.fields(ours)] == ["a", "b", "c"]
    assert dataclasses.is_dataclass(ours) and ours.__match_args__ == std.__match_args__
    for args, kwargs in [((), {}), ((5,), {}), ((5, ("y",)), {"c": {1: 2}}), ((), {"b": ()})]:
        s, o = std(*args, **kwargs), ours(*args, **kwargs)
        assert repr(s) == repr(o) and (s.a, s.b, s.c) == (o.a, o.b, o.c)
        assert dataclasses.asdict(s) == dataclasses.asdict(o)
    assert ours() == ours() and ours(2) != ours(3) and ours() != std() and ours().__eq__(1) is NotImplemented
    assert hash(ours(b=("q",), c=None)) == hash(std(b=("q",), c=None))
    assert ours().c is not ours().c  # a fresh value from the factory each time
    r = dataclasses.replace(ours(7), b=("z",))
    assert (r.a, r.b) == (7, ("z",)) and type(r) is ours
    for build in (std, ours):
        with pytest.raises(FrozenInstanceError, match="cannot assign to field 'a'"):
            build().a = 2
        with pytest.raises(FrozenInstanceError, match="cannot delete field 'a'"):
            del build().a
        with pytest.raises(TypeError, match="multiple values for argument 'a'"):
            build(1, a=2)
        with pytest.raises(TypeError, match="unexpected keyword argument 'zz'"):
            build(zz=1)
        with pytest.raises(TypeError, match="positional arguments"):
            build(1, 2, 3, 4)


def test_required_fields_post_init_and_docs() -> None:
    calls: list[int] = []
    body = {"__annotations__": {"a": "int", "b": "int"}, "b": 2, "__module__": __name__,
            "__post_init__": lambda self: calls.append(self.a)}
    std, ours = _both(body)
    for build in (std, ours):
        with pytest.raises(TypeError, match="missing 1 required positional argument: 'a'"):
            build()
        build(4)
    assert calls == [4, 4]
    assert ours.__doc__ == "Limits(a: int, b: int = 2)"  # (dataclasses quotes string annotations)


def test_config_classes_pickle_compare_and_refuse_other_options() -> None:
    d = config.Defaults()
    assert pickle.loads(pickle.dumps(d)) == d and hash(d) == hash(config.Defaults())
    assert dataclasses.replace(config.IPLD_LIMITS, max_cid_bytes=9).max_cid_bytes == 9
    assert user_config.UserConfig.parse({}) == user_config.UserConfig()
    with pytest.raises(TypeError):
        frozen.dataclass(frozen=False)
    with pytest.raises(TypeError, match="defines __repr__"):
        frozen.dataclass(type("X", (), {"__repr__": lambda self: "x", "__module__": __name__}))


def test_the_config_modules_compile_no_code_at_import() -> None:
    """dataclasses.dataclass compiles six methods per class (~25 ms for config.py and
    user_config.py); these must compile nothing when imported."""
    code = ("import builtins, dataclasses, sys\n"
            "n = [0]\n"
            "real = builtins.exec\n"
            "def counting(*a, **k):\n"
            "    n[0] += isinstance(a[0], str)  # source text (imports exec code objects)\n"
            "    return real(*a, **k)\n"
            "builtins.exec = counting\n"
            "import jiaozi_node.user_config\n"
            "builtins.exec = real\n"
            "print(n[0])\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "0"
