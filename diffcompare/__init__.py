"""diffcompare: one function, differentiated by finite differences, sympy and automatic differentiation.

``import diffcompare as dc``: the AD transforms (``dc.grad``, ``dc.jvp``, ...), the backends registry
(``diffcompare.backends``) and the exceptions. sympy is imported only when a symbolic backend runs.
"""

from diffcompare.ad import (
    Recording,
    derivative,
    grad,
    hessian,
    hvp,
    jacfwd,
    jacobian,
    jacrev,
    jvp,
    logsumexp,
    record,
    sigmoid,
    softmax,
    value_and_grad,
    vjp,
)
from diffcompare.errors import DiffcompareError, DomainError, ParseError, Timeout, Unsupported

__version__ = "0.1.0"

__all__ = [
    "DiffcompareError", "DomainError", "ParseError", "Recording", "Timeout", "Unsupported",
    "__version__", "derivative", "grad", "hessian", "hvp", "jacfwd", "jacobian", "jacrev", "jvp",
    "logsumexp", "record", "sigmoid", "softmax", "value_and_grad", "vjp",
]
