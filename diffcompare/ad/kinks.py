"""The engine's conventions where a product meets 0 * inf: a zero factor contributes nothing.

Forward mode skips a zero tangent, so reverse mode must not turn a zero cotangent or a zero partial times
an infinite one into nan (sqrt(2x - x^2) at 0: +inf, not nan; jacrev(sqrt) at [0, 4]: 0 off the diagonal).
A nan that came from a nan factor stays. Both the reference core and the fast layer use these helpers.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from diffcompare.ad.tracer import Box

_F64 = np.dtype(np.float64)
_MAXIMUM = np.maximum.reduce
PLAIN_SCALARS = (float, int, np.float64)
NAN_CHECKED = (float, np.float64, complex, np.complex128)


def has_nan(c: np.ndarray) -> bool:
    """Whether an array holds a nan, cheaply: for float64 one pass with no temporary (the maximum is nan iff an
    element is: np.maximum propagates nan). The earlier c . c warned "overflow encountered in dot" on finite
    values past 1e154 (grad of sum(x**3) at 1e100); the maximum cannot overflow, and is faster on large arrays."""
    if c.dtype == _F64:
        s = _MAXIMUM(c, axis=None, initial=-np.inf)
        return s != s
    return bool(np.isnan(c).any())


def zero_times_inf(c: Any, g: Any, d: Any) -> Any:
    """The product ``c = g * d`` with each 0 * inf taken as 0. Called only where the product has a nan
    (the rare path), so ``g`` and ``d`` must be the factors' values."""
    if c.__class__ is not np.ndarray:
        return c.__class__(0) if c != c and g == g and d == d else c
    from_nan = np.isnan(g) | np.isnan(d)  # broadcasts to c's shape
    return np.where(np.isnan(c) & ~from_nan, 0.0, c)


_PLAIN_OPERANDS = frozenset({float, int, complex, np.float64, np.complex128, np.ndarray})


def _stager(g: Any, d: Any) -> Any:
    """The operand that stages ``g * d`` as one row of jit's program (its class says ``stages``), or None: a
    product with an operand of a level above the staging trace is that level's to record."""
    sg, sd = getattr(g, "stages", False), getattr(d, "stages", False)
    if (sg or sd) and (sg or not isinstance(g, Box)) and (sd or not isinstance(d, Box)):
        return g if sg else d
    return None


def times(g: Any, d: Any) -> Any:
    """``g * d`` under the convention: the reference core's one product of an adjoint or tangent and a partial."""
    if g.__class__ not in _PLAIN_OPERANDS or d.__class__ not in _PLAIN_OPERANDS:
        stager = _stager(g, d)
        if stager is not None:  # one row, the program's product under the convention (not g * d as well)
            return stager.stage_times(g, d)
    c = g * d
    if c.__class__ in NAN_CHECKED:
        return zero_times_inf(c, g, d) if c != c else c
    if c.__class__ is np.ndarray and c.dtype.kind in "fc" and has_nan(c):
        return zero_times_inf(c, g, d)
    if getattr(c, "stages", False):  # staged by jit: the program applies the convention when it runs
        return c.stage_times(g, d)
    return c
