"""Your own Python function: loaded on purpose from a file or module (``--file f.py:func``), or passed in.

This is the one place diffcompare runs code it did not write, and only because the user named it. The
expression parser (``parse.py``) is a separate path and still never evaluates text. The function's
parameters (those without a default) are its variables, in order; the backends call it as written.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import sys
import traceback
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import ModuleType, TracebackType
from typing import Any

from diffcompare.errors import DiffcompareError

__all__ = ["UserCodeError", "from_callable", "load", "point_from", "raised_in_user_code", "run_user_code"]

# absolute paths of the files loaded with --file: an exception raised there is the user's, not our bug
_LOADED: set[str] = set()


class UserCodeError(DiffcompareError):
    """The user's own code failed (importing it, or calling it); ``__cause__`` holds its exception."""


def load(spec: str) -> Any:
    """``"path/to/f.py:func"`` or ``"package.module:func"`` -> an :class:`~diffcompare.parse.Expression`."""
    where, sep, name = spec.rpartition(":")
    if not sep or not where.strip() or not name.strip():
        raise DiffcompareError(f"--file wants FILE.py:FUNCTION or MODULE:FUNCTION (e.g. --file model.py:f), "
                               f"not {spec!r}")
    where, name = where.strip(), name.strip()
    if where.endswith(".py") or "/" in where or os.sep in where:
        module, shown = _import_file(Path(where)), Path(where).name
    else:
        module, shown = _import_module(where), where
    if not hasattr(module, name):
        import difflib

        functions = sorted(k for k, v in vars(module).items() if inspect.isfunction(v) and not k.startswith("_"))
        close = difflib.get_close_matches(name, functions, n=1)
        hint = (f"did you mean {close[0]!r}?" if close else
                f"it defines {', '.join(functions[:8])}" if functions else "it defines no functions")
        raise DiffcompareError(f"{shown} has no function {name!r} ({hint})")
    return from_callable(getattr(module, name), f"{shown}:{name}")


def from_callable(f: Any, name: str | None = None) -> Any:
    """A Python function as an Expression: its parameters without a default are the variables."""
    from diffcompare.parse import Expression

    label = name or getattr(f, "__name__", None) or "f"
    if not callable(f):
        raise DiffcompareError(f"{label} is not a function (it is a {type(f).__name__})")
    return Expression(text=label, variables=_parameters(f, label), function=f)


def _parameters(f: Callable[..., Any], label: str) -> tuple[str, ...]:
    import numpy as np

    if isinstance(f, np.ufunc):  # np.sin: no Python signature, but nin says how many
        return ("x",) if f.nin == 1 else tuple(f"x{i + 1}" for i in range(f.nin))
    try:
        params = inspect.signature(f).parameters.values()
    except (TypeError, ValueError):
        raise DiffcompareError(f"cannot read the parameters of {label}; wrap it: def f(x): return ...") from None
    names = []
    for p in params:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            raise DiffcompareError(f"{label} takes {'*' if p.kind == p.VAR_POSITIONAL else '**'}{p.name}: "
                                   "name each variable as a parameter, e.g. def f(x1, x2)")
        if p.default is not p.empty:
            continue  # a parameter with a default is a setting, not a variable
        if p.kind == p.KEYWORD_ONLY:
            raise DiffcompareError(f"{label}'s parameter {p.name} is keyword-only without a default; "
                                   "the variables must be positional parameters")
        names.append(p.name)
    if not names:
        raise DiffcompareError(f"{label} takes no parameters: its parameters are the variables to differentiate by")
    return tuple(names)


def point_from(at: Any, variables: Sequence[str]) -> tuple[Any, ...]:
    """A point given as a mapping ``{"x1": 3, "x2": -4}``, ``"x1=3,x2=-4"`` text, or one number (one variable)."""
    from diffcompare.parse import parse_point

    variables = tuple(variables)
    if isinstance(at, str):
        return parse_point(at, variables)
    if isinstance(at, Mapping):
        unknown = [str(k) for k in at if k not in variables]
        if unknown:
            raise DiffcompareError(f"{', '.join(unknown)} {'is' if len(unknown) == 1 else 'are'} not a variable; "
                                   f"variables: {', '.join(variables)}")
        missing = [v for v in variables if v not in at]
        if missing:
            raise DiffcompareError(f"missing value for {', '.join(missing)} in at (variables: {', '.join(variables)})")
        return tuple(_number(at[v], v) for v in variables)
    if len(variables) == 1 and not isinstance(at, (list, tuple)):
        return (_number(at, variables[0]),)
    raise DiffcompareError(f"give the point as a mapping, e.g. at={{{', '.join(f'{v!r}: 1' for v in variables)}}}")


