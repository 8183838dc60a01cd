"""The public Python API, re-exported by the package: ``convcalc.load``, ``convcalc.evaluate``, …

Every function here imports the parser and the evaluator when first called, not when the
package is imported, so ``import convcalc`` (and with it the command line's start-up) stays
cheap.  Everything wrong with a spec is a :class:`~convcalc.base.errors.SpecError` with a
``message`` and a ``mark`` (1-based line and column, or ``None``).
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # (not typing's: importing typing would cost start-up time; mypy knows the name)
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any, TypeAlias

    from .base.errors import Mark
    from .engine.evaluate import Report
    from .engine.peak import Peak
    from .engine.training import Training
    from .engine.check import FileResult
    from .spec.parser import Spec

    Source: TypeAlias = "str | bytes | os.PathLike[str] | Mapping[str, Any]"

# The position given to every node of a spec built from Python data (which has none).  Errors
# are re-raised without a position when they carry this very object (identity, not equality).
_NOWHERE: Mark | None = None


def _nowhere() -> Mark:
    global _NOWHERE
    if _NOWHERE is None:
        from .base.errors import Mark  # start-up: loaded on first call (module docstring)

        _NOWHERE = Mark(1, 1)
    return _NOWHERE


def _read(path: str | os.PathLike[str]) -> bytes:
    from .base.errors import SpecError  # start-up: loaded on first call (module docstring)
    from .spec.loader import read_limited

    try:
        with open(path, "rb") as f:
            return read_limited(f)
    except OSError as err:  # the message the command line prints, e.g. "No such file or directory"
        raise SpecError(f"cannot read the file: {err.strerror or err}") from err


def _looks_like_text(source: str) -> bool:
    # Every spec has a `key: value` or a `key:` at a line's end; a path (even C:\specs\a.yaml) has neither.
    return "\n" in source or "\r" in source or ": " in source or source.rstrip().endswith(":")


def load_path(path: str | os.PathLike[str], *, set: Mapping[str, Any] | None = None) -> Spec:
    """Read and validate the spec file at ``path``.

    Raises :class:`SpecError` when the file cannot be read (its ``__cause__`` is the
    ``OSError``, its ``mark`` is ``None``) or the spec is invalid (``mark`` is the position).
    """
    from .base.errors import SpecError  # start-up: loaded on first call (module docstring)

    try:
        return load_text(_read(path), set=set)
    except SpecError as err:
        err.path = os.fspath(path) if not isinstance(path, bytes) else str(path)
        raise


def load_text(text: str | bytes, *, set: Mapping[str, Any] | None = None) -> Spec:
    """Validate a spec given as YAML text (``bytes`` are decoded as UTF-8).

    >>> load_text("input: 28x28x1\\nlayers: [flatten, {dense: {out: 10}}]").input
    (28, 28, 1)
    """
    from .spec.parser import load_spec  # start-up: loaded on first call (module docstring)

    return load_spec(text, set)


def load_dict(data: Mapping[str, Any], *, set: Mapping[str, Any] | None = None) -> Spec:
    """Validate a spec given as Python data, as ``yaml.safe_load`` would return it.

    Mappings and lists (tuples too) may nest; scalars are ``str``, ``int``, ``float``, ``bool``
    or ``None``.  Python data has no line numbers: errors carry ``mark=None``, and the report's
    ``line``/``col`` figures are all 1.

    >>> load_dict({"input": [28, 28, 1], "layers": ["flatten", {"dense": {"out": 10}}]}).input
    (28, 28, 1)
    """
    from .base.errors import SpecError  # start-up: loaded on first call (module docstring)
    from .spec.parser import parse_spec

    try:
        return parse_spec(_located(data, 0), settings=set)
    except SpecError as err:
        raise _unlocated(err) from None


def _located(value: Any, depth: int) -> Any:
    """Python data as the YAML loader's LMap/LList, every position the same placeholder."""
    from collections.abc import Mapping  # start-up: loaded on first call (module docstring)

    from .base.errors import SpecError  # start-up: loaded on first call (module docstring)
    from .spec.loader import MAX_DEPTH, LList, LMap

    if isinstance(value, (Mapping, list, tuple)) and depth >= MAX_DEPTH:
        raise SpecError(f"nesting deeper than {MAX_DEPTH} levels (or a mapping that contains itself)")
    mark = _nowhere()
    if isinstance(value, Mapping):
        node = LMap(mark)
        for key, item in value.items():
            if not isinstance(key, (str, int, float, bool)) and key is not None:
                raise SpecError(f"mapping keys must be text or numbers, got {key!r}")
            node[key] = _located(item, depth + 1)
            node.key_marks[key] = node.value_marks[key] = mark
        return node
    if isinstance(value, (list, tuple)):
        items = LList(mark)
        items.extend(_located(item, depth + 1) for item in value)
        items.item_marks = [mark] * len(items)
        return items
    return value


def _unlocated(err: Exception) -> Exception:
    from .base.errors import SpecError  # start-up: loaded on first call (module docstring)

    if isinstance(err, SpecError) and _NOWHERE is not None and err.mark is _NOWHERE:
        return SpecError(err.message)
    return err


