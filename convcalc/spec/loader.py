"""Safe, position-keeping YAML loading for spec files.

This module owns turning spec text into Python data: mappings become :class:`LMap`,
sequences :class:`LList` (both remember 1-based positions for error messages), scalars
become plain ``str``/``int``/``float``/``bool``/``None`` resolved with YAML 1.1 rules as
PyYAML's ``SafeLoader`` resolves them (timestamps stay strings).  Everything wrong with
the text -- bad syntax, hostile input, unknown tags -- becomes a :class:`SpecError` at the
offending position; nothing else escapes.

The tree is composed here from PyYAML's event stream (libyaml when built in) with an
explicit stack, not with PyYAML's recursive composer/constructor: that keeps start-up
cheap and lets the depth, size and alias budgets be enforced as events arrive, before a
hostile document can cost time or memory.
"""

from __future__ import annotations

import re
from typing import Any, BinaryIO

import yaml  # type: ignore[import-untyped,unused-ignore]

from ..base.errors import Mark, SpecError

MAX_DEPTH = 64
MAX_NODES = 100_000  # YAML nodes, aliases expanded, for any spec; a larger file gets one more per 5 bytes
BYTES_PER_NODE = 5  # a flat spec of 10⁵ written-out convs (4.5 MB) has about 900,000 nodes


def node_budget(text: str) -> int:
    """The nodes a spec of this size may have: a written-out network grows with its text, an
    alias bomb does not."""
    return MAX_NODES + len(text) // BYTES_PER_NODE
MAX_BYTES = 10 * 1024 * 1024
# int()/float() of a huge numeral can be slow (sexagesimal ints are quadratic) and no
# layer spec needs one, so numerals longer than this are refused rather than converted.
MAX_NUMBER_CHARS = 1000

# libyaml is several times faster than the pure-Python scanner; both yield the same events.
_LOADER = yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader

_Y = "tag:yaml.org,2002:"
_STR, _MAP, _SEQ = _Y + "str", _Y + "map", _Y + "seq"
_SAFE: Any = yaml.constructor.SafeConstructor()
_CONVERT = {  # the scalar tags that need converting, with SafeLoader's own converters
    _Y + "int": _SAFE.construct_yaml_int,
    _Y + "float": _SAFE.construct_yaml_float,
    _Y + "bool": _SAFE.construct_yaml_bool,
    _Y + "null": _SAFE.construct_yaml_null,
}
_NUMERIC = (_Y + "int", _Y + "float")
_RESOLVER: Any = yaml.resolver.Resolver()
# Most scalars in a spec are small decimal ints: skip the resolver's regex list for them.
# A leading 0 is YAML 1.1 octal, so such numerals take the slow path.
_FAST_INT = re.compile(r"-?(?:0|[1-9][0-9]{0,17})").fullmatch
# Which long plain scalars could be YAML 1.1 numbers.  Resolving those with the resolver's
# own regexes can take seconds on megabytes of `1:2:3...`; this one has no backtracking.
_NUMBERISH = re.compile(r"[-+]?[0-9.][0-9a-fA-FxXob_:.eE+-]*").fullmatch
# What YAML counts as a new line.  Only error positions need it: a pattern compiled on first
# use (re caches it), not at import, which every command pays for (start-up).
LINE_BREAK = "\r\n|[\r\n\x85\u2028\u2029]"


class LMap(dict[Any, Any]):
    """A YAML mapping that remembers where it, each key and each value start."""

    def __init__(self, mark: Mark) -> None:
        super().__init__()
        self.mark = mark
        self.key_marks: dict[Any, Mark] = {}
        self.value_marks: dict[Any, Mark] = {}


class LList(list[Any]):
    """A YAML sequence that remembers where it and each item start."""

    def __init__(self, mark: Mark) -> None:
        super().__init__()
        self.mark = mark
        self.item_marks: list[Mark] = []


def mark_of(value: Any, default: Mark | None = None) -> Mark | None:
    """The position of a loaded mapping or sequence; ``default`` for anything else."""
    return value.mark if isinstance(value, (LMap, LList)) else default


