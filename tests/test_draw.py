"""``convcalc draw``: the picture's geometry, its files and its errors.

The picture is checked twice: here with DejaVu Sans's advance widths (fast, every zoo spec at
every folding and style), and in headless Chromium with the real font (the README's pictures
and the zoo: getBBox of every text, every arrow against every box, a canvas rendering with its
pixels counted).  The committed pictures in docs/pictures must be what `convcalc draw` makes now.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest

pytest.importorskip("drawsvg")

from convcalc.base.text import visible
from convcalc.engine.evaluate import evaluate
from convcalc.engine.graph import network_graph
from convcalc.outputs.fontmetrics import text_width
from convcalc.outputs.layout import ASCENT, DESCENT, FACE
from convcalc.spec.parser import load_spec

from helpers import ROOT, SPEC_FILES, expect_exit, run, spec_path, streams, without, write
from browser import check_svgs

SVG = "{http://www.w3.org/2000/svg}"
PICTURES = ROOT / "docs" / "pictures"
# The README's pictures: (file, spec, extra options).  Regenerate with the command in
# docs/pictures/README.md; test_committed_pictures_are_current fails when one is stale.
README_PICTURES = [
    ("resnet50-depth1.svg", "resnet50.yaml", ("--depth", "1")),
    ("unet.svg", "unet.yaml", ()),
    ("inception3a.svg", "inception3a.yaml", ()),
]


def drawn(*args: str, input: str | None = None) -> str:
    result = run("draw", *args, input=input)
    expect_exit(result, 0)
    assert result.stderr == "", streams(result)
    return result.stdout


def texts(svg: str) -> list[tuple[str, tuple[float, float, float, float]]]:
    """Each text element and its box by the font's metrics: (x0, y0, x1, y1)."""
    found = []
    for t in ElementTree.fromstring(svg.encode()).iter(f"{SVG}text"):
        size, content = float(t.get("font-size", "11")), t.text or ""
        wide = text_width(content, size, bold=t.get("font-weight") == "bold")
        x, y = float(t.get("x", "0")), float(t.get("y", "0"))
        x0 = x - wide / 2 if t.get("text-anchor") == "middle" else x
        found.append((content, (x0, y - ASCENT * size, x0 + wide, y + DESCENT * size)))
    return found


def boxes(svg: str) -> dict[str, tuple[float, float, float, float]]:
    """Each box's extent from its shapes' coordinates."""
    found = {}
    for g in ElementTree.fromstring(svg.encode()).iter(f"{SVG}g"):
        if g.get("class") != "box":
            continue
        xs, ys = [], []
        for shape in g:
            if shape.tag == f"{SVG}rect":
                x, y = float(shape.get("x", "0")), float(shape.get("y", "0"))
                xs += [x, x + float(shape.get("width", "0"))]
                ys += [y, y + float(shape.get("height", "0"))]
            elif shape.tag == f"{SVG}circle":
                cx, cy, r = (float(shape.get(k, "0")) for k in ("cx", "cy", "r"))
                xs += [cx - r, cx + r]
                ys += [cy - r, cy + r]
            elif shape.tag == f"{SVG}path":
                numbers = [float(v) for v in re.findall(r"-?[0-9.]+", shape.get("d", ""))]
                xs += numbers[0::2]
                ys += numbers[1::2]
        found[g.get("data-id", "")] = (min(xs), min(ys), max(xs), max(ys))
    return found


def arrows(svg: str) -> list[tuple[str, str, list[tuple[float, float]]]]:
    found = []
    for p in ElementTree.fromstring(svg.encode()).iter(f"{SVG}path"):
        if p.get("class") == "arrow":
            numbers = [float(v) for v in re.findall(r"-?[0-9.]+", p.get("d", ""))]
            found.append((p.get("data-from", ""), p.get("data-to", ""), list(zip(numbers[0::2], numbers[1::2]))))
    return found


