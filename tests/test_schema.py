"""The JSON Schema of the spec format (``convcalc schema``, ``schema/convcalc.schema.json``).

The schema is generated from the kind definitions; these tests check that it is a valid
draft 2020-12 schema, that the committed copy is current, that it accepts every example spec
and every documented example, that it rejects the usual mistakes, and -- with hypothesis --
that it agrees with convcalc's own parser on single layers: random valid layers are accepted
by both, and for arbitrary values of an option both accept or both reject.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped,unused-ignore]
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator  # type: ignore[import-untyped,unused-ignore]

from convcalc.base.errors import SpecError
from convcalc.model.kinds import KINDS, SPELLINGS, fixed_options
from convcalc.model.options import Bool, Choice, Dims, Int, Norm, Number, Option, Pad, PerAxis, Ref, Scale
from convcalc.outputs.schema import schema_json, spec_schema
from convcalc.spec.parser import BOUNDS, CONSTRUCTS, DTYPE_BYTES, EXPECT_KEYS, NAME, TOP_KEYS, load_spec

from helpers import ROOT, SPEC_FILES, run

COMMITTED = ROOT / "schema" / "convcalc.schema.json"
DOCS = [ROOT / "README.md", ROOT / "docs" / "format.md"]

SCHEMA = spec_schema()
VALIDATOR = Draft202012Validator(SCHEMA)
DEFS = SCHEMA["$defs"]


def errors(spec: Any) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in VALIDATOR.iter_errors(spec)]


def accepted(spec: Any) -> bool:
    return bool(VALIDATOR.is_valid(spec))


def parses(spec: Any) -> bool:
    """Whether convcalc's own parser accepts the spec (checked without evaluating it)."""
    try:
        load_spec(yaml.safe_dump(spec, sort_keys=False, allow_unicode=True))
    except SpecError:
        return False
    return True


def layer(item: Any, **top: Any) -> dict[str, Any]:
    return {"input": "16x16x8", "layers": [item], **top}


# --- the schema itself -----------------------------------------------------------------------


def test_committed_copy_is_current() -> None:
    committed = COMMITTED.read_text(encoding="utf-8") if COMMITTED.exists() else ""
    assert committed == schema_json(), (
        "schema/convcalc.schema.json is stale: regenerate it with `convcalc schema > schema/convcalc.schema.json`"
    )


def test_schema_is_a_valid_draft_2020_12_schema() -> None:
    Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert SCHEMA["$id"] and SCHEMA["title"] and SCHEMA["description"]


def test_schema_command_prints_it() -> None:
    result = run("schema")
    assert result.exit_code == 0, result.output
    assert result.output == schema_json()
    assert result.output.endswith("}\n")
    assert json.loads(result.output) == SCHEMA


NEWER_THAN_DRAFT_7 = {
    "dependentSchemas",
    "dependentRequired",
    "unevaluatedProperties",
    "unevaluatedItems",
    "prefixItems",
    "$dynamicRef",
    "$dynamicAnchor",
    "$anchor",
    "minContains",
    "maxContains",
}


def test_draft_7_tools_read_all_of_it() -> None:
    """Editors (the YAML language server) implement draft 7: no newer keywords, and no $ref siblings,
    which draft 7 ignores (descriptions beside a $ref go through allOf)."""

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            assert "$ref" not in node or len(node) == 1, f"$ref with siblings at {where}"
            if not where.endswith("/properties"):
                assert not NEWER_THAN_DRAFT_7 & set(node), f"a keyword newer than draft 7 at {where}"
            for key, value in node.items():
                walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{where}/{i}")

    walk(SCHEMA, "#")


# --- generated from the definitions ----------------------------------------------------------


@pytest.mark.parametrize("prefix", ["", "strict."])
def test_every_kind_and_alias_is_a_layer_key(prefix: str) -> None:
    mapping = next(s for s in DEFS[f"{prefix}layer"]["anyOf"] if s.get("type") == "object")
    assert set(mapping["properties"]) == {*SPELLINGS, *CONSTRUCTS}
    for kind in KINDS.values():
        for spelling in (kind.name, *kind.aliases):
            assert mapping["properties"][spelling] == {"$ref": f"#/$defs/kind.{spelling}"}


