"""``convcalc annotate``: one ``# → shape`` comment per layer line, nothing else touched.

Every test that writes compares the file byte for byte with what it should be; every
annotated text is annotated again to show that a second run changes nothing.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import convcalc.engine.annotate as annotate_module
from convcalc.engine.annotate import Annotated, _same, annotate_text, expected_annotations, split_lines
from convcalc.base.errors import SpecError
from convcalc.spec.loader import load

from helpers import SPEC_FILES, run

# The ConvNet's network, but not specs/convnet.yaml: this text is what is under test (a full-line
# comment, a blank line and a comment between layers, a comment to keep), byte for byte.
CONVNET = """\
# The small ConvNet  # → not an annotation: a full-line comment
input: 28x28x1       # H×W×C
layers:
  - conv: {out: 10, kernel: 5}

  - pool: {kernel: 2}                 # stride defaults to the kernel
  - conv: {out: 20, kernel: 3, name: conv2}
  # the head
  - flatten
  - dense: {out: 500}
  - relu
  - dense: {out: 10}
"""

CONVNET_ANNOTATED = """\
# The small ConvNet  # → not an annotation: a full-line comment
input: 28x28x1       # H×W×C
layers:
  - conv: {out: 10, kernel: 5}  # → 24×24×10

  - pool: {kernel: 2}                 # stride defaults to the kernel  # → 12×12×10
  - conv: {out: 20, kernel: 3, name: conv2}  # → 10×10×20
  # the head
  - flatten  # → 2000
  - dense: {out: 500}  # → 500
  - relu  # → 500
  - dense: {out: 10}  # → 10
"""


# --- helpers --------------------------------------------------------------------------------


def annotated(text: str) -> str:
    """Annotate, and check the invariants every result must satisfy."""
    result = annotate_text(text)
    check_result(text, result)
    return result.text


def check_result(text: str, result: Annotated) -> None:
    # A second run changes nothing.
    again = annotate_text(result.text)
    assert again.text == result.text and again.changes == ()
    # The YAML data are the same, types and key order included.
    assert _same(load(text), load(result.text))
    # Only the changed lines differ, each now ending in its annotation; line breaks are kept.
    before, after = split_lines(text), split_lines(result.text)
    assert len(before) == len(after)
    changed = {c.line: c.expected for c in result.changes}
    for number, ((old, old_end), (new, new_end)) in enumerate(zip(before, after), 1):
        assert old_end == new_end
        if number in changed:
            assert new.endswith(changed[number]) and new != old
        else:
            assert new == old


def lines_with_notes(text: str) -> dict[int, str]:
    """Line number → its annotation, for the lines that have one."""
    found = {}
    for number, (body, _) in enumerate(split_lines(text), 1):
        m = re.search(r"# → .*$", body)
        if m and not body.lstrip().startswith("#"):
            found[number] = m.group(0)
    return found


def write(path: Path, text: str | bytes, mode: int | None = None) -> Path:
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    if mode is not None:
        path.chmod(mode)
    return path


# --- what is written where ------------------------------------------------------------------


def test_flow_style_and_comments() -> None:
    assert annotated(CONVNET) == CONVNET_ANNOTATED


def test_block_style() -> None:
    text = """\
input: 32x32x3
layers:
  - conv:                 # the stem
      out: 16
      kernel: 3
      stride: 2
      padding: 1
  - maxpool:
      kernel: 2
  - relu
"""
    out = annotated(text)
    assert lines_with_notes(out) == {3: "# → 16×16×16", 8: "# → 8×8×16", 10: "# → 8×8×16"}
    assert out.splitlines()[2] == "  - conv:                 # the stem  # → 16×16×16"


def test_layers_as_a_flow_sequence_over_several_lines() -> None:
    text = """\
input: 32x32x3
layers: [
  {conv: {out: 8,
          kernel: 3, padding: 1}},
  relu, {pool: {kernel: 2}},
  flatten
]
"""
    out = annotated(text)
    # a comment inside a flow collection is legal YAML; siblings on one line share it
    assert lines_with_notes(out) == {3: "# → 32×32×8", 5: "# → 32×32×8 | 16×16×8", 6: "# → 2048"}


def test_refresh_keeps_the_users_comment_and_the_column() -> None:
    text = """\