def load(source: Source, *, set: Mapping[str, Any] | None = None) -> Spec:
    """Load a spec from a path, YAML text or Python data, whichever ``source`` is; ``set`` gives
    values to the spec's own ``args:`` (``set={"width": 0.75}``, as ``--set width=0.75`` does).

    - an ``os.PathLike`` (``pathlib.Path``) is a file;
    - a mapping is the spec's data (:func:`load_dict`);
    - ``bytes`` are YAML text;
    - a ``str`` is YAML text when it has a line break or a ``": "`` (every spec has one: ``input:
      …``), otherwise a path.  Use :func:`load_path` or :func:`load_text` to say which.
    """
    from collections.abc import Mapping  # start-up: loaded on first call (module docstring)

    if isinstance(source, os.PathLike):
        return load_path(source, set=set)
    if isinstance(source, Mapping):
        return load_dict(source, set=set)
    if isinstance(source, bytes):
        return load_text(source, set=set)
    if isinstance(source, str):
        return load_text(source, set=set) if _looks_like_text(source) else load_path(source, set=set)
    raise TypeError(f"convcalc.load() takes a path, YAML text or a mapping, not {type(source).__name__}")


def evaluate(
    spec: Spec | Source, input: Sequence[int] | str | None = None, batch: int | None = None, rank: int | None = None
) -> Report:
    """Walk ``spec`` and return its :class:`Report`: per-layer rows, totals, flags, failed expects.

    ``spec`` is a :class:`Spec`, or anything :func:`load` takes.  ``input`` (``"256x256x3"`` or
    ``(256, 256, 3)``) and ``batch`` override the spec's own; an ``input`` of another rank than
    the spec's needs ``rank`` (its number of spatial axes) too.  An impossible shape raises
    :class:`SpecError` at the layer's position; flags and failed expects are in the report.  A
    wrong argument (``batch=0``, ``input="64"`` on a 2-D spec) raises :class:`ValueError` naming it.
    """
    from .base.errors import SpecError  # start-up: loaded on first call (module docstring)
    from .engine.evaluate import evaluate as walk, input_override
    from .spec.parser import Spec

    if batch is not None and (isinstance(batch, bool) or not isinstance(batch, int) or batch < 1):
        raise ValueError(f"batch= must be a whole number of at least 1, not {batch!r}")
    if rank is not None and (isinstance(rank, bool) or rank not in (0, 1, 2, 3)):
        raise ValueError(f"rank= is the number of spatial axes, 0 to 3, not {rank!r}")
    if not isinstance(spec, Spec):
        spec = load(spec)
    try:
        dims = input_override(spec, input, rank, ("input=", "rank="))
    except SpecError as err:
        raise ValueError(err.message) from None
    from .outputs import notebook  # noqa: F401  start-up: registers Report.table() and the notebook displays

    try:
        return walk(spec, input=dims, batch=batch)
    except SpecError as err:
        raise _unlocated(err) from None


def report_dict(report: Report, *, train: str | None = None, memory: bool = False) -> dict[str, Any]:
    """The report as the JSON document of ``convcalc show --format json`` (``schema_version`` 1);
    with ``train`` (an optimizer), as ``show --train --optimizer OPTIMIZER --format json``; with
    ``memory``, as ``show --memory --format json``."""
    from .outputs.report import report_document  # start-up: loaded on first call (module docstring)

    return report_document(report, train=train, memory=memory)


def inference_peak(report: Report) -> Peak:
    """The peak of live activation storage in one forward pass (``show --memory``): its
    ``bytes`` for the whole batch at the spec's dtype, and ``at(report)``, the name of the row
    running at the peak."""
    from .engine.peak import inference_peak as peak  # start-up: loaded on first call

    return peak(report)


def training(report: Report, optimizer: str = "adam") -> Training:
    """The cost of one training step (``show --train``): ``backward_macs`` and ``saved_bytes``
    per row, ``total_backward_macs``, ``total_backward_flops``, ``total_saved_bytes``,
    ``gradient_bytes`` and ``optimizer_bytes`` for ``optimizer`` (``sgd``, ``momentum``,
    ``adam`` or ``adamw``)."""
    from .engine.training import OPTIMIZERS, training as step  # start-up: loaded on first call

    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, not {optimizer!r}")
    return step(report, optimizer)


def check_text(text: str | bytes, path: str = "<text>", *, strict: bool = False) -> FileResult:
    """What ``convcalc check`` finds in one spec given as text; ``path`` names it in findings.

    Never raises for a bad spec: an invalid one is a result with status ``ExitCode.INVALID``.
    ``result.status`` is 0 (clean), 1 (an unaccepted warning flag, any flag with ``strict``,
    or a failed expect) or 2; ``result.findings`` are ``(path, line, col, severity, message)``.
    """
    from .engine.check import check_text as check_one  # start-up: loaded on first call (module docstring)

    return check_one(text, path, strict=strict)


def check_path(path: str | os.PathLike[str], *, strict: bool = False) -> FileResult:
    """What ``convcalc check PATH`` finds; a file that cannot be read is an invalid result."""
    from .base.errors import ExitCode, SpecError  # start-up: loaded on first call (module docstring)
    from .engine.check import FileResult, Finding

    name = os.fspath(path)
    try:
        text = _read(path)
    except SpecError as err:
        return FileResult(name, ExitCode.INVALID, (Finding(name, None, None, "error", err.message),))
    return check_text(text, name, strict=strict)


def check(source: str | bytes | os.PathLike[str], *, strict: bool = False) -> FileResult:
    """:func:`check_path` or :func:`check_text`, telling a path from text as :func:`load` does."""
    if isinstance(source, os.PathLike):
        return check_path(source, strict=strict)
    if isinstance(source, bytes):
        return check_text(source, strict=strict)
    if isinstance(source, str):
        return check_text(source, strict=strict) if _looks_like_text(source) else check_path(source, strict=strict)
    raise TypeError(f"convcalc.check() takes a path or YAML text, not {type(source).__name__}")
