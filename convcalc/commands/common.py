"""What every command shares: the spec argument, ``--input``, ``--format``, and read-or-fail.

A command's ``run`` reads its specs through :func:`read` or :func:`load` and evaluates inside
:func:`about`; a :class:`~convcalc.base.errors.SpecError` raised there becomes
:class:`Invalid`, which :func:`returns_exit_code` prints as one ``path:line:col: error:`` line
on standard error and turns into the error's exit code.  That is the only place a spec error is
printed.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

import click

from ..base.errors import SpecError
from ..base.text import visible
from ..outputs.formats import choices
from .declare import SpecPath
from .files import STDIN, read_source

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..spec.parser import Spec

SPEC_PATH = SpecPath()  # a file name, so that the shell completes it; read by read_source
F = TypeVar("F", bound=Callable[..., Any])


class Invalid(Exception):
    """A spec error in the file shown as ``path``."""

    def __init__(self, path: str, error: SpecError) -> None:
        super().__init__(error.message)
        self.path = path
        self.error = error

    def show(self) -> int:
        click.echo(self.error.format(self.path), err=True)
        return int(self.error.exit_code)


@contextmanager
def about(path: str) -> Iterator[None]:
    """Inside, a SpecError is about the file ``path``: it leaves as :class:`Invalid`."""
    try:
        yield
    except SpecError as err:
        raise Invalid(path, err) from None


def read(arg: str) -> tuple[str, bytes]:
    """The spec's display name and bytes (``-`` is standard input), or :class:`Invalid`."""
    with about("<stdin>" if arg == STDIN else arg):
        return read_source(arg)


def load(arg: str, settings: Mapping[str, str] | None = None) -> tuple[str, Spec]:
    """The spec's display name and validated spec (its ``args:`` set by ``settings``), or :class:`Invalid`."""
    from ..spec.parser import load_spec  # start-up: --help and --version never parse a spec

    path, data = read(arg)
    with about(path):
        return path, load_spec(data, settings)


def set_option() -> Callable[[F], F]:
    """``--set NAME=VALUE``, repeatable: the spec's own ``args:`` (a width, a resolution)."""
    return click.option(
        "--set", "settings", metavar="NAME=VALUE", multiple=True, callback=lambda ctx, param, values: settings_of(values),
        help="Set one of the spec's args (its top-level `args:`): --set width=0.75 --set resolution=192.",
    )


def settings_of(values: tuple[str, ...]) -> dict[str, str]:
    """``NAME=VALUE`` options as a mapping (for --set and diff's --set-a/--set-b)."""
    settings: dict[str, str] = {}
    for given in values:
        name, sep, value = given.partition("=")
        if not sep or not name.strip():
            raise click.BadParameter(f"{visible(given)!r} is not NAME=VALUE, such as width=0.75", param_hint="'--set'")
        if name.strip() in settings:
            raise click.BadParameter(f"{visible(name.strip())} is set twice", param_hint="'--set'")
        settings[name.strip()] = value
    return settings


def returns_exit_code(run: F) -> F:
    """Wrap a command's ``run``: an :class:`Invalid` is printed and becomes its exit code."""

    @functools.wraps(run)
    def wrapper(*args: Any, **kwargs: Any) -> int:
        try:
            return int(run(*args, **kwargs))
        except Invalid as err:
            return err.show()

    return wrapper  # type: ignore[return-value]


def check_shape(value: str | None, flag: str) -> str | None:
    """Validate a SHAPE option now, so that a typo is a usage error naming the option."""
    if value is None:
        return None
    from ..spec.parser import parse_shape  # start-up: only when the option is given

    try:
        parse_shape(value, None, flag)
    except SpecError as err:
        raise click.BadParameter(err.message) from None
    return value


def input_option(help: str) -> Callable[[F], F]:
    return click.option(
        "--input", "input_", metavar="SHAPE", callback=lambda ctx, param, value: check_shape(value, "--input"), help=help
    )


def rank_option() -> Callable[[F], F]:
    return click.option(
        "--rank",
        type=click.IntRange(0, 3),
        metavar="N",
        help="With --input: the input's spatial axes, when it changes the spec's rank on purpose "
        "(0 a flat vector, 1 L×C, 2 H×W×C, 3 D×H×W×C).",
    )


def checked_input(spec: Spec, input: str | None, rank: int | None) -> None:
    """``--input`` against the spec's rank (``--rank`` to change it): a usage error otherwise."""
    from ..engine.evaluate import input_override  # start-up: the commands that take --input evaluate anyway

    try:
        input_override(spec, input, rank)
    except SpecError as err:
        raise click.UsageError(err.message) from None


def format_option(command: str, default: str, help: str | None = None) -> Callable[[F], F]:
    """``-f/--format``, its choices being the registry's formats that ``command`` writes."""
    return click.option(
        "-f",
        "--format",
        "fmt",
        type=click.Choice(choices(command)),
        default=default,
        show_default=True,
        help=help,
    )
