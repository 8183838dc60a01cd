"""The documentation's terminal examples are tests: every ```console block must print what it shows.

What is collected.  Every fenced block whose info string starts with ``console`` in README.md and
docs/*.md (docs/kinds.md included, should it ever have one).  One test per file: the examples of a
file run in order and may build on each other (one writes a file the next reads), so a file is
the unit.

The block syntax.

- A line starting with ``$ `` is a command.  A command line ending in a backslash continues on
  the next line (the lines are joined as bash joins them).  Continuation prompts (``> ``) are not
  used in the docs and not supported.
- The lines after a command, up to the next ``$ `` line or the end of the block, are its expected
  output.  They are compared **exactly** (trailing spaces and tabs included: a TSV row that ends
  in a tab must end in a tab in the Markdown too), except that a line holding only ``...``
  stands for any number of lines, zero included.
- A command that needs PyTorch says so at the end of its ``$`` line with a bash comment that
  starts ``# needs torch`` (``$ python resnet18.py  # needs torch; ...``: visible to readers,
  ignored by bash).  When ``import torch`` fails in this Python, those commands are not run,
  the rest of the file still is, and the test then skips, naming them.  Nothing later in a file
  may depend on such a command's effects.
- Output that depends on time or on the machine (benchmarks) does not belong in a console
  block, or must be elided with ``...``.

How a file's examples run.

- In a fresh copy of the checkout (``git ls-files`` plus untracked files that are not ignored,
  so a new example file counts before it is committed), in a temporary directory: an example may
  create or rewrite files (``convcalc annotate``) without touching the checkout or another
  file's examples.  Files an example reads must therefore be in the repository
  (docs/examples/ holds those that are not specs of their own).
- Each command by ``bash -c`` with the copy's root as the working directory and standard input
  empty.  Its standard output and standard error go to one pipe (``2>&1``), so the text compared
  is what a user sees, interleaved; ``PYTHONUNBUFFERED=1`` keeps Python's writes in the order a
  terminal would show them.  Exit statuses are not checked: a doc that wants to show one writes
  ``; echo $?`` (they are shown in the failure message).
- The environment is the caller's with the colour and locale settings replaced:
  ``NO_COLOR=1``, ``TERM=dumb``, ``COLUMNS=80``, ``LINES=24``, ``LC_ALL=C.UTF-8``, and the
  directory of this Python (the virtualenv's ``bin``) first on ``PATH``, so ``convcalc`` and
  ``python`` are the ones under test.  The output is a pipe, not a terminal, so the table is
  never wrapped to ``COLUMNS`` and has no colour.
"""

from __future__ import annotations

import difflib
import functools
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOC_FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
WILDCARD = "..."
TORCH_MARK = re.compile(r"(^|\s)# needs torch\b")  # a shell comment: `$ python x.py  # needs torch; ...`
FENCE = re.compile(r"^(`{3,}|~{3,})\s*(.*)$")
TIMEOUT = 300  # seconds per command; a torch example imports torch


@dataclass
class Example:
    path: str  # the doc, relative to the repository root
    line: int  # 1-based line of the `$` in the doc
    command: str
    expected: list[str]

    @property
    def needs_torch(self) -> bool:
        return bool(TORCH_MARK.search(self.command))


def closes(line: str, fence: str) -> bool:
    """Whether ``line`` closes a block opened by ``fence``: the same character, at least as many."""
    line = line.rstrip()
    return len(line) >= len(fence) and set(line) == {fence[0]}


def console_blocks(text: str) -> list[tuple[int, list[str]]]:
    """Each ```console block's body lines, with the 1-based line number of its first body line."""
    blocks: list[tuple[int, list[str]]] = []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        fence, info = opening.groups()
        end = i + 1
        while end < len(lines) and not closes(lines[end], fence):
            end += 1
        if info.split()[:1] == ["console"]:
            blocks.append((i + 2, lines[i + 1 : end]))
        i = end + 1
    return blocks


def examples(doc: Path) -> list[Example]:
    return parse(doc.relative_to(ROOT).as_posix(), doc.read_text(encoding="utf-8"))


