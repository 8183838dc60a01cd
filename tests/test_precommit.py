"""Integrations, for real: the pre-commit hook this repository publishes, and shell completion.

The hook tests run pre-commit itself (a test dependency) in a scratch git repository.
``pre-commit try-repo`` on this checkout would carry only changes to tracked files (it
builds its shadow repository with ``git add -u``), so the hook repository is a copy of the
working tree's package files, committed: what is tested is what would be committed.
pre-commit then ``pip install``s it into a fresh environment, as a user's machine would.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers import ROOT

HOOK_ID = "convcalc-check"

CLEAN = """\
input: 28x28x1
layers:
  - conv: {out: 10, kernel: 5, expect: 24x24x10}
  - pool: {kernel: 2}
"""

# A 3×3 stride-2 convolution on 32×32 without padding: the last row and column are never read.
FLAGGED = """\
input: 32x32x3
layers:
  - conv: {out: 16, kernel: 3, stride: 2}
"""

FINDING = "flagged.yaml:3:5: warning: conv1: H: (32 + 2·0 − 3)/2 + 1 = 31/2 → PyTorch uses 15"


def git_env() -> dict[str, str]:
    """The environment without the caller's git state (tests may run inside a git hook)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "PRE_COMMIT"))}
    who = {"NAME": "convcalc tests", "EMAIL": "tests@convcalc.invalid"}
    env.update({f"GIT_{role}_{k}": v for role in ("AUTHOR", "COMMITTER") for k, v in who.items()})
    return env


def git(cwd: Path, *args: str) -> str:
    out = subprocess.run(
        ["git", "-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main", *args],
        cwd=cwd,
        env=git_env(),
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip()


def commit_all(repo: Path) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "test")
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A committed copy of what pre-commit installs: the package, its metadata, the hook file."""
    pytest.importorskip("pre_commit")
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    repo = tmp_path_factory.mktemp("hook-repo")
    for name in ("pyproject.toml", "README.md", ".pre-commit-hooks.yaml"):
        shutil.copy2(ROOT / name, repo / name)
    shutil.copytree(ROOT / "convcalc", repo / "convcalc", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    git(repo, "init", "-q")
    return repo, commit_all(repo)


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    """A user's repository with a clean and a flagged spec, committed."""
    repo = tmp_path / "project"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / "clean.yaml").write_text(CLEAN, encoding="utf-8")
    (repo / "flagged.yaml").write_text(FLAGGED, encoding="utf-8")
    commit_all(repo)
    yield repo


def pre_commit(cwd: Path, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**git_env(), "PRE_COMMIT_HOME": str(home), "PRE_COMMIT_COLOR": "never"}
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=300,
        check=False,
    )


def test_hook_file_declares_convcalc_check() -> None:
    import yaml  # type: ignore[import-untyped,unused-ignore]

    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    (hook,) = [h for h in hooks if h["id"] == HOOK_ID]
    assert hook["entry"] == "convcalc check"
    assert hook["language"] == "python"
    assert re.search(hook["files"], "specs/resnet50.yaml") and re.search(hook["files"], "a/b.yml")
    assert not re.search(hook["files"], "README.md")


def test_try_repo_passes_a_clean_spec_and_fails_a_flagged_one(
    hook_repo: tuple[Path, str], project: Path, tmp_path: Path
) -> None:
    repo, _ = hook_repo
    clean = pre_commit(project, tmp_path / "home", "try-repo", str(repo), HOOK_ID, "--files", "clean.yaml")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert re.search(r"convcalc check\.+Passed", clean.stdout)

    flagged = pre_commit(project, tmp_path / "home", "try-repo", str(repo), HOOK_ID, "--files", "flagged.yaml")
    assert flagged.returncode == 1, flagged.stdout + flagged.stderr
    assert re.search(r"convcalc check\.+Failed", flagged.stdout)
    assert FINDING in flagged.stdout
    assert "checked 1 file: 0 clean, 1 with problems" in flagged.stdout


