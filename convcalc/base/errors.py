"""Errors as values with a location, and the exit codes of the command line.

Everything that can be wrong with a user's input becomes a :class:`SpecError` carrying a
1-based line and column; the commands print it as one ``path:line:col: error: message`` line (:meth:`SpecError.format`).
"""

from __future__ import annotations

import enum

from .record import Record
from .text import one_line, visible


class ExitCode(enum.IntEnum):
    """The process exit codes; a command's ``run`` returns one (:mod:`convcalc.commands`)."""

    OK = 0
    PROBLEMS = 1  # check found an unaccepted warning flag or a failed expect; --strict and a flag
    INVALID = 2  # the spec or the command line is invalid


class Mark(Record):
    """A position in the spec text, 1-based like every editor."""

    line: int
    col: int


MAX_MESSAGE = 1000  # characters of an error message


class Call(Record):
    """One block call an error happened inside: the block's name and the line of the call."""

    block: str
    line: int


class SpecError(Exception):
    """An invalid spec: a message for a person, where in the file it applies, and its exit code.

    In the manner of click's ``ClickException``: the error knows its ``exit_code`` and formats
    itself (:meth:`format`); the commands print it and exit, nothing below them does.  The
    message is always one line: names quoted from the spec may hold newlines or escape codes.
    An error inside block calls carries the calls as data (``calls``, innermost first), and
    ``message`` appends them: ``… (in block b, called at line 9; in block a, called at line 14)``.
    """

    exit_code: ExitCode = ExitCode.INVALID

    def __init__(self, reason: str, mark: Mark | None = None, calls: tuple[Call, ...] = ()) -> None:
        reason = one_line(reason)
        if len(reason) > MAX_MESSAGE:  # a value quoted from a huge spec: one readable line, not megabytes
            reason = reason[: MAX_MESSAGE - 1] + "…"
        self.reason = reason
        self.mark = mark
        self.calls = calls
        chain = "; ".join(f"in block {c.block}, called at line {c.line}" for c in calls)
        self.message = f"{self.reason} ({chain})" if chain else self.reason
        super().__init__(self.message)

    path: str | None = None  # the file, when the error is raised for one (the API's load_path)
    # What the evaluation had made of the network before this error (a report of the rows up to
    # the failing layer, set by engine/evaluate.evaluate), for the table and check to show.
    partial: object | None = None

    def __str__(self) -> str:
        """``path:line:col: error: message`` as the command line prints it; without a file,
        ``line:col: error: message``, and the message alone without a position."""
        if self.path is not None:
            return self.format(self.path)
        return f"{self.mark.line}:{self.mark.col}: error: {self.message}" if self.mark else self.message

    def within(self, block: str, line: int) -> SpecError:
        """The same error, seen from the call of ``block`` at ``line`` (the chain grows outward)."""
        return SpecError(self.reason, self.mark, (*self.calls, Call(block, line)))

    def format(self, path: str) -> str:
        """One line: ``path:line:col: error: message`` (``path: error: …`` with no position)."""
        path = visible(path)  # a file's name is untrusted too
        where = f"{path}:{self.mark.line}:{self.mark.col}" if self.mark else path
        return f"{where}: error: {self.message}"
