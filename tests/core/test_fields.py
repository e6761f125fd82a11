"""The lenient field readers: every wrong type becomes the default, never an exception."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core import fields as f


def one(value: object) -> dict[str, Any]:
    return {"k": value}


@pytest.mark.parametrize(
    ("value", "expected"),
    [("abc", "abc"), ("", ""), (5, "5"), (2.5, "2.5"), (True, "d"), (None, "d"), ([1], "d"), ({}, "d")],
)
def test_text(value: object, expected: str) -> None:
    assert f.text(one(value), "k", "d") == expected


def test_text_missing_key_and_default_default() -> None:
    assert f.text({}, "k") == ""
    assert f.text({}, "k", "fallback") == "fallback"


@pytest.mark.parametrize(("value", "expected"), [("abc", "abc"), ("", None), (None, None), (3, "3"),
                                                 (False, None)])
def test_opt_text(value: object, expected: str | None) -> None:
    assert f.opt_text(one(value), "k") == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(1, 1.0), (1.5, 1.5), (-2, -2.0), ("0.25", 0.25), (" 3 ", 3.0), ("abc", None), ("", None),
     (True, None), (False, None), (None, None), ([1.0], None), ({"v": 1}, None), (math.nan, None),
     (math.inf, None), (-math.inf, None), ("nan", None), ("1e999", None), (10**400, None),
     (-(10**400), None)],
)
def test_opt_float(value: object, expected: float | None) -> None:
    assert f.opt_float(one(value), "k") == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(3, 3), (3.9, 3), (-3.9, -3), ("12", 12), ("1.5", 1), (2**62, 2**62), (2**62 + 2**20, None),
     (1e300, None), (True, None), (None, None), ("x", None), (math.nan, None)],
)
def test_opt_int(value: object, expected: int | None) -> None:
    got = f.opt_int(one(value), "k")
    assert got == expected
    assert got is None or type(got) is int


@pytest.mark.parametrize(
    ("value", "expected"),
    [(True, True), (False, False), (1, True), (0, False), (0.0, False), (2.5, True), ("true", True),
     ("TRUE", True), ("false", False), ("False", False), ("yes", None), ("1", None), (None, None),
     ([], None), ({}, None)],
)
def test_opt_flag(value: object, expected: bool | None) -> None:
    assert f.opt_flag(one(value), "k") is expected


def test_flag_uses_default_only_when_unusable() -> None:
    assert f.flag({}, "k", True) is True
    assert f.flag(one("junk"), "k", False) is False
    assert f.flag(one(False), "k", True) is False
    assert f.flag(one("true"), "k", False) is True


def test_opt_mapping() -> None:
    assert f.opt_mapping(one({"a": 1}), "k") == {"a": 1}
    for value in ([("a", 1)], "a", None, 1):
        assert f.opt_mapping(one(value), "k") is None


def test_objects_keeps_only_objects() -> None:
    assert f.objects(one([{"a": 1}, 2, "x", None, [], {"b": 2}]), "k") == [{"a": 1}, {"b": 2}]
    for value in ({"a": 1}, "x", None, 3):
        assert f.objects(one(value), "k") == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [(["a", "b"], ("a", "b")), (["a", 1, None, "c"], ("a", "c")), ("one", ("one",)), ("", ()),
     (None, ()), (5, ()), ({"a": "b"}, ())],
)
def test_texts(value: object, expected: tuple[str, ...]) -> None:
    assert f.texts(one(value), "k") == expected


anything = st.recursive(
    st.none() | st.booleans() | st.integers() | st.integers(min_value=-(10**500), max_value=10**500)
    | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=10,
)


@settings(max_examples=300, deadline=None)
@given(anything)
def test_readers_never_raise_and_return_their_types(value: object) -> None:
    obj = one(value)
    assert isinstance(f.text(obj, "k"), str)
    assert f.opt_text(obj, "k") is None or isinstance(f.opt_text(obj, "k"), str)
    number = f.opt_float(obj, "k")
    assert number is None or (type(number) is float and math.isfinite(number))
    whole = f.opt_int(obj, "k")
    assert whole is None or (type(whole) is int and abs(whole) <= 2**62)
    assert f.opt_flag(obj, "k") in (None, True, False)
    assert isinstance(f.flag(obj, "k", True), bool)
    assert all(isinstance(item, dict) for item in f.objects(obj, "k"))
    assert all(isinstance(item, str) for item in f.texts(obj, "k"))
