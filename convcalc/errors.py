"""Errors as values with a location, and the exit codes of the command line.

Everything that can be wrong with a user's input becomes a :class:`SpecError` carrying a
1-based line and column; the CLI renders it as one ``path:line:col: error: message`` line.
"""

from __future__ import annotations

import enum
from typing import NamedTuple


class ExitCode(enum.IntEnum):
    """The process exit codes, decided in one place (``cli.py``) from a report."""

    OK = 0
    PROBLEMS = 1  # check found an unaccepted warning flag or a failed expect; --strict and a flag
    INVALID = 2  # the spec or the command line is invalid


class Mark(NamedTuple):
    """A position in the spec text, 1-based like every editor."""

    line: int
    col: int


_CONTROL = {c: f"\\x{c:02x}" for c in (*range(32), 127, 0x85)} | {0x2028: "\\u2028", 0x2029: "\\u2029"}


def one_line(text: str) -> str:
    """Control characters (a newline or escape code in a key the user wrote) shown escaped."""
    return text.translate(_CONTROL)


class SpecError(Exception):
    """An invalid spec: a message for a person and where in the file it applies.

    The message is always one line: names quoted from the spec may hold newlines or escape codes.
    """

    def __init__(self, message: str, mark: Mark | None = None) -> None:
        message = one_line(message)
        super().__init__(message)
        self.message = message
        self.mark = mark

    def render(self, path: str) -> str:
        """One line: ``path:line:col: error: message`` (``path: error: …`` with no position)."""
        where = f"{path}:{self.mark.line}:{self.mark.col}" if self.mark else path
        return f"{where}: error: {self.message}"
