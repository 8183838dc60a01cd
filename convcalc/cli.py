"""The console script's entry point (``convcalc``, ``python -m convcalc``), kept apart from the
command modules so that the cyclic garbage collector is off before they are imported.

Importing click, PyYAML and convcalc allocates tens of thousands of objects that live until
the process exits; with the collector on, each allocation threshold passed re-scans them all.
Off, start-up is about 4 ms shorter (bench/startup.py).  :func:`convcalc.commands.main.run`
keeps it off for the command itself and turns it on again when the command returns.
"""

from __future__ import annotations


def run() -> None:
    import gc  # start-up: a builtin module, the first thing the command does

    gc.disable()
    from .commands.main import run as command  # start-up: after the collector is off (module docstring)

    command()
