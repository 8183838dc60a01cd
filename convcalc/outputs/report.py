"""Output formats of ``show``: one function per format, registered by name.

The CLI's ``--format`` choices come from :data:`FORMATS`; adding a format touches this file
only.  Machine formats (json, csv, tsv) carry exact integers; the terminal table humanises.
The table measures cells with rich's ``cell_len`` (imported there alone, so the other formats
start fast) and writes its few styles as ANSI codes itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from ..base.record import Record
from ..base.text import json_safe, spans, visible
from . import humanize as h
from ..engine.evaluate import Flag, Report, Row
from .formats import Terminal

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..engine.receptive import Fields, RowField
    from ..engine.peak import Peak
    from ..engine.training import Training

SCHEMA_VERSION = 1


# --- the JSON document (the format page's contract; keys may be added, never renamed) ------


def flag_document(f: Flag) -> dict[str, Any]:
    return {
        "layer": f.layer,
        "axis": f.axis,
        "exact": f.exact_text,
        "used": f.used,
        "severity": f.severity,
        "unread": f.unread,
        "accepted": f.accepted,
        "formula": f.formula,
        "reason": f.reason,
        "line": f.mark.line,
        "col": f.mark.col,
    }


def row_document(
    r: Row, memory: int, rf: RowField | None = None, backward: tuple[int, int] | None = None
) -> dict[str, Any]:
    doc = {
        "index": r.number,
        "name": r.name,
        "kind": r.kind,
        "summary": r.summary,
        "input": list(r.input.dims),
        "output": list(r.output.dims),
        "layout": r.output.layout,
        "params": r.params,
        "buffers": r.buffers,
        "macs": r.macs,
        "flops": r.flops,
        "memory": memory,
        "flags": [flag_document(f) for f in r.flags] if r.flags else [],
        "depth": r.depth,
        "line": r.mark.line,
        "col": r.mark.col,
    }
    if r.inputs:
        doc["inputs"] = [list(s.dims) for s in r.inputs]
    if backward is not None:  # (backward MACs, bytes saved for backward)
        doc["backward_macs"], doc["backward_flops"], doc["saved_bytes"] = backward[0], 2 * backward[0], backward[1]
    if rf is not None:
        from .receptive import axis_document  # start-up: only with --rf

        doc["rf"] = [axis_document(a) for a in rf.axes]
    return doc


def _fields(report: Report, rf: bool) -> Fields | None:
    if not rf:
        return None
    from ..engine.receptive import receptive_fields  # start-up: only with --rf

    return receptive_fields(report)


def _training(report: Report, optimizer: str | None) -> Training | None:
    if optimizer is None:
        return None
    from ..engine.training import training  # start-up: only with --train

    return training(report, optimizer)


def _peak(report: Report, memory: bool) -> Peak | None:
    if not memory:
        return None
    from ..engine.peak import inference_peak  # start-up: only with --memory

    return inference_peak(report)


def report_document(
    report: Report, rf: bool = False, train: str | None = None, stream: bool = False, memory: bool = False
) -> dict[str, Any]:
    """The JSON document; with ``rf``, each layer gains ``rf`` and the document ``rf_notes``;
    with ``train`` (an optimizer), each layer gains its backward figures and the total ``training``;
    with ``memory``, the total gains the inference peak (``peak_activation_bytes``, ``peak_at``).
    With ``stream``, ``layers`` is an iterator that makes each layer's object as it is read, so
    that :func:`json_lines` never holds 10⁵ of them at once."""
    t = report.totals
    fields = _fields(report, rf)
    step = _training(report, train)
    layers = (
        row_document(
            r,
            report.memory(r),
            fields.rows[i] if fields else None,
            (step.backward_macs[i], step.saved_bytes[i]) if step else None,
        )
        for i, r in enumerate(report.rows)
    )
    doc: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "name": report.name,
        "description": report.description,
        "input": list(report.input.dims),
        "output": list(report.output.dims),
        "outputs": [{"name": o.name, "shape": list(o.shape.dims)} for o in report.outputs],
        "batch": report.batch,
        "dtype": report.dtype,
        "layers": layers if stream else list(layers),
        "total": {
            "params": t.params,
            "buffers": t.buffers,
            "macs": t.macs,
            "flops": t.flops,
            "activation_bytes": t.activation_bytes,
            "param_bytes": t.param_bytes,
        },
        "flags": [flag_document(f) for f in report.flags],
        "expect": {
            "checked": report.has_expect,
            "ok": not report.failures,
            "failures": [
                {"message": f.message, "line": f.mark.line if f.mark else None, "col": f.mark.col if f.mark else None}
                for f in report.failures
            ],
        },
    }
    peak = _peak(report, memory)
    if peak is not None:
        doc["total"]["peak_activation_bytes"] = peak.bytes
        doc["total"]["peak_at"] = peak.at(report)
    if step is not None:
        doc["total"]["training"] = {
            "backward_macs": step.total_backward_macs,
            "backward_flops": step.total_backward_flops,
            "saved_bytes": step.total_saved_bytes,
            "gradient_bytes": step.gradient_bytes,
            "optimizer_bytes": step.optimizer_bytes,
            "peak_bytes": step.peak_bytes,
            "optimizer": step.optimizer,
        }
    if fields is not None:
        doc["rf_notes"] = list(fields.notes)
    return doc


def json_encoder() -> Callable[[Any], str]:
    """``json.JSONEncoder(ensure_ascii=False).encode``, from CPython's C encoder itself where it
    is there: importing the json package (its decoder and scanner too) is a millisecond of
    ``show -f json``'s start-up, for the one function it needs."""
    try:
        # start-up: the C encoder alone (docstring); an older typeshed lacks encode_basestring
        from _json import encode_basestring, make_encoder  # type: ignore[attr-defined,unused-ignore]
    except ImportError:  # another Python: the json package
        import json  # start-up: only the JSON format needs it

        return json.JSONEncoder(ensure_ascii=False).encode

    def refuse(value: Any) -> Any:
        raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")

    # No circular-reference markers (a document is a tree), no indent, json's separators,
    # unsorted keys, no key skipped, NaN allowed: JSONEncoder's defaults.
    chunks = make_encoder(None, refuse, encode_basestring, None, ": ", ", ", False, False, True)
    return lambda value: "".join(chunks(value, 0))