input: 28x28x1
layers:
  - conv: {out: 10, kernel: 5}        # first    # → 1×1×1
  - pool: {kernel: 2}                 # → 9×9×9    
  - relu                              #→12×12×10
  - conv: {out: 4, kernel: 1}         # mine# → not ours: no blank before the #
"""
    out = annotated(text)
    assert out.splitlines() == [
        "input: 28x28x1",
        "layers:",
        "  - conv: {out: 10, kernel: 5}        # first    # → 24×24×10",
        "  - pool: {kernel: 2}                 # → 12×12×10",
        "  - relu                              # → 12×12×10",
        "  - conv: {out: 4, kernel: 1}         # mine# → not ours: no blank before the #  # → 12×12×4",
    ]


def test_an_annotation_is_never_duplicated() -> None:
    text = "input: 8x8x1\nlayers:\n  - relu  # note # → 8×8×1 # → 1×1×1\n"
    assert annotated(text) == "input: 8x8x1\nlayers:\n  - relu  # note # → 8×8×1\n"


def test_hash_inside_quotes_and_other_lines_are_left_alone() -> None:
    text = """\
name: "net # → 1×1×1"       # → a note on a line that holds no layer
description: 'a # b'
input: 8x8x3
layers:
  - conv: {out: 4, kernel: 1, name: "c1"}
"""
    out = annotated(text)
    assert out.splitlines()[:4] == text.splitlines()[:4]
    assert out.splitlines()[4] == '  - conv: {out: 4, kernel: 1, name: "c1"}  # → 8×8×4'


def test_warning_flags_get_a_sign_info_and_accepted_ones_do_not() -> None:
    text = """\
input: 32x32x3
layers:
  - conv: {out: 8, kernel: 3, stride: 2}
  - conv: {out: 8, kernel: 3, stride: 2, allow_inexact: true}
  - conv: {out: 8, kernel: 1, stride: 2}
  - pool: {kernel: 2, ceil_mode: true}
"""
    # 32 → 15 (a row dropped: warning) → 7 (accepted) → 4 (info: the stride skips it anyway) → 2
    assert lines_with_notes(annotated(text)) == {
        3: "# → 15×15×8 ⚠",
        4: "# → 7×7×8",
        5: "# → 4×4×8",
        6: "# → 2×2×8",
    }


BLOCKS = """\
input: 56x56x64
blocks:
  unit:
    args: {out: 64, stride: 1}
    layers:
      - residual:
          body:
            - conv: {out: $out, kernel: 3, stride: $stride, padding: 1}
            - conv: {out: $out, kernel: 3, padding: 1}
          shortcut:
            - conv: {out: $out, kernel: 1, stride: $stride}
      - relu
  unused:
    layers:
      - conv: {out: 1, kernel: 1}     # → stale, but the block is never called
layers:
  - unit: {out: 64}
  - unit: {out: 128, stride: 2}
  - unit: {out: 256, stride: 2}
  - unit: {out: 512, stride: 2}
  - concat:
      - [{conv: {out: 32, kernel: 1}}, {conv: {out: 64, kernel: 3, padding: 1}}]
      - []
  - concat: {with: unit4}
"""


def test_blocks_and_branches() -> None:
    out = annotated(BLOCKS)
    four = "# → 4 shapes"  # the block is called on four sizes
    assert lines_with_notes(out) == {
        6: four,  # the residual's join
        8: four,
        9: four,
        11: four,
        12: four,
        15: "# → stale, but the block is never called",  # never evaluated: left alone
        17: "# → 56×56×64",
        18: "# → 28×28×128",
        19: "# → 14×14×256",
        20: "# → 7×7×512",
        21: "# → 7×7×576",  # the concat's join: 64 + 512
        22: "# → 7×7×32 | 7×7×64",  # two layers on one line, in order
        24: "# → 7×7×1088",  # a skip join: 576 + 512
    }


def test_three_shapes_are_listed() -> None:
    text = BLOCKS.replace("  - unit: {out: 512, stride: 2}\n", "").replace("unit4", "unit3")
    notes = lines_with_notes(annotated(text))
    for line in (6, 8, 9, 11, 12):
        assert notes[line] == "# → 56×56×64 | 28×28×128 | 14×14×256"
    assert notes[20] == "# → 14×14×320"


def test_repeats() -> None:
    text = """\