@pytest.mark.parametrize("spelling", list(SPELLINGS))
def test_every_option_and_option_alias_is_described(spelling: str) -> None:
    kind, preset = SPELLINGS[spelling]
    schema = DEFS[f"kind.{spelling}"]
    assert kind.doc in schema["description"] and "\nExample:\n  - " in schema["description"]
    assert schema["additionalProperties"] is False
    names = set()
    for opt in fixed_options(kind, preset):
        for name in (opt.name, *opt.aliases):
            names.add(name)
            prop = schema["properties"][name]
            assert opt.doc in prop["description"], name
            if not opt.required and opt.default is not None:
                assert prop["default"] == opt.default, name
            if opt.required:
                assert "default" not in prop and "Required" in prop["description"]
    assert set(schema["properties"]) == names | {"name", "expect", "allow_inexact"}
    for fixed in preset:  # maxpool fixes mode: not an option of maxpool
        assert fixed not in schema["properties"]


def test_bare_kinds_are_those_without_required_options() -> None:
    bare = {s["const"] for s in DEFS["bare-kind"]["anyOf"]}
    for spelling, (kind, preset) in SPELLINGS.items():
        needs_options = any(opt.required for opt in fixed_options(kind, preset))
        assert (spelling in bare) != needs_options, spelling
        assert accepted(layer(spelling)) != needs_options, spelling


def test_top_level_expect_and_dtype_come_from_the_parser() -> None:
    assert list(SCHEMA["properties"]) == list(TOP_KEYS)
    assert set(DEFS["expect"]["properties"]) == set(EXPECT_KEYS)
    assert SCHEMA["properties"]["dtype"]["enum"] == list(DTYPE_BYTES)


@pytest.mark.parametrize("spelling", list(SPELLINGS))
def test_every_kind_example_validates(spelling: str) -> None:
    kind = SPELLINGS[spelling][0]
    example = yaml.safe_load(kind.example)
    assert accepted(layer(example)), errors(layer(example))
    assert parses(layer(example))
    for options in DEFS[f"kind.{spelling}"].get("examples", []):
        assert accepted(layer({spelling: options})), errors(layer({spelling: options}))


# --- valid specs -----------------------------------------------------------------------------


@pytest.mark.parametrize("path", SPEC_FILES, ids=lambda p: p.name)
def test_example_specs_validate(path: Path) -> None:
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert errors(spec) == []


def _documented_specs() -> list[tuple[str, str]]:
    found = []
    for doc in DOCS:
        for i, block in enumerate(re.findall(r"```yaml\n(.*?)```", doc.read_text(encoding="utf-8"), re.DOTALL)):
            data = yaml.safe_load(block)
            if isinstance(data, dict) and "layers" in data:
                found.append((f"{doc.name}#{i}", block))
    return found


@pytest.mark.parametrize("text", [pytest.param(text, id=where) for where, text in _documented_specs()])
def test_documented_specs_that_parse_validate(text: str) -> None:
    try:
        load_spec(text)
    except SpecError:
        pytest.skip("an example of an invalid spec")
    assert errors(yaml.safe_load(text)) == []


BLOCKS = {
    "unit": {
        "args": {"out": 64, "k": 3, "stride": 1},
        "description": "conv, bn, relu",
        "layers": [
            {"conv": {"out": "$out", "kernel": ["$k", 1], "stride": "$stride", "padding": "${k // 2}", "bn": True}},
            {"conv": {"filters": "${out * 2}", "kernel_size": "$k", "act": "$act", "name": "c${k}"}},
            {"pool": {"kernel": 2, "expect": {"output": "$shape", "params_max": "$p"}}},
            {"repeat": {"times": "$n", "layers": ["relu"]}},
            {"concat": {"with": "$target", "fit": "$fit"}},
            "$act",
            "inner",
        ],
    },
    "inner": {"layers": [{"residual": [{"conv": {"out": "$in_channels", "kernel": 1}}]}]},
}


def test_block_constructs_and_references_validate() -> None:
    spec = {
        "convcalc": 1,
        "name": "blocks",
        "description": "every construct",
        "input": [32, 32, 3],
        "dtype": "bfloat16",
        "batch": 8,
        "blocks": BLOCKS,
        "layers": [
            "unit",
            {"unit": {"out": 32, "name": "stage1", "expect": "16x16x32"}},
            {"unit": None},
            {"residual": {"body": [{"conv": {"out": 3, "kernel": 1}}], "shortcut": None, "name": "r"}},
            {"concat": [[], [{"conv": {"out": 8, "kernel": 3, "padding": "SAME", "act": "ReLU"}}]]},
            {"add": {"branches": [[], ["relu"]], "name": "a", "expect": {"output": [32, 32, 3]}}},
            {"concat": {"with": "r", "fit": "crop", "through": [{"pointwise": {"out": 3}}]}},
            {"repeat": {"times": 0, "layers": None}},
            {"upsample": {"scale_factor": 1.5, "mode": "bilinear", "allow_inexact": True}},
        ],
        "expect": {"output": "32 × 32 × 11", "params": "1,234", "macs_max": "2.5G", "flops_min": 0.5e3},
    }
    assert errors(spec) == []


