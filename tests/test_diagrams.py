"""The network graph and its text diagrams: ``show -f dot`` and ``show -f mermaid``.

The graph must agree with the table (the same boxes at every ``--depth``), join what the
evaluation's dataflow joins, and draw the zoo's branches as the papers do (Inception's four
lanes, U-Net's crops).  DOT goes through Graphviz's ``dot`` and Mermaid through Mermaid's own
parser in headless Chromium (tests/browser.py); both are required in CI, skipped elsewhere when
the tool is missing.  Spec text reaches both formats escaped: hostile names come back as the
same visible text, and add no node or edge.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from xml.etree import ElementTree
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from convcalc.base.errors import SpecError
from convcalc.base.text import visible
from convcalc.engine.evaluate import Group, Row, evaluate
from convcalc.engine.graph import INPUT, network_graph, tree
from convcalc.outputs.graph import _mermaid_text
from convcalc.spec.parser import load_spec

from helpers import SPEC_FILES, expect_exit, run, spec_path, streams
from browser import need, parse_mermaid

DEPTHS = (None, 1, 2, 3)


def report_of(path: Path):  # type: ignore[no-untyped-def]
    return evaluate(load_spec(path.read_bytes()))


def check_graph(report, depth):  # type: ignore[no-untyped-def]
    """The invariants every graph keeps, whatever the network."""
    graph = network_graph(report, depth)
    ids = [b.id for b in graph.boxes]
    assert len(ids) == len(set(ids)) and ids[0] == INPUT
    # One box per table entry that is a row or a folded group: the picture and the table agree.
    entries = tree(report, depth)
    shown = [e for e in entries if isinstance(e, Row) or (depth is not None and e.depth == depth - 1)]
    assert len(graph.boxes) == 1 + len(shown)
    # Arrows go forward in the table's order (the network is a DAG drawn left to right), never
    # to the box itself, at most once per pair, and every box but the input has one coming in.
    order = {b: i for i, b in enumerate(ids)}
    pairs = [(a.source, a.target) for a in graph.arrows]
    assert len(pairs) == len(set(pairs))
    assert all(order[s] < order[t] for s, t in pairs)
    assert {t for _, t in pairs} == set(ids[1:])
    # Clusters nest: each names an open group, after its parent.
    seen: set[str | None] = {None}
    for c in graph.clusters:
        assert c.parent in seen
        seen.add(c.id)
    assert all(b.cluster in seen for b in graph.boxes)
    # The network's outputs are marked; the figures of the boxes add up to the totals.
    assert sum(b.is_output for b in graph.boxes) >= 1
    assert sum(b.params for b in graph.boxes) == report.totals.params
    assert sum(b.macs for b in graph.boxes) == report.totals.macs
    return graph


@pytest.mark.parametrize("path", SPEC_FILES, ids=lambda p: p.name)
def test_zoo_graphs_keep_their_invariants_at_every_depth(path: Path) -> None:
    report = report_of(path)
    for depth in DEPTHS:
        check_graph(report, depth)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.deferred(lambda: __import__("test_export").random_specs()), st.sampled_from(DEPTHS))
def test_random_networks_keep_the_graph_invariants(text: str, depth: int | None) -> None:
    try:
        report = evaluate(load_spec(text))
    except SpecError:  # the generator makes some networks too small for their kernels
        assume(False)
    check_graph(report, depth)


def test_inception_is_four_lanes_from_the_input_into_one_concat() -> None:
    graph = network_graph(report_of(spec_path("inception3a.yaml")))
    by_name, by_id = {b.name: b for b in graph.boxes}, {b.id: b for b in graph.boxes}
    firsts = {"inc3a.0.conv1", "inc3a.1.conv1", "inc3a.2.conv1", "inc3a.3.pool1"}
    assert {by_id[a.target].name for a in graph.arrows if a.source == INPUT} == firsts
    concat = by_name["inc3a"]
    assert concat.kind == "concat" and str(concat.output) == "28×28×256"  # 64 + 128 + 32 + 32 (the paper's table 1)
    into = sorted(b.name for b in graph.boxes if any(a.source == b.id and a.target == concat.id for a in graph.arrows))
    assert into == ["inc3a.0.conv1", "inc3a.1.conv2", "inc3a.2.conv2", "inc3a.3.conv1"]
    lanes = [c for c in graph.clusters if c.kind == "branch"]
    assert len(lanes) == 4 and all(c.parent == "c0" for c in lanes)


@pytest.mark.parametrize("depth", DEPTHS)
def test_unet_skips_carry_their_crops_at_every_depth(depth: int | None) -> None:
    # The paper's figure 1: 64 → 56, 136 → 104, 280 → 200, 568 → 392, channels 512, 256, 128, 64.
    graph = network_graph(report_of(spec_path("unet.yaml")), depth)
    notes = sorted((a.note for a in graph.arrows if a.note), key=lambda n: int(n.split("→ ")[1].split("×")[0]))
    assert notes == ["crop → 56×56×512", "crop → 104×104×256", "crop → 200×200×128", "crop → 392×392×64"]
    by_id = {b.id: b for b in graph.boxes}
    sources = sorted(str(by_id[a.source].output) for a in graph.arrows if a.note)
    assert sources == ["136×136×256", "280×280×128", "568×568×64", "64×64×512"]


def test_folding_a_unet_level_makes_one_box_with_its_figures() -> None:
    report = report_of(spec_path("unet.yaml"))
    graph = network_graph(report, 1)
    enc1 = next(b for b in graph.boxes if b.name == "enc1")
    assert (enc1.kind, enc1.rows, enc1.summary) == ("double_conv", 2, "2 rows")
    assert enc1.params == 3 * 3 * 1 * 64 + 64 + 3 * 3 * 64 * 64 + 64  # the spec's header: 37,568
    assert str(enc1.output) == "568×568×64" and enc1.cluster is None


def test_the_table_keeps_a_lone_join_row_when_it_folds_its_siblings() -> None:
    # U-Net's `concat: {with: enc4, fit: crop}` is a group of its one row: at --depth 2 it stays.
    report = report_of(spec_path("unet.yaml"))
    names = [e.name for e in tree(report, 2) if isinstance(e, Row)]
    assert "dec4.concat1" in names and "dec4.double_conv1.conv1" not in names
    folded = [e.path for e in tree(report, 2) if isinstance(e, Group) and e.depth == 1]
    assert "dec4.double_conv1" in folded


# --- the formats ------------------------------------------------------------------------------

HOSTILE_NAME = 'a"b\\c"]; x -> y; end %% #quot; <b>&amp;</b> `m` </script>\x1b[31m\nnew line'
HOSTILE = f"""name: {json.dumps(HOSTILE_NAME)}
input: 8x8x3
layers:
  - conv: {{out: 4, kernel: 3, padding: 1}}
  - residual:
      - conv: {{out: 4, kernel: 3, padding: 1}}
  - pool: {{kernel: 3, stride: 2}}
