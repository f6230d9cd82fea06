"""Small numeric helpers shared by the expression parser and the backends.

Each helper is written with numpy calls and Python operators only, so it works on floats, numpy arrays and
any object implementing ``__array_ufunc__`` (the symbolic and AD backends pass such objects).
"""

from __future__ import annotations

from typing import Any

import numpy as np


def sigmoid(v: Any) -> Any:
    """The logistic function ``1 / (1 + exp(-v))``, without overflow for large negative real v.

    Real numbers and arrays, and AD-traced values, go through the engine's stable sigmoid
    primitive; complex (complex-step) and symbolic values through the formula itself.
    """
    from diffcompare.ad.rules import sigmoid as stable
    from diffcompare.ad.tracer import Box

    real = isinstance(v, (float, int, np.floating, np.integer)) or (
        isinstance(v, np.ndarray) and v.dtype.kind in "fiu")
    if isinstance(v, Box) or real:
        return stable(v)
    return 1.0 / (1.0 + np.exp(-v))


def _is_complex(v: Any) -> bool:
    # Only Python/numpy complex values: never ask a foreign object (a traced or symbolic value) anything.
    return isinstance(v, (complex, np.complexfloating)) or (
        isinstance(v, np.ndarray) and v.dtype.kind == "c"
    )


def complex_safe_abs(v: Any) -> Any:
    """``|v|``, analytic in the sense complex-step differentiation needs.

    For a complex input ``a + ib`` (with tiny ``b``) this returns ``v * sign(a)``, whose imaginary part
    carries the derivative, instead of the modulus (which would drop it). Other inputs go to ``np.abs``.
    """
    if _is_complex(v):
        return v * np.sign(v.real)
    return np.abs(v)
