"""Tests for convcalc.spec.loader: values, 1-based marks, scalar typing, hostile input."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped,unused-ignore]
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convcalc.spec import loader
from convcalc.base.errors import Mark, SpecError
from convcalc.spec.loader import LList, LMap, load, mark_of

# Every parsing test runs on libyaml (the normal path) and on the pure-Python parser
# (the fallback when PyYAML is built without libyaml): both must give the same marks.
LOADERS = ["C", "py"] if yaml.__with_libyaml__ else ["py"]


@contextmanager
def using(name: str) -> Iterator[None]:
    saved = loader._LOADER
    loader._LOADER = yaml.CSafeLoader if name == "C" else yaml.SafeLoader
    try:
        yield
    finally:
        loader._LOADER = saved


@pytest.fixture(params=LOADERS, autouse=True)
def parser(request: pytest.FixtureRequest) -> Iterator[str]:
    with using(request.param):
        yield request.param


def error(text: str | bytes) -> SpecError:
    with pytest.raises(SpecError) as info:
        load(text)
    return info.value


# --- values and marks ---------------------------------------------------------------

BLOCK = """\
name: tiny
input:
  shape: [3, 32, 32]
layers:
  - conv: {out: 16, kernel: 3}
  - relu
  -   pool:
        kernel: 2