class _Frame:
    """A mapping or sequence whose end event has not arrived yet."""

    __slots__ = ("anchor", "first", "key", "merge", "node")

    def __init__(self, node: LMap | LList, anchor: str | None, first: int) -> None:
        self.node = node
        self.anchor = anchor
        self.first = first  # node count before this node: its size is known at its end
        self.key: Any = _NO_KEY  # a mapping's key waiting for its value
        self.merge: tuple[Any, Mark] | None = None  # the value of a `<<` merge key


_NO_KEY = object()
_MERGE = object()  # stands for a pending `<<` key, which is not stored as a key
_OPEN = object()  # an anchor whose node has not ended: aliasing it would make a cycle


def _clip(text: str, limit: int = 60) -> str:
    """Keep messages one readable line however long the offending text is."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _short(tag: str) -> str:
    return _clip("!!" + tag[len(_Y) :] if tag.startswith(_Y) else tag)


def _mark(m: Any) -> Mark:
    return Mark(m.line + 1, m.column + 1)  # PyYAML and libyaml count from 0


def _mark_at(text: str, index: int) -> Mark:
    line, start = 1, 0
    for m in re.compile(LINE_BREAK).finditer(text, 0, index):
        line, start = line + 1, m.end()
    return Mark(line, index - start + 1)


def _unknown_tag(tag: str, mark: Mark) -> SpecError:
    return SpecError(f"unknown tag {_short(tag)}: convcalc specs are plain YAML; remove the tag", mark)


def _scalar(ev: Any, mark: Mark) -> Any:
    value: str = ev.value
    tag: str | None = ev.tag
    if tag is None or tag == "!":  # "!" is the non-specific tag: resolve as if untagged
        if not ev.implicit[0]:
            return value  # quoted: always a string
        if _FAST_INT(value):
            return int(value)
        # Long plain scalars are numbers or text (bool/null are short words, and we keep
        # timestamps as text anyway), so they can skip the resolver.
        if len(value) > MAX_NUMBER_CHARS:
            if _NUMBERISH(value):
                raise SpecError(f"number too long ({len(value)} characters); quote it if it is text", mark)
            return value
        tag = _RESOLVER.resolve(yaml.ScalarNode, value, (True, False))
        if tag not in _CONVERT:
            return value  # str, and 1.1's timestamp/merge/value kinds, kept as text
    elif tag == _STR:
        return value
    elif tag in (_MAP, _SEQ):
        raise SpecError(f"tag {_short(tag)} cannot be used on a scalar", mark)
    elif tag not in _CONVERT:
        raise _unknown_tag(tag, mark)
    if tag in _NUMERIC and len(value) > MAX_NUMBER_CHARS:
        raise SpecError(f"number too long ({len(value)} characters)", mark)
    try:
        return _CONVERT[tag](yaml.ScalarNode(tag, value))
    except (ValueError, KeyError, IndexError):  # `!!int abc`, and numerals like `0x_`
        raise SpecError(f"cannot read {_clip(repr(value))} as {_short(tag)}", mark) from None


def _check_collection_tag(ev: Any, expected: str, kind: str, mark: Mark) -> None:
    tag = ev.tag
    if tag is None or tag == "!" or tag == expected:
        return
    if tag == _STR or tag in _CONVERT or tag in (_MAP, _SEQ):
        raise SpecError(f"tag {_short(tag)} cannot be used on a {kind}", mark)
    raise _unknown_tag(tag, mark)


def _apply_merge(node: LMap, value: Any, mark: Mark) -> None:
    """Apply a `<<` merge key the way SafeLoader does: the mapping's own keys win over
    merged ones, an earlier mapping of a merged list wins over a later one."""
    sources = value if isinstance(value, LList) else [value]
    if not all(isinstance(s, LMap) for s in sources):
        raise SpecError("'<<' (merge) takes a mapping or a list of mappings", mark)
    own = dict(node)
    node.clear()  # merged keys come first, as with SafeLoader
    for src in sources:
        for k, v in src.items():
            if k in node:
                continue
            if k in own:
                node[k] = own[k]
            else:
                node[k] = v
                node.key_marks[k] = src.key_marks[k]
                node.value_marks[k] = src.value_marks[k]
    node.update(own)


def read_limited(stream: BinaryIO) -> bytes:
    """A spec's bytes from a file, standard input or a device, reading at most the limit + 1 byte
    (``/dev/zero`` or an endless pipe is refused, not read into memory)."""
    data = stream.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise SpecError(f"spec is larger than 10 MiB (more than {MAX_BYTES:,} bytes; convcalc's limit)", Mark(1, 1))
    return data


def _decode(text: str | bytes) -> str:
    if isinstance(text, bytes) or len(text) > MAX_BYTES:
        size = len(text)
    else:
        try:
            size = len(text.encode("utf-8"))
        except UnicodeEncodeError as e:
            raise SpecError(
                f"spec is not valid Unicode (lone surrogate U+{ord(text[e.start]):04X})",
                _mark_at(text, e.start),
            ) from None
    if size > MAX_BYTES:
        raise SpecError(f"spec is larger than 10 MiB ({size} bytes)", Mark(1, 1))
    if isinstance(text, bytes):
        raw = text[3:] if text.startswith(b"\xef\xbb\xbf") else text
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            prefix = raw[: e.start].decode("utf-8", "replace")
            raise SpecError(
                f"spec is not valid UTF-8 (byte 0x{raw[e.start]:02x})",
                _mark_at(prefix, len(prefix)),
            ) from None
    # A byte-order mark is not content; leaving it would shift columns on line 1.
    return text.removeprefix("\ufeff")


def _too_deep(e: yaml.YAMLError) -> bool:
    """libyaml ≥ 0.2.6 (PyYAML 6.0.4's wheels) has a nesting limit of its own, which its scanner,
    looking ahead for simple keys, can reach before the parser hands us level 65."""
    return "nesting depth" in str(getattr(e, "problem", None) or e)


def _syntax_error(e: yaml.YAMLError, text: str, loader: Any) -> SpecError:
    if isinstance(e, yaml.MarkedYAMLError):
        msg = f"YAML syntax: {e.problem or e.context or 'invalid YAML'}"
        if e.problem and e.context:
            msg += f" ({e.context})"
        m = e.problem_mark or e.context_mark
        mark = _mark(m) if m is not None else None
    elif isinstance(e, yaml.reader.ReaderError):
        msg = f"YAML syntax: {e.reason} (character #x{e.character:04x})"
        index = e.position
        if loader is not yaml.SafeLoader:  # libyaml reports a byte offset in UTF-8
            index = len(text.encode("utf-8")[:index].decode("utf-8", "replace"))
        mark = _mark_at(text, index)
    else:
        msg, mark = f"YAML syntax: {e}", None
    return SpecError(_clip(" ".join(msg.split()), 300), mark or Mark(1, 1))


def load(text: str | bytes) -> Any:
    """Parse one YAML document into LMap / LList / plain scalars.

    Raises SpecError (with a Mark) for anything invalid.  An empty document is None.
    """
    text = _decode(text)
    try:
        return _load(text, _LOADER)
    except yaml.YAMLError as e:
        if not _too_deep(e):
            raise _syntax_error(e, text, _LOADER) from None
    # The library stopped at its own nesting limit: the pure-Python parser has none, so our
    # limit (checked as events arrive) gives the same message and position on every PyYAML.
    try:
        return _load(text, yaml.SafeLoader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        if _too_deep(e):
            raise SpecError(f"nesting deeper than {MAX_DEPTH} levels; flatten the spec", _mark(mark) if mark else None)
        raise _syntax_error(e, text, yaml.SafeLoader) from None


def _too_large(budget: int, mark: Mark) -> SpecError:
    return SpecError(
        f"spec too large: more than {budget:,} YAML nodes (convcalc's limit: {MAX_NODES:,} and one more per "
        f"{BYTES_PER_NODE} bytes of the file); write a repeated part once, with `repeat:` or a block",
        mark,
    )


def _load(text: str, loader: Any) -> Any:
    """:func:`load` with one PyYAML loader class; raises SpecError, or YAMLError for bad syntax."""
    budget = node_budget(text)
    stack: list[_Frame] = []
    anchors: dict[str, tuple[Any, int, Mark]] = {}  # name -> (value, node count, mark)
    count = 0  # nodes in the tree as consumers see it, aliases expanded
    root: Any = None
    documents = 0
    ev: Any

    def attach(value: Any, mark: Mark, merge_key: bool = False) -> None:
        nonlocal root
        if not stack:
            root = value
            return
        top = stack[-1]
        node = top.node
        if isinstance(node, LList):
            node.append(value)
            node.item_marks.append(mark)
        elif top.key is _NO_KEY:  # this value is a key
            if isinstance(value, (LMap, LList)):  # only an alias gets here
                raise SpecError("mapping keys must be scalars, not collections", mark)
            if merge_key:
                if top.merge is not None:
                    line = top.merge[1].line
                    raise SpecError(f"duplicate key '<<' (first at line {line})", mark)
                top.key = _MERGE
            else:
                first = node.key_marks.get(value)
                if first is not None:
                    raise SpecError(f"duplicate key {_clip(repr(value))} (first at line {first.line})", mark)
                node.key_marks[value] = mark
                top.key = value
        else:
            key, top.key = top.key, _NO_KEY
            if key is _MERGE:
                top.merge = (value, mark)
            else:
                node[key] = value
                node.value_marks[key] = mark

    def claim(anchor: str, mark: Mark) -> None:
        # Re-anchoring a name is legal YAML, but SafeLoader refuses it and in a spec it
        # is almost surely a copy-paste slip that would silently change an alias.
        if anchor in anchors:
            line = anchors[anchor][2].line
            raise SpecError(f"duplicate anchor &{_clip(anchor)} (first at line {line})", mark)
        anchors[anchor] = (_OPEN, 0, mark)

    def start(ev: Any, mark: Mark) -> None:
        nonlocal count
        if len(stack) >= MAX_DEPTH:
            raise SpecError(f"nesting deeper than {MAX_DEPTH} levels; flatten the spec", mark)
        top = stack[-1] if stack else None
        if top is not None and isinstance(top.node, LMap) and top.key is _NO_KEY:
            raise SpecError("mapping keys must be scalars, not collections", mark)
        count += 1
        if count > budget:
            raise _too_large(budget, mark)
        anchor = ev.anchor
        if anchor is not None:
            claim(anchor, mark)
        node = LMap(mark) if isinstance(ev, yaml.MappingStartEvent) else LList(mark)
        stack.append(_Frame(node, anchor, count - 1))

    def end() -> None:
        frame = stack.pop()
        node = frame.node
        if frame.merge is not None:
            assert isinstance(node, LMap)
            _apply_merge(node, *frame.merge)
        if frame.anchor is not None:
            anchors[frame.anchor] = (node, count - frame.first, node.mark)
        attach(node, node.mark)

    for ev in yaml.parse(text, Loader=loader):
        kind = type(ev)  # (not isinstance: keeps `ev: Any` for the stubs' loose types)
        if kind is yaml.ScalarEvent:
            mark = _mark(ev.start_mark)
            count += 1
            if count > budget:
                raise _too_large(budget, mark)
            value = _scalar(ev, mark)
            if ev.anchor is not None:
                claim(ev.anchor, mark)
                # an alias of a long scalar costs its length too (100 characters a node): 19,900
                # aliases of one 9 MiB string must not pass as 19,900 nodes
                anchors[ev.anchor] = (value, 1 + len(ev.value) // 100, mark)
            # `<<` as a plain key is YAML 1.1's merge key, as with SafeLoader
            merge_key = ev.value == "<<" and ev.implicit[0] and ev.tag in (None, "!")
            attach(value, mark, merge_key)
        elif kind is yaml.MappingStartEvent:
            mark = _mark(ev.start_mark)
            _check_collection_tag(ev, _MAP, "mapping", mark)
            start(ev, mark)
        elif kind is yaml.SequenceStartEvent:
            mark = _mark(ev.start_mark)
            _check_collection_tag(ev, _SEQ, "sequence", mark)
            start(ev, mark)
        elif kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
            end()
        elif kind is yaml.AliasEvent:
            mark = _mark(ev.start_mark)
            entry = anchors.get(ev.anchor)
            if entry is None:
                raise SpecError(f"undefined alias *{_clip(ev.anchor)}", mark)
            value, size, _ = entry
            if value is _OPEN:
                raise SpecError(f"alias *{_clip(ev.anchor)} is inside its own anchor", mark)
            # The alias shares the anchored object, but consumers walk it once per
            # use: budget its full size every time so a billion laughs stops here.
            count += size
            if count > budget:
                raise SpecError("alias expansion too large (billion laughs?)", mark)
            attach(value, mark)
        elif kind is yaml.DocumentStartEvent:
            documents += 1
            if documents > 1:
                raise SpecError(
                    "more than one YAML document; a spec is a single document",
                    _mark(ev.start_mark),
                )
    return root
