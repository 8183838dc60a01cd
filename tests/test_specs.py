"""The example specs in specs/ check clean, and carry the published figures."""

from __future__ import annotations

from pathlib import Path

import pytest

from convcalc.outputs.kinds import kinds_markdown
from convcalc.base.errors import ExitCode
from convcalc.engine.evaluate import evaluate
from convcalc.engine.check import check_text
from convcalc.spec.parser import load_spec

ROOT = Path(__file__).resolve().parent.parent
SPECS = sorted((ROOT / "specs").glob("*.yaml"))


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.name)
def test_example_spec_checks_clean(path: Path) -> None:
    result = check_text(path.read_bytes(), str(path))
    assert result.status == ExitCode.OK, [f.text() for f in result.findings]
    assert load_spec(path.read_bytes()).expect is not None, "every example carries a top-level expect"


# Figures published elsewhere (torchvision's models, the article's ConvNet), not convcalc's output.
PUBLISHED = {
    "convnet.yaml": (1_007_590, None, (10,)),
    "alexnet.yaml": (61_100_840, 714_188_480, (1000,)),
    "vgg16.yaml": (138_357_544, 15_470_264_320, (1000,)),
    "variants-standard.yaml": (9_030, None, (10, 10, 30)),
    "variants-dilated.yaml": (9_030, None, (10, 10, 30)),
    "variants-grouped.yaml": (3_030, None, (10, 10, 30)),
    "variants-pointwise.yaml": (120, None, (10, 10, 30)),
    "variants-separable.yaml": (423, None, (10, 10, 30)),
    "variants-dense.yaml": (903_000, None, (3000,)),
}


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_published_figures(name: str) -> None:
    params, macs, output = PUBLISHED[name]
    report = evaluate(load_spec((ROOT / "specs" / name).read_bytes()))
    assert report.totals.params == params
    if macs is not None:
        assert report.totals.macs == macs
        assert report.totals.flops == 2 * macs
    assert report.output.dims == output


def test_alexnet_stem_is_an_info_flag() -> None:
    report = evaluate(load_spec((ROOT / "specs" / "alexnet.yaml").read_bytes()))
    # (224 + 2·2 − 11)/4 + 1 = 221/4: one padding cell unread
    assert {(f.layer, f.exact_text, f.used, f.severity) for f in report.flags} == {("conv1", "221/4", 55, "info")}


def test_kinds_doc_is_current() -> None:
    committed = (ROOT / "docs" / "kinds.md").read_text(encoding="utf-8")
    assert committed == kinds_markdown(), "regenerate: convcalc kinds --format markdown > docs/kinds.md"