def check_geometry(svg: str) -> None:
    """No two texts overlap, every text is inside the picture, no arrow crosses a box but its own."""
    root = ElementTree.fromstring(svg.encode())
    width, height = float(root.get("width", "0")), float(root.get("height", "0"))
    found = texts(svg)
    for i, (a, ra) in enumerate(found):
        assert 0 <= ra[0] and ra[2] <= width and 0 <= ra[1] and ra[3] <= height, f"{a!r} leaves the picture"
        for b, rb in found[i + 1 :]:
            apart = ra[2] <= rb[0] or rb[2] <= ra[0] or ra[3] <= rb[1] or rb[3] <= ra[1]
            assert apart, f"texts {a!r} and {b!r} overlap"
    placed = boxes(svg)
    for source, target, points in arrows(svg):
        for (x0, y0), (x1, y1) in zip(points, points[1:]):
            assert x0 == x1 or y0 == y1, "arrows run across and down, never at a slant"
            for box, (bx0, by0, bx1, by1) in placed.items():
                if box in (source, target):
                    continue
                inside = (min(x0, x1) < bx1 - 1 and max(x0, x1) > bx0 + 1 and min(y0, y1) < by1 - 1 and max(y0, y1) > by0 + 1)
                assert not inside, f"the arrow {source} → {target} crosses {box}"


@pytest.mark.parametrize("path", SPEC_FILES, ids=lambda p: p.name)
def test_zoo_pictures_keep_text_apart_and_arrows_off_boxes(path: Path) -> None:
    for options in ((), ("--depth", "1"), ("--depth", "all", "--style", "flat"), ("--scale", "linear", "--theme", "dark")):
        svg = drawn(str(path), *options)
        check_geometry(svg)
        report = evaluate(load_spec(path.read_bytes()))
        depth = options[1] if options[:1] == ("--depth",) else None
        if depth is not None:
            graph = network_graph(report, None if depth == "all" else int(depth))
            assert len(boxes(svg)) == len(graph.boxes)
            assert len(arrows(svg)) == len(graph.arrows)


def test_the_geometry_check_finds_what_it_looks_for() -> None:
    svg = drawn(str(spec_path("inception3a.yaml")))
    root = ElementTree.fromstring(svg.encode())
    first = next(root.iter(f"{SVG}text"))
    copy = ElementTree.SubElement(root, f"{SVG}text", dict(first.attrib))
    copy.text = first.text
    with pytest.raises(AssertionError, match="overlap"):
        check_geometry(ElementTree.tostring(root, encoding="unicode"))
    x0 = arrows(svg)[0][2][0][0]
    far = boxes(svg)["r8"]  # the concat: an arrow from the input straight through it is a crossing
    through = svg.replace("</svg>", f'<path class="arrow" data-from="in" data-to="r1" d="M{x0},{(far[1] + far[3]) / 2} '
                                     f'L{far[2] + 40},{(far[1] + far[3]) / 2}" /></svg>')
    with pytest.raises(AssertionError, match="crosses r8"):
        check_geometry(through)


def test_box_sizes_follow_the_chosen_scale() -> None:
    # U-Net's sizes run from 572 (the input) to 28: a face's height is FACE[0] at size 1 and
    # FACE[1] at 572, on the scale's function of the size.
    low, high = FACE
    for scale, f in (("linear", float), ("sqrt", math.sqrt), ("log", math.log)):
        svg = drawn(str(spec_path("unet.yaml")), "--scale", scale, "--style", "flat", "--depth", "all")
        rects = {g.get("data-id"): g.find(f"{SVG}rect") for g in ElementTree.fromstring(svg.encode()).iter(f"{SVG}g")
                 if g.get("class") == "box"}
        for box, size in (("in", 572), ("r14", 28), ("r3", 284)):  # input, bottom.conv2, pool1
            expected = low + (high - low) * (f(size) - f(1)) / (f(572) - f(1))
            assert float(rects[box].get("height")) == pytest.approx(expected, abs=0.01), (scale, box)


def test_3d_boxes_have_faces_and_flat_ones_do_not() -> None:
    flat = drawn(str(spec_path("convnet.yaml")), "--style", "flat")
    deep = drawn(str(spec_path("convnet.yaml")))
    def faces(svg: str) -> int:
        return sum(1 for g in ElementTree.fromstring(svg.encode()).iter(f"{SVG}g") if g.get("class") == "box"
                   for p in g if p.tag == f"{SVG}path")
    assert faces(flat) == 0 and faces(deep) == 2 * 8  # a top and a side for each of the 8 boxes (input included)


