"""Every output format convcalc writes, in one registry that the commands share.

A format is a name, a line of help, and its writer for each command that offers it (a function
of :mod:`convcalc.outputs` named ``module:function``, imported only when that format is asked
for, so that ``-f json`` never loads rich).  A command's ``--format`` choices are the formats
that have a writer for it, in this file's order; adding a format, or a format to a command,
touches this file and the writer alone.  Every writer prints nothing and returns text, but
PNG's and PDF's, which return bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any

from ..base.record import Record


class Format(Record):
    name: str
    help: str
    writers: Mapping[str, str]  # command → "module:function" in convcalc.outputs


SCALES = ("log", "sqrt", "linear")  # how a picture's boxes follow H, W and C
MOST_BOXES = 2000  # the most boxes a picture draws (about a second and 60 MiB); more is refused


class DrawStyle(Record):
    """How ``convcalc draw`` draws: the boxes' scale, 3-D or flat boxes, and the colours."""

    scale: str = "log"  # log, sqrt or linear
    three_d: bool = True
    theme: str = "light"  # light or dark


class Terminal(Record):
    """Where and how the output is shown: decided by the CLI from the real stream, faked by tests."""

    is_tty: bool = False
    color: bool = False
    width: int | None = None
    depth: int | None = None  # fold groups nested this deep into one row (the table only)
    rf: bool = False  # add each row's receptive field (show --rf)
    memory: bool = False  # add each row's output memory (show --memory)
    train: str | None = None  # add the training figures with this optimizer (show --train)
    # Only when standard output is a terminal (never for a pipe or a machine format):
    height: int | None = None  # its lines: a longer table is folded (fold), unless --depth is given
    fold: bool = False  # fold a table taller than height to the deepest depth that fits
    verbose: bool = False  # -v: every flag on its own line (else repeated flags are grouped)
    quiet: bool = False  # -q: only the totals, the warnings and failed expects
    drawing: DrawStyle = DrawStyle()  # convcalc draw's options
    source: str | None = None  # the spec's text, which -f html shows with its lines linked to the rows


def _register(*formats: Format) -> dict[str, Format]:
    registry: dict[str, Format] = {}
    for f in formats:
        if f.name in registry:
            raise ValueError(f"output format {f.name!r} is defined twice")
        registry[f.name] = f
    return registry


FORMATS = _register(
    Format(
        "text",
        "lines for people and editors: path:line:col findings, solve's sets, the kinds listing",
        {"check": "check:write_text", "solve": "solve:write_text", "kinds": "kinds:kinds_text",
         "explain": "explain:write_text", "diff": "diff:write_text"},
    ),
    Format("github", "GitHub Actions workflow commands (::error file=…)", {"check": "check:write_github"}),
    Format(
        "json",
        "one JSON document with exact integers, for scripts",
        {"show": "report:write_json", "check": "check:write_json", "solve": "solve:write_json",
         "summary": "summary:write_json", "several": "summary:json_lines", "explain": "explain:write_json",
         "sweep": "sweep:write_json", "diff": "diff:write_json"},
    ),
    Format("csv", "one row per layer, exact integers",
           {"show": "report:write_csv", "summary": "summary:write_csv", "several": "summary:several_csv",
            "sweep": "sweep:write_csv"}),
    Format("tsv", "one row per layer, tab-separated, exact integers",
           {"show": "report:write_tsv", "summary": "summary:write_tsv", "several": "summary:several_tsv",
            "sweep": "sweep:write_tsv"}),
    Format(
        "markdown",
        "a table for a README or a pull request, with grouped integers",
        {"show": "report:write_markdown", "kinds": "kinds:kinds_markdown", "summary": "summary:write_markdown",
         "several": "summary:several_markdown", "explain": "explain:write_markdown", "sweep": "sweep:write_markdown",
         "diff": "diff:write_markdown"},
    ),
    Format("dot", "a Graphviz diagram (dot -Tsvg), boxes folded by --depth", {"show": "graph:write_dot"}),
    Format("mermaid", "a Mermaid flowchart for a README (GitHub draws it), folded by --depth",
           {"show": "graph:write_mermaid"}),
    Format("html", "one self-contained page: the picture, a foldable table, the flags, the spec",
           {"show": "html:write_html"}),
    Format("svg", "draw's picture of the network (the draw extra); sweep's plot (the plot extra)",
           {"draw": "svg:write_svg", "sweep": "plot:write_svg"}),
    Format("png", "the picture as PNG, twice the SVG's size (the draw and cairo extras); sweep's plot (plot)",
           {"draw": "svg:write_png", "sweep": "plot:write_png"}),
    Format("pdf", "the picture as PDF (the draw and cairo extras); sweep's plot (plot)",
           {"draw": "svg:write_pdf", "sweep": "plot:write_pdf"}),
    Format("plot", "the variants plotted in the terminal, a series per setting, the Pareto front filled",
           {"sweep": "plot:write_plot"}),
    Format("table", "the per-layer table for a terminal",
           {"show": "report:write_table", "summary": "summary:write_table", "several": "summary:several_tables",
            "sweep": "sweep:write_table"}),
)


def choices(command: str) -> list[str]:
    """The formats that ``command`` can write, in the registry's order."""
    return [name for name, f in FORMATS.items() if command in f.writers]


def writer(name: str, command: str) -> Callable[..., str]:
    """The function that writes format ``name`` for ``command`` (KeyError if it has none)."""
    module, _, function = FORMATS[name].writers[command].partition(":")
    found: Any = getattr(import_module(f"{__package__}.{module}"), function)
    return found  # type: ignore[no-any-return]
