"""The JSON Schema of the spec format, generated from the kind definitions.

``convcalc schema`` prints :func:`schema_json`; ``schema/convcalc.schema.json`` is that output,
committed for editors and validators (a test fails when it is stale).  Every kind, alias and
option comes from :data:`convcalc.model.kinds.SPELLINGS` (each option's JSON Schema from its type's
``schema()``); top-level keys, ``expect`` keys, dtypes, constructs and the name, shape and count
patterns come from :mod:`convcalc.spec`.  No kind or option is listed here by hand.

What the schema can and cannot say:

- It is draft 2020-12, but uses only keywords that draft 7 has too, so that editors which
  implement draft 7 (the YAML language server) check all of it: no ``$ref`` beside other
  keywords (a description beside one goes through ``allOf``), ``$defs`` reached by JSON pointer,
  no ``dependentSchemas`` or ``unevaluatedProperties``.
- Block names are the user's, so a layer whose key is no known kind or construct is accepted as
  a block call, but only when the spec defines ``blocks`` (two variants of the layer list:
  ``layers`` with block calls, ``strict.layers`` without, chosen by ``if``/``else``).  Known
  kinds stay strict everywhere: an unknown option under ``conv`` is always rejected.
- Inside blocks, a value may be a reference (``$arg`` or ``${expr}``) wherever an option, a
  list item of an option, ``times``, ``name`` or a layer ``expect`` takes a value.
- The schema is meant to accept every spec that convcalc's parser accepts; what needs the input
  shape (ranks, divisibility, impossible sizes), or knowledge of which blocks exist, is left to
  ``convcalc check``.
"""

from __future__ import annotations

import json
from typing import Any

from ..model.kinds import KINDS, SPELLINGS, Kind, fixed_options
from ..model.options import Option, OptionError
from ..spec.parser import (
    _COUNT,
    _SHAPE_SPLIT,
    BOUNDS,
    CONSTRUCTS,
    DTYPE_BYTES,
    FORMAT_VERSION,
    LAYER_KEYS,
    MAX_REPEAT,
    NAME,
    RESERVED_ARGS,
    SUFFIXES,
    TOP_KEYS,
)

Schema = dict[str, Any]

SCHEMA_ID = "urn:convcalc:spec-format:1"
DRAFT = "https://json-schema.org/draft/2020-12/schema"

# The template's reference, whole value only: `$name` or `${expr}` (surrounding blanks are stripped).
REFERENCE_PATTERN = r"^\s*\$(\{[^{}]*\}|[A-Za-z_][A-Za-z0-9_]*)\s*$"
NAME_PATTERN = f"^{NAME.pattern}$"
ARG_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"  # spec.parse_blocks: a block argument's name
_NUMBER = "0*[1-9][0-9]*"  # a positive whole number as text
# spec.parse_shape strips blanks, then brackets ("[28, 28, 1]", "(28x28)"), then blanks again
_BRACKETS = r"\s*[\[\]()]*\s*"
SHAPE_PATTERN = rf"^{_BRACKETS}{_NUMBER}({_SHAPE_SPLIT}{_NUMBER}){{0,3}}{_BRACKETS}$"
COUNT_PATTERN = "^" + _COUNT.removesuffix(r"\Z") + "$"  # (JSON Schema's regexes have no \Z)
KNOWN_WORDS = [*SPELLINGS, *CONSTRUCTS]


def ref(name: str) -> Schema:
    return {"$ref": f"#/$defs/{name}"}


def described(description: str, schema: Schema) -> Schema:
    """A description beside a ``$ref``: through ``allOf``, as draft-7 tools ignore ``$ref``'s siblings."""
    return {"description": description, "allOf": [schema]}


REFERENCE = ref("reference")


# --- option values -----------------------------------------------------------------------


def _items_take_references(node: Schema) -> Schema:
    """A copy of a value schema whose list items may also be references (``kernel: [$k, 1]``)."""
    out = dict(node)
    if "items" in out:
        out["items"] = {"anyOf": [_items_take_references(out["items"]), REFERENCE]}
    for key in ("oneOf", "anyOf", "allOf"):
        if key in out:
            out[key] = [_items_take_references(n) for n in out[key]]
    return out


def _words(node: Any) -> list[str]:
    """Every string of every ``enum`` in a value schema."""
    if isinstance(node, dict):
        found = [w for w in node.get("enum", ()) if isinstance(w, str)]
        return found + [w for value in node.values() for w in _words(value)]
    if isinstance(node, list):
        return [w for value in node for w in _words(value)]
    return []


