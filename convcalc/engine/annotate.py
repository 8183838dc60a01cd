"""``convcalc annotate``: write each layer's output shape at the end of its line.

The shape-formula article advises noting each layer's output size next to it.  This module
does that to the spec's own text, as one end-of-line comment per layer line::

    - conv: {out: 10, kernel: 5}   # → 24×24×10
    - pool: {kernel: 2}            # halves  # → 12×12×10

The rules, decided here and documented in the README ("Annotating a spec"):

* **Which line.**  A layer's annotation goes on the line of its kind key (the line its row's
  ``mark`` points at); a bare item (``- relu``) is its own line.  Block calls and ``repeat``
  lines get their output too, and so do ``residual``/``concat``/``add`` lines (their join's
  output).  A node whose line already holds an enclosing node (a one-line ``repeat`` or
  ``concat`` and the layers written inside it) is covered by that outer node: the line shows the
  outer output only.  Siblings written on one line (``- [{conv: ...}, {conv: ...}]``) and lines
  evaluated several times (a block's layers, a call inside a ``repeat``) show their *distinct*
  outputs in the order first computed, joined with `` | ``; more than three become
  ``# → N shapes``.  Lines never evaluated (an unused block, ``times: 0``) get nothing.
* **What it says.**  ``# → `` then the shape as the table prints it (``24×24×10``; a flat vector
  is ``500``), then `` ⚠`` when the line's layer, or any layer evaluated under it (a block call's
  body, a repeat's iterations), has an unaccepted ``warning`` flag: real input is cut off there.
  ``info`` flags and accepted warnings add nothing; ``convcalc show`` explains every flag.
* **Recognising an annotation.**  On a line with content, the end-of-line comment is whatever
  follows the last YAML token (found with the loader's own YAML scanner, so a ``#`` inside a
  quoted value is never mistaken for one).  Inside that comment, the annotation is the first ``#`` followed by
  ``→`` (spaces between allowed) that starts the comment or follows a blank, through the end of
  the line.  Text before it is the user's own comment and is kept byte for byte; a new annotation
  is appended after two spaces.  Refreshing replaces only the annotation, so the spacing before
  it (an aligned column) is kept.  Full-line comments and lines without a layer are never read
  or changed.
* **Lines that cannot take a comment.**  A line on which a multi-line value starts and
  continues (a quoted or plain scalar broken over lines) is left alone: a comment there would
  become part of the value.  Such lines are reported as notes, never as errors.
* **Safety.**  The annotated text is parsed again and its data compared with the original's
  (types, values and key order); any difference, or an annotation that does not read back, is
  an error and nothing is written.  Line endings (LF, CRLF, CR) and a byte-order mark are kept
  per line, and the file is rewritten only when something changed, atomically (a temporary file
  in the same directory, then ``os.replace``) with its permission bits.  A file whose mode has
  no write bit is refused even for root, and a ``.json`` spec is refused (JSON has no comments).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

import yaml  # type: ignore[import-untyped,unused-ignore]

from ..base.record import Record
from ..base.errors import SpecError
from .evaluate import Row, Scope, Walk, evaluate
from ..spec.loader import load
from ..model.geometry import Shape
from ..spec.parser import Node, Spec, load_spec

ARROW = "→"
MARKER = f"# {ARROW} "
WARNING_SIGN = "⚠"
MAX_SHAPES = 3  # distinct outputs listed on one line; more become "N shapes"

# The loader's own scanner (libyaml when PyYAML has it), so both agree on what the text is.
_SCANNER = yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader
# What YAML (1.1, as PyYAML and libyaml read it) counts as a line break: marks count lines so.
_BREAK = re.compile("(\r\n|[\r\n\x85\u2028\u2029])")
# After the last token of a line: blanks, then perhaps a comment.
_TAIL = re.compile(r"([ \t]*)(#.*)?", re.DOTALL)
# An annotation inside an end-of-line comment: `#`, optional blanks, `→`, at the comment's start
# or after a blank.
_ANNOTATION = re.compile(rf"(?:(?<=[ \t])|^)#[ \t]*{ARROW}")


class Change(Record):
    """A line whose annotation is missing (``found`` is None) or stale."""

    line: int  # 1-based
    expected: str  # the whole annotation, "# → 24×24×10"
    found: str | None


class Annotated(Record):
    text: str  # the annotated spec (the input itself when nothing changed)
    changes: tuple[Change, ...]  # what changed, or for --check what would
    skipped: tuple[int, ...]  # layer lines that cannot take a comment (1-based)


class _Slot(Record):
    """Where an annotation goes on one line."""

    head: str  # the line up to the annotation: content, blanks, the user's own comment
    current: str | None  # the annotation on the line now, trailing blanks dropped


# --- what each line should say ------------------------------------------------------------


class _Line:
    __slots__ = ("shapes", "warned")

    def __init__(self) -> None:
        self.shapes: dict[Shape, None] = {}  # distinct outputs, in the order first computed
        self.warned = False


def _drops_input(row: Row) -> bool:
    return any(f.severity == "warning" and not f.accepted for f in row.flags)


class _Recorder(Walk):
    """The evaluator's walk, also noting each node's output under the line of its kind key."""

    def __init__(self, spec: Spec, batch: int) -> None:
        super().__init__(spec, batch)
        self.annotated_lines: dict[int, _Line] = {}
        self.annotating: list[int] = []  # lines of the nodes being evaluated, outermost first

    def node(self, node: Node, path: str, x: Shape, scope: Scope) -> Shape:
        line = node.mark.line
        covered = line in self.annotating  # an enclosing node on the same line speaks for it
        self.annotating.append(line)
        start = len(self.rows)
        try:
            y = super().node(node, path, x, scope)
        finally:
            self.annotating.pop()
        if not covered:
            entry = self.annotated_lines.get(line)
            if entry is None:
                entry = self.annotated_lines[line] = _Line()
            entry.shapes.setdefault(y, None)
            if not entry.warned and any(_drops_input(r) for r in self.rows[start:]):
                entry.warned = True
        return y


def annotation(shapes: Sequence[Shape], warned: bool = False) -> str:
    """``# → 24×24×10``; several shapes joined with ``|``; more than three counted; `` ⚠`` appended."""
    body = " | ".join(map(str, shapes)) if len(shapes) <= MAX_SHAPES else f"{len(shapes)} shapes"
    return f"{MARKER}{body}" + (f" {WARNING_SIGN}" if warned else "")