def readme_config() -> str:
    """The README's copy-paste `.pre-commit-config.yaml`."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(# \.pre-commit-config\.yaml\n.*?)```", readme, re.DOTALL)
    assert len(blocks) == 1, "README.md has one .pre-commit-config.yaml example"
    return str(blocks[0])


def test_the_readme_config_checks_only_the_spec_folder(hook_repo: tuple[Path, str], project: Path) -> None:
    repo, rev = hook_repo
    config = readme_config()
    assert "repo: https://github.com/OWNER/convcalc" in config and f"id: {HOOK_ID}" in config
    config = config.replace("https://github.com/OWNER/convcalc", str(repo))
    config = re.sub(r"rev: \S+", f"rev: {rev}", config)
    (project / ".pre-commit-config.yaml").write_text(config, encoding="utf-8")
    (project / "specs").mkdir()
    (project / "specs" / "clean.yaml").write_text(CLEAN, encoding="utf-8")
    (project / "specs" / "flagged.yaml").write_text(FLAGGED, encoding="utf-8")
    commit_all(project)  # (the root's flagged.yaml and the config are YAML too, but not in specs/)

    run = pre_commit(project, project.parent / "home", "run", "--all-files")
    assert run.returncode == 1, run.stdout + run.stderr
    assert "specs/" + FINDING in run.stdout
    assert "checked 2 files: 1 clean, 1 with problems" in run.stdout  # specs/ only

    (project / "specs" / "flagged.yaml").unlink()
    commit_all(project)
    run = pre_commit(project, project.parent / "home", "run", "--all-files")
    assert run.returncode == 0, run.stdout + run.stderr


# --- shell completion (click's: _CONVCALC_COMPLETE=<shell>_source / <shell>_complete) ----------


def convcalc_command() -> list[str]:
    here = Path(sys.executable).with_name("convcalc")
    found = str(here) if here.exists() else shutil.which("convcalc")
    return [found] if found else [sys.executable, "-m", "convcalc"]


def complete(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        convcalc_command(), env={**os.environ, **env}, capture_output=True, text=True, timeout=60, check=False
    )


@pytest.mark.parametrize(
    ("shell", "marker"),
    [
        ("bash", "_convcalc_completion"),
        ("zsh", "#compdef convcalc"),
        ("fish", "complete --no-files --command convcalc"),
    ],
)
def test_completion_script(shell: str, marker: str) -> None:
    out = complete({"_CONVCALC_COMPLETE": f"{shell}_source"})
    assert out.returncode == 0, out.stderr
    assert marker in out.stdout
    assert "_CONVCALC_COMPLETE" in out.stdout


@pytest.mark.parametrize(
    ("words", "cword", "offered"),
    [
        ("convcalc sh", 1, ["show"]),
        ("convcalc ", 1, ["check", "kinds", "show"]),
        ("convcalc show x.yaml --format ", 4, ["csv", "json", "markdown", "table", "tsv"]),
        ("convcalc check --format g", 3, ["github"]),
    ],
)
def test_bash_completion_offers(words: str, cword: int, offered: list[str]) -> None:
    out = complete({"_CONVCALC_COMPLETE": "bash_complete", "COMP_WORDS": words, "COMP_CWORD": str(cword)})
    assert out.returncode == 0, out.stderr
    values = sorted(line.split(",", 1)[1] for line in out.stdout.splitlines() if line.startswith("plain,"))
    assert set(offered) <= set(values), values
    if words.endswith(("sh", "g")):
        assert values == offered


@pytest.mark.parametrize("words", ["convcalc show sp", "convcalc check specs/a.yaml sp"])
def test_bash_completion_leaves_a_spec_name_to_the_shell_files(words: str) -> None:
    # The spec argument is a file name: click answers "file", and bash lists the files itself.
    out = complete({"_CONVCALC_COMPLETE": "bash_complete", "COMP_WORDS": words, "COMP_CWORD": str(len(words.split()) - 1)})
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["file,sp"]


def test_bash_completion_in_bash() -> None:
    """The generated script sourced in a real bash, its function called as `complete -F` would."""
    bash = shutil.which("bash")
    command = convcalc_command()
    if bash is None or len(command) != 1:
        pytest.skip("needs bash and the convcalc console script")
    script = (
        "source <(_CONVCALC_COMPLETE=bash_source convcalc) && complete -p convcalc >/dev/null && "
        'COMP_WORDS=(convcalc sh) COMP_CWORD=1 && _convcalc_completion convcalc && echo "${COMPREPLY[@]}"'
    )
    env = {**os.environ, "PATH": f"{Path(command[0]).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    out = subprocess.run(
        [bash, "--norc", "-c", script], check=False, env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["show"]
