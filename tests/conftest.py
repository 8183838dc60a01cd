"""The suite's fixtures and the ``--update-golden`` option; the shared constants and runners are in ``helpers.py``.

Golden files (``tests/golden/*.out``) keep the exact output of the CLI, as torchinfo keeps its
``.out`` files.  A test compares its output with its file through the ``golden`` fixture::

    def test_something(golden):
        golden("convnet.table", run("show", path).stdout)   # tests/golden/convnet.table.out

``pytest --update-golden`` writes the files instead of comparing: run it after a change of the
output that is meant, then read ``git diff tests/golden`` before committing it.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from helpers import CONVNET_PATH, GOLDEN, compare_golden


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="write the golden files of tests/golden/ from the current output instead of comparing with them",
    )


@pytest.fixture
def golden(request: pytest.FixtureRequest) -> Callable[[str, str], None]:
    """``golden(name, text)``: ``text`` must be ``tests/golden/<name>.out`` exactly (or is written there)."""
    update = bool(request.config.getoption("--update-golden"))

    def check(name: str, text: str) -> None:
        compare_golden(GOLDEN / f"{name}.out", text, update)

    return check


@pytest.fixture
def convnet() -> str:
    """The path of specs/convnet.yaml, the article's ConvNet, as the CLI takes it."""
    return str(CONVNET_PATH)
