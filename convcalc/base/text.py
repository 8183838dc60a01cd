"""Text helpers every stage uses: making user text safe to print, and "did you mean".

A spec, and a file's name, are untrusted: a name may hold a line break (which would split a
``path:line:col:`` line in two, or start a GitHub workflow command on a line of its own), an
escape sequence (clear the screen, set the window title, a hidden OSC 8 hyperlink), or a
Unicode bidirectional control that makes text read in another order.  :func:`visible` shows
every such character as an escape that a person can read, in the manner of ``ls -b``:
``\\x1b``, ``\\x0a``, ``\\u202e``.  Every string from a spec or a file name passes through it
before it reaches text output; JSON output goes through :func:`json_safe` instead, which keeps
the document's data and writes the same characters as JSON escapes.
"""

from __future__ import annotations

from collections.abc import Iterable

from typing import Any

# C0 controls, DEL, the C1 controls (0x9b alone is a CSI on some terminals), the line and
# paragraph separators, and the Unicode format characters that reorder or hide text.
_BIDI = (0x061C, 0x200B, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A), 0xFEFF)
_CONTROL: dict[int, str] = {c: f"\\x{c:02x}" for c in (*range(0x20), *range(0x7F, 0xA0))}
_CONTROL |= {c: f"\\u{c:04x}" for c in (0x2028, 0x2029, *_BIDI)}
_JSON: dict[int, str] = {c: f"\\u{c:04x}" for c in (*range(0x7F, 0xA0), 0x2028, 0x2029, *_BIDI)}


_JSON_UNSAFE = "".join(map(chr, _JSON))


def visible(text: str) -> str:
    """``text`` with every control, separator and bidi character shown as an escape (one line)."""
    return text.translate(_CONTROL)


one_line = visible  # the name error messages use: a message is always one line


def json_safe(document: str) -> str:
    """JSON text (from ``json.dumps(..., ensure_ascii=False)``, which escapes C0 already) with
    DEL, C1, separators and bidi controls written as ``\\uXXXX`` too: the same data, inert on
    a terminal.  Those characters only occur inside strings, where the escape means the same."""
    # The usual case has none: one scan of the text per character is 4× cheaper than a regular
    # expression's search, and needs no pattern compiled at start-up.
    if not any(c in document for c in _JSON_UNSAFE):
        return document
    return document.translate(_JSON)


def suggest(word: str, choices: Any) -> str:
    """``; did you mean 'kernel'?`` or nothing (difflib is imported only on this error path)."""
    import difflib  # error path: only a misspelling needs it

    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def spans(numbers: Iterable[int], pair: str, dash: str) -> list[str]:
    """Sorted whole numbers with each run of three or more as one range: [1, 2, 3, 5, 6] →
    ["1-3", "5", "6"] joined by the caller (``pair`` between a run of two, ``dash`` in a range)."""
    runs: list[list[int]] = []
    for n in sorted(numbers):
        if runs and n == runs[-1][1] + 1:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    return [str(a) if a == b else (f"{a}{pair}{b}" if b == a + 1 else f"{a}{dash}{b}") for a, b in runs]

