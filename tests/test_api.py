"""The Python API (``import convcalc``): loading from a path, text or data, evaluating,
the report as the JSON document, checking, errors, typing, and a cheap import."""

from __future__ import annotations

import doctest
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped,unused-ignore]

import convcalc
import convcalc.api

from helpers import CONVNET_PATH as CONVNET, ROOT, SPEC_FILES, SPECS

STRIDED = """\
name: strided
input: 32x32x3
layers:
  - conv: {out: 16, kernel: 3, stride: 2}
"""


def positionless(document: Any) -> Any:
    """A report document without line/col figures (Python data has no positions)."""
    if isinstance(document, dict):
        return {k: positionless(v) for k, v in document.items() if k not in ("line", "col")}
    if isinstance(document, list):
        return [positionless(v) for v in document]
    return document


# --- loading -------------------------------------------------------------------------------


def test_path_text_and_bytes_give_equal_reports() -> None:
    text = CONVNET.read_text(encoding="utf-8")
    reports = [
        convcalc.load_path(CONVNET),
        convcalc.load_path(str(CONVNET)),
        convcalc.load_text(text),
        convcalc.load_text(text.encode("utf-8")),
        convcalc.load(CONVNET),
        convcalc.load(str(CONVNET)),
        convcalc.load(text),
    ]
    documents = [convcalc.report_dict(convcalc.evaluate(s)) for s in reports]
    assert all(d == documents[0] for d in documents)
    assert documents[0]["total"]["params"] == 1007590


@pytest.mark.parametrize("path", SPEC_FILES, ids=lambda p: p.name)
def test_dict_gives_the_same_report_as_the_file(path: Path) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    from_dict = convcalc.report_dict(convcalc.evaluate(convcalc.load_dict(data)))
    from_file = convcalc.report_dict(convcalc.evaluate(convcalc.load_path(path)))
    assert positionless(from_dict) == positionless(from_file)
    assert convcalc.load(data) == convcalc.load_dict(data)


def test_dict_accepts_tuples_and_nested_python_data() -> None:
    spec = convcalc.load_dict(
        {
            "input": (28, 28, 1),
            "layers": [{"conv": {"out": 10, "kernel": (5, 5)}}, "flatten", {"dense": {"out": 10}}],
            "expect": {"output": 10, "params": 260 + 5760 * 10 + 10},
        }
    )
    report = convcalc.evaluate(spec)
    assert report.output.dims == (10,)
    assert not report.failures


def test_load_tells_text_from_a_path() -> None:
    assert convcalc.load("input: 10\nlayers: [relu]").input == (10,)
    assert convcalc.load("{input: 10, layers: [relu]}").input == (10,)  # one line, but `key: value`
    assert convcalc.load(b"input: 10\nlayers: [relu]").input == (10,)
    with pytest.raises(convcalc.SpecError, match="cannot read the file"):
        convcalc.load("no-such-spec.yaml")  # a path
    with pytest.raises(TypeError):
        convcalc.load(3)  # type: ignore[arg-type]


def test_evaluate_takes_a_source_and_overrides() -> None:
    report = convcalc.evaluate(str(CONVNET), input="32x32x1", batch=8)
    assert report.batch == 8
    assert report.rows[0].output.dims == (28, 28, 10)
    assert report == convcalc.evaluate(convcalc.load(CONVNET), input=(32, 32, 1), batch=8)
    assert convcalc.evaluate(STRIDED).flags[0].severity == "warning"


def test_report_dict_is_the_json_output() -> None:
    for path in (CONVNET, SPECS / "resnet18.yaml"):
        shown = subprocess.run(
            [sys.executable, "-m", "convcalc", "show", str(path), "-f", "json"],
            capture_output=True,
            check=True,
        )
        assert convcalc.report_dict(convcalc.evaluate(convcalc.load(path))) == json.loads(shown.stdout)


# --- errors --------------------------------------------------------------------------------