# --- invalid specs ---------------------------------------------------------------------------

CONV = {"conv": {"out": 8, "kernel": 3}}
INVALID = {
    "unknown top-level key": {"input": "8x8x3", "layers": [CONV], "inptu": 3},
    "no layers": {"input": "8x8x3"},
    "unknown kind as a word": layer("cnov"),
    "unknown kind as a mapping": layer({"cnov": {"out": 8}}),
    "a kind that needs options, alone": layer("conv"),
    "a construct alone": layer("residual"),
    "two keys in one layer": layer({"conv": {"out": 8, "kernel": 3}, "relu": None}),
    "unknown option": layer({"conv": {"out": 8, "kernal": 3}}),
    "unknown option, with blocks": layer({"conv": {"out": 8, "kernal": 3}}, blocks=BLOCKS),
    "wrong type": layer({"conv": {"out": 8, "kernel": "three"}}),
    "wrong type in a list": layer({"conv": {"out": 8, "kernel": [3, "x"]}}),
    "negative out": layer({"conv": {"out": -8, "kernel": 3}}),
    "zero out": layer({"conv": {"out": 0, "kernel": 3}}),
    "bool for a number": layer({"conv": {"out": True, "kernel": 3}}),
    "missing required option": layer({"conv": {"kernel": 3}}),
    "missing required option, null": layer({"conv": None}),
    "two spellings of one option": layer({"conv": {"out": 8, "filters": 8, "kernel": 3}}),
    "an option an alias fixes": layer({"maxpool": {"kernel": 2, "mode": "avg"}}),
    "unknown activation": layer({"conv": {"out": 8, "kernel": 3, "act": "relu7"}}),
    "padding word on pad": layer({"pad": {"padding": "same"}}),
    "bad padding pair": layer({"conv": {"out": 8, "kernel": 3, "padding": [[1, 2, 3]]}}),
    "dropout rate 1": layer({"dropout": {"rate": 1}}),
    "bad dtype": layer(CONV, dtype="float33"),
    "bad batch": layer(CONV, batch=0),
    "bad version": layer(CONV, convcalc=2),
    "bad input shape string": layer(CONV, input="28x28x1x2x3"),
    "input shape with a letter": layer(CONV, input="28y28"),
    "input shape with a zero": layer(CONV, input="0x28x1"),
    "input shape list too long": layer(CONV, input=[1, 2, 3, 4, 5]),
    "expect with an unknown key": layer(CONV, expect={"output": 10, "parms": 5}),
    "expect count not a count": layer(CONV, expect={"params": "lots"}),
    "layer expect with an unknown key": layer({"conv": {"out": 8, "kernel": 3, "expect": {"outptu": 3}}}),
    "bad layer name": layer({"conv": {"out": 8, "kernel": 3, "name": "1st conv"}}),
    "allow_inexact not a bool": layer({"conv": {"out": 8, "kernel": 3, "allow_inexact": "yes please"}}),
    "residual with an unknown key": layer({"residual": {"body": [CONV], "shortcutt": []}}),
    "residual without a body": layer({"residual": {"shortcut": [CONV]}}),
    "concat with branches and with": layer({"concat": {"branches": [[]], "with": "conv1"}}),
    "concat with a bad fit": layer({"concat": {"with": "conv1", "fit": "cropp"}}),
    "concat with no branches": layer({"concat": []}),
    "add branch not a list": layer({"add": [CONV]}),
    "repeat without times": layer({"repeat": {"layers": [CONV]}}),
    "repeat times negative": layer({"repeat": {"times": -1, "layers": [CONV]}}),
    "block call without blocks": layer({"unit": {"out": 3}}),
    "block named like a kind": layer(CONV, blocks={"conv": {"layers": [CONV]}}),
    "block without layers": layer(CONV, blocks={"unit": {"args": {"out": 3}}}),
    "block with an unknown key": layer(CONV, blocks={"unit": {"layers": [CONV], "arguments": {}}}),
    "block argument named name": layer(CONV, blocks={"unit": {"args": {"name": 3}, "layers": [CONV]}}),
    "not a reference": layer({"conv": {"out": "$ out", "kernel": 3}}, blocks=BLOCKS),
}


