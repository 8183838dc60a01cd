"""convcalc: a framework-free calculator for convolutional networks.

A spec (a small YAML file) describes a layer stack; convcalc walks it with exact
output-size, parameter and FLOP formulas.  This module is the public Python API; it
imports nothing heavy, so ``import convcalc`` stays as cheap as the CLI's start-up
(the parser and evaluator load on first use).

>>> import convcalc
>>> spec = convcalc.load("specs/convnet.yaml")             # or load_path / load_text / load_dict
>>> report = convcalc.evaluate(spec)                       # input=, batch= override the spec's
>>> report.output.dims, report.totals.params, report.totals.macs
((10,), 1007590, 1329000)
>>> [(row.name, row.output.dims) for row in report.rows][:2]
[('conv1', (24, 24, 10)), ('pool1', (12, 12, 10))]
>>> convcalc.evaluate(spec, input="32x32x1", batch=8).totals.macs
15201600
>>> convcalc.report_dict(report)["total"]["flops"]          # the `show -f json` document
2658000
>>> result = convcalc.check("specs/convnet.yaml")           # what `convcalc check` finds
>>> result.status, result.findings
(<ExitCode.OK: 0>, ())

Invalid specs raise :class:`SpecError` (``err.message``; ``err.mark.line``/``.col``, or
``err.mark is None`` when there is no position).  ``Report`` holds exact integers: ``rows``
(one :class:`Row` per leaf layer), ``totals``, ``flags`` (non-integer sizes) and
``failures`` (expects that did not hold).
"""

from __future__ import annotations

from .api import (
    check,
    check_path,
    check_text,
    evaluate,
    inference_peak,
    load,
    load_dict,
    load_path,
    load_text,
    report_dict,
    training,
)

from .base.version import __version__

__all__ = [
    "ExitCode",
    "FileResult",
    "Finding",
    "Flag",
    "Mark",
    "Report",
    "Row",
    "Spec",
    "SpecError",
    "__version__",
    "check",
    "check_path",
    "check_text",
    "evaluate",
    "inference_peak",
    "load",
    "load_dict",
    "load_path",
    "load_text",
    "report_dict",
    "training",
]

TYPE_CHECKING = False  # (not typing's, which would cost start-up time; mypy knows the name)
if TYPE_CHECKING:
    from .base.errors import ExitCode, Mark, SpecError
    from .engine.evaluate import Flag, Report, Row
    from .engine.check import FileResult, Finding
    from .spec.parser import Spec
else:
    # The classes live in modules that import PyYAML and the kind table: load them on first use.
    _HOMES = {
        "ExitCode": "base.errors",
        "Mark": "base.errors",
        "SpecError": "base.errors",
        "Flag": "engine.evaluate",
        "Report": "engine.evaluate",
        "Row": "engine.evaluate",
        "FileResult": "engine.check",
        "Finding": "engine.check",
        "Spec": "spec.parser",
    }

    def __getattr__(name):
        home = _HOMES.get(name)
        if home is None:
            raise AttributeError(f"module 'convcalc' has no attribute {name!r}")
        from importlib import import_module

        value = getattr(import_module(f"convcalc.{home}"), name)
        globals()[name] = value
        return value

    def __dir__():  # the public names only: not the submodules, helpers or dunders
        return sorted(__all__)
