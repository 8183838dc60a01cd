"""convcalc's own click declarations (commands/declare.py): the same parse as click's, cheaper.

``long_spelling`` respells ``-f json`` as ``--format json`` before click's parser sees it; the
oracle is click itself: for any command line drawn from a command's own option spellings and
some awkward values, click's parse of the respelt line equals its parse of the line as typed
(the values, the leftover arguments, or the error and its message).
"""

from __future__ import annotations

import contextlib
import io
from importlib import import_module
from typing import Any

import click
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convcalc.commands.declare import long_spelling
from convcalc.commands.main import COMMANDS, MODULES, help_command, main, version_command


def _command(name: str) -> click.Command:
    if name in ("help", "version"):
        return help_command if name == "help" else version_command
    module, attribute = MODULES.get(name, (name, name))
    command: click.Command = getattr(import_module(f"convcalc.commands.{module}"), attribute)
    return command


def _outcome(command: click.Command, args: list[str]) -> Any:
    """click's own parse (not convcalc's override) of ``args``: what it set, or what it raised."""
    ctx = click.Context(command, info_name="x")
    parse = click.Group.parse_args if isinstance(command, click.Group) else click.Command.parse_args
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            rest = parse(command, ctx, list(args))  # type: ignore[arg-type]
    except click.exceptions.Exit as stop:
        return ("exit", stop.exit_code)
    except click.ClickException as err:
        return (type(err).__name__, err.format_message())
    return (ctx.params, rest, ctx.args)


def _spellings(command: click.Command) -> list[str]:
    ctx = click.Context(command)
    return [s for p in command.get_params(ctx) if isinstance(p, click.Option) for s in (*p.opts, *p.secondary_opts)]


AWKWARD = ["json", "1", "2", "x.yaml", "-", "--", "-qf", "-fjson", "--format=json", "-d", "224x224x3", "-1", "all"]


@pytest.mark.parametrize("name", [*COMMANDS, "main"])
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_a_respelt_command_line_parses_as_the_typed_one(name: str, data: st.DataObject) -> None:
    command = main if name == "main" else _command(name)
    words = st.sampled_from(_spellings(command) + AWKWARD + (list(COMMANDS[:3]) if name == "main" else []))
    args = data.draw(st.lists(words, max_size=8))
    spelt = long_spelling(command, click.Context(command), args)
    assert _outcome(command, spelt) == _outcome(command, args)


@pytest.mark.parametrize(
    ("args", "spelt"),
    [
        (["x.yaml", "-f", "json", "-q"], ["x.yaml", "--format", "json", "--quiet"]),
        (["-f", "-q", "x.yaml"], ["--format", "-q", "x.yaml"]),  # -q is -f's value here, not an option
        (["-", "-f", "csv"], ["-", "--format", "csv"]),  # "-" is standard input, an argument
        (["x.yaml", "-f"], ["x.yaml", "-f"]),  # short of its value: click's error names -f as typed
        (["x.yaml", "-qf", "-v"], ["x.yaml", "-qf", "-v"]),  # -qf may end in an option whose value is -v
        (["x.yaml", "--", "-f", "json"], ["x.yaml", "--", "-f", "json"]),
    ],
)
def test_short_options_are_respelt_only_where_certain(args: list[str], spelt: list[str]) -> None:
    show = _command("show")
    assert long_spelling(show, click.Context(show), args) == spelt


def test_the_group_respells_only_its_own_options() -> None:
    # Everything from the command's name on is the command's to read.
    assert long_spelling(main, click.Context(main), ["-V"]) == ["--version"]
    assert long_spelling(main, click.Context(main), ["show", "-f", "json"]) == ["show", "-f", "json"]
