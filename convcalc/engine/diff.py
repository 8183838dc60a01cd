"""``convcalc diff A B``: what changed between two networks, layer by layer, for code review.

Rows are aligned by their name path.  A row of A that B lacks and a row of B that A lacks are a
rename when they are the same layer otherwise (kind, output, params and MACs), paired in order;
the rest are removed and inserted.  A row present in both is listed when its output shape,
params, MACs or flags changed.  The totals follow, before and after.
"""

from __future__ import annotations

from typing import Any

from ..base.errors import SpecError
from ..base.record import Record
from .evaluate import Report, Row

FIELDS = ("output", "params", "macs", "flags")
TOTALS = ("params", "buffers", "macs", "flops", "activation_bytes", "param_bytes")


class RowChange(Record):
    status: str  # "changed", "inserted", "removed" or "renamed"
    name: str  # the row's name in B (in A when removed)
    before: str | None  # A's name, for a rename
    fields: tuple[tuple[str, Any, Any], ...]  # (field, A's value, B's value) for what differs


class Diff(Record):
    a: str  # how the command line named the two sides
    b: str
    input: tuple[str, str]
    output: tuple[str, str]
    changes: tuple[RowChange, ...]
    totals: tuple[tuple[str, int, int], ...]  # (figure, A's, B's), every figure

    @property
    def changed(self) -> bool:
        return bool(self.changes) or any(a != b for _, a, b in self.totals) or self.output[0] != self.output[1]


def _flags(row: Row) -> str:
    """A row's flags in a word: ``2 info``, ``1 warning, 1 info``, or nothing."""
    unaccepted = [f.severity for f in row.flags if not f.accepted]
    return ", ".join(f"{unaccepted.count(s)} {s}" for s in ("warning", "info") if s in unaccepted)


def _values(row: Row) -> tuple[Any, ...]:
    return (str(row.output), row.params, row.macs, _flags(row))


def diff(a: Report, b: Report, a_name: str, b_name: str) -> Diff:
    if a.input.rank != b.input.rank or a.input.tokens != b.input.tokens:
        raise SpecError(f"{a_name} takes {a.input} and {b_name} takes {b.input}: diff compares networks whose "
                        "inputs have the same rank")
    in_a = {r.name: r for r in a.rows}
    in_b = {r.name: r for r in b.rows}
    removed = [r for r in a.rows if r.name not in in_b]
    inserted = [r for r in b.rows if r.name not in in_a]
    renamed: dict[str, Row] = {}  # B's name → A's row
    for r in inserted:
        same = next((old for old in removed if (old.kind, *_values(old)) == (r.kind, *_values(r))), None)
        if same is not None:
            removed.remove(same)
            renamed[r.name] = same
    changes = []
    for r in b.rows:
        if r.name in renamed:
            changes.append(RowChange("renamed", r.name, renamed[r.name].name, ()))
        elif r.name not in in_a:
            changes.append(RowChange("inserted", r.name, None, tuple((f, None, v) for f, v in zip(FIELDS, _values(r)))))
        else:
            pairs = zip(FIELDS, _values(in_a[r.name]), _values(r))
            fields = tuple((f, old, new) for f, old, new in pairs if old != new)
            if fields:
                changes.append(RowChange("changed", r.name, None, fields))
    changes += [RowChange("removed", r.name, None, tuple((f, v, None) for f, v in zip(FIELDS, _values(r)))) for r in removed]
    totals = tuple((t, int(getattr(a.totals, t)), int(getattr(b.totals, t))) for t in TOTALS)
    return Diff(a_name, b_name, (str(a.input), str(b.input)), (str(a.output), str(b.output)), tuple(changes), totals)