@pytest.mark.parametrize("spec", INVALID.values(), ids=INVALID.keys())
def test_invalid_specs_are_rejected(spec: dict[str, Any]) -> None:
    assert not accepted(spec)
    assert not parses(spec), "the parser accepts this spec: the schema must too"


def test_block_calls_need_blocks() -> None:
    calls = [{"unit": {"out": 3}}, "unit", {"unit": None}]
    assert errors({"blocks": BLOCKS, "layers": calls}) == []
    for call in calls:
        assert not accepted({"layers": [call]})


# --- agreement with the parser (hypothesis) --------------------------------------------------


def any_case(words: tuple[str, ...]) -> st.SearchStrategy[str]:
    return st.sampled_from(words).flatmap(
        lambda w: st.lists(st.booleans(), min_size=len(w), max_size=len(w)).map(
            lambda ups: "".join(c.upper() if up else c for c, up in zip(w, ups))
        )
    )


def valid_values(option: Option) -> st.SearchStrategy[Any]:
    """Values that an option's type accepts (one strategy per option type)."""
    t = option.type
    if isinstance(t, Bool):
        return st.booleans()
    if isinstance(t, Int):
        return st.integers(t.minimum, t.minimum + 100)
    if isinstance(t, PerAxis):
        one = st.integers(t.minimum, t.minimum + 9)
        return one | st.lists(one, min_size=1, max_size=3)
    if isinstance(t, Dims):
        size = st.integers(1, 64)
        return size | st.lists(size, min_size=1, max_size=4)
    if isinstance(t, Scale):
        scale: st.SearchStrategy[float] = st.one_of(st.integers(1, 8), st.floats(0.01, 8.0))
        return scale | st.lists(scale, min_size=1, max_size=3)
    if isinstance(t, Pad):
        one = st.integers(0, 9)
        numbers = one | st.lists(one | st.lists(one, min_size=2, max_size=2), min_size=1, max_size=3)
        return numbers | any_case(t.words) if t.words else numbers
    if isinstance(t, Choice):
        words = any_case(t.choices)
        return words | st.just(None) | any_case(("none",)) if t.allow_none else words
    if isinstance(t, Number):
        top = 1e6 if t.maximum is None else t.maximum
        exponent = st.integers(1, 9).map(lambda m: f"{m}e-{m + 1}")  # YAML 1.1 reads these as text
        return st.floats(t.minimum, top, exclude_max=True) | st.integers(int(t.minimum), int(top) - 1) | exponent
    if isinstance(t, Ref):
        return st.sampled_from(["input", "stem", "stage1.conv2", "a-b_c"])
    if isinstance(t, Norm):
        return any_case(t.words) | st.builds(lambda g: {"group": g}, st.integers(1, 64)) | st.just(None)
    raise AssertionError(f"no strategy for the option type {t!r}: add one here")


SHAPES = (
    st.integers(1, 512)
    | st.lists(st.integers(1, 512), min_size=1, max_size=4)
    | st.tuples(
        st.lists(st.integers(1, 512), min_size=1, max_size=4), st.sampled_from(["x", " x ", "×", "X", "*", ", "])
    ).map(lambda t: t[1].join(map(str, t[0])))
)


@st.composite
def valid_layers(draw: st.DrawFn) -> Any:
    spelling = draw(st.sampled_from(list(SPELLINGS)))
    kind, preset = SPELLINGS[spelling]
    options: dict[str, Any] = {}
    for opt in fixed_options(kind, preset):
        if opt.required or draw(st.booleans()):
            options[draw(st.sampled_from((opt.name, *opt.aliases)))] = draw(valid_values(opt))
    if draw(st.booleans()):
        options["name"] = draw(st.from_regex(NAME, fullmatch=True))
    if draw(st.booleans()):
        options["allow_inexact"] = draw(st.booleans())
    if draw(st.booleans()):
        options["expect"] = draw(SHAPES | st.fixed_dictionaries({"output": SHAPES}))
    if options:
        return {spelling: options}
    return draw(st.sampled_from([spelling, {spelling: None}, {spelling: {}}]))


@pytest.mark.parametrize("kind", ["leaky_relu", "conv_transpose", "dense", "pool", "dropout"])
def test_a_kind_with_null_options_is_accepted_when_nothing_is_required(kind: str) -> None:
    # `- leaky_relu:` (options null): found by hypothesis; "give only one alias" rules held for null
    spec = layer({kind: None})
    assert parses(spec) == accepted(spec), errors(spec)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_layers())
