"""``python -m convcalc``: the same as the ``convcalc`` command."""

from .cli import run

run()
