"""The typer application and what every command shares: reading a function and a point.

Commands parse their options and delegate: no maths here (cli -> analysis -> backends).
"""

from __future__ import annotations

import typer

app = typer.Typer(
    name="diffcompare",
    help="Differentiate one function three ways (finite differences, sympy, automatic "
    "differentiation) and measure cost and error side by side.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

state = {"debug": False}


@app.callback()
def _root(debug: bool = typer.Option(False, "--debug", help="Show tracebacks of internal errors.")) -> None:
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

    text, example_point = resolve(expr)
    names = [v.strip() for v in variables.split(",") if v.strip()] if variables else None
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
    import difflib

    from diffcompare.examples import load_examples

    name = text.strip()
    close = difflib.get_close_matches(name, list(load_examples()), n=1, cutoff=0.7)
    if close:
        return f"no example named {name!r} (did you mean {close[0]!r}?); or "
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
