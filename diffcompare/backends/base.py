"""The one interface every differentiator implements, the record it returns, and the point model.

A user function is plain Python over numpy called as ``f(*args)``. A *point* is what the
function is called with: a float, an array, or a tuple of those (one per positional argument).
Backends report derivatives with respect to all inputs: for a single argument the gradient has
the argument's shape; for several arguments it is one flat vector over the raveled arguments in
order (so ``f(x1, x2)`` at ``(3, -4)`` has gradient ``array([dx1, dx2])``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Protocol, Sequence, runtime_checkable

import numpy as np

Function = Callable[..., Any]


@dataclass
class Result:
    """What a differentiator computed, and what it cost.

    Cost counters are ``None`` where they do not apply: ``evaluations`` counts calls of f
    (finite differences) or directions (AD: JVPs, one per input direction), ``passes`` the passes
    through f that carried them (our forward mode batches the directions: 1 pass of n tangents),
    ``tape_ops`` counts recorded primitive operations (AD) and ``expression_size`` counts
    operations in the derivative expression (symbolic).
    """

    backend: str
    value: Any
    derivative: Any
    seconds: float
    options: dict[str, Any] = field(default_factory=dict)
    evaluations: int | None = None
    tape_ops: int | None = None
    expression_size: int | None = None
    error_estimate: float | None = None
    expression: Any = None  # the symbolic backend's derivative expression, printable
    library: str | None = None  # a peer backend's library and version ("jax 0.4.30"); None for ours
    passes: int | None = None  # calls of f that carried the evaluations (our AD, counted); None: not counted


@runtime_checkable
class Differentiator(Protocol):
    """A way of differentiating. ``x`` is a point (see the module docstring)."""

    name: str

    def derivative(self, f: Function, x: Any, order: int = 1) -> Result: ...

    def gradient(self, f: Function, x: Any) -> Result: ...

    def jacobian(self, f: Function, x: Any) -> Result: ...

    def hessian(self, f: Function, x: Any) -> Result: ...


def as_args(x: Any) -> tuple[Any, ...]:
    """The positional arguments a point stands for: a tuple or list is several, anything else one."""
    if isinstance(x, (tuple, list)):
        return tuple(_as_value(a) for a in x)
    return (_as_value(x),)


def _as_value(a: Any) -> Any:
    if isinstance(a, (int, float, np.integer, np.floating)) and not isinstance(a, bool):
        return float(a)
    arr = np.asarray(a, dtype=float)
    return float(arr) if arr.ndim == 0 else arr


def flatten_args(args: Sequence[Any]) -> np.ndarray:
    """All inputs as one flat float vector, in argument order."""
    return np.concatenate([np.ravel(np.asarray(a, dtype=float)) for a in args]) if args else np.zeros(0)


def unflatten_args(flat: np.ndarray, like: Sequence[Any]) -> tuple[Any, ...]:
    """Inverse of :func:`flatten_args`: floats stay floats, arrays keep their shapes."""
    out, i = [], 0
    for a in like:
        if isinstance(a, float):
            out.append(flat[i].item() if hasattr(flat[i], "item") else flat[i])
            i += 1
        else:
            n = a.size
            out.append(flat[i : i + n].reshape(a.shape))
            i += n
    return tuple(out)


def shape_like_input(flat: np.ndarray, args: Sequence[Any]) -> Any:
    """A flat gradient in the point's shape: one argument gives its shape (a float for a float); several stay flat."""
    flat = np.asarray(flat).reshape(-1)
    if len(args) == 1:
        a = args[0]
        return float(flat[0]) if isinstance(a, float) else flat.reshape(np.shape(a))
    return flat


def point_text(args: Sequence[Any], names: Sequence[str] | None = None) -> str:
    """A short human description of a point, for error messages."""
    names = list(names) if names else [f"x{i + 1}" for i in range(len(args))] if len(args) > 1 else ["x"]
    return ", ".join(f"{n}={a:g}" if isinstance(a, float) else f"{n}={np.array2string(np.asarray(a), precision=6)}"
                     for n, a in zip(names, args))


def evaluate(f: Function, args: Sequence[Any]) -> Any:
    """Call ``f(*args)`` with numpy's floating-point warnings turned into a :class:`DomainError`.

    numpy would otherwise warn and return nan or inf (log of a negative number, 1/0): a wrong
    number. Every backend evaluates the user's function at the user's point through here first.
    """
    from diffcompare.errors import DomainError

    try:
        with np.errstate(divide="raise", invalid="raise", over="raise"):
            out = f(*args)
    except (FloatingPointError, ZeroDivisionError, OverflowError) as exc:
        raise DomainError(f"the function is not defined at {point_text(args)}: {exc}") from None
    except ValueError as exc:  # math.log(-1) and friends
        if "domain" in str(exc):
            raise DomainError(f"the function is not defined at {point_text(args)}: {exc}") from None
        raise
    arr = np.asarray(out)
    if arr.dtype.kind == "c" and not any(np.iscomplexobj(a) for a in args):
        # Python's float power gives a complex number for (-8.0) ** 0.5
        raise DomainError(f"the function is not real at {point_text(args)}")
    if arr.dtype.kind in "fc" and not np.all(np.isfinite(arr)):
        raise DomainError(f"the function is not finite at {point_text(args)}")
    return out