def _number(v: Any, name: str) -> Any:
    import numpy as np

    if isinstance(v, str):
        from diffcompare.parse import parse_constant

        return parse_constant(v)
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating, np.ndarray)):
        raise DiffcompareError(f"the value of {name} must be a number, not {type(v).__name__}")
    return v if isinstance(v, np.ndarray) else float(v)


def run_user_code(f: Callable[..., Any], args: Sequence[Any], label: str) -> Any:
    """``f(*args)`` once on plain floats: a crash in the user's code becomes one line (its traceback: --debug)."""
    from diffcompare.backends.base import evaluate

    try:
        return evaluate(f, args)
    except DiffcompareError:
        raise
    except Exception as exc:  # noqa: BLE001 - the user's code may raise anything; it is theirs to see
        raise UserCodeError(f"{label} raised {_describe(exc)} (--debug shows its traceback)") from exc


def raised_in_user_code(exc: BaseException) -> str | None:
    """One line naming the user's failure if ``exc`` came out of a file loaded with --file, else None."""
    if not _LOADED or not any(_is_user_frame(frame) for frame in traceback.extract_tb(exc.__traceback__)):
        return None
    hint = ("; it was called on an array of points: write np.where(condition, a, b) instead of `if`"
            if "truth value of an array" in str(exc) else "")
    return f"your function raised {_describe(exc)}{hint} (--debug shows its traceback)"


def _describe(exc: BaseException) -> str:
    """``ZeroDivisionError: float division by zero at f.py line 7``: the innermost line of the user's file."""
    frames = [fr for fr in traceback.extract_tb(exc.__traceback__) if _is_user_frame(fr)]
    where = f" at {Path(frames[-1].filename).name} line {frames[-1].lineno}" if frames else ""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}{': ' + text if text else ''}{where}"


def _is_user_frame(frame: traceback.FrameSummary) -> bool:
    return os.path.abspath(frame.filename) in _LOADED


def user_traceback(exc: BaseException) -> str:
    """The traceback of the user's exception, from its first frame in their code (ours left out)."""
    tb: TracebackType | None = exc.__traceback__
    while tb is not None and os.path.abspath(tb.tb_frame.f_code.co_filename) not in _LOADED:
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(exc), exc, tb or exc.__traceback__))


def _import_file(path: Path) -> ModuleType:
    if not path.exists():
        raise DiffcompareError(f"no file {str(path)!r}")
    if path.is_dir():
        raise DiffcompareError(f"{str(path)!r} is a folder; give a Python file, e.g. --file {path}/model.py:f")
    if path.suffix != ".py":
        raise DiffcompareError(f"{str(path)!r} is not a Python file (.py)")
    full = os.path.abspath(path)
    module_name = f"_diffcompare_user_{abs(hash(full)):x}"
    spec = importlib.util.spec_from_file_location(module_name, full)
    if spec is None or spec.loader is None:  # pragma: no cover - a .py path always has a source loader
        raise DiffcompareError(f"cannot load {str(path)!r}")
    module = importlib.util.module_from_spec(spec)
    _LOADED.add(full)
    sys.modules[module_name] = module  # dataclasses and pickling look the module up by name
    sys.path.insert(0, os.path.dirname(full))  # its own imports of neighbouring files work, as under python f.py
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        del sys.modules[module_name]
        raise UserCodeError(f"syntax error in {path.name} line {exc.lineno}: {exc.msg}") from exc
    except Exception as exc:  # noqa: BLE001 - importing runs the user's module-level code
        del sys.modules[module_name]
        raise UserCodeError(f"importing {path.name} raised {_describe(exc)} (--debug shows its traceback)") from exc
    finally:
        sys.path.remove(os.path.dirname(full))
    return module


def _import_module(name: str) -> ModuleType:
    sys.path.insert(0, os.getcwd())  # as `python -m` does: a module beside you is found
    try:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            spec = None
        if spec is None:
            raise DiffcompareError(f"no module named {name!r} (for a file give its path, e.g. "
                                   f"--file {name.replace('.', '/')}.py:f)")
        if spec.origin and spec.origin.endswith(".py"):
            _LOADED.add(os.path.abspath(spec.origin))
        module = importlib.import_module(name)
    except DiffcompareError:
        raise
    except SyntaxError as exc:
        raise UserCodeError(f"syntax error in {Path(exc.filename or name).name} line {exc.lineno}: "
                            f"{exc.msg}") from exc
    except Exception as exc:  # noqa: BLE001 - importing runs the module's code
        raise UserCodeError(f"importing {name} raised {_describe(exc)} (--debug shows its traceback)") from exc
    finally:
        sys.path.remove(os.getcwd())
    return module
