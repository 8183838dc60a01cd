"""Reading specs and writing files: the one place that touches the file system for the commands.

``read_source`` gives a spec's display name and bytes (``-`` is standard input);
``write_atomically`` replaces a file through a temporary file and a rename, so an interrupted
run never leaves half a file.
"""

from __future__ import annotations

import errno
import os
import stat
import sys

from ..base.errors import SpecError

STDIN = "-"


def read_source(path: str) -> tuple[str, bytes]:
    """The spec's display name and bytes; ``-`` is standard input."""
    from ..spec.loader import read_limited  # start-up: the loader imports PyYAML; --help needs neither

    if path == STDIN:
        return "<stdin>", read_limited(sys.stdin.buffer)
    try:
        with open(path, "rb") as f:
            return path, read_limited(f)
    except OSError as err:
        raise SpecError(f"cannot read the file: {err.strerror or err}") from None


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_atomically(path: str, data: bytes) -> None:
    """Replace ``path``'s content: a temporary file in the same directory, then ``os.replace``.

    A symbolic link is followed (the link stays); the file's permission bits, and where allowed
    its owner, are kept; a new file gets the usual mode.  A read-only file (no write permission
    bit, or one we may not write) is refused even when the process could bypass that, as root
    can.  Raises OSError.
    """
    import tempfile  # only writers need it; it costs start-up time

    target = os.path.realpath(path)
    try:
        st: os.stat_result | None = os.stat(target)
    except FileNotFoundError:
        st = None
    if st is not None:
        if not stat.S_ISREG(st.st_mode):
            raise OSError(errno.EINVAL, "not a regular file (use --stdout)")
        if not st.st_mode & 0o222 or not os.access(target, os.W_OK):
            raise OSError(errno.EACCES, f"the file is read-only (mode {stat.S_IMODE(st.st_mode):04o})")
    directory = os.path.dirname(target) or "."
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(target)}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if st is not None:
            if (st.st_uid, st.st_gid) != (os.geteuid(), os.getegid()):
                try:
                    os.chown(tmp, st.st_uid, st.st_gid)
                except OSError:
                    pass  # not allowed: the file becomes ours, as with any editor
            os.chmod(tmp, stat.S_IMODE(st.st_mode))
        else:
            os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