def test_invalid_text_is_a_spec_error_with_its_position() -> None:
    with pytest.raises(convcalc.SpecError) as caught:
        convcalc.load_text("input: 28x28x1\nlayers:\n  - cnov: {out: 10, kernel: 5}\n")
    err = caught.value
    assert "unknown layer kind 'cnov'" in err.message and "conv" in err.message
    assert err.mark == convcalc.Mark(3, 5)
    assert (err.mark.line, err.mark.col) == (3, 5)


def test_yaml_syntax_error_is_a_spec_error() -> None:
    with pytest.raises(convcalc.SpecError) as caught:
        convcalc.load_text("input: [28, 28\nlayers: []\n")
    assert caught.value.message.startswith("YAML syntax")
    assert caught.value.mark is not None


def test_impossible_shape_is_raised_at_the_layer() -> None:
    spec = convcalc.load_text("input: 4x4x3\nlayers:\n  - relu\n  - conv: {out: 8, kernel: 7}\n")
    with pytest.raises(convcalc.SpecError) as caught:
        convcalc.evaluate(spec)
    assert caught.value.mark == convcalc.Mark(4, 5)


def test_unreadable_file_is_a_spec_error_caused_by_the_os_error(tmp_path: Path) -> None:
    with pytest.raises(convcalc.SpecError) as caught:
        convcalc.load_path(tmp_path / "missing.yaml")
    assert caught.value.mark is None
    assert caught.value.message == "cannot read the file: No such file or directory"
    assert isinstance(caught.value.__cause__, FileNotFoundError)


def test_errors_from_python_data_have_no_position() -> None:
    with pytest.raises(convcalc.SpecError) as caught:
        convcalc.load_dict({"input": [28, 28, 1], "layer": []})
    assert caught.value.mark is None
    assert "unknown top-level key 'layer'" in caught.value.message
    spec = convcalc.load_dict({"input": [4, 4, 3], "layers": [{"conv": {"out": 8, "kernel": 7}}]})
    with pytest.raises(convcalc.SpecError) as caught:
        convcalc.evaluate(spec)
    assert caught.value.mark is None


def test_python_data_that_yaml_cannot_hold_is_refused() -> None:
    looped: dict[str, Any] = {"input": 10}
    looped["layers"] = [looped]
    with pytest.raises(convcalc.SpecError, match="nesting deeper"):
        convcalc.load_dict(looped)
    with pytest.raises(convcalc.SpecError, match="keys must be"):
        convcalc.load_dict({"input": 10, "layers": [{("a",): 1}]})


# --- check ---------------------------------------------------------------------------------


def test_check_matches_the_command(tmp_path: Path) -> None:
    clean = convcalc.check(CONVNET)
    assert clean.status == convcalc.ExitCode.OK and clean.findings == ()
    flagged = tmp_path / "strided.yaml"
    flagged.write_text(STRIDED, encoding="utf-8")
    result = convcalc.check(str(flagged))
    assert result.status == convcalc.ExitCode.PROBLEMS
    assert [(f.path, f.line, f.col, f.severity) for f in result.findings] == [(str(flagged), 4, 5, "warning")] * 2
    assert convcalc.check_text(STRIDED, "strided.yaml").findings[0].path == "strided.yaml"
    assert convcalc.check(STRIDED).findings[0].path == "<text>"

    info = "input: 224x224x3\nlayers:\n  - conv: {out: 64, kernel: 7, stride: 2, padding: 3}\n"
    assert convcalc.check_text(info).status == convcalc.ExitCode.OK
    assert convcalc.check_text(info, strict=True).status == convcalc.ExitCode.PROBLEMS


def test_check_never_raises_for_a_bad_spec(tmp_path: Path) -> None:
    invalid = convcalc.check_text("input: 1\nlayers: [xyzzy]\n", "bad.yaml")
    assert invalid.status == convcalc.ExitCode.INVALID
    assert invalid.findings[0].text() == "bad.yaml:2:10: error: unknown layer kind 'xyzzy'"
    missing = convcalc.check_path(tmp_path / "missing.yaml")
    assert missing.status == convcalc.ExitCode.INVALID
    assert missing.findings[0].message == "cannot read the file: No such file or directory"


