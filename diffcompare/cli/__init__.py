"""The command-line program. ``main`` turns bad input into one line on stderr and exit code 2."""

from __future__ import annotations

import sys
from collections.abc import Sequence

# each module registers its commands on `app`
from diffcompare.cli import backends as _backends  # noqa: F401
from diffcompare.cli import code as _code  # noqa: F401
from diffcompare.cli import compare as _compare  # noqa: F401
from diffcompare.cli import derivatives as _derivatives  # noqa: F401
from diffcompare.cli import error_vs_h as _error_vs_h  # noqa: F401
from diffcompare.cli import swell as _swell  # noqa: F401
from diffcompare.cli import cost as _cost  # noqa: F401
from diffcompare.cli import trace as _trace  # noqa: F401
from diffcompare.cli.app import app, state

__all__ = ["app", "main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns (and, as a console script, exits with) the exit code."""
    import typer

    from diffcompare.errors import DiffcompareError

    # typer vendors click in recent versions: find its exception base through a public class
    click_exception = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")

    import warnings

    # numpy's RuntimeWarnings (0/0 in a rule at a kink, a step leaving the domain) are not for the
    # terminal: every table already shows a non-finite result as nan, in red
    warnings.simplefilter("ignore", RuntimeWarning)
    args = list(sys.argv[1:] if argv is None else argv)
    if "--debug" in args[1:]:  # accepted after the command too, not only before it
        args = ["--debug"] + [a for a in args if a != "--debug"]
    try:
        rv = app(args=args, prog_name="diffcompare", standalone_mode=False)
        code = rv if isinstance(rv, int) else 0
    except typer.Exit as exc:
        code = exc.exit_code
    except SystemExit as exc:  # --show-completion and --install-completion end with sys.exit
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except typer.Abort:
        print("aborted", file=sys.stderr)
        code = 1
    except click_exception as exc:  # usage errors: bad option, missing argument
        if exc.format_message():  # (no_args_is_help has already printed the help)
            print(f"error: {exc.format_message()}", file=sys.stderr)
        code = 2
    except DiffcompareError as exc:
        if exc.__cause__ is not None and (state["debug"] or "--debug" in args) and _users(exc):
            from diffcompare.userfunc import user_traceback

            print(user_traceback(exc.__cause__), file=sys.stderr, end="")
        print(f"error: {_one_line(exc)}", file=sys.stderr)
        code = 2
    except KeyboardInterrupt:
        code = 130
    except Exception as exc:  # an internal failure: a bug of ours, not the user's (unless --file's code raised it)
        from diffcompare.userfunc import raised_in_user_code, user_traceback

        users = raised_in_user_code(exc)
        if users is not None:
            if state["debug"] or "--debug" in args:
                print(user_traceback(exc), file=sys.stderr, end="")
            print(f"error: {users}", file=sys.stderr)
            code = 2
            return _exit(code, argv)
        if state["debug"] or "--debug" in args:
            raise
        print(f"internal error: {type(exc).__name__}: {_one_line(exc)} (run with --debug for the traceback)",
              file=sys.stderr)
        code = 1
    return _exit(code, argv)


def _exit(code: int, argv: Sequence[str] | None) -> int:
    if argv is None:
        sys.exit(code)
    return code


def _users(exc: BaseException) -> bool:
    from diffcompare.userfunc import UserCodeError

    return isinstance(exc, UserCodeError)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())
