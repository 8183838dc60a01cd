"""The installed command in a real process: exit codes, separate streams, pipes and a terminal.

Each test runs both the console script (``convcalc`` next to this Python, or on PATH) and
``python -m convcalc``.  Output is read as bytes and decoded as UTF-8, so an encoding problem
shows up here and not only in CliRunner.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import CONVNET, ROOT

ANSI = b"\x1b["

WARNING = """\
input: 32x32x3
layers:
  - conv: {out: 8, kernel: 3, stride: 2}
"""

INVALID = """\
input: 28x28x1
layers:
  - cnov: {out: 10, kernel: 5}
"""


def console_script() -> list[str]:
    here = Path(sys.executable).with_name("convcalc")
    found = str(here) if here.exists() else shutil.which("convcalc")
    return [found] if found else [sys.executable, "-m", "convcalc"]


COMMANDS = {"script": console_script(), "module": [sys.executable, "-m", "convcalc"]}


@pytest.fixture(params=sorted(COMMANDS))
def cmd(request: pytest.FixtureRequest) -> list[str]:
    return COMMANDS[request.param]


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without colour settings from the caller, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR", "CLICOLOR_FORCE", "COLUMNS")}
    env.update(TERM="xterm-256color", PYTHONIOENCODING="utf-8", **extra)
    return env


class Run:
    def __init__(self, proc: subprocess.CompletedProcess[bytes]) -> None:
        self.code = proc.returncode
        self.out_bytes, self.err_bytes = proc.stdout, proc.stderr
        self.out, self.err = proc.stdout.decode("utf-8"), proc.stderr.decode("utf-8")

    def __str__(self) -> str:
        return f"exit code {self.code}\n--- stdout ---\n{self.out}--- stderr ---\n{self.err}"


def run(
    cmd: list[str], *args: str, stdin: bytes | None = None, env: dict[str, str] | None = None, cwd: Path | None = None
) -> Run:
    proc = subprocess.run(
        [*cmd, *args],
        input=stdin if stdin is not None else b"",
        capture_output=True,
        check=False,
        env=env or clean_env(),
        cwd=cwd,
        timeout=60,
    )
    result = Run(proc)
    assert "Traceback" not in result.err, str(result)
    return result


@pytest.fixture
def specs(tmp_path: Path) -> dict[str, Path]:
    paths = {
        "convnet": tmp_path / "convnet.yaml",
        "warning": tmp_path / "warning.yaml",
        "invalid": tmp_path / "invalid.yaml",
    }
    for name, text in (("convnet", CONVNET), ("warning", WARNING), ("invalid", INVALID)):
        paths[name].write_text(text, encoding="utf-8")
    return paths


def test_module_entry_point_exists() -> None:
    assert (ROOT / "convcalc" / "__main__.py").exists()


def test_version(cmd: list[str]) -> None:
    result = run(cmd, "--version")
    assert result.code == 0 and result.out.startswith("convcalc, version "), str(result)


# --- exit codes and streams -----------------------------------------------------------------


def test_show_ok(cmd: list[str], specs: dict[str, Path]) -> None:
    result = run(cmd, "show", str(specs["convnet"]))
    assert result.code == 0, str(result)
    assert result.err == "", str(result)
    assert "ConvNet: 28×28×1 → 10" in result.out and "1.01M (1,007,590)" in result.out, str(result)


def test_show_json(cmd: list[str], specs: dict[str, Path]) -> None:
    result = run(cmd, str(specs["convnet"]), "--format", "json")
    assert result.code == 0 and result.err == "", str(result)
    doc = json.loads(result.out)
    assert doc["total"]["params"] == 1_007_590 and doc["total"]["macs"] == 1_329_000


def test_show_invalid_only_on_stderr(cmd: list[str], specs: dict[str, Path]) -> None:
    result = run(cmd, "show", str(specs["invalid"]))
    assert result.code == 2, str(result)
    assert result.out == "", str(result)
    assert result.err == f"{specs['invalid']}:3:5: error: unknown layer kind 'cnov'; did you mean 'conv'?\n", str(
        result
    )


def test_show_missing_file(cmd: list[str], tmp_path: Path) -> None:
    result = run(cmd, "show", str(tmp_path / "nope.yaml"))
    assert result.code == 2 and result.out == "", str(result)
    assert result.err.startswith(f"{tmp_path / 'nope.yaml'}: error: ") and result.err.count("\n") == 1, str(result)


def test_show_bad_option(cmd: list[str], specs: dict[str, Path]) -> None:
    result = run(cmd, "show", str(specs["convnet"]), "--input", "0x0")
    assert result.code == 2 and result.out == "" and "--input" in result.err, str(result)


def test_show_warning_exits_0_strict_1(cmd: list[str], specs: dict[str, Path]) -> None:
    plain = run(cmd, "show", str(specs["warning"]))
    assert plain.code == 0 and plain.err == "" and "warning[1,2]" in plain.out, str(plain)
    strict = run(cmd, "show", "--strict", str(specs["warning"]))
    assert strict.code == 1 and strict.out == plain.out and strict.err == "", str(strict)


@pytest.mark.parametrize(
    "names, code",
    [
        (["convnet"], 0),
        (["warning"], 1),
        (["invalid"], 2),
        (["convnet", "warning"], 1),
        (["warning", "invalid", "convnet"], 2),
    ],
)
def test_check_exit_codes_and_stdout_only(cmd: list[str], specs: dict[str, Path], names: list[str], code: int) -> None:
    result = run(cmd, "check", *(str(specs[n]) for n in names))
    assert result.code == code, str(result)
    assert result.err == "", "check writes findings and summary to stdout only\n" + str(result)
    assert result.out.splitlines()[-1].startswith(f"checked {len(names)} file"), str(result)


def test_check_json(cmd: list[str], specs: dict[str, Path]) -> None:
    result = run(cmd, "check", "-f", "json", str(specs["convnet"]), str(specs["invalid"]))
    assert result.code == 2 and result.err == "", str(result)
    doc = json.loads(result.out)
    assert [f["status"] for f in doc["files"]] == ["clean", "invalid"] and doc["exit_code"] == 2


def test_usage_error_exit_2(cmd: list[str]) -> None:
    result = run(cmd, "check")
    assert result.code == 2 and result.out == "", str(result)
    assert result.err == "convcalc: error: Missing argument 'SPEC...'. (see 'convcalc check --help')\n", str(result)


@pytest.mark.parametrize(
    "args, mentions",
    [
        (["show", "x.yaml", "--format", "xml"], "xml"),
        (["show", "x.yaml", "--batch", "0"], "--batch"),
        (["show", "x.yaml", "--input", "0x0"], "--input"),
        (["show", "x.yaml", "--bogus"], "--bogus"),
        (["check", "--format", "sarif", "x.yaml"], "sarif"),
    ],
)
def test_usage_errors_exit_2_on_stderr(cmd: list[str], args: list[str], mentions: str) -> None:
    result = run(cmd, *args)
    assert result.code == 2 and result.out == "", str(result)
    assert mentions in result.err, str(result)


# --- standard input -------------------------------------------------------------------------


def test_show_stdin(cmd: list[str], specs: dict[str, Path]) -> None:
    with open(specs["convnet"], "rb") as f:
        proc = subprocess.run(
            [*cmd, "show", "-", "-f", "csv"], stdin=f, capture_output=True, check=False, env=clean_env(), timeout=60
        )
    from_stdin = Run(proc)
    from_file = run(cmd, "show", str(specs["convnet"]), "-f", "csv")
    assert from_stdin.code == 0 and from_stdin.err == "", str(from_stdin)
    assert from_stdin.out == from_file.out
    assert from_stdin.out.splitlines()[1].startswith("1,conv1,conv,28x28x1,24x24x10,260,0,144000,288000")


def test_show_stdin_invalid(cmd: list[str]) -> None:
    result = run(cmd, "-", stdin=INVALID.encode())
    assert result.code == 2 and result.out == "", str(result)
    assert result.err == "<stdin>:3:5: error: unknown layer kind 'cnov'; did you mean 'conv'?\n", str(result)


def test_check_stdin(cmd: list[str]) -> None:
    result = run(cmd, "check", "-", stdin=WARNING.encode())
    assert result.code == 1 and result.out.startswith("<stdin>:3:5: warning: "), str(result)


# --- no colour in pipes ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["show", "{warning}"],
        ["show", "{warning}", "-f", "markdown"],
        ["show", "{invalid}"],
        ["check", "{warning}", "{invalid}"],
        ["kinds"],
        ["--help"],
        ["show", "{warning}", "--color", "never"],
    ],
)
def test_piped_output_has_no_ansi(cmd: list[str], specs: dict[str, Path], args: list[str]) -> None:
    result = run(cmd, *(a.format(**{k: str(v) for k, v in specs.items()}) for a in args))
    assert result.code in (0, 1, 2), str(result)
    assert ANSI not in result.out_bytes and ANSI not in result.err_bytes, str(result)
    assert all(line == line.rstrip() for line in result.out.splitlines()), "trailing spaces\n" + str(result)


def test_color_always_into_a_pipe(cmd: list[str], specs: dict[str, Path]) -> None:
    # Found as a bug: click.echo stripped the codes of `--color always` when stdout was a pipe.
    result = run(cmd, "show", str(specs["warning"]), "--color", "always")
    assert result.code == 0, str(result)
    assert ANSI in result.out_bytes, str(result)


def test_broken_pipe_is_quiet(cmd: list[str], tmp_path: Path) -> None:
    spec = tmp_path / "long.yaml"
    spec.write_text("input: 28x28x1\nlayers:\n  - repeat: {times: 50000, layers: [relu]}\n", encoding="utf-8")
    proc = subprocess.Popen(
        [*cmd, "show", str(spec), "-f", "csv"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=clean_env()
    )
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline().startswith(b"index,name,")
    proc.stdout.close()
    err = proc.stderr.read().decode()
    code = proc.wait(timeout=60)
    assert "Traceback" not in err and "Exception ignored" not in err, err
    assert code in (0, 1, -13, 120), (code, err)


# --- a real terminal ------------------------------------------------------------------------

pty = pytest.importorskip("pty")


def run_in_terminal(
    cmd: list[str], *args: str, env: dict[str, str], columns: int = 200, lines: int = 50
) -> tuple[int, str, str]:
    """Run with standard output on a pseudo-terminal (200 columns, 50 lines), standard error on a pipe."""
    import fcntl
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", lines, columns, 0, 0))
    proc = subprocess.Popen(
        [*cmd, *args], stdin=subprocess.DEVNULL, stdout=slave, stderr=subprocess.PIPE, env=env, close_fds=True
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    assert proc.stderr is not None
    err = proc.stderr.read().decode()
    code = proc.wait(timeout=60)
    return code, b"".join(chunks).decode("utf-8").replace("\r\n", "\n"), err


def test_terminal_table_has_colour(cmd: list[str], specs: dict[str, Path]) -> None:
    code, out, err = run_in_terminal(cmd, "show", str(specs["warning"]), env=clean_env())
    assert code == 0 and err == "", (code, out, err)
    assert "\x1b[" in out, out
    assert "\x1b[1;31mwarning[1,2]" in out, out  # the warning marker in bold red
    assert "15×15×8" in out


@pytest.mark.parametrize("setting", [{"NO_COLOR": "1"}, {"NO_COLOR": "yes"}])
def test_terminal_no_color(cmd: list[str], specs: dict[str, Path], setting: dict[str, str]) -> None:
    code, out, err = run_in_terminal(cmd, "show", str(specs["warning"]), env=clean_env(**setting))
    assert code == 0 and err == "", (code, out, err)
    assert "\x1b[" not in out, out
    assert "warning[1,2]" in out and "15×15×8" in out


def test_terminal_color_never(cmd: list[str], specs: dict[str, Path]) -> None:
    code, out, _ = run_in_terminal(cmd, "show", str(specs["warning"]), "--color", "never", env=clean_env())
    assert code == 0 and "\x1b[" not in out, out


def test_terminal_empty_no_color_means_colour(cmd: list[str], specs: dict[str, Path]) -> None:
    # no-color.org: NO_COLOR only counts when it is set to a non-empty string.
    code, out, _ = run_in_terminal(cmd, "show", str(specs["warning"]), env=clean_env(NO_COLOR=""))
    assert code == 0 and "\x1b[" in out, out


def test_terminal_error_still_on_stderr(cmd: list[str], specs: dict[str, Path]) -> None:
    code, out, err = run_in_terminal(cmd, "show", str(specs["invalid"]), env=clean_env())
    assert code == 2 and out == "", (code, out, err)
    assert err == f"{specs['invalid']}:3:5: error: unknown layer kind 'cnov'; did you mean 'conv'?\n"


def test_a_real_terminal_folds_a_tall_table_and_groups_alike_flags(cmd: list[str]) -> None:
    env = {k: v for k, v in clean_env(NO_COLOR="1").items() if k not in ("COLUMNS", "LINES")}
    resnet = str(ROOT / "specs" / "resnet50.yaml")
    code, out, err = run_in_terminal(cmd, "show", resnet, env=env, columns=100, lines=40)
    assert code == 0 and err == "", (code, err)
    assert "folded 2 levels deep to fit the terminal: --depth all shows every row" in out
    assert "[1-6,9,10,13,14] info: 10 flags in 5 layers" in out
    code, every, _ = run_in_terminal(cmd, "show", resnet, "--depth", "all", "-v", env=env, columns=100, lines=40)
    assert code == 0 and "folded" not in every and "[16] info:" in every


def test_a_misspelt_command_is_one_line_on_stderr(cmd: list[str]) -> None:
    proc = subprocess.run([*cmd, "shwo", "x.yaml"], capture_output=True, text=True, env=clean_env(), cwd=ROOT)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr == (
        "convcalc: error: no command 'shwo'; did you mean 'show'? To read a file of that name: "
        "convcalc show ./shwo (see 'convcalc --help')\n"
    )


@pytest.mark.parametrize("columns", [60, 80, 100])
def test_a_real_terminal_of_that_width_gets_no_wider_line(cmd: list[str], columns: int) -> None:
    # the terminal's size, as the kernel reports it to the child (COLUMNS unset): no line wraps
    env = {k: v for k, v in clean_env().items() if k not in ("COLUMNS", "LINES")}
    code, out, err = run_in_terminal(cmd, "show", str(ROOT / "specs" / "resnet50.yaml"), env=env, columns=columns)
    assert code == 0 and err == "", (code, err)
    lines = [re.sub("\x1b\\[[0-9;]*m", "", line) for line in out.splitlines()]
    assert max(len(line) for line in lines) <= columns
    assert any("conv1" in line and "112×112×64" in line for line in lines)  # the rows are there


def test_terminal_table_fits_the_width(cmd: list[str], specs: dict[str, Path]) -> None:
    code, out, _ = run_in_terminal(cmd, "show", str(specs["convnet"]), env=clean_env(NO_COLOR="1"))
    assert code == 0
    assert max(len(line) for line in out.splitlines()) <= 200, out


MODULES_AFTER = (
    "import sys\n"
    "from convcalc.commands.main import run\n"
    "try:\n"
    "    run(sys.argv[1:])\n"
    "except SystemExit:\n"
    "    pass\n"
    "sys.stdout.flush()\n"
    "print('MODULES', ' '.join(sorted(sys.modules)), file=sys.stderr)\n"
)


def _modules_after(*args: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", MODULES_AFTER, *args], capture_output=True, text=True, check=True, cwd=ROOT
    )
    line = next(line for line in out.stderr.splitlines() if line.startswith("MODULES "))
    return set(line.split()[1:])


@pytest.mark.parametrize("args", [["--version"], ["--help"]])
def test_version_and_help_import_no_spec_machinery(args: list[str]) -> None:
    # Start-up (issue 9): commands load on use; --version and --help need neither PyYAML nor the kinds.
    loaded = _modules_after(*args)
    assert not loaded & {"yaml", "rich", "json", "convcalc.model.kinds", "convcalc.engine.evaluate"}
    if args == ["--version"]:
        assert "locale" not in loaded  # convcalc's own --version text: no gettext lookup
        group = {"convcalc.commands.main", "convcalc.commands.declare"}  # the group and its click declarations
        assert not {m for m in loaded if m.startswith("convcalc.commands.") and m not in group}


def test_show_json_imports_only_what_it_needs() -> None:
    loaded = _modules_after("show", "specs/convnet.yaml", "-f", "json")
    assert {"yaml", "_json", "convcalc.commands.show", "convcalc.engine.evaluate"} <= loaded
    assert not loaded & {"rich", "csv", "json", "convcalc.commands.solve", "convcalc.engine.receptive", "convcalc.engine.solve"}
    # convcalc declares its --help, --version and spec type with their texts, and spells -f long
    # before click's parser would try it as a long option and build a "no such option" error:
    # no gettext lookup (locale), no suggestions (difflib)
    assert not loaded & {"locale", "difflib"}
    assert not _modules_after("show", "specs/convnet.yaml", "--format", "json", "-q") & {"locale", "difflib"}


FROZEN_AFTER = (
    "import gc, sys\n"
    "from convcalc.cli import run\n"
    "sys.argv = ['convcalc', *sys.argv[1:]]\n"
    "try:\n"
    "    run()\n"
    "except SystemExit as exit:\n"
    "    sys.stdout.flush()\n"
    "    print('FROZEN', gc.get_freeze_count(), 'CODE', exit.code, file=sys.stderr)\n"
)


@pytest.mark.parametrize(("args", "code"), [(["show", "specs/convnet.yaml", "-f", "json"], 0), (["show", "nothing.yaml"], 2)])
def test_the_console_script_freezes_what_the_teardown_would_rescan(args: list[str], code: int) -> None:
    # Start-up (issue 9): the interpreter's exit runs full collections over every object alive;
    # frozen, they are skipped.  Whatever the command's outcome, the heap is frozen as it ends.
    out = subprocess.run([sys.executable, "-c", FROZEN_AFTER, *args], capture_output=True, text=True, cwd=ROOT)
    frozen, exit_code = re.search(r"FROZEN (\d+) CODE (\d+)", out.stderr).groups()  # type: ignore[union-attr]
    assert int(exit_code) == code
    assert int(frozen) > 10_000  # click, PyYAML and convcalc's modules: tens of thousands of objects