def expected_annotations(data: str | bytes) -> dict[int, str]:
    """Line (1-based) → the annotation it should carry.  Raises SpecError for an invalid spec."""
    spec = load_spec(data)
    if spec.input is None:  # (`show` suggests --input, which annotate has not: shapes are the file's own)
        raise SpecError("the spec has no input: add `input: 224x224x3` (H×W×C) to annotate it", spec.mark)
    report = evaluate(spec)  # the same validation, errors and flags as `convcalc show`
    walk = _Recorder(spec, report.batch)
    walk.network(report.input)
    return {line: annotation(list(e.shapes), e.warned) for line, e in sorted(walk.annotated_lines.items())}


# --- where a comment can go -----------------------------------------------------------------


def split_lines(text: str) -> list[tuple[str, str]]:
    """``(body, line break)`` per line, as YAML counts lines; joining them gives ``text`` back."""
    parts = _BREAK.split(text)
    return [(parts[i], parts[i + 1] if i + 1 < len(parts) else "") for i in range(0, len(parts), 2)]


def _layout(text: str) -> tuple[dict[int, int], set[int]]:
    """For each line (0-based) the column where its last token ends, and the lines on which a
    token starts and continues onto the next line (no comment can follow them)."""
    ends: dict[int, int] = {}
    spanned: set[int] = set()
    bom = 1 if text.startswith("\ufeff") else 0  # a byte-order mark is not counted in columns
    try:
        for token in yaml.scan(text[bom:], Loader=_SCANNER):
            start, end = token.start_mark, token.end_mark
            if end.index == start.index:  # zero-width: block ends, implicit keys, the stream
                continue
            column = end.column + (bom if end.line == 0 else 0)
            if column > ends.get(end.line, -1):
                ends[end.line] = column
            spanned.update(range(start.line, end.line))
    except yaml.YAMLError as err:  # the loader read it, so this is not expected
        raise SpecError(f"cannot annotate: the YAML scanner cannot read this spec ({err})") from None
    return ends, spanned


def _slot(body: str, end: int) -> _Slot | None:
    tail = _TAIL.fullmatch(body, end)
    if tail is None:  # not blanks and a comment after the last token: leave the line alone
        return None
    blanks, comment = tail.groups()
    if comment is None:
        return _Slot(body[:end] + "  ", None)
    found = _ANNOTATION.search(comment)
    if found is None:
        return _Slot(body[:end] + blanks + comment.rstrip(" \t") + "  ", None)
    return _Slot(body[:end] + blanks + comment[: found.start()], comment[found.start() :].rstrip(" \t"))


def _slots(text: str, lines: Sequence[int]) -> tuple[dict[int, _Slot], list[int]]:
    """The slot of each of ``lines`` (1-based), and those that cannot take a comment."""
    rows = split_lines(text)
    ends, spanned = _layout(text)
    slots: dict[int, _Slot] = {}
    skipped: list[int] = []
    for line in lines:
        i = line - 1
        slot = None
        if i < len(rows) and i in ends and i not in spanned:
            slot = _slot(rows[i][0], ends[i])
        if slot is None:
            skipped.append(line)
        else:
            slots[line] = slot
    return slots, skipped


# --- annotating -----------------------------------------------------------------------------


def _same(a: Any, b: Any) -> bool:
    """Equal data, types and key order included (``1``, ``1.0`` and ``true`` differ)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return bool(a == b)


def annotate_text(data: str | bytes) -> Annotated:
    """Annotate a spec's text (bytes are decoded as UTF-8, a byte-order mark kept).

    Raises SpecError when the spec is invalid or annotating would change its data.
    """
    notes = expected_annotations(data)
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    slots, skipped = _slots(text, list(notes))
    rows = split_lines(text)
    changes: list[Change] = []
    for line, slot in slots.items():
        note = notes[line]
        if slot.current != note:
            changes.append(Change(line, note, slot.current))
            rows[line - 1] = (slot.head + note, rows[line - 1][1])
    if not changes:
        return Annotated(text, (), tuple(skipped))
    out = "".join(body + end for body, end in rows)
    _verify(text, out, {c.line: c.expected for c in changes})
    return Annotated(out, tuple(changes), tuple(skipped))


def _verify(before: str, after: str, notes: dict[int, str]) -> None:
    """Refuse a result whose YAML data differ from the original's, or whose annotations do not
    read back as written (the next run would then change them again)."""
    problem = "it would change the spec's data"
    try:
        same = _same(load(before), load(after))
        if same:
            slots, _ = _slots(after, list(notes))
            if any(slots.get(line, _Slot("", None)).current != note for line, note in notes.items()):
                same, problem = False, "an annotation would not read back as written"
    except SpecError as err:
        same, problem = False, f"the annotated YAML would not load ({err.message})"
    if not same:
        raise SpecError(f"cannot annotate this spec: {problem}; nothing was written (please report this)")
