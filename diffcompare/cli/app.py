"""The typer application and what every command shares: reading a function and a point.

Commands parse their options and delegate: no maths here (cli -> analysis -> backends).
"""

from __future__ import annotations

import inspect
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup


def _unwrap(text: str | None) -> str | None:
    """A docstring's paragraphs as single lines: rich wraps them at the terminal's width, while the source's
    own line breaks would break a sentence mid-way in ``--help``. Blank lines still separate paragraphs."""
    if not text:
        return text
    paragraphs = inspect.cleandoc(text).split("\n\n")
    return "\n\n".join(" ".join(p.split()) for p in paragraphs)


def _tidy(params: list[Any]) -> list[Any]:
    """A flag takes no value, so its help shows none (typer would print ``--json <bool>``); an argument is
    named in capitals in its panel as in the usage line (``EXPR``)."""
    for p in params:
        if getattr(p, "is_flag", False) and getattr(p, "metavar", "") is None:
            p.metavar = ""
        elif getattr(p, "param_type_name", "") == "argument" and p.metavar is None and p.name:
            p.metavar = p.name.upper()
    return params


def _usage_pieces(command: Any, ctx: Any) -> list[str]:
    """``[OPTIONS] EXPR`` as click and the man pages write it: a required argument in capitals, an optional
    one in brackets (typer would print ``{expr}``)."""
    pieces = [command.options_metavar] if command.options_metavar else []
    for p in command.get_params(ctx):
        if getattr(p, "param_type_name", "") == "argument":
            name = (p.metavar or p.name or "").upper()
            pieces.append(name if p.required else f"[{name}]")
    return pieces


#: Below this width typer's boxed help panels cut words ("--install-co…"): the plain click layout is used,
#: which wraps whole words and puts an option's help under it when the line is narrow.
NARROW_HELP = 64