def json_lines(document: dict[str, Any]) -> str:
    """One key per line and one list item per line: readable, greppable, and still one JSON value."""

    dump = json_encoder()  # one encoder for every row, not one per dumps()

    parts = []
    for key, value in document.items():
        if isinstance(value, Iterator) or (isinstance(value, list) and value and isinstance(value[0], dict)):
            items = [dump(v) for v in value]
            parts.append(f"  {dump(key)}: [\n    " + ",\n    ".join(items) + "\n  ]" if items else f"  {dump(key)}: []")
        else:
            parts.append(f"  {dump(key)}: {dump(value)}")
    return json_safe("{\n" + ",\n".join(parts) + "\n}\n")


def write_json(report: Report, term: Terminal) -> str:
    return json_lines(report_document(report, term.rf, term.train, stream=True, memory=term.memory))


# --- delimited rows for cut/awk/sort: a header, one row per layer, no decoration ------------

COLUMNS = ("index", "name", "kind", "input", "output", "params", "buffers", "macs", "flops", "flag")
TRAIN_COLUMNS = ("backward_macs", "backward_flops", "saved_bytes")  # with --train
RF_COLUMNS = ("rf_min", "rf_max", "jump", "start")  # with --rf: one value per axis, joined by x like shapes


def worst_flag(flags: tuple[Flag, ...]) -> str:
    """The flag column's word: warning, info, accepted, or nothing."""
    unaccepted = [f for f in flags if not f.accepted]
    if any(f.severity == "warning" for f in unaccepted):
        return "warning"
    if unaccepted:
        return "info"
    return "accepted" if flags else ""


def _cells(r: Row) -> list[Any]:
    return [
        r.number,
        r.name,
        r.kind,
        h.shape(r.input, "x"),
        h.shape(r.output, "x"),
        r.params,
        r.buffers,
        r.macs,
        r.flops,
        worst_flag(r.flags),
    ]