# --- the package ---------------------------------------------------------------------------


def test_everything_in_all_exists_and_is_documented() -> None:
    for name in convcalc.__all__:
        value = getattr(convcalc, name)
        assert name == "__version__" or value.__doc__, name
    assert set(convcalc.__all__) <= set(dir(convcalc))
    with pytest.raises(AttributeError):
        convcalc.no_such_name  # type: ignore[attr-defined]  # noqa: B018


def test_evaluate_is_the_function_whatever_is_imported() -> None:
    # The evaluator's module is convcalc.engine.evaluate, so importing it (as the command line
    # does) cannot rebind the API function convcalc.evaluate.
    code = (
        "import convcalc, convcalc.commands.main, convcalc.engine.check, convcalc.engine.evaluate\n"
        "from convcalc.engine.evaluate import Report, evaluate\n"
        "assert convcalc.evaluate is convcalc.api.evaluate, convcalc.evaluate\n"
        "assert callable(evaluate) and evaluate is not convcalc.evaluate\n"
        "assert convcalc.Report is Report\n"
        "from convcalc import evaluate as api\n"
        "assert api is convcalc.api.evaluate\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
    assert convcalc.evaluate is convcalc.api.evaluate


def test_import_is_cheap() -> None:
    code = (
        "import sys, convcalc\n"
        "heavy = {'yaml', 'click', 'rich', 'typing', 'convcalc.spec.parser', 'convcalc.engine.evaluate', 'convcalc.model.kinds'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_docstring_examples_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # the examples name specs/convnet.yaml
    for module in (convcalc, convcalc.api):
        result = doctest.testmod(module)
        assert result.attempted > 0 and result.failed == 0, module.__name__


TYPED_USE = """\
import convcalc


def params(path: str) -> int:
    spec: convcalc.Spec = convcalc.load(path)
    report: convcalc.Report = convcalc.evaluate(spec, input=(32, 32, 3), batch=2)
    rows: tuple[convcalc.Row, ...] = report.rows
    document: dict[str, object] = convcalc.report_dict(report)
    result: convcalc.FileResult = convcalc.check(path, strict=True)
    code: convcalc.ExitCode = result.status
    try:
        convcalc.load_dict({"input": [1], "layers": []})
    except convcalc.SpecError as err:
        mark: convcalc.Mark | None = err.mark
        print(err.message, mark, document, code, rows)
    return report.totals.params
"""

TYPED_MISUSE = """\
import convcalc

wrong: int = convcalc.evaluate("a.yaml")
convcalc.no_such_thing
"""


def test_api_types_check_with_mypy_strict(tmp_path: Path) -> None:
    pytest.importorskip("mypy")
    (tmp_path / "use.py").write_text(TYPED_USE, encoding="utf-8")
    (tmp_path / "misuse.py").write_text(TYPED_MISUSE, encoding="utf-8")
    env = {**os.environ, "MYPYPATH": str(ROOT)}

    def mypy(name: str) -> subprocess.CompletedProcess[str]:
        args = ["--strict", "--no-incremental", "--cache-dir", os.devnull, "--python-version", "3.10"]
        return subprocess.run(
            [sys.executable, "-m", "mypy", *args, name],
            check=False,
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
        )

    ok = mypy("use.py")
    assert ok.returncode == 0, ok.stdout
    bad = mypy("misuse.py")
    assert bad.returncode == 1
    assert 'has type "Report", variable has type "int"' in bad.stdout
    assert 'Module has no attribute "no_such_thing"' in bad.stdout


def test_the_readme_example_runs(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## From Python\n", 1)[1].split("\n## ", 1)[0]
    _, example = section.split("```python\n")  # one example
    monkeypatch.chdir(ROOT)
    exec(compile(example.split("```", 1)[0], "README.md", "exec"), {})  # noqa: S102
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == "(1000,) 25557032 42722787328"  # ResNet-50 at 256×256, batch 8
    assert "3 5 unknown layer kind 'cnov'; did you mean 'conv'?" in printed


def test_package_is_mypy_clean() -> None:
    """The package promises types (py.typed): mypy --strict (pyproject's settings) finds nothing."""
    pytest.importorskip("mypy")
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-incremental", "--cache-dir", os.devnull, "convcalc"],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_api_names_its_own_arguments_in_errors() -> None:
    spec = convcalc.load(CONVNET)
    with pytest.raises(ValueError, match=r"input= 64x64 is 1-D \(L×C\), but the spec's input 28x28x1 is 2-D .* rank= 1"):
        convcalc.evaluate(spec, input="64x64")
    assert convcalc.evaluate(spec, input=(64, 64), rank=1).input.dims == (64, 64)
    for batch in (0, -3, True, 2.5):
        with pytest.raises(ValueError, match=r"batch= must be a whole number of at least 1"):
            convcalc.evaluate(spec, batch=batch)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"rank= is the number of spatial axes, 0 to 3"):
        convcalc.evaluate(spec, input=(8,), rank=4)
    with pytest.raises(ValueError, match=r"input= must be a shape"):
        convcalc.evaluate(spec, input="lots")


# --- in a notebook (issue 12, item 9) ------------------------------------------------------


def test_a_report_shows_itself_briefly_and_in_full_in_a_notebook() -> None:
    report = convcalc.evaluate(CONVNET)
    assert repr(report) == "<Report ConvNet: 28×28×1 → 10, 7 rows, 1,007,590 params, 1,329,000 MACs, 0 flags>"
    table = report.table(width=60)
    assert table.splitlines()[0] == "ConvNet: 28×28×1 → 10" and max(len(line) for line in table.splitlines()) <= 60
    assert report._repr_markdown_().startswith("### ConvNet")
    html = report._repr_html_()
    assert "<table>" in html and "<td>conv1</td>" in html and "<td>1,000,500</td>" in html  # dense1: 2000·500 + 500
    records = report.to_records()
    assert records[0] == {"index": 1, "name": "conv1", "kind": "conv", "input": [28, 28, 1], "output": [24, 24, 10],
                          "params": 260, "buffers": 0, "macs": 144_000, "flops": 288_000, "flag": "", "memory": 23_040}


def test_html_escapes_what_the_spec_says() -> None:
    report = convcalc.evaluate({"name": "<script>alert(1)</script> & co", "input": [4, 4, 1], "layers": ["relu"]})
    html = report._repr_html_()
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in html


def test_to_pandas_builds_a_frame_from_the_records(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys
    import types

    report = convcalc.evaluate(CONVNET)
    monkeypatch.setitem(sys.modules, "pandas", None)  # not installed
    with pytest.raises(ImportError, match=r"Report.to_pandas\(\) needs pandas, which convcalc does not install"):
        report.to_pandas()
    fake = types.ModuleType("pandas")
    fake.DataFrame = types.SimpleNamespace(from_records=lambda rows: ("frame", rows))  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "pandas", fake)
    assert report.to_pandas() == ("frame", report.to_records())


def test_spec_error_str_names_the_file_and_position() -> None:
    with pytest.raises(convcalc.SpecError) as caught:
        convcalc.load(ROOT / "specs" / "failing" / "unknown-option.yaml")
    assert str(caught.value).endswith("unknown-option.yaml:10:7: error: conv has no option 'kernal'; did you mean 'kernel'?")
    with pytest.raises(convcalc.SpecError) as text:
        convcalc.load_text("input: 8x8x3\nlayers:\n  - cnov: {}\n")
    assert str(text.value) == "3:5: error: unknown layer kind 'cnov'; did you mean 'conv'?"


def test_dir_shows_the_public_names_only() -> None:
    assert dir(convcalc) == sorted(convcalc.__all__)