"""


def test_block_document_values_and_marks() -> None:
    d = load(BLOCK)
    assert d == {
        "name": "tiny",
        "input": {"shape": [3, 32, 32]},
        "layers": [{"conv": {"out": 16, "kernel": 3}}, "relu", {"pool": {"kernel": 2}}],
    }
    assert isinstance(d, LMap) and d.mark == Mark(1, 1)
    assert d.key_marks == {"name": Mark(1, 1), "input": Mark(2, 1), "layers": Mark(4, 1)}
    assert d.value_marks == {"name": Mark(1, 7), "input": Mark(3, 3), "layers": Mark(5, 3)}
    shape = d["input"]["shape"]
    assert isinstance(shape, LList) and shape.mark == Mark(3, 10)
    assert shape.item_marks == [Mark(3, 11), Mark(3, 14), Mark(3, 18)]
    layers = d["layers"]
    assert layers.mark == Mark(5, 3)
    assert layers.item_marks == [Mark(5, 5), Mark(6, 5), Mark(7, 7)]
    conv = layers[0]["conv"]
    assert conv.mark == Mark(5, 11)
    assert conv.key_marks == {"out": Mark(5, 12), "kernel": Mark(5, 21)}
    assert conv.value_marks == {"out": Mark(5, 17), "kernel": Mark(5, 29)}
    pool = layers[2]
    assert pool.mark == Mark(7, 7) and pool.value_marks == {"pool": Mark(8, 9)}
    assert pool["pool"].key_marks == {"kernel": Mark(8, 9)}
    assert pool["pool"].value_marks == {"kernel": Mark(8, 17)}


def test_flow_document_values_and_marks() -> None:
    d = load('{a: [1, {b: "x"}], c: {}, d: [], e: ~}')  # (empty values: see below)
    assert d == {"a": [1, {"b": "x"}], "c": {}, "d": [], "e": None}
    assert d.mark == Mark(1, 1)
    assert d.key_marks == {"a": Mark(1, 2), "c": Mark(1, 20), "d": Mark(1, 27), "e": Mark(1, 34)}
    assert d.value_marks == {"a": Mark(1, 5), "c": Mark(1, 23), "d": Mark(1, 30), "e": Mark(1, 37)}
    assert d["a"].item_marks == [Mark(1, 6), Mark(1, 9)]
    inner = d["a"][1]
    assert inner.mark == Mark(1, 9)
    assert inner.key_marks == {"b": Mark(1, 10)} and inner.value_marks == {"b": Mark(1, 13)}
    assert d["c"].mark == Mark(1, 23) and d["d"].mark == Mark(1, 30)


def test_top_level_scalars_and_empty_documents() -> None:
    assert load("") is None
    assert load("# only a comment\n") is None
    assert load("---\n") is None
    assert load("--- 3\n...\n") == 3
    assert load("- a\n- b") == ["a", "b"]
    assert load(b"k: v") == {"k": "v"}


def test_mark_of() -> None:
    d = load("a:\n  b: [1]\n")
    assert mark_of(d) == Mark(1, 1)
    assert mark_of(d["a"]["b"]) == Mark(2, 6)
    assert mark_of(1) is None
    assert mark_of("x", Mark(4, 2)) == Mark(4, 2)


def test_crlf_input_has_the_same_values_and_marks() -> None:
    lf = "a: 1\nb:\n  - [x, y]\n  - z: 2\n"
    crlf = lf.replace("\n", "\r\n")
    d, e = load(lf), load(crlf)
    assert e == d == {"a": 1, "b": [["x", "y"], {"z": 2}]}
    assert e.value_marks == d.value_marks == {"a": Mark(1, 4), "b": Mark(3, 3)}
    assert e["b"].item_marks == d["b"].item_marks == [Mark(3, 5), Mark(4, 5)]
    assert e["b"][1].value_marks == {"z": Mark(4, 8)}
    assert error("a: 1\r\nb: [\r\n  1,, ]\r\n").mark == Mark(3, 5)


def test_unicode_columns_count_characters() -> None:
    d = load("größe: {ñ: 'ü€😀', k: 3}\n😀: 1\n")
    assert d == {"größe": {"ñ": "ü€😀", "k": 3}, "😀": 1}
    assert d.value_marks == {"größe": Mark(1, 8), "😀": Mark(2, 4)}
    assert d["größe"].value_marks == {"ñ": Mark(1, 12), "k": Mark(1, 22)}
    assert load("é: 1".encode()) == {"é": 1}
    assert error("é: [1, 2\n").mark == Mark(2, 1)


def test_byte_order_mark_does_not_shift_columns() -> None:
    for text in ("\ufeffa: [1]", b"\xef\xbb\xbfa: [1]"):
        d = load(text)
        assert d == {"a": [1]} and d.value_marks == {"a": Mark(1, 4)}


# --- scalars ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3", 3),
        ("-7", -7),
        ("0", 0),
        ("+12", 12),
        ("0x10", 16),
        ("0b101", 5),
        ("017", 15),  # YAML 1.1: a leading 0 is octal
        ("0o17", "0o17"),  # ... and 0o is YAML 1.2 only, so a string, as with SafeLoader
        ("1_000", 1000),
        ("1:30", 90),  # YAML 1.1 sexagesimal
        ("3.5", 3.5),
        ("-0.5", -0.5),
        ("-.5", "-.5"),  # YAML 1.1 allows no sign before a bare dot: SafeLoader agrees
        ("1.0e+3", 1000.0),
        ("1e3", "1e3"),  # YAML 1.1 floats need a dot (and a signed exponent)
        ("1.0e3", "1.0e3"),
        ("yes", True),
        ("No", False),
        ("on", True),
        ("off", False),
        ("true", True),
        ("FALSE", False),
        ("y", "y"),
        ("null", None),
        ("~", None),
        ("", None),
        ('"3"', "3"),
        ("'yes'", "yes"),
        ('"null"', "null"),
        ("2001-12-14", "2001-12-14"),  # timestamps stay strings
        ("2001-12-14t21:59:43.10-05:00", "2001-12-14t21:59:43.10-05:00"),
        ("=", "="),
        ("<<", "<<"),
        ("relu", "relu"),
        ("12345678901234567890123", 12345678901234567890123),
    ],
)
def test_scalar_typing(text: str, expected: Any) -> None:
    value = load(f"v: {text}")["v"]
    assert value == expected and type(value) is type(expected)
    if not text.startswith("2001") and text not in ("=", "<<"):
        assert value == yaml.safe_load(f"v: {text}")["v"]  # same rules as SafeLoader


def test_long_plain_text_stays_text_and_messages_stay_short() -> None:
    assert load("k: " + "relu " * 1000) == {"k": ("relu " * 1000).strip()}
    e = error("a: 1\n? " + "x" * 5000 + "\n: 1\n? " + "x" * 5000 + "\n: 2\n")
    assert e.message == f"duplicate key '{'x' * 58}\u2026 (first at line 2)"
    e = error("k: !" + "x" * 5000 + " 1")
    assert e.message == f"unknown tag !{'x' * 58}\u2026: convcalc specs are plain YAML; remove the tag"


def test_special_floats_are_returned() -> None:
    d = load("[.inf, -.Inf, .nan]")
    assert d[0] == math.inf and d[1] == -math.inf and math.isnan(d[2])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("!!str 3", "3"),
        ("!!str yes", "yes"),
        ("!!int '7'", 7),
        ('!!int "0x1f"', 31),
        ("!!float 3", 3.0),
        ("!!bool 'yes'", True),
        ("!!null ''", None),
        ("!!map {a: 1}", {"a": 1}),
        ("!!seq [1]", [1]),
        ("!<tag:yaml.org,2002:str> 5", "5"),
        ("%TAG !e! tag:yaml.org,2002:\n--- !e!int '9'", 9),
        ("! 12", 12),  # the non-specific tag resolves like no tag (as SafeLoader does)
        ("! {a: 1}", {"a": 1}),
    ],
)
def test_standard_tags_are_honoured(text: str, expected: Any) -> None:
    value = load(text)
    assert value == expected and isinstance(value, type(expected))


@pytest.mark.parametrize(
    ("text", "message", "mark"),
    [
        ("k: !!int abc", "cannot read 'abc' as !!int", Mark(1, 4)),
        ("k: !!float x", "cannot read 'x' as !!float", Mark(1, 4)),
        ("k: !!bool maybe", "cannot read 'maybe' as !!bool", Mark(1, 4)),
        ("k: 0x_", "cannot read '0x_' as !!int", Mark(1, 4)),
        ("k: !!str {a: 1}", "tag !!str cannot be used on a mapping", Mark(1, 4)),
        ("k: !!map [1]", "tag !!map cannot be used on a sequence", Mark(1, 4)),
        ("k: !!seq x", "tag !!seq cannot be used on a scalar", Mark(1, 4)),
        ("k: " + "9" * 1001, "number too long (1001 characters); quote it if it is text", Mark(1, 4)),
        ("k: " + "1:" * 600 + "1", "number too long (1201 characters); quote it if it is text", Mark(1, 4)),
        ("k: !!int '" + "9" * 1001 + "'", "number too long (1001 characters)", Mark(1, 4)),
    ],
)
def test_bad_scalars(text: str, message: str, mark: Mark) -> None:
    e = error(text)
    assert (e.message, e.mark) == (message, mark)


# --- anchors, aliases, merge keys ---------------------------------------------------


def test_aliases_reuse_anchored_values() -> None:
    d = load("opts: &o {kernel: 3, stride: 2}\na: *o\nb: [*o, &n 5, *n]\n")
    assert d == {
        "opts": {"kernel": 3, "stride": 2},
        "a": {"kernel": 3, "stride": 2},
        "b": [{"kernel": 3, "stride": 2}, 5, 5],
    }
    assert d.value_marks["a"] == Mark(2, 4)  # where the alias is written ...
    assert mark_of(d["a"]) == Mark(1, 7)  # ... and where the mapping itself is
    assert d["b"].item_marks == [Mark(3, 5), Mark(3, 9), Mark(3, 15)]


def test_merge_keys() -> None:
    d = load(
        "base: &b {kernel: 3, stride: 1, padding: 1}\n"
        "one: {<<: *b, stride: 2}\n"
        "two:\n  <<: [{kernel: 5}, *b]\n  out: 8\n"
    )
    assert d["one"] == {"kernel": 3, "stride": 2, "padding": 1}
    assert d["one"].key_marks["kernel"] == Mark(1, 11)  # merged keys point at the source
    assert d["one"].key_marks["stride"] == Mark(2, 15)
    assert d["two"] == {"kernel": 5, "stride": 1, "padding": 1, "out": 8}
    assert d["base"] == {"kernel": 3, "stride": 1, "padding": 1}  # source untouched
    assert load("'<<': 1") == {"<<": 1}  # quoted: an ordinary key


@pytest.mark.parametrize(
    ("text", "message", "mark"),
    [
        ("a: *x", "undefined alias *x", Mark(1, 4)),
        ("a: &x [1, *x]", "alias *x is inside its own anchor", Mark(1, 11)),
        ("a: &x 1\nb: &x 2", "duplicate anchor &x (first at line 1)", Mark(2, 4)),
        ("a: {<<: 3}", "'<<' (merge) takes a mapping or a list of mappings", Mark(1, 9)),
        ("a: {<<: [{k: 1}, 2]}", "'<<' (merge) takes a mapping or a list of mappings", Mark(1, 9)),
        ("a: {<<: {k: 1}, <<: {j: 2}}", "duplicate key '<<' (first at line 1)", Mark(1, 17)),
    ],
)
def test_bad_aliases_and_merges(text: str, message: str, mark: Mark) -> None:
    e = error(text)
    assert (e.message, e.mark) == (message, mark)


# --- hostile input ------------------------------------------------------------------


def test_nesting_limit() -> None:
    assert load("[" * 64 + "]" * 64) is not None
    e = error("[" * 65 + "]" * 65)
    assert (e.message, e.mark) == ("nesting deeper than 64 levels; flatten the spec", Mark(1, 65))
    e = error("[" * 1_000_000)  # refused as the events arrive, not after parsing it all
    assert (e.message, e.mark) == ("nesting deeper than 64 levels; flatten the spec", Mark(1, 65))
    e = error("{a: " * 1_000_000)
    assert e.mark == Mark(1, 4 * 64 + 1)
    block = "".join(" " * i + "- \n" for i in range(200))
    assert error(block).mark == Mark(65, 65)


def billion_laughs(levels: int = 10, fanout: int = 10) -> str:
    lines = ["a0: &a0 [" + ", ".join(["lol"] * fanout) + "]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * fanout) + "]")
    return "\n".join(lines) + "\n"


def test_billion_laughs_is_refused_at_the_alias() -> None:
    # 10 levels of 10x fan-out: 10**10 nodes when expanded.  Before line 5 the tree
    # has 1 + 12 + 112 + 1112 + 11112 = 12349 nodes; line 5's key and list make it
    # 12351, and each *a3 adds 11111 more: the 8th one crosses 100000.  Line 5 is
    # "a4: &a4 [*a3, *a3, ..." so its aliases are at columns 10, 15, 20, ...
    e = error(billion_laughs())
    assert e.message == "alias expansion too large (billion laughs?)"
    assert e.mark == Mark(5, 10 + 7 * 5)
    e = error("a: &a [" + ", ".join(["*a"] * 10) + "]")  # self-reference is refused first
    assert e.message == "alias *a is inside its own anchor"


def test_alias_size_is_counted_on_every_use() -> None:
    # 90,001 nodes in about 270 KB: a budget of 100,000 + 270,000 // 5 = 154,000 holds them once
    big = "a: &a [" + ", ".join(["0"] * 90_000) + "]\n"
    assert len(load(big)["a"]) == 90_000
    e = error(big + "b: *a\n")  # the second use would make 180,000
    assert (e.message, e.mark) == ("alias expansion too large (billion laughs?)", Mark(2, 4))


def test_too_many_plain_nodes() -> None:
    text = "[" + "0," * 200_000 + "]"
    budget = 100_000 + len(text) // 5  # the limit grows with the file: 180,000 here
    e = error(text)
    assert e.message == (
        f"spec too large: more than {budget:,} YAML nodes (convcalc's limit: 100,000 and one more per 5 bytes "
        "of the file); write a repeated part once, with `repeat:` or a block"
    )
    assert e.mark == Mark(1, 2 + 2 * (budget - 1))  # the list is node 1; the budget-th 0 is one too many


def test_input_larger_than_10_mib() -> None:
    text = "# " + "x" * (10 * 1024 * 1024) + "\n"
    for value in (text, text.encode()):
        e = error(value)
        assert e.message == f"spec is larger than 10 MiB ({len(text)} bytes)"
        assert e.mark == Mark(1, 1)
    wide = "# " + "€" * (4 * 1024 * 1024)  # under 10 Mi characters, over 10 MiB as UTF-8
    assert error(wide).message == f"spec is larger than 10 MiB ({len(wide.encode())} bytes)"


@pytest.mark.parametrize(
    ("text", "shown", "mark"),
    [
        ("!!python/object:os.system x", "!!python/object:os.system", Mark(1, 1)),
        ("k: !!python/name:os.system ''", "!!python/name:os.system", Mark(1, 4)),
        ("k: !!python/object/apply:os.system [ls]", "!!python/object/apply:os.system", Mark(1, 4)),
        ("k:\n  v: !foo {a: 1}", "!foo", Mark(2, 6)),
        ("- !<tag:yaml.org,2002:binary> aGk=", "!!binary", Mark(1, 3)),
        ("- !!binary aGk=", "!!binary", Mark(1, 3)),
        ("!!set {a, b}", "!!set", Mark(1, 1)),
        ("!!omap [a: 1]", "!!omap", Mark(1, 1)),
        ("!!pairs [a: 1]", "!!pairs", Mark(1, 1)),
        ("k: !!timestamp 2001-12-14", "!!timestamp", Mark(1, 4)),
        ("k: !<tag:example.com,2000:x> 1", "tag:example.com,2000:x", Mark(1, 4)),
    ],
)
def test_unknown_tags_are_refused(text: str, shown: str, mark: Mark) -> None:
    e = error(text)
    assert e.message == f"unknown tag {shown}: convcalc specs are plain YAML; remove the tag"
    assert e.mark == mark


@pytest.mark.parametrize(
    ("text", "message", "mark"),
    [
        ("a: 1\nkernel: 3\nb: 2\nkernel: 5\n", "duplicate key 'kernel' (first at line 2)", Mark(4, 1)),
        ("{x: 1, y: 2, x: 3}", "duplicate key 'x' (first at line 1)", Mark(1, 14)),
        ("- a: 1\n  a: 1", "duplicate key 'a' (first at line 1)", Mark(2, 3)),
        ("1: a\n0x1: b", "duplicate key 1 (first at line 1)", Mark(2, 1)),
        ("? [a]\n: 1", "mapping keys must be scalars, not collections", Mark(1, 3)),
        ("{{a: 1}: 2}", "mapping keys must be scalars, not collections", Mark(1, 2)),
        ("a: &s [1]\n*s : 2", "mapping keys must be scalars, not collections", Mark(2, 1)),
        ("a: 1\n---\nb: 2\n", "more than one YAML document; a spec is a single document", Mark(2, 1)),
        ("a\n...\n--- b\n", "more than one YAML document; a spec is a single document", Mark(3, 1)),
    ],
)
def test_duplicate_keys_collection_keys_and_documents(text: str, message: str, mark: Mark) -> None:
    e = error(text)
    assert (e.message, e.mark) == (message, mark)


def test_keys_may_be_any_scalar() -> None:
    d = load("1: a\nnull: b\nno: c\n'1': d\n2.5: e")
    assert d == {1: "a", None: "b", False: "c", "1": "d", 2.5: "e"}
    assert list(d.key_marks.values()) == [Mark(i, 1) for i in range(1, 6)]
    # 1 and true are the same Python key: refused rather than silently merged
    assert error("1: a\ntrue: b").message == "duplicate key True (first at line 1)"


# --- syntax and encoding errors -----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "c_message", "mark"),
    [
        ("a: b: c", "mapping values are not allowed in this context", Mark(1, 5)),
        (
            "a:\n  - 1\n - 2",
            "did not find expected key (while parsing a block mapping)",
            Mark(3, 2),
        ),
        ("a: 'x", "found unexpected end of stream (while scanning a quoted scalar)", Mark(1, 6)),
        ('a: "\\q"', None, None),
        (
            "x:\n  y: [1,\n   2 ]\n  z: 'ö' ,",
            "did not find expected key (while parsing a block mapping)",
            Mark(4, 10),
        ),
        ("a: 1\n\tb: 2", None, Mark(2, 1)),
    ],
)
def test_syntax_errors(parser: str, text: str, c_message: str | None, mark: Mark | None) -> None:
    e = error(text)
    assert e.message.startswith("YAML syntax: ") and "\n" not in e.message
    # The words after "YAML syntax: " are PyYAML's and change between its releases: only their
    # presence is asserted (c_message documents what libyaml said when this was written).
    assert len(e.message) > len("YAML syntax: ")
    if mark is not None:
        assert e.mark == mark
    assert e.mark is not None and e.mark.line >= 1 and e.mark.col >= 1


def test_control_characters_are_refused_where_they_are(parser: str) -> None:
    e = error("a: 1\nbé: x\x07y\n")
    # the reason is PyYAML's wording ("control" or "special" characters); the character is ours
    assert e.message.startswith("YAML syntax: ") and e.message.endswith(" (character #x0007)")
    assert e.mark == Mark(2, 6)
    assert error("k: [1, \x00]").mark == Mark(1, 8)


def test_bad_encodings() -> None:
    e = error(b"a: 1\nb: \xc3\x28\n")
    assert (e.message, e.mark) == ("spec is not valid UTF-8 (byte 0xc3)", Mark(2, 4))
    e = error("a: 1\n".encode("utf-16"))  # a UTF-16 BOM is not UTF-8 either
    assert (e.message, e.mark) == ("spec is not valid UTF-8 (byte 0xff)", Mark(1, 1))
    e = error("a: \ud800")
    assert (e.message, e.mark) == ("spec is not valid Unicode (lone surrogate U+D800)", Mark(1, 4))


# --- properties ---------------------------------------------------------------------

TOKENS = st.sampled_from(
    ["[", "]", "{", "}", ":", ": ", "-", "- ", ",", "&a", "&b", "*a", "*b", " ", "  ", "\n",
     "\r\n", "\t", "!!python/object", "!!str", "!foo", "? ", "<<", "'", '"', "#", "---",
     "...", "|", ">", "%YAML 1.1", "0x1f", "1_0", "3", "-2", ".5", "1e3", "yes", "~",
     "k", "kernel", "é", "\x07", "\ufeff"]
)  # fmt: skip
YAMLISH = st.lists(TOKENS, max_size=40).map("".join)
NO_DEADLINE = settings(deadline=None, max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])


def loads_or_spec_error(text: str | bytes) -> None:
    try:
        load(text)
    except SpecError as e:
        assert e.mark is not None and e.mark.line >= 1 and e.mark.col >= 1
        assert "\n" not in e.message


@NO_DEADLINE
@given(st.one_of(st.text(), YAMLISH, st.binary()))
def test_any_text_loads_or_raises_spec_error(text: str | bytes) -> None:
    loads_or_spec_error(text)


SCALARS = st.none() | st.booleans() | st.integers() | st.text()
DATA = st.recursive(
    SCALARS,
    lambda c: st.lists(c, max_size=5) | st.dictionaries(st.text(), c, max_size=5),
    max_leaves=30,
)


@NO_DEADLINE
@given(DATA, st.sampled_from([None, True, False]))
def test_safe_dump_round_trips(data: Any, flow: bool | None) -> None:
    assert load(yaml.safe_dump(data, default_flow_style=flow).encode()) == data
    # With allow_unicode PyYAML's emitter writes e.g. U+0085 raw inside single quotes,
    # where it is a line break: SafeLoader reads such text back changed, and so do we.
    text = yaml.safe_dump(data, default_flow_style=flow, allow_unicode=True)
    assert load(text) == yaml.safe_load(text)