def _any_case(word: str) -> str:
    """A pattern matching ``word`` in any letter case (``same`` → ``[sS][aA][mM][eE]``)."""
    return "".join(
        f"[{c.lower()}{c.upper()}]" if c.lower() != c.upper() else ("\\" + c if c in "\\^$.|?*+()[]{}/" else c)
        for c in word
    )


def value_schema(option: Option) -> Schema:
    """An option's values: its type's schema, words in any case, or a block reference."""
    schema = option.type.schema()
    choices: list[Schema] = [_items_take_references(schema)]
    words = _words(schema)
    if words:  # the option types read their words case-insensitively (`padding: SAME`, `act: ReLU`)
        choices.append({"type": "string", "pattern": f"^(?:{'|'.join(_any_case(w) for w in words)})$"})
    return {"anyOf": [*choices, REFERENCE]}


def _text(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _default_shown(option: Option) -> bool:
    """Whether the default is itself a valid value (``stride: null`` is not; ``act: null`` is)."""
    if option.required:
        return False
    try:
        option.type.parse(option.default)
    except OptionError:
        return False
    return True


def value_def(option: Option, kind_name: str, values: dict[str, Schema]) -> str:
    """The ``$defs`` name of an option's value schema, shared by every option with the same values."""
    schema = value_schema(option)
    for name, known in values.items():
        if known == schema:
            return name
    base = type(option.type).__name__.lower()
    try:
        plain = option.type == type(option.type)()
    except TypeError:  # a type without defaults (Choice)
        plain = False
    name = f"value.{base}" if plain else f"value.{base}.{option.name}"
    if name in values:  # another kind's option of this name takes other values (pool's mode, upsample's mode)
        name = f"value.{base}.{kind_name}.{option.name}"
    values[name] = schema
    return name


def option_schema(option: Option, spelling: str, value: str) -> Schema:
    what = f"{option.doc}: {option.type.describe()}."
    if spelling != option.name:
        what = f"Another spelling of `{option.name}` (give only one): {what}"
    if option.required:
        what += " Required."
    elif _default_shown(option):
        what += f" Default: {_text(option.default)}."
    schema = described(what, ref(value))
    if _default_shown(option):
        schema["default"] = option.default
    return schema


# --- layer kinds -------------------------------------------------------------------------


def _example(spelling: str) -> tuple[str, Any]:
    """The kind's example as text and as data, in this spelling when its options allow."""
    import yaml  # type: ignore[import-untyped,unused-ignore]  # start-up: only the schema parses examples

    kind, preset = SPELLINGS[spelling]
    data = yaml.safe_load(kind.example)
    options = (next(iter(data.values())) or {}) if isinstance(data, dict) else {}
    accepted = {name for opt in fixed_options(kind, preset) for name in (opt.name, *opt.aliases)} | set(LAYER_KEYS)
    if spelling == kind.name or not kind.example.startswith(kind.name) or not set(options) <= accepted:
        return kind.example, data
    text = spelling + kind.example[len(kind.name) :]
    return text, yaml.safe_load(text)


def _signature(options: tuple[Option, ...]) -> str:
    parts = []
    for opt in options:
        if opt.required:
            parts.append(f"{opt.name} (required)")
        elif _default_shown(opt):
            parts.append(f"{opt.name} = {_text(opt.default)}")
        else:
            parts.append(opt.name)
    return ", ".join(parts) or "none"


def kind_description(spelling: str, kind: Kind, preset: dict[str, Any]) -> str:
    head = kind.doc
    if spelling != kind.name:
        fixed = ", ".join(f"{k}: {_text(v)}" for k, v in preset.items())
        head = f"Another spelling of `{kind.name}`{f' with {fixed}' if fixed else ''}. {head}"
    return (
        f"{head}\n\nExample:\n  - {_example(spelling)[0]}\n\nOptions: {_signature(fixed_options(kind, preset))}."
        f"\nEvery layer also takes {', '.join(LAYER_KEYS)}."
    )


def kind_schema(spelling: str, values: dict[str, Schema]) -> Schema:
    """The options mapping of one spelling: every option and option alias, plus the layer keys.

    The value schemas go to ``values`` (shared ``$defs``), so that aliases and kinds with the same
    options do not repeat them.
    """
    kind, preset = SPELLINGS[spelling]
    accepted = fixed_options(kind, preset)
    properties: Schema = {}
    for opt in accepted:
        value = value_def(opt, kind.name, values)
        for name in (opt.name, *opt.aliases):
            assert name not in properties and name not in LAYER_KEYS, f"{spelling}: option {name} twice"
            properties[name] = option_schema(opt, name, value)
    properties.update({"name": ref("name"), "expect": ref("layer-expect"), "allow_inexact": ref("allow-inexact")})
    required = [opt for opt in accepted if opt.required]
    schema: Schema = {
        "title": spelling if spelling == kind.name else f"{spelling} ({kind.name})",
        "description": kind_description(spelling, kind, preset),
        "type": "object" if required else ["object", "null"],
        "properties": properties,
        "additionalProperties": False,
    }
    plain = [opt.name for opt in required if not opt.aliases]
    if plain:
        schema["required"] = plain
    rules: list[Schema] = []
    for opt in required:  # a required option with aliases: "out is required" unless another spelling is given
        if opt.aliases:
            given = {"anyOf": [{"required": [a]} for a in opt.aliases]}
            rules.append({"if": {"not": given}, "then": {"required": [opt.name]}})
    for opt in accepted:  # two spellings of one option are an error (draft 7's keywords, for editors)
        names = (opt.name, *opt.aliases)
        # (typed: `required` holds vacuously for `- leaky_relu:` with no options, which is null)
        rules += [{"not": {"type": "object", "required": [a, b]}} for i, a in enumerate(names) for b in names[i + 1 :]]
    if rules:
        schema["allOf"] = rules
    example = _example(spelling)[1]
    if isinstance(example, dict) and spelling in example:
        schema["examples"] = [example[spelling] or {}]
    return schema


def bare_kinds() -> Schema:
    """The spellings that may stand alone (`- relu`): no option is required."""
    return {
        "description": "A layer that needs no options, by its kind name alone (`- flatten`, `- relu`).",
        "anyOf": [
            {"const": spelling, "description": kind_description(spelling, kind, preset)}
            for spelling, (kind, preset) in SPELLINGS.items()
            if not any(opt.required for opt in fixed_options(kind, preset))
        ],
    }


# --- layer lists and constructs, in two variants -------------------------------------------


def layer_defs(prefix: str, calls: bool) -> dict[str, Schema]:
    """``layers``, ``layer`` and the constructs; ``calls``: whether unknown keys may be block calls."""

    def own(name: str) -> Schema:
        return ref(prefix + name)

    layer_list = {"type": "array", "items": own("layer")}
    branches = {
        "description": "Parallel branches on one input, each a list of layers (`[]` is the identity).",
        "type": "array",
        "minItems": 1,
        "items": layer_list,
    }
    common = {"name": ref("name"), "expect": ref("layer-expect")}

    def join(op: str, what: str) -> Schema:
        return {
            "description": (
                f"{what}. Either a list of branches on the same input (`{op}: [[...], [...]]`, `[]` is "
                f"the identity), `{{branches: [...], name, expect}}`, or `{{with: NAME}}` to join with the "
                f"output of an earlier layer (U-Net skips), optionally with `fit: crop|pad` and "
                f"`through: [layers]` applied to the earlier tensor first."
            ),
            "anyOf": [
                branches,
                {
                    "type": "object",
                    "required": ["branches"],
                    "properties": {"branches": branches, **common},
                    "additionalProperties": False,
                },
                {
                    "type": "object",
                    "required": ["with"],
                    "properties": {
                        "with": {
                            "description": "The name (or path) of an earlier layer, looked up from the innermost scope out.",
                            "type": "string",
                            "minLength": 1,
                        },
                        "fit": {
                            "description": "Adapt the earlier tensor's size: crop (centre-crop it to the current size) "
                            "or pad (pad the current tensor up to the earlier one's size).",
                            "anyOf": [{"enum": ["crop", "pad", None]}, REFERENCE],
                        },
                        "through": described(
                            "Layers applied to the earlier tensor before the join (FPN's 1×1 laterals).", own("layers")
                        ),
                        **common,
                    },
                    "additionalProperties": False,
                },
            ],
        }

    properties: Schema = {spelling: ref(f"kind.{spelling}") for spelling in SPELLINGS}
    properties.update({construct: own(construct) for construct in CONSTRUCTS})
    mapping: Schema = {
        "description": "A layer as a mapping with exactly one key: its kind, construct or block, holding its options.",
        "type": "object",
        "minProperties": 1,
        "maxProperties": 1,
        "properties": properties,
        "additionalProperties": ref("block-call") if calls else False,
    }
    items: list[Schema] = [ref("bare-kind")]
    if calls:
        mapping["propertyNames"] = {"pattern": NAME_PATTERN}
        items.append(
            {
                "description": "A call of a block defined under `blocks`, without arguments.",
                "anyOf": [{"type": "string", "pattern": NAME_PATTERN, "not": {"enum": KNOWN_WORDS}}, REFERENCE],
            }
        )
    items.append(mapping)
    defs: dict[str, Schema] = {
        "layers": {
            "description": "A list of layers, run in sequence.",
            "type": ["array", "null"],
            "items": own("layer"),
        },
        "layer": {
            "description": (
                "One layer: a kind name (`- relu`), or a mapping with one key, the kind, holding its options "
                "(`- conv: {out: 64, kernel: 3}`); a construct (residual, scale, split, concat, add, mul, repeat, from)"
                + (", or a block call (`- bottleneck: {mid: 128}`)." if calls else ".")
            ),
            "anyOf": items,
        },
        "residual": {
            "description": (
                "output = body(x) + shortcut(x); the shortcut is the identity when absent. "
                "`residual: {body: [...], shortcut: [...], name, expect}`, or just the body's list."
            ),
            "anyOf": [
                layer_list,
                {
                    "type": "object",
                    "required": ["body"],
                    "properties": {
                        "body": described("The layers of the main path.", own("layers")),
                        "shortcut": described("The layers of the shortcut (identity when absent).", own("layers")),
                        **common,
                    },
                    "additionalProperties": False,
                },
            ],
        },
        "from": {
            "description": (
                "Goes on from an earlier layer's output (a head branching off the trunk): `- from: p4`. "
                "Adds no row; the layers after it read that tensor."
            ),
            "anyOf": [{"type": "string", "minLength": 1}, REFERENCE],
        },
        "scale": {
            "description": (
                "output = x · body(x): the body computes a gate from x (squeeze-excitation: global_pool, 1×1 "
                "convs, sigmoid) that multiplies x, a size of 1 broadcasting. `scale: {body: [...], name, expect}`, "
                "or just the body's list."
            ),
            "anyOf": [
                layer_list,
                {
                    "type": "object",
                    "required": ["body"],
                    "properties": {"body": described("The layers computing the gate.", own("layers")), **common},
                    "additionalProperties": False,
                },
            ],
        },
        "split": {
            "description": (
                "Cuts the input's channels into consecutive parts, one per branch (equal parts, or `sizes`), "
                "runs each branch on its part and concatenates the outputs (ShuffleNet's units): "
                "`split: [[], [...]]` or `split: {sizes: [58, 58], branches: [...], name, expect}`."
            ),
            "anyOf": [
                branches,
                {
                    "type": "object",
                    "required": ["branches"],
                    "properties": {
                        "branches": described("One list of layers per part (`[]` keeps a part as it is).", branches),
                        "sizes": {
                            "description": "The channels of each part, in order (they must add up to the input's).",
                            "anyOf": [{"type": "array", "items": {"type": "integer", "minimum": 1}}, REFERENCE],
                        },
                        "parts": {
                            "description": "The number of parts, which must equal the number of branches.",
                            "anyOf": [{"type": "integer", "minimum": 1}, REFERENCE],
                        },
                        **common,
                    },
                    "additionalProperties": False,
                },
            ],
        },
        "concat": join("concat", "Joins tensors on channels (all other sizes must match)"),
        "add": join("add", "Element-wise sum of tensors (all sizes must match)"),
        "mul": join("mul", "Element-wise product of tensors (each size equal, or 1 to broadcast)"),
        "repeat": {
            "description": "Runs its layers `times` times in sequence (0 is the identity): "
            "`repeat: {times: 3, layers: [...], name, expect}`. Iterations are named from 0.",
            "type": "object",
            "required": ["times", "layers"],
            "properties": {
                "times": {
                    "description": f"How many times, 0 to {MAX_REPEAT}.",
                    "anyOf": [{"type": "integer", "minimum": 0, "maximum": MAX_REPEAT}, REFERENCE],
                },
                "layers": described("The layers of one iteration.", own("layers")),
                **common,
            },
            "additionalProperties": False,
        },
    }
    return {prefix + name: schema for name, schema in defs.items()}


# --- shapes, counts, expect ----------------------------------------------------------------


def shared_defs() -> dict[str, Schema]:
    figures = {key: ref("whole-count" if op == "==" else "count") for key, (_, op) in BOUNDS.items()}
    return {
        "reference": {
            "description": (
                "Inside a block: `$arg` takes a block argument's value, `${expr}` integer arithmetic on "
                'arguments (+ - * // and parentheses). Quote it in flow style: {out: "${width * 2}"}.'
            ),
            "type": "string",
            "pattern": REFERENCE_PATTERN,
        },
        "shape": {
            "description": (
                "A shape without the batch, channels last: 28x28x1 (H×W×C), 100x16 (L×C), 16x112x112x3 "
                "(D×H×W×C) — `×`, `X`, `*` or `,` also separate — a list [28, 28, 1], or one number for a "
                "flat vector."
            ),
            "anyOf": [
                {"type": "string", "pattern": SHAPE_PATTERN},
                {"type": "array", "items": {"type": "integer", "minimum": 1}, "minItems": 1, "maxItems": 4},
                {"type": "integer", "minimum": 1},
            ],
        },
        "count": {
            "description": (
                f"A count: a number, or text with `_` or `,` separators, decimals, exponents and a "
                f'{"/".join(s for s in SUFFIXES if s and "i" not in s)} suffix (powers of 1000) or a '
                f'{"/".join(s for s in SUFFIXES if "i" in s)} suffix (powers of 1024): 1007590, "25.6M", "20GiB".'
            ),
            "anyOf": [{"type": "number", "minimum": 0}, {"type": "string", "pattern": COUNT_PATTERN}],
        },
        "whole-count": {
            "description": (
                'An exact count: a whole number, or text as for a bound ("25.6M"), which must come out whole.'
            ),
            "anyOf": [{"type": "integer", "minimum": 0}, {"type": "string", "pattern": COUNT_PATTERN}],
        },
        "expect": {
            "description": (
                "What the whole network must be, checked by `convcalc check` (and `show --strict`): the output "
                "shape, and exact figures or bounds (_max, _min)."
            ),
            "type": "object",
            "properties": {
                "output": ref("shape"),
                "outputs": {
                    "description": "The shape of each output listed under `outputs`, by name.",
                    "type": "object",
                    "minProperties": 1,
                    "additionalProperties": ref("shape"),
                },
                **figures,
            },
            "additionalProperties": False,
            "examples": [{"output": 10, "params": 1007590, "macs_max": "1.5M"}],
        },
        "layer-expect": {
            "description": (
                "What this layer (or block, repeat, join: the sum of its rows) must give: its output shape "
                "(`expect: 24x24x10`), or a mapping of output and figure bounds as at the top level."
            ),
            "anyOf": [
                ref("shape"),
                {
                    "type": "object",
                    "properties": {
                        "output": {"anyOf": [ref("shape"), REFERENCE]},
                        **{key: {"anyOf": [figure, REFERENCE]} for key, figure in figures.items()},
                    },
                    "additionalProperties": False,
                },
                REFERENCE,
            ],
        },
        "name": {
            "description": (
                "The layer's name: letters, digits, _ and -, not starting with a digit (default: the kind "
                'and a running number, conv1). Inside a block it may interpolate arguments: "stage${i}".'
            ),
            "anyOf": [{"type": "string", "pattern": NAME_PATTERN}, {"type": "string", "pattern": r"\$"}],
        },
        "allow-inexact": {
            "description": "Accept this layer's non-integer-size flags (still shown, marked accepted).",
            "anyOf": [{"type": "boolean"}, REFERENCE],
            "default": False,
        },
        "bare-kind": bare_kinds(),
        "block-call": {
            "description": (
                "A call of a block defined under `blocks`: its arguments (the block's defaults fill in the rest), "
                "and optionally name and expect."
            ),
            "type": ["object", "null"],
            "properties": {"name": ref("name"), "expect": ref("layer-expect")},
        },
        "block": {
            "description": (
                "A named template of layers with arguments, used like a kind: `- NAME: {arg: value}`. Its "
                "layers take `$arg` and `${expr}`; `$in_channels` is the channel count of its input."
            ),
            "type": "object",
            "required": ["layers"],
            "properties": {
                "args": {
                    "description": "The arguments and their default values.",
                    "type": ["object", "null"],
                    "propertyNames": {"pattern": ARG_PATTERN, "not": {"enum": list(RESERVED_ARGS)}},
                },
                "layers": {"description": "The block's layers.", "type": "array", "items": ref("layer")},
                "description": {"description": "What the block is (not printed).", "type": "string"},
            },
            "additionalProperties": False,
            "examples": [{"args": {"out": 64}, "layers": [{"conv": {"out": "$out", "kernel": 3, "padding": 1}}]}],
        },
    }


def top_properties() -> Schema:
    properties: Schema = {
        "convcalc": {"description": "The format version (optional; 1 is the only one).", "const": FORMAT_VERSION},
        "name": {"description": "The network's name, shown as the table title.", "type": "string"},
        "description": {"description": "What the network is (not printed).", "type": "string"},
        "args": {
            "description": (
                "The spec's own arguments and their defaults (a width, a resolution), used as `$name` and "
                "`${expr}` everywhere in the spec, blocks included; set them with `--set name=value`."
            ),
            "type": "object",
            "propertyNames": {"pattern": ARG_PATTERN, "not": {"enum": [*RESERVED_ARGS, "in_channels"]}},
            "additionalProperties": {"type": ["number", "boolean", "string"]},
        },
        "input": described(
            "The input shape without the batch (required unless `--input` is given); with `args:`, its sizes "
            "may be references (`[$resolution, $resolution, 3]`).",
            {"anyOf": [ref("shape"), REFERENCE, {"type": "array", "minItems": 1, "maxItems": 4, "contains": REFERENCE,
                                                 "items": {"anyOf": [{"type": "integer", "minimum": 1}, REFERENCE]}}]},
        ),
        "dtype": {
            "description": "Bytes per value for the memory figures.",
            "enum": list(DTYPE_BYTES),
            "default": "float32",
        },
        "batch": {
            "description": "The batch size: MACs, FLOPs and activation memory scale with it, params never do.",
            "type": "integer",
            "minimum": 1,
            "default": 1,
        },
        "blocks": {
            "description": "Named templates of layers, used like kinds: `- NAME: {arg: value}` or `- NAME`.",
            "type": "object",
            "propertyNames": {"pattern": NAME_PATTERN, "not": {"enum": KNOWN_WORDS}},
            "additionalProperties": ref("block"),
        },
        "layers": described("The layers, run in sequence from the input.", ref("layers")),
        "outputs": {
            "description": (
                "The network's outputs, by layer name or path, when there are several (detection heads, "
                "auxiliary classifiers); the last is `output` in JSON. Default: the last layer's output."
            ),
            "type": "array",
            "items": {"type": "string", "minLength": 1},
            "minItems": 1,
        },
        "expect": ref("expect"),
    }
    assert list(properties) == list(TOP_KEYS), "a top-level key without a schema"
    return properties


def spec_schema() -> Schema:
    """The JSON Schema (draft 2020-12) of a whole spec file."""
    values: dict[str, Schema] = {}
    kinds = {f"kind.{spelling}": kind_schema(spelling, values) for spelling in SPELLINGS}
    defs = {**shared_defs(), **layer_defs("", calls=True), **layer_defs("strict.", calls=False), **kinds, **values}
    return {
        "$schema": DRAFT,
        "$id": SCHEMA_ID,
        "title": "convcalc spec",
        "description": (
            f"A convcalc spec, format version {FORMAT_VERSION}: a CNN as a YAML layer stack, for `convcalc show` "
            "and `convcalc check`.\n\n"
            "input: 28x28x1\nlayers:\n  - conv: {out: 10, kernel: 5}\n  - pool: {kernel: 2}\n  - flatten\n"
            "  - dense: {out: 10}\nexpect: {output: 10}\n\n"
            f"Kinds: {', '.join(KINDS)}; constructs: {', '.join(CONSTRUCTS)}; and the spec's own blocks. "
            "Generated by `convcalc schema` from the kind definitions."
        ),
        "type": "object",
        "required": ["layers"],
        "properties": top_properties(),
        "additionalProperties": False,
        # Without `blocks`, a layer key that is no kind cannot be a block call either.
        "if": {"required": ["blocks"]},
        "else": {"properties": {"layers": ref("strict.layers")}},
        "$defs": defs,
    }


def schema_json() -> str:
    """What ``convcalc schema`` prints and ``schema/convcalc.schema.json`` holds."""
    return json.dumps(spec_schema(), indent=2, sort_keys=False) + "\n"


__all__ = ["SCHEMA_ID", "schema_json", "spec_schema"]