def _delimited(report: Report, delimiter: str, term: Terminal) -> str:
    import csv  # start-up: only CSV and TSV need these
    import io

    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    fields = _fields(report, term.rf)
    step = _training(report, term.train)
    header = COLUMNS + (("memory",) if term.memory else ()) + (TRAIN_COLUMNS if step else ())
    rows = [
        _cells(r)
        + ([report.memory(r)] if term.memory else [])
        + ([step.backward_macs[i], 2 * step.backward_macs[i], step.saved_bytes[i]] if step else [])
        for i, r in enumerate(report.rows)
    ]
    if fields is None:
        writer.writerow(header)
        writer.writerows(rows)
    else:
        from .receptive import csv_cells  # start-up: only with --rf

        writer.writerow(header + RF_COLUMNS)
        writer.writerows(cells + csv_cells(f) for cells, f in zip(rows, fields.rows))
    return out.getvalue()


def write_csv(report: Report, term: Terminal) -> str:
    return _delimited(report, ",", term)


def write_tsv(report: Report, term: Terminal) -> str:
    return _delimited(report, "\t", term)


# --- for people: markdown (exact, grouped numbers) and the terminal table -------------------


def flag_notes(report: Report) -> list[str]:
    return [f"[{i}] {f.severity}: {f.describe()}" for i, f in enumerate(report.flags, 1)]


def grouped_flag_notes(report: Report) -> list[str]:
    """:func:`flag_notes`, with flags that give the same reason (up to the axis's word for a
    cell: row, column, …) on one line: ``[1-6,9,10] info: 10 flags in 5 layers (conv1, pool1,
    …): the last 1 row or column never read is padding``.  For a terminal; ``-v`` lists each."""
    from ..model.geometry import CELL_WORDS  # start-up: only a terminal's table groups flags

    words = {w for pair in CELL_WORDS.values() for w in pair}
    pattern = r"\b(" + "|".join(sorted(words, key=len, reverse=True)) + r")\b"
    import re  # start-up: only a terminal's table groups flags

    groups: dict[tuple[str, bool, str], list[tuple[int, Flag, str]]] = {}
    for i, f in enumerate(report.flags, 1):
        found = re.search(pattern, f.reason)
        key = (f.severity, f.accepted, re.sub(pattern, "\0", f.reason, count=1))
        groups.setdefault(key, []).append((i, f, found.group(1) if found else ""))
    notes: list[tuple[int, str]] = []
    for (severity, accepted, reason), members in groups.items():
        if len(members) == 1:
            i, f, _ = members[0]
            notes.append((i, f"[{i}] {severity}: {f.describe()}"))
            continue
        cell = " or ".join(dict.fromkeys(w for _, _, w in members if w))
        layers = list(dict.fromkeys(f.layer for _, f, _ in members))
        shown = ", ".join(layers[:2]) + (", …" if len(layers) > 2 else "")
        note = " (accepted: allow_inexact)" if accepted else ""
        numbers = _ranges([i for i, _, _ in members])
        text = reason.replace("\0", cell)
        notes.append((members[0][0], f"[{numbers}] {severity}: {len(members)} flags in {len(layers)} layer"
                      f"{'s' if len(layers) > 1 else ''} ({shown}): {text}{note}"))
    notes.sort()
    return [text for _, text in notes] + (["(-v lists each flag)"] if len(notes) < len(report.flags) else [])


# Lines of the table's output besides its rows: the title, the header and rule, the totals, the
# notes' first lines; a table taller than the terminal less these is folded (Terminal.fold).
TABLE_FRAME = 14


def fold_depth(report: Report, rows: int) -> int | None:
    """The deepest ``--depth`` whose table has at most ``rows`` rows (1 when none has), or None
    when the whole table fits."""
    from ..engine.graph import tree  # start-up: only the table folds (JSON, CSV never)

    if len(tree(report, None)) <= rows:
        return None
    deepest = max((g.depth for g in report.groups), default=0) + 1
    for depth in range(deepest, 0, -1):
        if len(tree(report, depth)) <= rows:
            return depth
    return 1


def _marker(report: Report) -> Callable[[Sequence[Row]], str]:
    """Flag markers such as ``warning[1,2] info[3]`` for a row or a group's rows, numbered like :func:`flag_notes`."""
    numbers = {id(f): i for i, f in enumerate(report.flags, 1)}

    def marker(rows: Sequence[Row]) -> str:
        words: dict[str, list[int]] = {}
        for r in rows:
            for f in r.flags:
                words.setdefault("accepted" if f.accepted else f.severity, []).append(numbers[id(f)])
        return " ".join(f"{word}[{_ranges(found)}]" for word, found in sorted(words.items(), key=_severity_order))

    return marker


