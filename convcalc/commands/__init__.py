"""Stage 5, the commands: one module per command (its click declaration and a ``run`` that
returns an exit code), the group in :mod:`.main`, and the one read-or-fail helper.

The only stage that imports click, prints, reads files or exits."""