input: 32x32x8
layers:
  - repeat: {times: 3, layers: [{conv: {out: 8, kernel: 3, stride: 2, padding: 1}}]}
  - repeat:
      times: 2
      name: tail
      layers:
        - conv: {out: 16, kernel: 1}
        - pool: {kernel: 2, ceil_mode: true}
  - repeat: {times: 0, layers: [relu]}
"""
    assert lines_with_notes(annotated(text)) == {
        # a one-line repeat speaks for the layers written inside it: its own output only
        3: "# → 4×4×8",
        4: "# → 1×1×16",
        8: "# → 4×4×16 | 2×2×16",  # 4 → conv → pool 2 → conv → pool 1
        9: "# → 2×2×16 | 1×1×16",
        10: "# → 1×1×16",  # times: 0 is the identity
    }


def test_a_warning_inside_a_call_marks_the_call() -> None:
    text = """\
input: 32x32x3
blocks:
  down:
    layers:
      - conv: {out: 8, kernel: 3, stride: 2}
layers:
  - down
  - down
"""
    # 32 → 15 (a row dropped: warning) → 7 (exact): the block's line has a warning on one call
    assert lines_with_notes(annotated(text)) == {5: "# → 15×15×8 | 7×7×8 ⚠", 7: "# → 15×15×8 ⚠", 8: "# → 7×7×8"}


def test_a_line_inside_a_multi_line_value_is_not_annotated() -> None:
    text = """\
