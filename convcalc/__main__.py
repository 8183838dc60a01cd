"""``python -m convcalc``: the same as the ``convcalc`` command."""

from .commands.main import run

run()
