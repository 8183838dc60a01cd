"""Stage 0, shared by every stage: errors with a position, exit codes, and safe text.

Imports nothing from the rest of convcalc."""