def test_random_valid_layers_are_accepted(item: Any) -> None:
    spec = layer(item)
    assert parses(spec), "the strategy made an invalid layer"
    assert errors(spec) == []


# Arbitrary values, not only valid ones.  Lists stay within 3 items (the schema knows specs have at
# most 3 spatial axes; the parser leaves that to evaluation), and floats are never whole (JSON
# Schema cannot tell 3.0 from 3; the parser refuses 3.0 where it wants a whole number).
JUNK = st.recursive(
    st.integers(-3, 12)
    | st.floats(-4, 4).filter(lambda f: not f.is_integer())
    | st.booleans()
    | st.none()
    | st.sampled_from(["same", "SAME", "Valid", "relu", "ReLU", "max", "AVG", "bilinear", "none", "", "3", "x"]),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["a", "out", "output", "params", "macs_max"]), inner, max_size=2)
    ),
    max_leaves=6,
)

OPTIONS = [(spelling, opt) for spelling, (kind, preset) in SPELLINGS.items() for opt in fixed_options(kind, preset)]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(OPTIONS), JUNK, st.data())
def test_schema_and_parser_agree_on_any_value(case: tuple[str, Option], value: Any, data: st.DataObject) -> None:
    spelling, option = case
    kind, preset = SPELLINGS[spelling]
    options = {opt.name: data.draw(valid_values(opt)) for opt in fixed_options(kind, preset) if opt.required}
    key = data.draw(st.sampled_from((option.name, *option.aliases)))
    options.pop(option.name, None)  # the option under test, by any of its spellings
    options[key] = value
    spec = layer({spelling: options})
    assert accepted(spec) == parses(spec), errors(spec) or "the schema accepts what the parser refuses"


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["name", "expect", "allow_inexact"]), JUNK)
def test_schema_and_parser_agree_on_layer_keys(key: str, value: Any) -> None:
    spec = layer({"conv": {"out": 8, "kernel": 3, key: value}})
    assert accepted(spec) == parses(spec), errors(spec) or "the schema accepts what the parser refuses"


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([k for k in TOP_KEYS if k not in ("layers", "blocks")]), JUNK)
def test_schema_and_parser_agree_on_top_level_keys(key: str, value: Any) -> None:
    spec = {"input": "8x8x3", "layers": ["relu"], key: value}
    assert accepted(spec) == parses(spec), errors(spec) or "the schema accepts what the parser refuses"


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="0123 x×X*,[]()a", max_size=14))
def test_schema_and_parser_agree_on_shape_text(text: str) -> None:
    for spec in ({"input": text, "layers": ["relu"]}, layer({"relu": {"expect": text}})):
        assert accepted(spec) == parses(spec), errors(spec) or "the schema accepts what the parser refuses"


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="0159 ._,eE+-kKMGTx", max_size=10))
def test_schema_and_parser_agree_on_count_text(text: str) -> None:
    for key in ("params_max", "macs_min"):
        spec = layer("relu", expect={key: text})
        assert accepted(spec) == parses(spec), errors(spec) or "the schema accepts what the parser refuses"


@pytest.mark.parametrize(("spelling", "option"), OPTIONS, ids=[f"{s}.{o.name}" for s, o in OPTIONS])
def test_every_option_takes_references_in_blocks(spelling: str, option: Option) -> None:
    kind, preset = SPELLINGS[spelling]
    for reference in ("$a", "${a * 2 + 1}", " $a "):
        options = {opt.name: "$r" for opt in fixed_options(kind, preset) if opt.required}
        options[option.name] = reference
        spec = {"blocks": {"b": {"args": {"a": 1, "r": 1}, "layers": [{spelling: options}]}}, "layers": ["b"]}
        assert errors(spec) == []


def test_counts_follow_the_parser() -> None:
    good: list[Any] = [0, 1007590, 2.5, "25.6M", "4.09G", "1_000", "1,000", "1e7", " 3 k ", "7T"]
    bad: list[Any] = [-1, "M", "25.6Q", "1.5.2", True, [1]]
    for count in good:
        assert accepted(layer(CONV, expect={"params_max": count})), count
        assert parses(layer(CONV, expect={"params_max": count})), count
    for count in bad:
        assert not accepted(layer(CONV, expect={"params_max": count})), count
        assert not parses(layer(CONV, expect={"params_max": count})), count
    assert set(BOUNDS) < set(DEFS["expect"]["properties"])
