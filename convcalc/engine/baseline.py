"""Budgets against a baseline: a JSON document of each spec's figures, saved once
(``show --baseline-out``), then compared by ``check --baseline`` in CI.

A baseline maps spec paths to their params, buffers, MACs, FLOPs and activation bytes, the
``--set`` values they were evaluated with, and, when made with ``--train``, the optimizer and a
training step's peak.  JSON Lines from ``show -f json`` on several specs (each line has its
``spec``) are read as a baseline too.  ``check`` fails a spec whose params, MACs or training peak
grew by more than the allowed percentage, with a finding that says by how much.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from fractions import Fraction
from typing import Any

from ..base.errors import SpecError
from ..base.text import visible
from .evaluate import Report

SCHEMA = 1
GROWING = ("params", "macs", "train_peak_bytes")  # the figures a growth budget applies to
NAMES = {"params": "params", "macs": "MACs", "train_peak_bytes": "the training peak"}


def key(path: str) -> str:
    """How a baseline names a spec: its path as given, normalised (``./specs/a.yaml`` is ``specs/a.yaml``)."""
    return path if path == "<stdin>" else os.path.normpath(path)


def entry(report: Report, settings: Mapping[str, Any], train: str | None) -> dict[str, Any]:
    from .training import training  # start-up: only a baseline with --train

    t = report.totals
    figures: dict[str, Any] = {"params": t.params, "buffers": t.buffers, "macs": t.macs, "flops": t.flops,
                               "activation_bytes": t.activation_bytes, "set": dict(settings), "train": train}
    if train:
        figures["train_peak_bytes"] = training(report, train).peak_bytes
    return figures


def document(entries: Mapping[str, dict[str, Any]]) -> str:
    return json.dumps({"convcalc_baseline": SCHEMA, "specs": dict(entries)}, indent=2, ensure_ascii=True) + "\n"


def read(text: str, source: str) -> dict[str, dict[str, Any]]:
    """The baseline in ``text`` (the file ``source``): a document of ours, or JSON Lines of
    ``show -f json``.  Raises SpecError naming what is wrong."""
    try:
        docs = [json.loads(text)] if text.lstrip().startswith("{") and "\n{" not in text.strip() else [
            json.loads(line) for line in text.splitlines() if line.strip()]
    except ValueError as err:
        raise SpecError(f"--baseline {visible(source)}: not JSON ({err})") from None
    if len(docs) == 1 and isinstance(docs[0], dict) and "convcalc_baseline" in docs[0]:
        doc = docs[0]
        if doc["convcalc_baseline"] != SCHEMA or not isinstance(doc.get("specs"), dict):
            raise SpecError(f"--baseline {visible(source)}: a baseline of schema {visible(str(doc['convcalc_baseline']))[:20]}; "
                            f"this convcalc reads schema {SCHEMA} (make it again with show --baseline-out)")
        return {key(str(p)): e for p, e in doc["specs"].items() if isinstance(e, dict)}
    specs: dict[str, dict[str, Any]] = {}
    for doc in docs:
        if not isinstance(doc, dict) or doc.get("schema_version") != 1 or "spec" not in doc or "total" not in doc:
            raise SpecError(f"--baseline {visible(source)}: neither a baseline (show --baseline-out) nor JSON Lines of "
                            "show -f json on several specs (schema_version 1, each with its spec)")
        specs[key(str(doc["spec"]))] = {**doc["total"], "set": {}, "train": None}
    return specs


def limits(text: str | None) -> dict[str, Fraction]:
    """``--max-growth 5%`` (every figure) or ``params=2%,macs=10%``: the allowed growth per figure."""
    allowed = dict.fromkeys(GROWING, Fraction(5, 100))
    if not text:
        return allowed
    for part in text.split(","):
        name, sep, value = part.strip().rpartition("=")
        m = re.fullmatch(r"([0-9]{1,6}(?:\.[0-9]{1,6})?)%", value.strip())
        figure = {"peak": "train_peak_bytes", "train_peak": "train_peak_bytes"}.get(name.strip(), name.strip())
        if not m or (sep and figure not in GROWING):
            raise SpecError(f"--max-growth: '{visible(part.strip())}' is not PERCENT% or FIGURE=PERCENT% "
                            "(figures: params, macs, peak)")
        for f in [figure] if sep else GROWING:
            allowed[f] = Fraction(m.group(1)) / 100
    return allowed


def growth(report: Report, base: Mapping[str, Any], settings: Mapping[str, Any], allowed: Mapping[str, Fraction]) -> list[str]:
    """What grew past its budget against ``base``, one message each; the settings must match."""
    if dict(base.get("set") or {}) != dict(settings):
        made = ", ".join(f"{k}={v}" for k, v in (base.get("set") or {}).items()) or "no --set"
        now = ", ".join(f"{k}={v}" for k, v in settings.items()) or "no --set"
        return [f"baseline: made with {visible(made)}, checked with {visible(now)}: check with the same settings"]
    current = entry(report, settings, base.get("train") if isinstance(base.get("train"), str) else None)
    messages = []
    for figure in GROWING:
        before, after = base.get(figure), current.get(figure)
        if not isinstance(before, int) or isinstance(before, bool) or after is None:
            continue
        if after > before * (1 + allowed[figure]):
            grew = f" (+{100 * (after - before) / before:.1f}%)" if before else ""
            messages.append(f"baseline: {NAMES[figure]} grew from {before:,} to {after:,}{grew}, more than the "
                            f"{float(allowed[figure] * 100):g}% allowed")
    return messages