input: 8x8x3
layers:
  - conv: {out: 4, kernel: 1, name: "c\\
      1"}
  - relu
"""
    result = annotate_text(text)
    check_result(text, result)
    assert result.skipped == (3,)
    assert lines_with_notes(result.text) == {5: "# → 8×8×4"}


def test_the_note_for_a_line_that_cannot_take_a_comment(tmp_path: Path) -> None:
    path = write(tmp_path / "split.yaml", 'input: 8x8x3\nlayers:\n  - conv: {out: 4, kernel: 1, name: "c\\\n    1"}\n')
    result = run("annotate", str(path))
    assert result.exit_code == 0
    assert result.stderr == f"{path}:3: note: not annotated: a value continues past the end of this line\n"
    assert run("annotate", "--check", str(path)).exit_code == 0


def test_unicode_and_byte_order_mark() -> None:
    text = "\ufeffname: Réseau ☃\ninput: 8x8x3   # entrée 日本語 → ok\nlayers:\n  - conv: {out: 4, kernel: 3}    # café ✓\n"
    out = annotated(text)
    assert out == text.replace("café ✓\n", "café ✓  # → 6×6×4\n")
    data = out.encode("utf-8")
    assert data.startswith(b"\xef\xbb\xbf")
    # the mark is not counted in YAML columns: a layer on the first line still finds its place
    one_line = "\ufeff{input: 8x8x3, layers: [relu]}  # c\r\n"
    assert annotated(one_line) == "\ufeff{input: 8x8x3, layers: [relu]}  # c  # → 8×8×3\r\n"


def test_astral_characters_and_a_hash_in_a_quoted_value_on_a_layer_line() -> None:
    text = """\
input: 8x8x3
blocks:
  unit:
    args: {out: 4, tag: ""}
    layers: [{conv: {out: $out, kernel: 1}}]
layers:
  - unit: {tag: "😀 # → 1×1×1", out: 8}   # 🦀 ☃
  - unit: {tag: '# → 2', out: 2}
"""
    out = annotated(text)
    assert out.splitlines()[4:] == [
        "    layers: [{conv: {out: $out, kernel: 1}}]  # → 8×8×8 | 8×8×2",
        "layers:",
        '  - unit: {tag: "😀 # → 1×1×1", out: 8}   # 🦀 ☃  # → 8×8×8',
        "  - unit: {tag: '# → 2', out: 2}  # → 8×8×2",
    ]


def test_line_breaks_are_kept() -> None:
    lf = "input: 8x8x3\nlayers:\n  - conv: {out: 4, kernel: 3}\n  - relu   \n"
    expected = "input: 8x8x3\nlayers:\n  - conv: {out: 4, kernel: 3}  # → 6×6×4\n  - relu  # → 6×6×4\n"
    assert annotated(lf) == expected
    assert annotated(lf.replace("\n", "\r\n")) == expected.replace("\n", "\r\n")
    assert annotated(lf.replace("\n", "\r")) == expected.replace("\n", "\r")
    mixed = "input: 8x8x3\r\nlayers:\n  - conv: {out: 4, kernel: 3}\r\n  - relu"  # no final break
    assert (
        annotated(mixed) == "input: 8x8x3\r\nlayers:\n  - conv: {out: 4, kernel: 3}  # → 6×6×4\r\n  - relu  # → 6×6×4"
    )


def test_current_text_is_returned_unchanged() -> None:
    result = annotate_text(CONVNET_ANNOTATED)
    assert result.text == CONVNET_ANNOTATED and result.changes == ()


def test_invalid_specs_raise() -> None:
    with pytest.raises(SpecError) as err:
        annotate_text("input: 8x8x3\nlayers:\n  - cnov: {out: 4}\n")
    assert err.value.mark is not None and err.value.mark.line == 3


def test_a_spec_without_input_is_refused() -> None:
    with pytest.raises(SpecError, match="the spec has no input: add `input: 224x224x3`"):
        annotate_text("layers:\n  - relu\n")


def test_a_result_that_changes_the_data_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """The safety net: were an annotation ever to break the YAML, nothing is written."""
    monkeypatch.setattr(annotate_module, "annotation", lambda shapes, warned=False: "# → 1\n  - relu")
    with pytest.raises(SpecError, match="nothing was written"):
        annotate_text("input: 8x8x3\nlayers:\n  - relu\n")


def test_expected_annotations_for_the_convnet() -> None:
    assert expected_annotations(CONVNET) == {
        4: "# → 24×24×10",
        6: "# → 12×12×10",
        7: "# → 10×10×20",
        9: "# → 2000",
        10: "# → 500",
        11: "# → 500",
        12: "# → 10",
    }


# --- the command: files, --check, streams -----------------------------------------------------


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    return write(tmp_path / "net.yaml", CONVNET, 0o640)


def test_annotate_in_place(spec: Path) -> None:
    result = run("annotate", str(spec))
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")
    assert spec.read_text(encoding="utf-8") == CONVNET_ANNOTATED
    assert stat.S_IMODE(spec.stat().st_mode) == 0o640
    assert sorted(p.name for p in spec.parent.iterdir()) == ["net.yaml"]  # no temporary file left
    # a second run does not touch the file at all
    before = spec.stat().st_mtime_ns
    os.utime(spec, ns=(before - 10**9, before - 10**9))
    assert run("annotate", str(spec)).exit_code == 0
    assert spec.stat().st_mtime_ns == before - 10**9
    assert spec.read_text(encoding="utf-8") == CONVNET_ANNOTATED


def test_only_annotated_lines_change_byte_for_byte(tmp_path: Path) -> None:
    original = CONVNET.replace("\n", "\r\n").encode("utf-8")
    path = write(tmp_path / "crlf.yaml", original)
    assert run("annotate", str(path)).exit_code == 0
    before, after = original.splitlines(keepends=True), path.read_bytes().splitlines(keepends=True)
    assert len(before) == len(after)
    changed = [i + 1 for i, (a, b) in enumerate(zip(before, after)) if a != b]
    assert changed == [4, 6, 7, 9, 10, 11, 12]
    for i in changed:
        assert after[i - 1].startswith(before[i - 1].rstrip(b"\r\n"))
        assert after[i - 1].endswith(b"\r\n")


def test_check(spec: Path) -> None:
    missing = run("annotate", "--check", str(spec))
    assert missing.exit_code == 1
    assert missing.stdout.splitlines()[0] == f"{spec}:4: expected '# → 24×24×10' (missing)"
    assert len(missing.stdout.splitlines()) == 7
    assert spec.read_text(encoding="utf-8") == CONVNET  # --check writes nothing

    write(spec, CONVNET_ANNOTATED)
    current = run("annotate", "--check", str(spec))
    assert (current.exit_code, current.stdout, current.stderr) == (0, "", "")

    write(spec, CONVNET_ANNOTATED.replace("# → 12×12×10", "# → 12×12×9"))
    stale = run("annotate", "--check", str(spec))
    assert stale.exit_code == 1
    assert stale.stdout == f"{spec}:6: expected '# → 12×12×10', found '# → 12×12×9'\n"

    # the spec changed, so its annotations did
    write(spec, CONVNET_ANNOTATED.replace("kernel: 5}", "kernel: 3}"))
    assert run("annotate", "--check", str(spec)).exit_code == 1


def test_check_several_files_and_stdin(spec: Path, tmp_path: Path) -> None:
    good = write(tmp_path / "good.yaml", CONVNET_ANNOTATED)
    bad = write(tmp_path / "bad.yaml", "input: 8x8x3\nlayers:\n  - cnov\n")
    assert run("annotate", "--check", str(good)).exit_code == 0
    assert run("annotate", "--check", str(good), str(spec)).exit_code == 1
    assert run("annotate", "--check", str(good), str(spec), str(bad)).exit_code == 2
    piped = run("annotate", "--check", "-", input=CONVNET)
    assert piped.exit_code == 1 and piped.stdout.startswith("<stdin>:4: expected")


def test_invalid_spec_is_not_written(tmp_path: Path) -> None:
    text = "input: 28x28x1\nlayers:\n  - conv: {out: 10, kernal: 5}   # → 1×1×1\n"
    path = write(tmp_path / "bad.yaml", text)
    for args in (["annotate"], ["annotate", "--check"], ["annotate", "--stdout"]):
        result = run(*args, str(path))
        assert result.exit_code == 2
        assert result.stdout == ""
        assert result.stderr == f"{path}:3:21: error: conv has no option 'kernal'; did you mean 'kernel'?\n"
        assert path.read_text(encoding="utf-8") == text
    syntax = write(tmp_path / "syntax.yaml", "input: 8x8x3\nlayers: [\n")
    result = run("annotate", str(syntax))
    assert result.exit_code == 2 and result.stderr.startswith(f"{syntax}:")
    assert syntax.read_text() == "input: 8x8x3\nlayers: [\n"
    missing = run("annotate", str(tmp_path / "nope.yaml"))
    assert missing.exit_code == 2 and "cannot read the file" in missing.stderr


def test_read_only_file(spec: Path) -> None:
    """Refused even as root (who could write it): the file's mode says read-only."""
    spec.chmod(0o444)
    result = run("annotate", str(spec))
    assert result.exit_code == 2
    assert result.stderr == f"{spec}: error: cannot write the file: the file is read-only (mode 0444)\n"
    assert spec.read_text(encoding="utf-8") == CONVNET
    assert sorted(p.name for p in spec.parent.iterdir()) == ["net.yaml"]
    # --check and --stdout write nothing, so they work on it
    assert run("annotate", "--check", str(spec)).exit_code == 1
    assert run("annotate", "--stdout", str(spec)).stdout == CONVNET_ANNOTATED


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root writes anywhere")
def test_unwritable_directory(spec: Path) -> None:
    spec.parent.chmod(0o555)
    try:
        result = run("annotate", str(spec))
    finally:
        spec.parent.chmod(0o755)
    assert result.exit_code == 2
    assert result.stderr == f"{spec}: error: cannot write the file: Permission denied\n"
    assert spec.read_text(encoding="utf-8") == CONVNET


@pytest.mark.parametrize("where", ["replace", "mkstemp"])
def test_a_write_that_fails(spec: Path, monkeypatch: pytest.MonkeyPatch, where: str) -> None:
    def denied(*args: Any, **kwargs: Any) -> Any:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os if where == "replace" else tempfile, where, denied)
    result = run("annotate", str(spec))
    assert result.exit_code == 2
    assert result.stderr == f"{spec}: error: cannot write the file: Permission denied\n"
    assert spec.read_text(encoding="utf-8") == CONVNET
    assert sorted(p.name for p in spec.parent.iterdir()) == ["net.yaml"]  # the temporary file is gone


