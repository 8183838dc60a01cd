"""What the tests share: the repository's paths, the CLI runners and the published figures.

A plain module, imported as ``from helpers import ...``: ``tests/`` has no ``__init__.py``, so
pytest (its default "prepend" import mode) puts ``tests/`` on ``sys.path`` for the test modules
and ``conftest.py``.  The fixtures (``convnet``, ``golden``) and the ``--update-golden`` option
are in ``conftest.py``; the golden files' comparison is here.
"""

from __future__ import annotations

import builtins
import difflib
import json
import sys
import traceback
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from click.testing import CliRunner, Result

from convcalc.commands.main import main

ROOT = Path(__file__).resolve().parent.parent  # the repository
SPECS = ROOT / "specs"
SPEC_FILES = sorted(SPECS.glob("*.yaml"))  # the zoo and the examples, each checks clean
FAILING = sorted((SPECS / "failing").glob("*.yaml"))  # each says in its header how it fails
GOLDEN = Path(__file__).resolve().parent / "golden"

# The article's ConvNet (specs/convnet.yaml): 28×28×1 → 10, 1,007,590 params, 1,329,000 MACs.
CONVNET_PATH = SPECS / "convnet.yaml"
CONVNET = CONVNET_PATH.read_text(encoding="utf-8")


def spec_path(name: str) -> Path:
    """``specs/<name>``, e.g. ``spec_path("resnet50.yaml")``."""
    return SPECS / name


# --- the command line through click's CliRunner ----------------------------------------------
#
# click 8.2+ keeps standard output and standard error apart in a result (``result.stdout``,
# ``result.stderr``), and its output stream is not a terminal: every run is a *piped* run.


def invoke(
    *args: str, input: str | bytes | None = None, env: dict[str, str | None] | None = None, color: bool = False
) -> Result:
    """Invoke the CLI as ``convcalc ARGS``; whatever happens is in the result."""
    return CliRunner().invoke(main, list(args), input=input, env=env, color=color, prog_name="convcalc")


def run(
    *args: str, input: str | bytes | None = None, env: dict[str, str | None] | None = None, color: bool = False
) -> Result:
    """Invoke the CLI; a Python exception other than SystemExit is always a bug."""
    result = invoke(*args, input=input, env=env, color=color)
    assert result.exception is None or isinstance(result.exception, SystemExit), streams(result)
    return result


def streams(result: Result) -> str:
    """Both streams and the exit code, for assertion messages."""
    text = f"exit code {result.exit_code}\n--- stdout ---\n{result.stdout}--- stderr ---\n{result.stderr}"
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        text += "--- exception ---\n" + "".join(traceback.format_exception(*result.exc_info))  # type: ignore[misc]
    return text


def expect_exit(result: Result, code: int) -> None:
    assert result.exit_code == code, streams(result)


