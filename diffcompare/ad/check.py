"""``check_grads``: our derivatives against central differences, in both modes, to any order.

In the spirit of autograd's and JAX's ``check_grads``: along a random direction ``v`` the JVP must
match ``(f(x + eps v) - f(x - eps v)) / (2 eps)``, and for a random cotangent ``u`` the VJP must
satisfy ``<vjp(u), v> == <u, J v>`` (the transpose test). For ``order`` k the same checks are
applied to the JVP and VJP themselves as functions of x, down to order 1.

Tolerances: with ``eps = 1e-4`` (relative to the size of x) the central difference has truncation
error ~ eps^2 |f'''| / 6 ~ 2e-9 |f'''| and round-off ~ 1e-16 |f| / eps ~ 1e-12 |f|, so
``rtol = atol = 1e-5`` leaves four orders of magnitude of margin for the third derivative while
still catching any wrong rule (a wrong rule is off by O(1)).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from diffcompare.ad.tracer import raw
from diffcompare.ad.transforms import jvp, vjp

EPS = 1e-4
TOL = 1e-5


def _random_like(x: Any, rng: np.random.Generator) -> Any:
    x = raw(x)
    if np.ndim(x) == 0:
        return float(rng.normal())
    return rng.normal(size=np.shape(x))


def _inner(a: Sequence[Any], b: Sequence[Any]) -> float:
    return float(sum(np.sum(np.asarray(raw(x)) * np.asarray(raw(y))) for x, y in zip(a, b)))


def _numerical_jvp(f: Callable[..., Any], args: Sequence[Any], v: Sequence[Any], eps: float) -> Any:
    plus = [a + eps * t for a, t in zip(args, v)]
    minus = [a - eps * t for a, t in zip(args, v)]
    return (np.asarray(raw(f(*plus))) - np.asarray(raw(f(*minus)))) / (2 * eps)


def _close(label: str, ours: Any, numerical: Any, rtol: float, atol: float) -> None:
    ours, numerical = np.asarray(raw(ours), dtype=float), np.asarray(numerical, dtype=float)
    if ours.shape != numerical.shape or not np.allclose(ours, numerical, rtol=rtol, atol=atol):
        raise AssertionError(
            f"{label} does not match central differences:\n ours      {ours}\n numerical {numerical}\n"
            f" max abs difference {np.max(np.abs(ours - numerical)) if ours.shape == numerical.shape else 'shape'}"
        )


def check_grads(
    f: Callable[..., Any],
    args: Sequence[Any],
    modes: Sequence[str] = ("fwd", "rev"),
    order: int = 2,
    eps: float = EPS,
    rtol: float = TOL,
    atol: float = TOL,
    seed: int = 0,
) -> None:
    """Raise AssertionError if ``f``'s forward or reverse derivatives at ``args`` are wrong.

    ``args`` is the tuple of positional arguments (floats or float arrays). ``modes`` picks
    "fwd" (JVP) and/or "rev" (VJP); ``order`` checks derivatives of derivatives too.
    """
    bad = set(modes) - {"fwd", "rev"}
    if bad:
        raise ValueError(f"modes must be 'fwd' and/or 'rev', not {sorted(bad)}")
    rng = np.random.default_rng(seed)
    args = tuple(float(a) if np.ndim(a) == 0 else np.asarray(a, dtype=float) for a in args)
    scale = max(1.0, max(float(np.max(np.abs(raw(a)))) for a in args)) if args else 1.0
    step = eps * scale
    v = [_random_like(a, rng) for a in args]
    numerical = _numerical_jvp(f, args, v, step)
    if "fwd" in modes:
        _, tangent = jvp(f, args, v)
        _close("JVP", tangent, numerical, rtol, atol)
        if order > 1:
            check_grads(lambda *x: jvp(f, x, v)[1], args, modes, order - 1, eps, rtol, atol, seed + 1)
    if "rev" in modes:
        out, pullback = vjp(f, *args)
        u = _random_like(out, rng)
        cotangents = pullback(u)
        _close("VJP (transpose test)", _inner(cotangents, v), _inner([u], [numerical]), rtol, atol)
        if order > 1:
            def pulled(*x: Any) -> Any:
                return vjp(f, *x)[1](u)[0] if len(x) == 1 else _stack_flat(vjp(f, *x)[1](u))

            check_grads(pulled, args, modes, order - 1, eps, rtol, atol, seed + 2)


def _stack_flat(parts: Sequence[Any]) -> Any:
    from diffcompare.ad.rules import concatenate, reshape

    return concatenate(*[reshape(p, (-1,)) for p in parts])
