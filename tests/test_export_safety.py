"""An exported module never runs code from its spec (issue 9, item 0).

The spec's ``name`` and the spec's file path reach the generated module's comments, and the name
becomes its class name.  Each test below exports a spec carrying a known attack, compiles the
module from its raw bytes (as the import system does: the bytes, not decoded text, so a PEP 263
coding declaration would take effect) and imports it with a stub ``torch``, so no payload can
hide behind a failed ``import torch``.  A payload that ran would leave a marker file behind.

torch is not needed here: the stub is enough to import the module, which only defines a class.
"""

from __future__ import annotations

import importlib.util
import itertools
import keyword
import os
import subprocess
import sys
import tokenize
import types
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from convcalc.commands.main import main
from convcalc.engine.export import BUILTINS, PREAMBLE, class_name, comment_text, export_torch
from convcalc.spec.parser import load_spec

ROOT = Path(__file__).resolve().parent.parent
_counter = itertools.count()


def payload(marker: Path) -> str:
    """Python that creates ``marker`` when it runs."""
    return f"open({str(marker)!r}, 'w').close()"


def hostile_names(marker: Path) -> list[str]:
    code = payload(marker)
    return [
        # a PEP 263 cookie: unicode_escape would turn each literal \n into a line break
        f"coding: unicode_escape \\nimport os; {code}\\n#",
        f"x\\n{code}\\n#",
        f"vim: set fileencoding=unicode_escape : \\n{code}\\n#",
        f"coding=raw_unicode_escape \\u000a{code}\\u000a#",
        f"coding: utf-7 +AAo-{code}+AAo-#",
        f"name\n{code}\n#",  # a real line break
        f"name\r{code}\r#",
        f"name\u2028{code}\u2029#",
        f"name\x0c{code}",
        "name\x1b]0;title\x07\x1b[2J",
        f"\\N{{LINE FEED}}{code}\\N{{LINE FEED}}#",
        f"\\x0a{code}\\x0a#",
        "\ufeff" + code,
    ]


@pytest.fixture
def stub_torch(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A ``torch`` with just what the module's top level touches (a base class and a type)."""
    torch = types.ModuleType("torch")
    nn = types.ModuleType("torch.nn")
    nn.Module = type("Module", (), {})  # type: ignore[attr-defined]
    torch.nn = nn  # type: ignore[attr-defined]
    torch.Tensor = type("Tensor", (), {})  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "torch", torch)
    monkeypatch.setitem(sys.modules, "torch.nn", nn)
    yield


def import_bytes(data: bytes, directory: Path) -> types.ModuleType:
    """Import a module from its file's bytes, as ``import model`` would."""
    name = f"exported_safety_{next(_counter)}"
    path = directory / f"{name}.py"
    path.write_bytes(data)
    compile(data, str(path), "exec")  # from bytes: a coding cookie would apply here
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SPEC = "name: {name}\ninput: 8x8x1\nlayers:\n  - conv: {{out: 2, kernel: 3}}\n"


def spec_text(name: str) -> str:
    return SPEC.format(name=__import__("json").dumps(name))  # a JSON string is a YAML string


def check_module(data: bytes, directory: Path, marker: Path) -> types.ModuleType:
    text = data.decode("utf-8")
    lines = text.split("\n")
    assert tuple(lines[:2]) == PREAMBLE
    assert tokenize.detect_encoding(iter(data.splitlines(keepends=True)).__next__)[0] == "utf-8"
    module = import_bytes(data, directory)
    assert not marker.exists(), "the payload ran"
    return module


@pytest.mark.usefixtures("stub_torch")
def test_hostile_names_run_nothing_when_the_module_is_imported(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    for name in hostile_names(marker):
        code = export_torch(load_spec(spec_text(name)))
        module = check_module(code.encode("utf-8"), tmp_path, marker)
        assert hasattr(module, class_name(name)), name


@pytest.mark.usefixtures("stub_torch")
def test_a_hostile_file_path_runs_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    for i, name in enumerate(hostile_names(marker)):
        if "\x00" in name or "/" in name:
            continue
        directory = tmp_path / f"d{i}"
        directory.mkdir()
        spec = directory / (name.replace("/", "_")[:200] + ".yaml")
        spec.write_text(spec_text("Net"), encoding="utf-8")
        out = directory / "model.py"
        result = CliRunner().invoke(main, ["export", str(spec), "--to", "torch", "-o", str(out)])
        assert result.exit_code == 0, result.output
        check_module(out.read_bytes(), directory, marker)


def test_comment_text_is_inert() -> None:
    text = comment_text("coding: unicode_escape \\nimport os\n\x1b[2J\u2028 CODING=latin-1")
    assert text == "coding : unicode_escape <U+005C>nimport os<U+000A><U+001B>[2J<U+2028> CODING =latin-1"


@given(st.text(max_size=40))
@settings(max_examples=300)
def test_comment_text_never_breaks_a_line_or_holds_an_escape(text: str) -> None:
    out = comment_text(text)
    assert "\\" not in out
    assert len(f"# {out}\n".splitlines()) == 1
    assert all(unicodedata.category(c)[0] != "C" for c in out)
    assert tokenize.detect_encoding(iter([f"# {out}\n".encode()]).__next__)[0] == "utf-8"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("𝐭orch", "Torch"),  # NFKC: mathematical bold t is t
        ("torch", "Torch"),
        ("None", "NetNone"),
        ("True", "NetTrue"),
        ("ﬁle", "File"),  # the ligature fi decomposes
        ("print", "Print"),
        ("ᵖrint", "Print"),
        ("𝐍one", "NetNone"),
        ("3d", "Net3d"),
    ],
)
def test_class_names_are_checked_after_normalisation(name: str, expected: str) -> None:
    assert class_name(name) == expected


@given(st.text(max_size=20))
@settings(max_examples=500)
def test_every_class_name_is_a_fresh_normalised_identifier(name: str) -> None:
    cls = class_name(name)
    assert cls.isidentifier()
    assert unicodedata.normalize("NFKC", cls) == cls
    assert not keyword.iskeyword(cls) and cls not in BUILTINS and cls not in ("torch", "nn")


def test_export_writes_utf8_whatever_the_locale(tmp_path: Path) -> None:
    spec = tmp_path / "net.yaml"
    spec.write_text(spec_text("Réseau → ∞"), encoding="utf-8")
    env = {**os.environ, "PYTHONIOENCODING": "cp1252", "LC_ALL": "C"}
    proc = subprocess.run(
        [sys.executable, "-m", "convcalc", "export", str(spec), "--to", "torch"],
        capture_output=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr.decode("utf-8", "replace")
    assert proc.stderr == b""
    assert "# Réseau → ∞: generated by convcalc".encode() in proc.stdout
    assert b"class R\xc3\xa9seau(nn.Module):" in proc.stdout
