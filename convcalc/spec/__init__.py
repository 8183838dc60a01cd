"""Stage 2, the spec: the safe YAML loader, the parser of the format, and block templates.

Turns text into a validated :class:`~convcalc.spec.parser.Spec`.  Imports ``base`` and ``model``."""
