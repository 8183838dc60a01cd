"""Text helpers every stage uses: making user text safe to print, and "did you mean"."""

from __future__ import annotations

from typing import Any

_CONTROL = {c: f"\\x{c:02x}" for c in (*range(32), 127, 0x85)} | {0x2028: "\\u2028", 0x2029: "\\u2029"}


def one_line(text: str) -> str:
    """Control characters (a newline or escape code in a key the user wrote) shown escaped."""
    return text.translate(_CONTROL)


def suggest(word: str, choices: Any) -> str:
    """``; did you mean 'kernel'?`` or nothing (difflib is imported only on this error path)."""
    import difflib

    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""