def test_dark_theme_and_flags_are_coloured() -> None:
    svg = drawn(str(spec_path("resnet50.yaml")), "--depth", "1", "--theme", "dark")
    root = ElementTree.fromstring(svg.encode())
    assert next(root.iter(f"{SVG}rect")).get("fill") == "#0d1117"
    conv1 = next(g for g in root.iter(f"{SVG}g") if g.get("data-id") == "r1")  # info flags: (224 + 6 − 7)/2 + 1
    assert conv1.find(f"{SVG}rect").get("stroke") == "#56d4c4"


def test_a_picture_is_the_same_bytes_every_time(tmp_path: Path) -> None:
    first, second = tmp_path / "a.svg", tmp_path / "b.svg"
    for out in (first, second):
        expect_exit(run("draw", str(spec_path("unet.yaml")), "-o", str(out)), 0)
    assert first.read_bytes() == second.read_bytes() and first.read_bytes().startswith(b"<?xml")


def test_committed_pictures_are_current() -> None:
    for name, spec, options in README_PICTURES:
        committed = (PICTURES / name).read_text(encoding="utf-8")
        assert committed == drawn(str(spec_path(spec)), *options), (
            f"docs/pictures/{name} is stale: regenerate it as docs/pictures/README.md says"
        )


def test_spec_text_is_escaped_and_made_visible() -> None:
    name = 'a"b <script>alert(1)</script> & \x1b[2J\u202e'
    text = f"name: {json.dumps(name)}\ninput: 8x8x3\nlayers:\n  - conv: {{out: 4, kernel: 3}}\n"
    svg = drawn("-", input=text)
    root = ElementTree.fromstring(svg.encode())  # well-formed XML
    assert not root.findall(f".//{SVG}script") and "<script>" not in svg
    assert not any(ord(c) < 32 and c != "\n" for c in svg)
    caption = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "caption"][0]
    assert caption.startswith(visible(name) + ": 8×8×3 → 6×6×4")


# --- files and errors -------------------------------------------------------------------------


def test_format_follows_the_file_name_and_writes_nothing_on_error(tmp_path: Path) -> None:
    spec = str(spec_path("convnet.yaml"))
    out = tmp_path / "net.svg"
    expect_exit(run("draw", spec, "-o", str(out)), 0)
    assert out.read_bytes().startswith(b"<?xml")
    # A directory that does not exist, and a "directory" that is a file: one line, exit 2, no file.
    for bad in (tmp_path / "missing" / "net.svg", tmp_path / "net.svg" / "inner.svg"):
        result = run("draw", spec, "-o", str(bad))
        expect_exit(result, 2)
        assert result.stdout == "" and len(result.stderr.splitlines()) == 1
        assert result.stderr.startswith(f"convcalc: error: cannot write {bad}: ")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.svg"]  # no temporary file left


def test_an_invalid_spec_is_one_located_line(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.yaml", "input: 8x8x3\nlayers:\n  - conv: {out: 4, kernel: 9}\n")
    out = tmp_path / "net.svg"
    result = run("draw", path, "-o", str(out))
    expect_exit(result, 2)
    assert result.stderr.startswith(f"{path}:3:5: error: ") and len(result.stderr.splitlines()) == 1
    assert not out.exists()


def test_a_missing_drawsvg_names_the_extra(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    without(monkeypatch, "drawsvg", ImportError("No module named 'drawsvg'"))
    out = tmp_path / "net.svg"
    result = run("draw", str(spec_path("convnet.yaml")), "-o", str(out))
    expect_exit(result, 2)
    assert result.stderr == "convcalc: error: draw needs drawsvg: pip install 'convcalc[draw]'\n"
    assert not out.exists()


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (ImportError("No module named 'cairosvg'"), "convcalc: error: PNG needs CairoSVG: pip install 'convcalc[cairo]' (or draw -f svg)\n"),
        (OSError("no library called \"cairo-2\" was found\nno library called \"cairo\" was found"),
         "convcalc: error: PNG needs the Cairo library, which CairoSVG could not load (no library called \"cairo-2\" "
         "was found): install it (Debian: apt-get install libcairo2), or draw -f svg\n"),
    ],
)
def test_a_missing_converter_names_what_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, error: BaseException, message: str
) -> None:
    without(monkeypatch, "cairosvg", error)
    out = tmp_path / "net.png"
    result = run("draw", str(spec_path("convnet.yaml")), "-o", str(out))
    expect_exit(result, 2)
    assert result.stderr == message and result.stdout == ""
    assert not out.exists()


