"""The package's layout is a contract: stages import only from the stages before them.

convcalc is laid out along its pipeline (README, "Development"):

    base → model → spec → engine → outputs → commands, with api.py and __init__.py on top.

These tests read every module's imports from the code (``ast``, imports inside functions
included) and fail on an edge that points backwards, on click outside the commands, on a test
of a kind by name or identity outside the kinds, on the fit rule's words outside
``model/joins.py``, and on an import inside a function that does not say why (start-up time is
the only reason allowed).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "convcalc"
STAGES = ("base", "model", "spec", "engine", "outputs", "commands", "")  # "" is the package's top
MODULES = sorted(p for p in PACKAGE.rglob("*.py"))


def stage_of(module: str) -> str:
    """``convcalc.engine.solve`` → ``engine``; ``convcalc.api`` → ``""`` (the top)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and parts[1] in STAGES) else ""


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> list[tuple[int, str, bool]]:
    """(line, imported module, inside a function) for every import in the file."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[tuple[int, str, bool]] = []

    def visit(node: ast.AST, nested: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inner = nested or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue  # for the type checker only: never imported at run time
            if isinstance(child, ast.Import):
                found.extend((child.lineno, a.name, inner) for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package.split(".")
                    base = base[: len(base) - child.level + 1]
                    target = ".".join(base + ([child.module] if child.module else []))
                else:
                    target = child.module or ""
                if child.level and not child.module:  # from . import x: x may be a module
                    found.extend((child.lineno, f"{target}.{a.name}", inner) for a in child.names)
                else:
                    found.append((child.lineno, target, inner))
            visit(child, inner)

    visit(tree, False)
    return found


def test_every_stage_folder_exists() -> None:
    for stage in STAGES[:-1]:
        assert (PACKAGE / stage / "__init__.py").is_file(), stage


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_import_points_backwards(path: Path) -> None:
    here = stage_of(module_name(path))
    rank = STAGES.index(here)
    for line, target, _ in imports(path):
        if not target.startswith("convcalc"):
            continue
        there = stage_of(target)
        assert STAGES.index(there) <= rank, f"{path.name}:{line} imports {target}: {here or 'top'} → {there or 'top'}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_only_the_commands_import_click(path: Path) -> None:
    if stage_of(module_name(path)) == "commands":
        return
    for line, target, _ in imports(path):
        assert target.split(".")[0] != "click", f"{path.name}:{line} imports click"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_inside_functions_say_why(path: Path) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    for line, target, nested in imports(path):
        if not nested:
            continue
        first = line - 1
        while first > 0 and lines[first - 1].lstrip().startswith(("import ", "from ")):
            first -= 1  # a run of imports shares one comment
        here = "".join(lines[max(first - 1, 0) : line])  # the run's lines and the line above it
        assert "start-up" in here or "error path" in here, f"{path.name}:{line}: lazy import of {target} without a reason"


def test_graph_between_folders_has_no_cycle() -> None:
    edges = {(stage_of(module_name(p)), stage_of(t)) for p in MODULES for _, t, _ in imports(p) if t.startswith("convcalc")}
    edges = {(a, b) for a, b in edges if a != b}
    assert all(STAGES.index(b) < STAGES.index(a) for a, b in edges), sorted(edges)


OUTSIDE_KINDS = [p for p in MODULES if p.name != "kinds.py" or p.parent.name != "model"]


@pytest.mark.parametrize("path", OUTSIDE_KINDS, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_outside_the_kinds_tests_a_kind(path: Path) -> None:
    """A kind says what it is (``flattens``, ``fixes_input``, ``interpolation``); no one asks its name."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and ast.unparse(node.value).endswith("KINDS"):
            pytest.fail(f"{path.name}:{node.lineno}: looks a kind up by name: {ast.unparse(node)}")
        if isinstance(node, ast.Compare):
            text = ast.unparse(node)
            if re.search(r"kind\.name (==|!=|in|not in) ['(\[]|kind is (not )?KINDS|kind\.name\)? (==|!=) ['\"]", text):
                pytest.fail(f"{path.name}:{node.lineno}: tests a kind by name: {text}")
        if isinstance(node, ast.Call) and ast.unparse(node.func) == "isinstance":
            if any(n in ast.unparse(node) for n in ("Conv", "Dense", "Flatten", "Upsample", "Pool")):
                pytest.fail(f"{path.name}:{node.lineno}: tests a kind's class: {ast.unparse(node)}")


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_the_fit_rule_is_written_once(path: Path) -> None:
    """Only model/joins.py says what crop and pad do; others compare no fit by its name."""
    if path.name == "joins.py":
        return
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            text = ast.unparse(node)
            if "'crop'" in text or "'pad'" in text:
                pytest.fail(f"{path.name}:{node.lineno}: a fit rule outside joins.py: {text}")