def test_stdin_to_stdout() -> None:
    crlf = CONVNET.replace("\n", "\r\n").encode("utf-8")
    result = run("annotate", "-", input=crlf)
    assert result.exit_code == 0 and result.stderr == ""
    assert result.stdout_bytes == CONVNET_ANNOTATED.replace("\n", "\r\n").encode("utf-8")
    invalid = run("annotate", "-", input="input: 8x8x3\nlayers:\n  - cnov\n")
    assert invalid.exit_code == 2 and invalid.stdout == ""
    assert invalid.stderr.startswith("<stdin>:3:5: error: unknown layer kind 'cnov'")


def test_stdout_and_output_options(spec: Path, tmp_path: Path) -> None:
    for args in (["--stdout"], ["-o", "-"], ["--output", "-"]):
        result = run("annotate", *args, str(spec))
        assert result.exit_code == 0 and result.stdout == CONVNET_ANNOTATED
    assert spec.read_text(encoding="utf-8") == CONVNET
    copy = tmp_path / "out" / "copy.yaml"
    copy.parent.mkdir()
    assert run("annotate", "-o", str(copy), str(spec)).exit_code == 0
    assert copy.read_text(encoding="utf-8") == CONVNET_ANNOTATED
    assert spec.read_text(encoding="utf-8") == CONVNET