def test_png_and_pdf_through_cairosvg(tmp_path: Path) -> None:
    pytest.importorskip("cairosvg")
    svg = drawn(str(spec_path("convnet.yaml")))
    width, height = (float(ElementTree.fromstring(svg.encode()).get(k, "0")) for k in ("width", "height"))
    png, pdf = tmp_path / "net.png", tmp_path / "net.pdf"
    expect_exit(run("draw", str(spec_path("convnet.yaml")), "-o", str(png)), 0)
    expect_exit(run("draw", str(spec_path("convnet.yaml")), "-f", "pdf", "-o", str(pdf)), 0)
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    png_width, png_height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (png_width, png_height) == (round(2 * width), round(2 * height))  # drawn at twice the SVG's size
    assert pdf.read_bytes().startswith(b"%PDF-")


def test_binary_formats_are_not_written_to_a_terminal() -> None:
    pytest.importorskip("cairosvg")
    script = ("import pty, os, sys\n"
              "pid, fd = pty.fork()\n"
              "if pid == 0:\n"
              f"    os.execv(sys.executable, [sys.executable, '-m', 'convcalc', 'draw', {str(spec_path('convnet.yaml'))!r}, '-f', 'png'])\n"
              "out = b''\n"
              "while True:\n"
              "    try:\n"
              "        chunk = os.read(fd, 4096)\n"
              "    except OSError:\n"
              "        break\n"
              "    if not chunk:\n"
              "        break\n"
              "    out += chunk\n"
              "_, status = os.waitpid(pid, 0)\n"
              "print(os.waitstatus_to_exitcode(status), repr(out.decode(errors='replace')))\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False,
                          env={**os.environ, "NO_COLOR": "1"})
    code, shown = done.stdout.split(" ", 1)
    assert code == "2" and "PNG is binary: write it to a file with -o FILE, or pipe it" in shown


# --- in Chromium, with the real font ---------------------------------------------------------


def test_pictures_render_in_chromium_without_overlaps_or_crossings() -> None:
    cases = [(name, (PICTURES / name).read_text(encoding="utf-8")) for name, _, _ in README_PICTURES]
    cases += [(f"{p.name} {style}", drawn(str(p), "--style", style)) for p in SPEC_FILES for style in ("3d",)]
    cases += [("unet flat dark", drawn(str(spec_path("unet.yaml")), "--style", "flat", "--theme", "dark"))]
    results = check_svgs([svg for _, svg in cases])
    for (name, svg), result in zip(cases, results):
        assert "error" not in result, (name, result)
        root = ElementTree.fromstring(svg.encode())
        width, height = (math.ceil(float(root.get(k, "0"))) for k in ("width", "height"))
        assert result["font"], "DejaVu Sans is not installed: the layout's metrics are its (apt-get install fonts-dejavu-core)"
        assert result["textOverlaps"] == [] and result["crossings"] == [] and result["outside"] == [], (name, result)
        assert result["texts"] == len(texts(svg)) and result["boxes"] == len(boxes(svg))
        assert result["size"] == [width, height], name
        assert result["inked"] > 0.01 * result["total"], f"{name}: the rendering is blank"


def test_the_chromium_check_finds_what_it_looks_for() -> None:
    svg = drawn(str(spec_path("inception3a.yaml")))
    box = boxes(svg)["r8"]
    y = (box[1] + box[3]) / 2
    broken = svg.replace("</svg>", f'<text x="{box[0]}" y="{y}" font-size="11">over</text>'
                                   f'<text x="{box[0] + 2}" y="{y}" font-size="11">lapping</text>'
                                   f'<path class="arrow" data-from="in" data-to="r1" d="M{box[0] - 30},{y} L{box[2] + 30},{y}" />'
                                   f'<text x="-50" y="5" font-size="11">outside</text></svg>')
    result = check_svgs([broken])[0]
    assert ["over", "lapping"] in result["textOverlaps"]
    assert ["in", "r1", "r8"] in result["crossings"]
    assert "outside" in result["outside"]