def _severity_order(item: tuple[str, list[int]]) -> int:
    return ("warning", "info", "accepted").index(item[0])


def _ranges(numbers: list[int]) -> str:
    """1,2,3,5 → 1-3,5: a folded group can hold hundreds of flags."""
    return ",".join(spans(numbers, ",", "-"))


def totals_lines(
    report: Report, exact: bool, step: Training | None = None, peak: Peak | None = None
) -> list[tuple[str, str]]:
    t = report.totals
    num = h.grouped if exact else (lambda n: f"{h.count(n)} ({h.grouped(n)})")
    lines = [
        ("params (trainable)", num(t.params)),
        ("buffers (running stats)", num(t.buffers)),
        ("MACs (multiply-accumulates)", num(t.macs)),
        ("FLOPs (= 2 × MACs)", num(t.flops)),
        (f"activations ({report.dtype}, batch {report.batch})", h.data_size(t.activation_bytes)),
        (f"params memory ({report.dtype})", h.data_size(t.param_bytes)),
    ]
    if peak is not None:
        lines.append((f"peak live activations at {visible(peak.at(report))}", h.data_size(peak.bytes)))
    if step is not None:
        lines += [
            ("backward MACs (training)", num(step.total_backward_macs)),
            ("backward FLOPs (= 2 × MACs)", num(step.total_backward_flops)),
            (f"saved for backward ({report.dtype}, batch {report.batch})", h.data_size(step.total_saved_bytes)),
            (f"gradients ({report.dtype})", h.data_size(step.gradient_bytes)),
            (f"optimizer state ({step.optimizer})", h.data_size(step.optimizer_bytes)),
            ("training step peak (estimate)", h.data_size(step.peak_bytes)),
        ]
    return lines


def outputs_text(report: Report, one: str = "") -> str:
    """``12×12×10``, or each output with its name when the spec lists several."""
    if len(report.outputs) <= 1:
        return one + h.shape(report.output)
    return "outputs " + ", ".join(f"{visible(o.name)} {h.shape(o.shape)}" for o in report.outputs)


def write_markdown(report: Report, term: Terminal) -> str:
    marker = _marker(report)
    lines = []
    if report.name:
        lines += [f"### {visible(report.name)}", ""]
    if report.description:
        lines += [visible(report.description.strip()), ""]
    lines += [f"Input {h.shape(report.input)} → {outputs_text(report, 'output ')}", ""]
    fields = _fields(report, term.rf)
    rf_head, rf_rule = (f" {rf_header(report)} |", "---|") if fields else ("", "")
    step = _training(report, term.train)
    mem_head, mem_rule = (" memory |", "--:|") if term.memory else ("", "")
    bwd_head, bwd_rule = (" backward FLOPs | saved |", "--:|--:|") if step else ("", "")
    lines.append(
        f"| # | name | kind | kernel/stride/pad | output | params | MACs | FLOPs |{mem_head}{bwd_head} flags |{rf_head}"
    )
    lines.append(f"|--:|---|---|---|---|--:|--:|--:|{mem_rule}{bwd_rule}---|{rf_rule}")
    for r in report.rows:
        rf_cell = f" {rf_text(fields.rows[r.number - 1])} |" if fields else ""
        mem_cell = f" {h.grouped(report.memory(r))} B |" if term.memory else ""
        i = r.number - 1
        bwd_cell = f" {h.grouped(2 * step.backward_macs[i])} | {h.grouped(step.saved_bytes[i])} B |" if step else ""
        lines.append(
            f"| {r.number} | {r.name} | {r.kind} | {r.summary} | {h.shape(r.output)} | {h.grouped(r.params)} "
            f"| {h.grouped(r.macs)} | {h.grouped(r.flops)} |{mem_cell}{bwd_cell} {marker([r])} |{rf_cell}"
        )
    totals = totals_lines(report, exact=True, step=step, peak=_peak(report, term.memory))
    lines += ["", *(f"- {k}: {v}" for k, v in totals)]
    notes = flag_notes(report) + [f"expect failed: {f.message}" for f in report.failures]
    if fields:
        notes += [f"receptive field: {n}" for n in (RF_LEGEND, *fields.notes)]
    if notes:
        lines += ["", *(f"- {n}" for n in notes)]
    return "\n".join(lines) + "\n"


