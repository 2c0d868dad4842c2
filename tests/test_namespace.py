"""Tests of ``pufferlib.namespace`` and of the top-level package (spec section 1)."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys

import pytest

import pufferlib
from pufferlib import Namespace, dataclass, namespace


def test_namespace_is_an_attribute_bag_and_a_read_only_mapping():
    ns = namespace(b=2, a=1)
    assert isinstance(ns, Namespace)
    assert ns.a == 1 and ns["b"] == 2
    assert ns.keys() == ["b", "a"] and ns.values() == [2, 1] and ns.items() == [("b", 2), ("a", 1)]
    assert len(ns) == 2 and "a" in ns and "c" not in ns
    assert dict(ns) == {"b": 2, "a": 1} and list(ns) == ["b", "a"]
    assert ns == {"a": 1, "b": 2} and ns != {"a": 1}
    with pytest.raises(KeyError, match="c"):
        ns["c"]
    with pytest.raises(TypeError):
        ns["a"] = 3  # read-only as a mapping; attributes stay writable
    ns.c = 3
    assert ns.keys() == ["b", "a", "c"]
    assert repr(ns) == "Namespace(b=2, a=1, c=3)"
    assert pickle.loads(pickle.dumps(ns)) == ns


def test_namespace_with_self_updates_attributes():
    class Holder:
        pass

    holder = Holder()
    assert namespace(holder, x=1, y=2) is holder
    assert (holder.x, holder.y) == (1, 2)


def test_namespace_unpacks_as_keyword_arguments():
    def f(a, b):
        return a - b

    assert f(**namespace(b=1, a=5)) == 4


@dataclass
class Config:
    a: int
    b = 1
    c: str = "x"
    d = [1, 2]

    def method(self):
        return self.a * 2

    @property
    def doubled(self):
        return self.b * 2


def test_dataclass_fields_annotated_first_then_plain_attributes():
    config = Config(a=4, b=5)
    assert config.keys() == ["a", "c", "b", "d"]
    assert config.values() == [4, "x", 5, [1, 2]]
    assert dict(config) == {"a": 4, "c": "x", "b": 5, "d": [1, 2]}
    assert config["a"] == 4 and config.b == 5 and len(config) == 4
    assert config.method() == 8 and config.doubled == 10
    assert Config.__fields__ == ("a", "c", "b", "d")


def test_dataclass_spec_example():
    @dataclass
    class C:
        a: int
        b = 1

    assert C(a=4, b=5).keys() == ["a", "b"]
    assert C(a=4).items() == [("a", 4), ("b", 1)]


def test_dataclass_constructor_is_keyword_only_and_strict():
    with pytest.raises(TypeError):
        Config(4)
    with pytest.raises(TypeError, match="missing required field 'a'"):
        Config()
    with pytest.raises(TypeError, match="unexpected fields \\['z'\\]"):
        Config(a=1, z=2)


def test_dataclass_keeps_identity_docs_and_pickles():
    assert Config.__name__ == "Config" and Config.__module__ == __name__
    config = Config(a=1)
    assert repr(config) == "Config(a=1, c='x', b=1, d=[1, 2])"
    assert pickle.loads(pickle.dumps(config)) == config


# ------------------------------------------------------------------------------------
# The top-level package


def test_public_names():
    assert pufferlib.__version__
    assert pufferlib.namespace is namespace and pufferlib.dataclass is dataclass
    from pufferlib.puffer_env import PufferEnv

    assert pufferlib.PufferEnv is PufferEnv
    with pytest.raises(AttributeError):
        pufferlib.does_not_exist  # noqa: B018


IMPORT_PROBE = """
import io, json, sys, time, warnings
filters = list(warnings.filters)
stdout, stderr = sys.stdout, sys.stderr
start = time.perf_counter()
import pufferlib
seconds = time.perf_counter() - start
print(json.dumps({
    "seconds": seconds,
    "torch": "torch" in sys.modules,
    "gymnasium": "gymnasium" in sys.modules,
    "filters_unchanged": warnings.filters == filters,
    "streams_unchanged": sys.stdout is stdout and sys.stderr is stderr,
}))
"""


@pytest.mark.timeout(120)
def test_import_pufferlib_is_light_fast_and_side_effect_free():
    runs = []
    for _ in range(3):
        result = subprocess.run([sys.executable, "-c", IMPORT_PROBE], capture_output=True, text=True,
                                check=True)
        assert result.stderr == ""
        *printed, last = result.stdout.splitlines()
        assert printed == [], f"import pufferlib printed {printed}"
        runs.append(json.loads(last))
    for run in runs:
        assert not run["torch"] and not run["gymnasium"]
        assert run["filters_unchanged"] and run["streams_unchanged"]
    # The best of three: the machine is shared, and one slow run is noise, not the import.
    assert min(run["seconds"] for run in runs) < 0.5


@pytest.mark.timeout(120)
def test_core_modules_do_not_import_torch():
    code = ("import sys, pufferlib.emulation, pufferlib.spaces, pufferlib.puffer_env; "
            "print('torch' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