def parse(name: str, text: str) -> list[Example]:
    """The commands of a doc's console blocks, in order, each with the output it shows."""
    found: list[Example] = []
    for first, body in console_blocks(text):
        i = 0
        if body and not body[0].startswith("$ "):
            raise ValueError(f"{name}:{first}: a console block must start with a `$ ` command line")
        while i < len(body):
            line_no = first + i
            command = body[i][2:]
            while command.endswith("\\") and i + 1 < len(body):
                i += 1
                command = command[:-1] + body[i]  # as bash joins a backslash-newline
            i += 1
            expected = []
            while i < len(body) and not body[i].startswith("$ "):
                expected.append(body[i])
                i += 1
            found.append(Example(name, line_no, command, expected))
    return found


def matches(expected: list[str], actual: list[str]) -> bool:
    """Line-exact comparison where a line holding only `...` matches zero or more lines."""
    # reach[a]: the expected lines so far can match actual[:a] (glob matching, one line a symbol)
    reach = [True] + [False] * len(actual)
    for want in expected:
        if want == WILDCARD:
            for a in range(1, len(reach)):
                reach[a] = reach[a] or reach[a - 1]
        else:
            reach = [False] + [reach[a] and actual[a] == want for a in range(len(actual))]
    return reach[-1]


def show(line: str) -> str:
    """A line for the diff; whitespace a reader cannot see is made visible at the end."""
    stripped = line.rstrip()
    if stripped != line or "\t" in line:
        return f"{line}    ⟵ {line!r}"
    return line


def diff(expected: list[str], actual: list[str]) -> str:
    """Expected (-) against actual (+); a `...` line aligned with some lines is shown as matching them."""
    out: list[str] = []
    matcher = difflib.SequenceMatcher(a=expected, b=actual, autojunk=False)
    for tag, e1, e2, a1, a2 in matcher.get_opcodes():
        if tag == "equal":
            out += [f"  {show(line)}" for line in expected[e1:e2]]
        elif expected[e1:e2] and all(line == WILDCARD for line in expected[e1:e2]):
            out.append(f"  ...    (stands for {a2 - a1} line{'s' * (a2 - a1 != 1)} here)")
        else:
            out += [f"- {show(line)}" for line in expected[e1:e2]]
            out += [f"+ {show(line)}" for line in actual[a1:a2]]
    return "\n".join(out)


@functools.lru_cache(maxsize=None)
def torch_importable() -> bool:
    probe = [sys.executable, "-c", "import torch"]
    return subprocess.run(probe, check=False, capture_output=True, timeout=TIMEOUT).returncode == 0


def git_files() -> list[str]:
    """The checkout's tracked files and its untracked files that are not ignored."""
    names: list[str] = []
    for extra in ([], ["--others", "--exclude-standard"]):
        try:
            listed = subprocess.run(
                ["git", "ls-files", "-z", *extra], cwd=ROOT, check=True, capture_output=True, timeout=60
            )
        except (OSError, subprocess.CalledProcessError) as err:
            pytest.skip(f"the docs' examples run in a copy of a git checkout; `git ls-files` failed: {err}")
        names += [name for name in listed.stdout.decode("utf-8", "surrogateescape").split("\0") if name]
    return names


def fresh_copy(dest: Path) -> Path:
    for name in git_files():
        source = ROOT / name
        if not source.exists() and not source.is_symlink():
            continue  # deleted in the work tree, not yet in the index
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            target.symlink_to(os.readlink(source))
        else:
            shutil.copy2(source, target)
    return dest


def environment() -> dict[str, str]:
    drop = ("NO_COLOR", "FORCE_COLOR", "CLICOLOR", "CLICOLOR_FORCE", "COLUMNS", "LINES", "LANG", "LANGUAGE")
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith(("LC_", "_CONVCALC"))}
    env.update(
        NO_COLOR="1",
        TERM="dumb",
        COLUMNS="80",
        LINES="24",
        LC_ALL="C.UTF-8",
        PYTHONUNBUFFERED="1",
        PYTHONDONTWRITEBYTECODE="1",
        PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", os.defpath)]),
    )
    return env