RF_LEGEND = (
    "size on the input grid (min–max over output positions) /jump (effective stride); "
    "∅: some outputs depend on no input; all: a flat row, the hull of everything"
)


def rf_header(report: Report) -> str:
    from ..model.geometry import axis_names  # start-up: only with --rf

    return f"RF ({'×'.join(axis_names(report.input.rank))})"


def rf_text(field: RowField) -> str:
    from .receptive import cell  # start-up: only with --rf

    return cell(field)


TABLE_COLUMNS = (  # header, right-aligned
    ("#", True),
    ("name", False),
    ("kind", False),
    ("kernel/stride/pad", False),
    ("output", True),
    ("params", True),
    ("MACs", True),
    ("FLOPs", True),
    ("flags", False),
)


def write_table(report: Report, term: Terminal) -> str:
    """The terminal table, laid out and styled here (rich measures the cells).

    rich's own Table measures every cell several times (about 0.4 ms a row); a network of a few
    hundred rows would spend most of a run there, so the columns are sized once, here.
    """
    from rich.cells import cell_len  # start-up: rich only for the table

    from ..engine.graph import tree  # start-up: only the table folds (JSON, CSV never)

    marker_of = _marker(report)
    depth, folded_note = term.depth, ""
    if term.fold and depth is None and term.height is not None:
        depth = fold_depth(report, term.height - TABLE_FRAME)
        if depth is not None:
            folded_note = f"folded {depth} level{'s' if depth > 1 else ''} deep to fit the terminal: --depth all shows every row"
    fields = _fields(report, term.rf)
    step = _training(report, term.train)
    extra = [("memory", True)] * term.memory + [("bwd FLOPs", True), ("saved", True)] * (step is not None)
    columns = [*TABLE_COLUMNS[:-1], *extra, TABLE_COLUMNS[-1], *([(rf_header(report), True)] if fields else [])]
    lines: list[tuple[list[str], str | None]] = [([c for c, _ in columns], "bold")]
    for entry in tree(report, depth):
        if isinstance(entry, Row):
            r = entry
            marker = marker_of([r])
            name = "  " * r.depth + ("↳ " if r.inputs else "") + r.name.rpartition(".")[2]  # as --at and errors name it
            figures = (r.params, r.macs, r.flops)
            written = report.memory(r)
            backward = 2 * step.backward_macs[r.number - 1] if step else 0
            saved = step.saved_bytes[r.number - 1] if step else 0
            cells = [str(r.number), name, r.kind, r.summary, h.shape(r.output)]
            rf_cell = rf_text(fields.rows[r.number - 1]) if fields else ""
        else:
            g, inside = entry, report.rows[entry.start : entry.end]
            folded = depth is not None and g.depth == depth - 1
            marker = marker_of(inside)
            name = "  " * g.depth + ("▸ " if folded else "▾ ") + g.path.rpartition(".")[2]
            figures = (sum(r.params for r in inside), sum(r.macs for r in inside), sum(r.flops for r in inside))
            written = sum(report.memory(r) for r in inside)
            backward = 2 * sum(step.backward_macs[entry.start : entry.end]) if step else 0
            saved = sum(step.saved_bytes[entry.start : entry.end]) if step else 0
            cells = ["", name, g.kind, f"{len(inside)} row{'' if len(inside) == 1 else 's'}", h.shape(g.output)]
            rf_cell = rf_text(fields.rows[g.end - 1]) if fields and folded else ""  # a folded group: its output's
        cells += [h.count(n) if n else "–" for n in figures]
        if term.memory:
            cells.append(h.data_size(written))
        if step:
            cells += [h.count(backward) if backward else "–", h.data_size(saved) if saved else "–"]
        cells.append(marker)
        if fields:
            cells.append(rf_cell)
        lines.append((cells, "bold red" if "warning" in marker else ("yellow" if "info" in marker else None)))
    widths = [max(cell_len(cells[i]) for cells, _ in lines) for i in range(len(columns))]
    flag_column = len(TABLE_COLUMNS) - 1 + len(extra)
    gap = 3
    if term.width is not None:  # a terminal, or --width: fit it (DROPPED_FIRST and after)
        depth = max((len(cells[1]) - len(cells[1].lstrip(" "))) // 2 for cells, _ in lines[1:]) if lines[1:] else 0
        fit = fit_columns([c for c, _ in columns], widths, term.width,
                          flagless=not any(cells[flag_column] for cells, _ in lines[1:]), depth=depth)
        for cells, _ in lines[1:]:
            name = cells[1].lstrip(" ")
            nested = " " * ((len(cells[1]) - len(name)) // 2 * fit.indent)
            cells[1] = middle_cut(nested + name, fit.name_width, cell_len)
        widths[1] = max(cell_len(cells[1]) for cells, _ in lines)
        flag_column = fit.shown.index(flag_column) if flag_column in fit.shown else -1
        columns = [columns[i] for i in fit.shown]
        widths = [widths[i] for i in fit.shown]
        lines = [([cells[i] for i in fit.shown], style) for cells, style in lines]
        gap = fit.gap

    segments: list[tuple[str, str | None]] = []  # the text with its styles, for rich or as it is

    def add(text: str, style: str | None = None) -> None:
        segments.append((text, style))

    def line(cells: list[str], style: str | None, header: bool = False) -> None:
        add("  ", "bold" if header else None)
        for i, (cell, (_, right)) in enumerate(zip(cells, columns)):
            pad = " " * (widths[i] - cell_len(cell))
            if i:
                add(" " * gap)
            cell_style = "bold" if header else (style or "dim") if i == flag_column else None
            add(pad + cell if right else cell + pad, cell_style)

    title = f"{visible(report.name)}: " if report.name else ""
    add(f"{title}{h.shape(report.input)} → {outputs_text(report)}\n\n", "bold")
    if not term.quiet:  # -q: the totals and the warnings only
        line(lines[0][0], None, header=True)
        add("\n " + "─" * (sum(widths) + gap * (len(widths) - 1) + 2) + "\n")
        for cells, style in lines[1:]:
            line(cells, style)
            add("\n")
        description = visible((report.description or "").strip())
        if description:  # Text, never markup: names and descriptions come from the spec and may hold [brackets]
            add(f"\n{description}\n")
        add("\n")
    totals = totals_lines(report, exact=False, step=step, peak=_peak(report, term.memory))
    values = max(len(v) for _, v in totals)
    if term.width is not None:  # a long label (a row's name) is cut in the middle to fit
        totals = [(middle_cut(k, term.width - 2 - values, cell_len), v) for k, v in totals]
    label = max(len(k) for k, _ in totals)
    for k, v in totals:
        add(k.ljust(label), "bold")
        add("  " + v.rjust(values) + "\n")

    def note(text: str, style: str | None = None) -> None:  # wrapped to a terminal's width, not cropped
        for part in wrapped(text, term.width):
            add(part + "\n", style)

    notes = flag_notes(report) if term.verbose or not term.height else grouped_flag_notes(report)
    if term.quiet:
        notes = [text for text in notes if "] warning:" in text]
    if notes:
        add("\n")
        for text in notes:
            note(text, "red" if "] warning:" in text else "yellow")
    if folded_note and not term.quiet:
        add("\n")
        note(folded_note)
    if fields:
        add("\n")
        for text in (RF_LEGEND, *fields.notes):
            note(f"receptive field: {text}")
    for f in report.failures:
        where = f"line {f.mark.line}: " if f.mark else ""
        note(f"expect failed: {where}{f.message}", "bold red")
    if term.width is None and not term.color:  # a pipe or a file: no colour and no width to fit
        return "\n".join(text.rstrip() for text in "".join(t for t, _ in segments).splitlines()) + "\n"
    return styled(segments, term.width, term.color, cell_len)


# Fitting a terminal: what a row gives up while it is wider than the terminal, in this order and
# each step only while still too wide: the flags column when no row has a flag, the FLOPs
# column (twice MACs), the kernel/stride/pad column, a cell of the gaps between columns, the
# row number column, a cell of each nesting level's indent; then the names are cut in the middle
# with "…", down to NAME_MIN cells; a row still too wide is cropped at the edge with "…".
DROPPED_FIRST = ("flags", "FLOPs", "kernel/stride/pad")
NAME_MIN = 8


class Fit(Record):
    """How the table fits a width: the columns shown (indices), the gap between two columns,
    the indent per nesting level and the name column's width."""

    shown: list[int]
    gap: int
    indent: int
    name_width: int


def fit_columns(headers: list[str], widths: list[int], width: int, flagless: bool, depth: int) -> Fit:
    """How rows of ``widths`` (under ``headers``; names nested up to ``depth`` levels, two cells
    each) fit in ``width`` cells (two of margin, and the rule under the header one wider)."""
    shown, gap, indent = list(range(len(headers))), 3, 2
    name = headers.index("name")

    def row_width() -> int:
        name_cells = widths[name] - (2 - indent) * depth
        return 3 + sum(widths[i] for i in shown if i != name) + name_cells + gap * (len(shown) - 1)

    steps = [*(("drop", h) for h in DROPPED_FIRST), ("gap", ""), ("drop", "#"), ("indent", "")]
    for step, header in steps:
        if row_width() <= width:
            break
        if step == "gap":
            gap = 2
        elif step == "indent":
            indent = 1
        elif header in headers and (header != "flags" or flagless):
            shown.remove(headers.index(header))
    name_width = widths[name] - (2 - indent) * depth
    return Fit(shown, gap, indent, max(min(name_width, NAME_MIN), name_width - max(row_width() - width, 0)))


def wrapped(text: str, width: int | None) -> list[str]:
    """``text`` as lines of at most ``width`` characters (continuations indented), or as it is."""
    if width is None or len(text) <= width:
        return [text]
    import textwrap  # start-up: only a note wider than a terminal

    return textwrap.wrap(text, width, subsequent_indent="    ", break_on_hyphens=False) or [text]


def middle_cut(text: str, width: int, cell_len: Callable[[str], int]) -> str:
    """``text`` in at most ``width`` cells: its indent kept and the rest cut in the middle with "…"."""
    if cell_len(text) <= width:
        return text
    body = text.lstrip(" ▾▸")
    indent = text[: len(text) - len(body)]
    room = width - cell_len(indent) - 1
    if room < 2:
        return text[: max(width - 1, 0)] + "…"
    head, tail = "", ""
    for ch in body:  # the first half of the room from the start, the rest from the end
        if cell_len(head + ch) > (room + 1) // 2:
            break
        head += ch
    for ch in reversed(body):
        if cell_len(head) + cell_len(ch + tail) > room:
            break
        tail = ch + tail
    return f"{indent}{head}…{tail}"


SGR = {"bold": "1", "dim": "2", "red": "31", "yellow": "33"}  # the styles the table uses, as ANSI codes


def styled(
    segments: Sequence[tuple[str, str | None]], width: int | None, color: bool, cell_len: Callable[[str], int]
) -> str:
    """The text for a terminal: each line cropped to ``width`` cells with an ellipsis (never
    wrapped), each styled segment in its ANSI codes when ``color`` (the codes rich writes for
    them; rich's Console itself costs a third of the table's start-up)."""
    lines: list[list[tuple[str, str | None]]] = [[]]
    for text, style in segments:
        for k, part in enumerate(text.split("\n")):
            if k:
                lines.append([])
            if part:
                lines[-1].append((part, style))
    out = []
    for line in lines[:-1] if lines and not lines[-1] else lines:
        while line and not line[-1][0].strip():  # trailing padding is not cropped, it is dropped
            line = line[:-1]
        if line:
            line[-1] = (line[-1][0].rstrip(), line[-1][1])
        kept: list[tuple[str, str | None]] = list(line)
        if width is not None and sum(cell_len(part) for part, _ in line) > width:
            kept, used = [], 0  # crop: what fits in width − 1 cells, then …
            for part, style in line:
                cut = ""
                for ch in part:
                    if used + cell_len(cut + ch) > width - 1:
                        break
                    cut += ch
                used += cell_len(cut)
                if cut != part:
                    kept.append((cut + "…", style))
                    break
                kept.append((part, style))
        text = "".join(f"\x1b[{';'.join(SGR[w] for w in style.split())}m{part}\x1b[0m" if color and style else part
                       for part, style in kept)
        out.append(text.rstrip())
    return "\n".join(out) + "\n"
