"""Everything that knows about the terminal and about output formats: rich tables, JSON, CSV.

Per-command renderers live beside this module (``render.compare`` ...); shared helpers are here.
"""

from __future__ import annotations

import dataclasses
import json
import math
import sys
from typing import Any

import numpy as np


def console(stderr: bool = False) -> Any:
    """A rich console (honours NO_COLOR; no colour codes when not a terminal)."""
    from rich.console import Console

    return Console(stderr=stderr, highlight=False)


def fmt(x: Any, digits: int = 6) -> str:
    """A number, vector or matrix for a table cell: ``-4.33333``, ``[-4.33333, 4]``, ``—`` for None."""
    if x is None:
        return "—"
    if isinstance(x, str):
        return x
    arr = np.asarray(x, dtype=object if _is_mp(x) else None)
    if arr.ndim == 0:
        item = arr.item()
        v = float(item) if not isinstance(item, (int,)) else item
        if _is_mp(item) and (v == 0 or math.isinf(v)) and item != v:  # beyond float64's range: 1.6e-868
            import mpmath

            return mpmath.nstr(item, digits, min_fixed=0, max_fixed=0).replace("e-0", "e-").replace("e+", "e")
        return "nan" if isinstance(v, float) and math.isnan(v) else f"{v:.{digits}g}"
    if arr.ndim == 1:
        return "[" + ", ".join(fmt(v, digits) for v in arr) + "]"
    return "[" + ", ".join(fmt(row, digits) for row in arr) + "]"


def labelled(kind: str, variables: list[str], value: Any) -> list[tuple[str, Any]]:
    """A gradient or Hessian as labelled numbers, one per cell: (``∂f/∂x``, v), (``∂²f/∂x∂y``, v) ...

    The Hessian is symmetric: its upper triangle (i <= j) is shown, the errors cover the whole matrix.
    A scalar derivative is one unlabelled entry."""
    import numpy as np

    if value is None or kind == "derivative":
        return [("", value)]
    arr = np.asarray(value, dtype=object)
    if kind == "gradient" and arr.ndim == 1 and len(arr) == len(variables):
        return [(f"∂f/∂{v}", arr[i]) for i, v in enumerate(variables)]
    if arr.ndim == 2 and arr.shape == (len(variables), len(variables)):
        out = []
        for i, u in enumerate(variables):
            for j in range(i, len(variables)):
                w = variables[j]
                out.append((f"∂²f/∂{u}²" if i == j else f"∂²f/∂{u}∂{w}", arr[i, j]))
        return out
    return [("", value)]


def count(n: int, unit: str) -> str:
    """``1 pass``, ``3 passes``, ``1 tape op``, ``5 tape ops``."""
    plural = unit if n == 1 else (unit + "es" if unit.endswith("ss") else unit + "s")
    return f"{n} {plural}"


def cost_text(result: Any) -> str:
    """What a backend's result cost, in its own unit: ``5 evals``, ``2 passes``, ``1 batched pass of 2 tangents``
    (our AD counts its passes through f: the reverse Hessian's and forward mode's n directions ride in one batched
    pass), ``4 tape ops``, ``3 expr ops``; ``—`` when nothing was counted."""
    parts = []
    if result.evaluations is not None:
        if result.backend not in ("forward", "reverse"):
            parts.append(count(result.evaluations, "eval"))
        else:
            parts.append(passes_text(result.evaluations, getattr(result, "passes", None)))
    if result.tape_ops is not None:
        parts.append(count(result.tape_ops, "tape op"))
    if result.expression_size is not None:
        parts.append(count(result.expression_size, "expr op"))
    return ", ".join(parts) or "—"


def passes_text(directions: int, passes: int | None) -> str:
    """``3 passes`` (one direction each), ``1 batched pass of 3 tangents``, ``12 tangents in 3 batched passes``."""
    if passes is None or passes == directions:
        return count(directions, "pass")
    if passes == 1:
        return f"1 batched pass of {count(directions, 'tangent')}"
    return f"{count(directions, 'tangent')} in {passes} batched passes"


def libraries(items: Any) -> str:
    """``versions: numdifftools 0.11.2, scipy 1.17.1`` for the peers among results or entries (each once), or ""."""
    seen: list[str] = []
    for item in items:
        lib = getattr(item, "library", None)
        if lib and lib not in seen:
            seen.append(lib)
    return "versions: " + ", ".join(seen) if seen else ""


def point(names: Any, values: Any) -> str:
    """A point for a title: ``x1=3, x2=-4`` (10 significant digits)."""
    return ", ".join(f"{n}={fmt(v, 10)}" for n, v in zip(names, values))


def digits50(x: Any) -> Any:
    """An exact reference as 50-digit strings (nested lists for arrays), so JSON loses nothing."""
    import mpmath

    if isinstance(x, (list, tuple)) or hasattr(x, "shape"):
        return [digits50(v) for v in list(x)]
    return mpmath.nstr(x, 50) if type(x).__module__.startswith("mpmath") else x


def _is_mp(x: Any) -> bool:
    return type(x).__module__.startswith("mpmath") or (
        isinstance(x, np.ndarray) and x.dtype == object)


def jsonable(obj: Any) -> Any:
    """Plain JSON data: dataclasses to dicts, arrays to lists, NaN and inf to None, mpmath to float."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [jsonable(v) for v in obj.tolist()] if obj.ndim else jsonable(obj.item())
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)) or type(obj).__module__.startswith("mpmath"):
        v = float(obj)
        return v if math.isfinite(v) else None
    if obj is None or isinstance(obj, str):
        return obj
    return str(obj)


def print_json(data: Any) -> None:
    """One JSON document on stdout, nothing else."""
    sys.stdout.write(json.dumps(jsonable(data), indent=2) + "\n")


def csv_number(v: Any) -> str:
    """A CSV cell: the float at full precision (``repr``), empty for None, NaN and ±inf (as JSON's null)."""
    if v is None or isinstance(v, str):
        return "" if v is None else v
    f = float(v)
    return repr(f) if math.isfinite(f) else ""


def csv_entries(kind: str, variables: list[str], value: Any) -> list[str]:
    """A derivative's CSV cells: one for a number, one per variable for a gradient, n*n for a Hessian."""
    if kind == "derivative":
        return [csv_number(value)]
    size = len(variables) ** (1 if kind == "gradient" else 2)
    if value is None:
        return [""] * size
    return [csv_number(v) for v in np.ravel(np.asarray(value, dtype=object))]


def csv_entry_names(kind: str, variables: list[str]) -> list[str]:
    """``derivative``; ``derivative_x1`` per variable (as error-vs-h writes them); ``hessian_x_y`` row-major."""
    if kind == "derivative":
        return ["derivative"]
    if kind == "gradient":
        return [f"derivative_{v}" for v in variables]
    return [f"hessian_{u}_{v}" for u in variables for v in variables]
