"""convcalc's version, in one place (pyproject.toml holds it too; a test keeps them equal)."""

__version__ = "0.1.0"