"""


def drawn(fmt: str, *args: str, input: str | None = None) -> str:
    result = run("show", *args, "--format", fmt, input=input)
    expect_exit(result, 0)
    assert result.stderr == "", streams(result)
    assert not any(ord(c) < 32 and c != "\n" or c == "\x7f" for c in result.stdout)
    return result.stdout


def graphviz_json(dot: str) -> dict:  # type: ignore[type-arg]
    need("dot", shutil.which("dot"), "Graphviz (apt-get install graphviz)")
    done = subprocess.run(["dot", "-Tjson"], input=dot.encode(), capture_output=True, timeout=60, check=False)
    assert done.returncode == 0 and not done.stderr, done.stderr.decode(errors="replace")
    return json.loads(done.stdout)  # type: ignore[no-any-return]


@pytest.mark.parametrize("path", SPEC_FILES, ids=lambda p: p.name)
def test_zoo_dot_is_graphviz_input_with_every_box_and_arrow(path: Path) -> None:
    report = report_of(path)
    for depth in (None, 1):
        graph = network_graph(report, depth)
        doc = graphviz_json(drawn("dot", str(path), *(("--depth", str(depth)) if depth else ())))
        nodes = {o["name"] for o in doc.get("objects", ()) if "nodes" not in o}  # clusters list their nodes
        assert nodes == {b.id for b in graph.boxes}
        assert len(doc.get("edges", ())) == len(graph.arrows)


def graphviz_svg(dot: str) -> ElementTree.Element:
    need("dot", shutil.which("dot"), "Graphviz (apt-get install graphviz)")
    done = subprocess.run(["dot", "-Tsvg"], input=dot.encode(), capture_output=True, timeout=60, check=False)
    assert done.returncode == 0 and not done.stderr, done.stderr.decode(errors="replace")
    return ElementTree.fromstring(done.stdout)


def test_hostile_names_are_labels_in_dot_and_add_nothing() -> None:
    svg = graphviz_svg(drawn("dot", "-", input=HOSTILE))
    ns = "{http://www.w3.org/2000/svg}"
    groups = [g.get("class") for g in svg.iter(f"{ns}g")]
    assert groups.count("node") == 1 + 4 and groups.count("edge") == 5  # input, conv, conv, residual, pool
    texts = [t.text for t in svg.iter(f"{ns}text")]
    # conv 3→4 and conv 4→4, 3×3 with biases: 3·3·3·4 + 4 + 3·3·4·4 + 4 = 260 params; on 8×8,
    # 8·8·4·27 + 8·8·4·36 = 16,128 MACs.
    assert texts[0] == visible(HOSTILE_NAME) + ": 260 params, 16.1K MACs"


def test_mermaid_escapes_every_character_its_parser_or_html_reads() -> None:
    title = drawn("mermaid", "-", input=HOSTILE).splitlines()[1]
    assert title == f"title: '{visible(HOSTILE_NAME)}: 260 params, 16.1K MACs'"  # YAML single quotes: no escapes
    escaped = _mermaid_text('say "hi" <b>&</b> #1 `x` %% \x1b')
    assert escaped == "say #quot;hi#quot; #lt;b#gt;#amp;#lt;/b#gt; #35;1 #96;x#96; #37;#37; \\x1b"


def test_several_specs_are_refused_for_a_diagram_with_one_line() -> None:
    for fmt in ("dot", "mermaid"):
        result = run("show", str(spec_path("unet.yaml")), str(spec_path("vgg16.yaml")), "--format", fmt)
        expect_exit(result, 2)
        assert result.stdout == "" and f"-f {fmt} draws one network" in result.stderr
    done = subprocess.run([sys.executable, "-m", "convcalc", "show", str(spec_path("unet.yaml")), "--input", "572x572x1",
                           "--input", "500x500x1", "-f", "dot"], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.splitlines() == ["convcalc: error: -f dot draws one network: give one SPEC, without --summary, "
                                        "--sizes or a second --input (see 'convcalc show --help')"]


# --- Mermaid's own parser, in headless Chromium --------------------------------------------


def test_zoo_mermaid_parses_with_mermaids_parser() -> None:
    texts = {f"{p.name} depth {d}": drawn("mermaid", str(p), *(("--depth", str(d)) if d else ()))
             for p in SPEC_FILES for d in (None, 1)}
    texts["hostile"] = drawn("mermaid", "-", input=HOSTILE)
    results = parse_mermaid(list(texts.values()))
    bad = {name: r for name, r in zip(texts, results) if r != "flowchart-v2"}
    assert not bad, bad


def test_mermaids_parser_is_really_checking() -> None:
    # The harness must tell a broken diagram from a good one, or the test above proves nothing.
    good = drawn("mermaid", str(spec_path("convnet.yaml")))
    broken = good.replace('["conv1', '["conv1"]"', 1)
    assert parse_mermaid([good, broken])[0] == "flowchart-v2"
    assert parse_mermaid([good, broken])[1].startswith("error")


def test_a_branch_holding_only_a_join_folds_into_a_box_of_its_own() -> None:
    # Found by the random networks: `concat: [[{concat: [[]]}]]` makes a branch group and the
    # inner concat's own group on the same one row; only the latter is a lone join.
    text = '{"input": [3, 1], "layers": [{"conv": {"out": 1, "kernel": 1}}, {"concat": [[{"concat": [[]]}]]}]}'
    report = evaluate(load_spec(text))
    graph = check_graph(report, 2)
    assert [b.name for b in graph.boxes] == ["input", "conv1", "concat1.0", "concat1"]
    assert [(a.source, a.target) for a in graph.arrows] == [("in", "r1"), ("r1", "g1"), ("g1", "r3")]
