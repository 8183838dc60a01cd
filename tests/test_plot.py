"""``convcalc sweep --plot``: the chart's series and front are what their definitions say (checked
against a brute force), the terminal plot puts every variant's marker where its figures are and
fits the terminal, the file plot holds every series and the front, and every bad input is one
line and exit 2."""

from __future__ import annotations

import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convcalc.engine.sweep import Sweep, Variant, axes_of, chart, sweep
from convcalc.model.geometry import Shape
from convcalc.outputs.formats import Terminal
from convcalc.outputs.plot import MARKERS, write_plot

from helpers import ROOT, expect_exit, run, without

MOBILENET = ROOT / "specs" / "mobilenet_v2.yaml"
WIDTHS = (0.5, 0.75, 1.0, 1.4)
SIZES = (160, 192, 224)


@pytest.fixture(scope="module")
def mobilenet() -> Sweep:
    variants = sweep(MOBILENET.read_bytes(), [("width", ",".join(map(str, WIDTHS)))], ",".join(map(str, SIZES)))
    return Sweep(str(MOBILENET), ("width",), None, tuple(variants))


def dominated(v: Variant, others: tuple[Variant, ...], figures: tuple[str, str]) -> bool:
    a = [v.figure(f) for f in figures]
    return any(all(o.figure(f) <= x for f, x in zip(figures, a)) and [o.figure(f) for f in figures] != a for o in others)


def test_a_series_per_width_its_points_the_sizes_and_the_front_undominated(mobilenet: Sweep) -> None:
    c = chart(mobilenet, axes_of(None, mobilenet))
    assert (c.x, c.y, c.front) == ("size", "macs", ("params", "macs"))
    assert [s.label for s in c.series] == [f"width={w}" for w in WIDTHS]
    by_setting = {(dict(v.settings)["width"], v.input.dims[0]): v for v in mobilenet.variants}
    for width, series in zip(WIDTHS, c.series):
        assert [p.x for p in series.points] == list(SIZES)
        for p in series.points:
            v = by_setting[(width, int(p.x))]
            assert p.y == v.macs
            assert p.front == (not dominated(v, mobilenet.variants, ("params", "macs")))
    # MobileNetV2 at width 0.5 on 160² has the fewest params and MACs: the front is that one point
    assert [(s.label, p.x) for s in c.series for p in s.points if p.front] == [("width=0.5", 160)]


def test_with_an_arg_on_x_a_series_per_size_and_with_two_figures_the_front_is_on_them(mobilenet: Sweep) -> None:
    c = chart(mobilenet, axes_of("width,params", mobilenet))
    assert [s.label for s in c.series] == [f"size={n}" for n in SIZES]
    assert all([p.x for p in s.points] == [Fraction(w) for w in WIDTHS] for s in c.series)
    c = chart(mobilenet, axes_of("flops,params", mobilenet))
    assert c.front == ("flops", "params")
    assert [s.label for s in c.series] == [f"width={w}" for w in WIDTHS]  # the sizes run along each series
    assert sorted((p.x, p.y) for s in c.series for p in s.points) == sorted((2 * v.macs, v.params) for v in mobilenet.variants)
    assert sum(p.front for s in c.series for p in s.points) == 1


@pytest.mark.parametrize(
    ("axes", "message"),
    [
        ("size", "--axes size: give two axes as X,Y, such as size,macs (axes: params, buffers, macs, flops, peak, size, width)"),
        ("size,mac", "--axes: unknown axis 'mac'; did you mean 'macs'? (axes: params, buffers, macs, flops, peak, size, width)"),
        ("size,peak", "--axes: the figure 'peak' needs --train"),
    ],
)
def test_bad_axes_say_what_to_give(mobilenet: Sweep, axes: str, message: str) -> None:
    from convcalc.base.errors import SpecError

    with pytest.raises(SpecError) as caught:
        axes_of(axes, mobilenet)
    assert caught.value.message == message


def _cells(text: str) -> dict[tuple[int, int], str]:
    """The markers of a terminal plot by (line, column) in the plot area (its 15 lines after the title's two)."""
    markers = {m for pair in MARKERS for m in pair}
    return {(r, k): ch for r, line in enumerate(text.splitlines()[:17]) for k, ch in enumerate(line) if ch in markers}