def _plain_help(command: Any, ctx: Any, formatter: Any, parent_format_help: Any) -> None:
    from rich.console import Console

    width = Console().width
    if width >= NARROW_HELP:
        parent_format_help(ctx, formatter)
        return
    formatter.width = max(20, width - 2)  # click's own floor is 50 columns
    write_dl = formatter.write_dl  # an option longer than this goes on its own line, its help below it

    def narrow_dl(rows: Any, col_max: int = 30, col_spacing: int = 2) -> None:
        write_dl(rows, min(col_max, formatter.width // 2 - 2), col_spacing)

    formatter.write_dl = narrow_dl
    mode = command.rich_markup_mode
    command.rich_markup_mode = None
    try:
        parent_format_help(ctx, formatter)
    finally:
        command.rich_markup_mode = mode


class Command(TyperCommand):
    """Every command: help paragraphs that rewrap, flags without a value placeholder, a plain usage line."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        for key in ("help", "short_help"):
            if kwargs.get(key):
                kwargs[key] = _unwrap(kwargs[key])
        super().__init__(*args, **kwargs)
        if self.help:
            self.help = _unwrap(self.help)
            if not self.short_help:  # the command list shows the whole first paragraph, wrapped, not "..."
                self.short_help = self.help.split("\n\n")[0]

    def get_params(self, ctx: Any) -> list[Any]:
        return _tidy(super().get_params(ctx))

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        return _usage_pieces(self, ctx)

    def format_help(self, ctx: Any, formatter: Any) -> None:
        _plain_help(self, ctx, formatter, super().format_help)


class Group(TyperGroup):
    """The root and ``cost``: the same tidying as :class:`Command`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.help:
            self.help = _unwrap(self.help)
            if not self.short_help:
                self.short_help = self.help.split("\n\n")[0]

    def get_params(self, ctx: Any) -> list[Any]:
        return _tidy(super().get_params(ctx))

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        return [*_usage_pieces(self, ctx), self.subcommand_metavar]

    def format_help(self, ctx: Any, formatter: Any) -> None:
        _plain_help(self, ctx, formatter, super().format_help)


class App(typer.Typer):
    """A Typer whose commands are :class:`Command` and groups :class:`Group` unless told otherwise."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("cls", Group)
        super().__init__(*args, **kwargs)

    def command(self, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("cls") is None:
            kwargs["cls"] = Command
        return super().command(*args, **kwargs)


app = App(
    name="diffcompare",
    help="Differentiate one function three ways (finite differences, sympy, automatic "
    "differentiation) and measure cost and error side by side.",
    no_args_is_help=True,
    add_completion=True,  # --install-completion / --show-completion for bash, zsh, fish, PowerShell
    pretty_exceptions_enable=False,
)

state = {"debug": False}


def _version(value: bool) -> None:
    """``--version``: the installed distribution's version (package metadata, not a copy in the code)."""
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            typer.echo(f"diffcompare {version('diffcompare')}")
        except PackageNotFoundError:  # run from a source tree that was never installed
            typer.echo("diffcompare (not installed: version unknown)")
        raise typer.Exit()


@app.callback()
def _root(debug: bool = typer.Option(False, "--debug", help="Show tracebacks of internal errors."),
          version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                       help="Show the version and exit.")) -> None:
    state["debug"] = debug


def load_function(expr: str | None, at: str | None, variables: str | None = None,
                  need_point: bool = True, file: str | None = None):
    """An expression (or an example's name) or ``--file`` and ``--at`` text -> (Expression, point tuple or None).

    An example's own point is used when ``--at`` is not given. ``--file f.py:func`` loads the user's own
    function (diffcompare.userfunc), a path apart from the expression parser, which never evaluates text.
    """
    from diffcompare.errors import DiffcompareError
    from diffcompare.parse import parse_point

    if file is not None:
        from diffcompare import userfunc

        if expr is not None:
            raise DiffcompareError(f"give an expression or --file, not both (got {expr!r} and --file {file})")
        if variables:
            raise DiffcompareError("--vars is for expressions; with --file the function's parameters are the variables")
        expression = userfunc.load(file)
        if at is None:
            if need_point:
                raise DiffcompareError(f"give the point with --at, e.g. --at {_example_at(expression.variables)}")
            return expression, None
        point = parse_point(at, expression.variables)
        userfunc.run_user_code(expression.function, point, expression.text)  # its crash: one line, not ours
        return expression, point
    if expr is None:
        raise DiffcompareError("give an expression such as 'sin(x)' (or an example's name), "
                               "or your own function with --file FILE.py:FUNCTION")
    from diffcompare.examples import resolve
    from diffcompare.parse import compile_expression

    names = [v.strip() for v in variables.split(",") if v.strip()] if variables else None
    at_names = [part.split("=", 1)[0].strip() for part in (at or "").split(",") if "=" in part]
    text, example_point = resolve(expr, (names or []) + at_names)
    expression = compile_expression(text, names)
    point_text = at if at is not None else example_point
    if point_text is None:
        if need_point:
            raise DiffcompareError(_did_you_mean(text) + f"give the point with --at, e.g. --at "
                                   f"{_example_at(expression.variables)}")
        return expression, None
    return expression, parse_point(point_text, expression.variables)


def _did_you_mean(text: str) -> str:
    """A lone name close to an example's name is most likely a typo of it (tabel3 -> table3)."""
    from diffcompare.examples import close_example

    name = text.strip()
    close = close_example(name)
    if close:
        return f"no example named {name!r} (did you mean {close!r}?); or "
    if name.isidentifier() and len(name) > 2:  # a lone long name reads as the expression "that variable"
        return f"no example named {name!r} (`diffcompare examples` lists them); as an expression, "
    return ""


def _example_at(names) -> str:
    return ",".join(f"{n}=1" for n in names) or "x=1"


EXPR_HELP = "An expression such as 'x1*x2 + x2 - log(x1)', or an example's name (see `diffcompare examples`)."
AT_HELP = "The point, e.g. x1=3,x2=-4 (constants like pi/3 allowed)."
VARS_HELP = "Variable order, comma-separated (default: order of first appearance)."
FILE_HELP = ("Your own Python function instead of an expression: FILE.py:FUNCTION or MODULE:FUNCTION "
             "(plain numpy; its parameters are the variables).")
JSON_HELP = "Print one JSON document on stdout instead of the table."
CSV_HELP = ("Print the table as CSV instead: a header row, one row per backend (after the reference), numbers at "
            "full precision, a gradient one column per variable.")