@pytest.mark.parametrize(
    "args",
    [
        ["--check", "--stdout", "X"],
        ["--stdout", "-o", "other.yaml", "X"],
        ["--stdout", "X", "X"],
        ["-", "X"],
        [],
    ],
)
def test_usage_errors(spec: Path, args: list[str]) -> None:
    result = run("annotate", *[str(spec) if a == "X" else a for a in args])
    assert result.exit_code == 2
    assert spec.read_text(encoding="utf-8") == CONVNET


def test_json_files_are_refused(tmp_path: Path) -> None:
    """JSON is YAML, but a comment would make it invalid JSON."""
    text = '{"input": "8x8x3", "layers": ["relu"]}\n'
    path = write(tmp_path / "net.json", text)
    for args in (["annotate", str(path)], ["annotate", "--check", str(path)], ["annotate", "-", "-o", str(path)]):
        result = run(*args, input=text)
        assert result.exit_code == 2
        assert result.stderr.endswith(
            ": error: JSON has no comments: annotate writes YAML comments, so give it a YAML spec\n"
        )
        assert path.read_text() == text


def test_symlink_is_kept(spec: Path, tmp_path: Path) -> None:
    link = tmp_path / "link.yaml"
    link.symlink_to(spec)
    assert run("annotate", str(link)).exit_code == 0
    assert link.is_symlink()
    assert spec.read_text(encoding="utf-8") == CONVNET_ANNOTATED


# --- the example specs ------------------------------------------------------------------------


@pytest.mark.parametrize("path", SPEC_FILES, ids=lambda p: p.name)
def test_every_example_spec(path: Path, tmp_path: Path) -> None:
    copy = tmp_path / path.name
    shutil.copy(path, copy)
    original = copy.read_bytes()
    assert run("annotate", str(copy)).exit_code == 0
    first = copy.read_bytes()
    assert first != original
    assert run("annotate", str(copy)).exit_code == 0
    assert copy.read_bytes() == first  # idempotent
    assert run("annotate", "--check", str(copy)).exit_code == 0
    assert _same(load(original), load(first))  # the data are unchanged
    check_result(original.decode("utf-8"), annotate_text(original))
    # `check` finds exactly what it found before
    assert run("check", str(copy)).stdout.replace(str(copy), str(path)) == run("check", str(path)).stdout