def test_the_terminal_plot_puts_each_variant_where_its_figures_are(mobilenet: Sweep) -> None:
    text = write_plot(mobilenet._replace(axes=("size", "macs")), Terminal(width=80))
    lines = text.splitlines()
    assert lines[0] == f"MACs against input size: {MOBILENET}"
    assert max(len(line) for line in lines) <= 80
    # the y axis runs from 0 to the first round 100M above the largest MACs, over 15 lines
    most = max(v.macs for v in mobilenet.variants)
    top = -(-most // 100_000_000) * 100_000_000
    assert lines[2].startswith(f"{top // 1_000_000}M ┤")
    axis = lines[2].index("┤")
    columns = 80 - (axis + 1) - 1
    rows = 15
    expected = {}
    for v in mobilenet.variants:
        series = WIDTHS.index(dict(v.settings)["width"])
        r = 2 + rows - 1 - round(v.macs / top * (rows - 1))
        k = axis + 1 + round((v.input.dims[0] - 160) / (240 - 160) * (columns - 1))  # x ticks 160…240 by 20
        expected[(r, k)] = MARKERS[series][0 if (dict(v.settings)["width"], v.input.dims[0]) != (0.5, 160) else 1]
    assert _cells(text) == expected
    assert "○ width=0.5   □ width=0.75   △ width=1.0   ◇ width=1.4" in lines
    assert lines[-1] == "filled: the Pareto front on params and MACs"
    assert "\x1b" not in text


def test_the_terminal_plot_in_colour_colours_each_series(mobilenet: Sweep) -> None:
    text = write_plot(mobilenet, Terminal(width=80, color=True))
    assert "\x1b[34m●\x1b[0m" in text and "\x1b[36m" not in text  # four series: the first four colours
    assert re.sub(r"\x1b\[[0-9;]*m", "", text) == write_plot(mobilenet, Terminal(width=80))


variant = st.builds(
    lambda size, params, macs: Variant((), Shape((size, size), 3), Shape((), 10), params, 0, macs, 0, 0),
    st.integers(1, 10_000), st.integers(0, 10**15), st.integers(0, 10**18),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(variant, min_size=1, max_size=40), st.integers(30, 200), st.sampled_from(["size,macs", "params,macs", "macs,params"]))
def test_any_set_of_variants_plots_within_the_width_with_a_marker_per_cell(variants: list[Variant], width: int, axes: str) -> None:
    s = Sweep("x.yaml", (), None, tuple(variants))
    text = write_plot(s._replace(axes=axes_of(axes, s)), Terminal(width=width))
    assert max(len(line) for line in text.splitlines()) <= max(width, 44)
    c = chart(s, axes_of(axes, s))
    assert 1 <= len(_cells(text)) <= len({(p.x, p.y) for p in c.series[0].points})
    assert ("●" in text) == any(p.front for p in c.series[0].points)


def test_an_empty_sweep_plots_a_line_saying_so() -> None:
    assert write_plot(Sweep("x.yaml", ("w",), None, ()), Terminal()) == "(no variant passes --where)\n"


# --- the command ---------------------------------------------------------------------------

def test_plot_alone_prints_the_plot_in_place_of_the_table(mobilenet: Sweep) -> None:
    result = run("sweep", str(MOBILENET), "--vary", "width=0.5,0.75,1.0,1.4", "--sizes", "160..224/32", "--plot")
    expect_exit(result, 0)
    assert result.stdout == write_plot(mobilenet, Terminal(width=80))
    assert result.stderr == ""


def _texts(svg: bytes) -> list[str]:
    return ["".join(t.itertext()) for t in ET.fromstring(svg).iter("{http://www.w3.org/2000/svg}text")]


def test_plot_to_an_svg_file_has_every_series_and_the_front_and_the_table_still_prints(tmp_path: Path) -> None:
    out = tmp_path / "plot.svg"
    result = run("sweep", str(MOBILENET), "--vary", "width=0.5,1.0", "--sizes", "160,224", "--plot", str(out), "-f", "csv")
    expect_exit(result, 0)
    assert result.stdout.splitlines()[0] == "width,input,output,params,buffers,macs,flops,flags,warnings"
    texts = _texts(out.read_bytes())
    assert f"MACs against input size: {MOBILENET}" in texts
    assert {"width=0.5", "width=1.0", "Pareto front on params and MACs", "input size", "MACs"} <= set(texts)
    again = tmp_path / "again.svg"
    run("sweep", str(MOBILENET), "--vary", "width=0.5,1.0", "--sizes", "160,224", "--plot", str(again))
    assert again.read_bytes() == out.read_bytes()  # no date, no random ids: the same sweep, the same file


@pytest.mark.parametrize(("suffix", "magic"), [("png", b"\x89PNG\r\n\x1a\n"), ("pdf", b"%PDF-")])
def test_plot_to_png_and_pdf(tmp_path: Path, suffix: str, magic: bytes) -> None:
    out = tmp_path / f"plot.{suffix.upper()}"
    expect_exit(run("sweep", str(MOBILENET), "--vary", "width=0.5,1.0", "--plot", str(out)), 0)
    assert out.read_bytes().startswith(magic)


def test_a_hostile_file_name_reaches_the_svg_as_text(tmp_path: Path) -> None:
    spec = tmp_path / "$\\frac{a}{b}$ <&>\x1b[31m.yaml"
    spec.write_bytes(MOBILENET.read_bytes())
    out = tmp_path / "p.svg"
    expect_exit(run("sweep", str(spec), "--vary", "width=0.5,1.0", "--plot", str(out)), 0)
    title = next(t for t in _texts(out.read_bytes()) if t.startswith("MACs against params"))
    assert title.endswith("$\\frac{a}{b}$ <&>\\x1b[31m.yaml")  # no mathtext, XML escaped, the escape made visible


def test_a_missing_matplotlib_names_the_extra_and_the_terminal_plot_still_works(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    without(monkeypatch, "matplotlib")
    out = tmp_path / "p.png"
    result = run("sweep", str(MOBILENET), "--vary", "width=0.5,1.0", "--plot", str(out))
    expect_exit(result, 2)
    assert result.stderr == ("convcalc: error: a PNG plot needs matplotlib: pip install 'convcalc[plot]' "
                             "(or --plot alone for the terminal)\n")
    assert not out.exists()
    expect_exit(run("sweep", str(MOBILENET), "--vary", "width=0.5,1.0", "--plot"), 0)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--plot", str(MOBILENET), "--vary", "width=0.5"],
         f"convcalc: error: Invalid value for '--plot': '{MOBILENET}' does not end in .svg, .png or .pdf (--plot alone "
         "draws in the terminal: put it after SPEC, or before another option) (see 'convcalc sweep --help')"),
        ([str(MOBILENET), "--vary", "width=0.5", "--axes", "size,macs"],
         "convcalc: error: --axes chooses the plot's axes: give it with --plot (or -f plot, svg, png or pdf) "
         "(see 'convcalc sweep --help')"),
        ([str(MOBILENET), "--vary", "width=0.5", "--plot", "-f", "json"],
         "convcalc: error: --plot alone draws in the terminal, not as -f json: give --plot FILE.svg|png|pdf "
         "(see 'convcalc sweep --help')"),
        ([str(MOBILENET), "--vary", "width=0.5", "--plot", "--axes", "width,flop"],
         f"{MOBILENET}: error: --axes: unknown axis 'flop'; did you mean 'flops'? (axes: params, buffers, macs, flops, "
         "peak, size, width)"),
        ([str(MOBILENET), "--vary", "width=0.5", "--plot", "/nonexistent/p.svg"],
         "convcalc: error: cannot write /nonexistent/p.svg: No such file or directory"),
        ([str(MOBILENET), "--vary", "width=0.5", "--where", "macs < 1", "--plot", "p.svg"],
         "convcalc: error: no variant passes --where: there is no plot to write to p.svg"),
    ],
)
def test_bad_plot_input_is_one_line_and_exit_2(args: list[str], message: str, tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "convcalc", "sweep", *args], capture_output=True, text=True,
                          timeout=60, check=False, cwd=tmp_path)
    assert (done.returncode, done.stdout, done.stderr) == (2, "", message + "\n")


def test_a_real_process_writes_the_plot(tmp_path: Path) -> None:
    out = tmp_path / "p.svg"
    done = subprocess.run([sys.executable, "-m", "convcalc", "sweep", str(MOBILENET), "--vary", "width=0.5,1.0",
                           "--sizes", "160,224", "--plot", str(out)], capture_output=True, text=True, check=False)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.splitlines()[0].split() == ["width", "input", "output", "params", "MACs", "FLOPs", "flags"]
    assert "width=1.0" in _texts(out.read_bytes())