def run(example: Example, cwd: Path, env: dict[str, str]) -> tuple[int | str, list[str]]:
    """The command's exit status (or why it has none) and its output lines, both streams together."""
    try:
        proc = subprocess.run(
            ["bash", "-c", example.command],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            timeout=TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as err:
        output, status = err.output or b"", f"killed after {TIMEOUT} s"
    else:
        output, status = proc.stdout, proc.returncode
    text = output.decode("utf-8", "backslashreplace")
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()  # the final newline ends the last line; it is not an empty line
    return status, lines


DOCS_WITH_EXAMPLES = [doc for doc in DOC_FILES if console_blocks(doc.read_text(encoding="utf-8"))]


def test_the_docs_have_examples() -> None:
    """Guards the collection: a broken fence parser would otherwise make every doc test vanish."""
    names = [doc.relative_to(ROOT).as_posix() for doc in DOCS_WITH_EXAMPLES]
    assert "README.md" in names and "docs/format.md" in names and "docs/solve.md" in names


@pytest.mark.parametrize(
    ("expected", "actual", "ok"),
    [
        (["a", "b"], ["a", "b"], True),
        (["a", "b"], ["a", "b", "c"], False),
        (["a", "...", "d"], ["a", "b", "c", "d"], True),
        (["a", "...", "b"], ["a", "b"], True),  # `...` may stand for no line at all
        (["...", "b"], ["b", "b"], True),
        (["a", "..."], ["b"], False),
        (["...", "x", "...", "x"], ["x", "y", "x", "z"], False),
        (["...", "x", "...", "x", "..."], ["x", "y", "x", "z"], True),
        (["..."], [], True),
        ([], [], True),
        ([], [""], False),  # an empty line printed must be shown
        (["1\t2\t"], ["1\t2\t"], True),
        (["1\t2"], ["1\t2\t"], False),  # exact: a trailing tab counts
        (["a "], ["a"], False),
        (["  ..."], ["x"], False),  # only a line holding just `...` is a wildcard
    ],
)
def test_matching(expected: list[str], actual: list[str], ok: bool) -> None:
    assert matches(expected, actual) is ok


def test_parsing_commands_and_outputs() -> None:
    text = "x\n```console\n$ echo a \\\n  b\na b\n$ true\n```\n```sh\n$ not collected\n```\n````console\n$ x\n```\n````\n"
    assert parse("doc.md", text) == [
        Example("doc.md", 3, "echo a   b", ["a b"]),  # bash joins a backslash-newline the same way
        Example("doc.md", 6, "true", []),
        Example("doc.md", 12, "x", ["```"]),  # a longer fence holds a shorter one
    ]
    assert Example("d", 1, "python x.py  # needs torch; one pass", []).needs_torch
    assert not Example("d", 1, "python x.py", []).needs_torch


@pytest.mark.parametrize("doc", DOCS_WITH_EXAMPLES, ids=lambda doc: doc.relative_to(ROOT).as_posix())
def test_console_examples(doc: Path, tmp_path: Path) -> None:
    try:
        found = examples(doc)
    except ValueError as err:
        pytest.fail(str(err), pytrace=False)
    repo = fresh_copy(tmp_path / "checkout")
    env = environment()
    skipped: list[str] = []
    failures: list[str] = []
    for example in found:
        if example.needs_torch and not torch_importable():
            skipped.append(f"{example.path}:{example.line}: $ {example.command}")
            continue
        code, actual = run(example, repo, env)
        if not matches(example.expected, actual):
            failures.append(
                f"{example.path}:{example.line}: the output differs from the documented one\n"
                f"$ {example.command}\n"
                f"(exit status {code}; - documented, + printed; `...` stands for any lines)\n"
                f"{diff(example.expected, actual)}\n"
            )
    if failures:
        # Every failing example is reported; a later one may fail only because an earlier one did.
        count = f"{len(failures)} example{'s' * (len(failures) != 1)}"
        pytest.fail(f"{count} of {doc.name} differ:\n\n" + "\n".join(failures), pytrace=False)
    if skipped:
        pytest.skip("torch is not importable; not run:\n" + "\n".join(skipped))
