"""The example specs in specs/ check clean (their published figures: test_zoo.py), and docs/kinds.md is current."""

from __future__ import annotations

from pathlib import Path

import pytest

from convcalc.outputs.kinds import kinds_markdown
from convcalc.base.errors import ExitCode
from convcalc.engine.evaluate import evaluate
from convcalc.engine.check import check_text
from convcalc.spec.parser import load_spec

from helpers import ROOT, SPEC_FILES, spec_path


@pytest.mark.parametrize("path", SPEC_FILES, ids=lambda p: p.name)
def test_example_spec_checks_clean(path: Path) -> None:
    result = check_text(path.read_bytes(), str(path))
    assert result.status == ExitCode.OK, [f.text() for f in result.findings]
    assert load_spec(path.read_bytes()).expect is not None, "every example carries a top-level expect"


def test_alexnet_stem_is_an_info_flag() -> None:
    report = evaluate(load_spec(spec_path("alexnet.yaml").read_bytes()))
    # (224 + 2·2 − 11)/4 + 1 = 221/4: one padding cell unread
    assert {(f.layer, f.exact_text, f.used, f.severity) for f in report.flags} == {("conv1", "221/4", 55, "info")}


def test_kinds_doc_is_current() -> None:
    committed = (ROOT / "docs" / "kinds.md").read_text(encoding="utf-8")
    assert committed == kinds_markdown(), "regenerate: convcalc kinds --format markdown > docs/kinds.md"
