"""Stage 4, the outputs: every format convcalc writes, humanised numbers, the schema and kinds docs.

Imports the stages below; never click (the commands print what these return)."""