def write(tmp_path: Path, name: str, text: str) -> str:
    """Write ``text`` to ``tmp_path/name``; its path as a string, as the CLI takes it."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def show_json(*args: str, input: str | None = None) -> dict[str, Any]:
    """``convcalc show ARGS --format json``, which must succeed silently, as a document."""
    result = run("show", *args, "--format", "json", input=input)
    expect_exit(result, 0)
    assert result.stderr == "", streams(result)
    doc: dict[str, Any] = json.loads(result.stdout)
    return doc


# --- golden files ----------------------------------------------------------------------------

UPDATE_HINT = "if the change is meant, rerun with --update-golden and review `git diff tests/golden`"


def compare_golden(path: Path, text: str, update: bool) -> None:
    """``text`` must be the golden file at ``path`` exactly; with ``update``, it is written there instead.

    A difference fails with a unified diff (golden → now); a missing file fails too.  Both
    failures give the hint to rerun with ``--update-golden`` (the ``golden`` fixture's option).
    """
    if update:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8"))  # bytes: no newline translation
        return
    shown = path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else str(path)
    if not path.is_file():
        pytest.fail(f"no golden file {shown}; {UPDATE_HINT}", pytrace=False)
    kept = path.read_bytes().decode("utf-8")
    if kept != text:
        diff = "".join(
            difflib.unified_diff(
                kept.splitlines(keepends=True),
                text.splitlines(keepends=True),
                fromfile=f"{shown} (golden)",
                tofile=f"{shown} (now)",
            )
        )
        pytest.fail(f"output differs from {shown}:\n{diff}\n{UPDATE_HINT}", pytrace=False)


# --- the published figures -------------------------------------------------------------------
#
# Figures from outside convcalc, not its output: torchvision's models (params, buffers and
# ``torch.utils.flop_counter`` MACs on 224×224×3, as given in the zoo's issue), the U-Net paper's
# sizes, the textbook examples' weight formulas, the article's ConvNet and the variants'
# figures.  ``tools/zoo_reference.py`` rebuilds the zoo in PyTorch and compares; the tests only
# pin the specs to the figures (test_zoo.py: the zoo, test_specs.py: the other examples).


class Published(NamedTuple):
    params: int
    buffers: int | None  # None: not published
    macs: int | None  # None: not published
    output: tuple[int, ...]


# Inception (3a) on 192 channels: 1×1 64; 1×1 96 → 3×3 128; 1×1 16 → 5×5 32; pool → 1×1 32
INC3A_WEIGHTS = 1 * 1 * 192 * 64 + 1 * 1 * 192 * 96 + 3 * 3 * 96 * 128 + 1 * 1 * 192 * 16 + 5 * 5 * 16 * 32 + 192 * 32
INC3A_BIASES = 64 + 96 + 128 + 16 + 32 + 32
# and without the reductions: 1×1 64, 3×3 128, 5×5 32 (and the pool, without weights)
NAIVE_WEIGHTS = 1 * 1 * 192 * 64 + 3 * 3 * 192 * 128 + 5 * 5 * 192 * 32
NAIVE_BIASES = 64 + 128 + 32

# The zoo: every figure published (buffers and MACs included).
ZOO: dict[str, Published] = {
    # torchvision, 224×224×3, 1000 classes
    "resnet18.yaml": Published(11_689_512, 9_600, 1_814_073_344, (1000,)),
    "resnet34.yaml": Published(21_797_672, 17_024, 3_663_761_408, (1000,)),
    "resnet50.yaml": Published(25_557_032, 53_120, 4_089_184_256, (1000,)),
    "resnet101.yaml": Published(44_549_160, 105_344, 7_801_405_440, (1000,)),
    "wide_resnet50_2.yaml": Published(68_883_240, 68_224, 11_398_021_120, (1000,)),
    "vgg16_bn.yaml": Published(138_365_992, 8_448, 15_470_264_320, (1000,)),
    "mobilenet_v2.yaml": Published(3_504_872, 34_112, 300_774_272, (1000,)),
    # torchvision's published figures (86,567,656 params, 17.56 GFLOPS: attention's matmuls counted)
    "vit_b_16.yaml": Published(86_567_656, 0, 17_563_828_224, (1000,)),
    "shufflenet_v2_x1_0.yaml": Published(2_278_604, 16_180, 144_907_992, (1000,)),
    "efficientnet_b0.yaml": Published(5_288_548, 42_016, 385_814_752, (1000,)),
    "mobilenet_v3_large.yaml": Published(5_483_032, 24_400, 216_589_760, (1000,)),
    "convnext_tiny.yaml": Published(28_589_128, 0, 4_455_531_264, (1000,)),
    # torchvision's deeplabv3_mobilenet_v3_large at 224 (at 256: 2,457,806,720 MACs, test_zoo.py)
    "deeplabv3_mobilenet_v3_large.yaml": Published(11_025_477, 27_984, 1_882_169_120, (224, 224, 21)),
    # YOLOv5n v7.0 on 640×640×3 (published: 1.9M params, 4.5 GFLOPs); three outputs, the last
    # (P5's detect conv) here, all three in test_zoo.py
    "yolov5n.yaml": Published(1_872_157, 9_504, 2_234_060_800, (20, 20, 255)),
    # Ronneberger et al. 2015: 572×572×1 in, 388×388×2 out
    "unet.yaml": Published(31_030_658, 0, 150_428_424_448, (388, 388, 2)),
    # GoogLeNet inception (3a) on 28×28×192: weights + biases; every conv's output is 28×28
    "inception3a.yaml": Published(
        INC3A_WEIGHTS + INC3A_BIASES, 0, 28 * 28 * INC3A_WEIGHTS, (28, 28, 64 + 128 + 32 + 32)
    ),
    "inception3a-naive.yaml": Published(
        NAIVE_WEIGHTS + NAIVE_BIASES, 0, 28 * 28 * NAIVE_WEIGHTS, (28, 28, 64 + 128 + 32 + 192)
    ),
    # the textbook pair on 56×56×256, bias: false
    "bottleneck.yaml": Published(69_632, 0, 56 * 56 * 69_632, (56, 56, 256)),
    "two-3x3-convs.yaml": Published(1_179_648, 0, 56 * 56 * 1_179_648, (56, 56, 256)),
}

# The other examples: the figures their sources give (the article's ConvNet, torchvision's
# AlexNet and VGG-16, the variants' weight formulas).
EXAMPLES: dict[str, Published] = {
    "convnet.yaml": Published(1_007_590, None, None, (10,)),
    "alexnet.yaml": Published(61_100_840, None, 714_188_480, (1000,)),
    "vgg16.yaml": Published(138_357_544, None, 15_470_264_320, (1000,)),
    "variants-standard.yaml": Published(9_030, None, None, (10, 10, 30)),
    "variants-dilated.yaml": Published(9_030, None, None, (10, 10, 30)),
    "variants-grouped.yaml": Published(3_030, None, None, (10, 10, 30)),
    "variants-pointwise.yaml": Published(120, None, None, (10, 10, 30)),
    "variants-separable.yaml": Published(423, None, None, (10, 10, 30)),
    "variants-dense.yaml": Published(903_000, None, None, (3000,)),
}

PUBLISHED: dict[str, Published] = {**ZOO, **EXAMPLES}


def without(monkeypatch: pytest.MonkeyPatch, module: str, error: BaseException | None = None) -> None:
    """Make ``import module`` (and its submodules) fail with ``error``, as where the optional
    dependency is not installed (by default an ImportError naming it)."""
    real = builtins.__import__
    failure = error if error is not None else ImportError(f"No module named '{module}'")

    def fake(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == module or name.startswith(module + "."):
            raise failure
        return real(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, module, raising=False)
    monkeypatch.setattr(builtins, "__import__", fake)