# --- property: random specs built from layer templates --------------------------------------

TEMPLATES = [
    "- conv: {{out: {n}, kernel: 3, padding: 1}}{c}",
    "- conv:{c}\n    out: {n}\n    kernel: 1",
    "- relu{c}",
    "- pool: {{kernel: 2}}{c}",
    "- conv: {{out: {n}, kernel: 3, stride: 2}}{c}",
    "- conv: {{out: {n},{c}\n      kernel: 3, padding: 1}}",
    "- repeat: {{times: 2, layers: [relu, {{conv: {{out: {n}, kernel: 1}}}}]}}{c}",
    "- repeat:{c}\n    times: 2\n    layers:\n      - conv: {{out: {n}, kernel: 1}}{c}",
    "- concat:{c}\n    - [{{conv: {{out: {n}, kernel: 1}}}}]{c}\n    - []",
    "- add: [[], [{{conv: {{out: 8, kernel: 3, padding: 1}}}}, relu]]{c}",
    "- unit: {{out: {n}}}{c}",
    "- unit{c}",
]
PREAMBLE = """\
input: 32x32x8   # H×W×C
blocks:
  unit:
    args: {out: 8}
    layers:
      - conv: {out: $out, kernel: 3, padding: 1}{c}
      - relu{c}
layers:
"""
COMMENT_TEXT = st.text(alphabet="ab é☃😀#→:{}[]'\" \t×0123456789", max_size=14)


@st.composite
def comments(draw: Any) -> str:
    """Nothing, a user's comment, a stale or current-looking annotation, or both."""
    choice = draw(st.integers(0, 4))
    if choice == 0:
        return ""
    gap = draw(st.sampled_from([" ", "  ", "\t", "     "]))
    if choice == 1:
        return f"{gap}#{draw(COMMENT_TEXT)}"
    if choice == 2:
        return f"{gap}# → {draw(COMMENT_TEXT)}"
    if choice == 3:
        return f"{gap}# {draw(COMMENT_TEXT)}  # → 1×1×1"
    blanks: str = draw(st.sampled_from([" ", ""]))  # trailing blanks
    return blanks


@st.composite
def specs(draw: Any) -> str:
    pools = 0
    text: str = PREAMBLE.replace("{c}", draw(comments()))
    for _ in range(draw(st.integers(1, 8))):
        template = draw(st.sampled_from(TEMPLATES))
        if "pool" in template or "stride: 2" in template:
            pools += 1
            if pools > 3:
                continue
        body = template.format(n=draw(st.integers(1, 16)), c=draw(comments()))
        text += "".join(f"  {line}\n" for line in body.split("\n"))
        filler = draw(st.sampled_from(["", "\n", "  # a comment # → 2×2×2\n", "\n\n# between\n"]))
        text += filler
    text += draw(st.sampled_from(["", "expect: {output: 4x4x8}  # → kept\n"]))
    if draw(st.booleans()):
        text = text.replace("\n", "\r\n")
    if draw(st.booleans()):
        text = "\ufeff" + text
    return text


@settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs())
def test_random_specs_annotate_idempotently(text: str) -> None:
    try:
        expected_annotations(text)
    except SpecError:
        assume(False)
    result = annotate_text(text)
    check_result(text, result)
    assert not result.skipped
    # every layer line ends in its annotation, and the first annotation marker on it is that one
    expected = expected_annotations(text)
    for number, (body, _) in enumerate(split_lines(result.text), 1):
        if number in expected:
            assert body.endswith(expected[number])
            assert annotate_module._ANNOTATION.search(body, body.index("#")) is not None
    assert annotate_text(result.text.encode("utf-8")).changes == ()
