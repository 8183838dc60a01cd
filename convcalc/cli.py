"""The console script's entry point (``convcalc``, ``python -m convcalc``), kept apart from the
command modules so that the cyclic garbage collector is off before they are imported.

Importing click, PyYAML and convcalc allocates tens of thousands of objects that live until
the process exits; with the collector on, each allocation threshold passed re-scans them all.
Off, start-up is about 4 ms shorter (bench/startup.py).  :func:`convcalc.commands.main.run`
keeps it off for the command itself and turns it on again when the command returns.

When the command has returned, the process ends, and the interpreter's teardown runs full
collections whether the collector is on or off: each one walks every object still alive (the
modules, the spec, the walk's rows) only for the teardown to free them anyway.  Frozen
(:func:`gc.freeze`), they are skipped; ResNet-50's ``show -f json`` ends about 8 ms sooner, a
tenth of its run.  Nothing is lost: standard output and error are flushed by the interpreter,
every file convcalc writes is closed by its ``with`` before the command returns, and the
operating system takes back the memory of whatever a cycle would have held.
"""

from __future__ import annotations


def run() -> None:
    import gc  # start-up: a builtin module, the first thing the command does

    gc.disable()
    from .commands.main import run as command  # start-up: after the collector is off (module docstring)

    try:
        command()
    finally:  # the process ends now (module docstring)
        gc.freeze()
