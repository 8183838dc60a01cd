"""Stage 3, the engine: evaluate, check, solve, receptive fields, annotate and export.

Each returns values and raises :class:`~convcalc.base.errors.SpecError`; none prints, exits or
imports click.  Imports ``base``, ``model`` and ``spec``."""
