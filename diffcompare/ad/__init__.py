"""diffcompare's own automatic differentiation engine (reverse and forward mode)."""

from diffcompare.ad.core import Box, FNode, Primitive, RNode
from diffcompare.ad.primitives import logsumexp, sigmoid, softmax
from diffcompare.ad.transforms import (
    Recording,
    derivative,
    grad,
    hessian,
    hvp,
    jacfwd,
    jacobian,
    jacrev,
    jvp,
    record,
    value_and_grad,
    vjp,
)

__all__ = [
    "Box", "FNode", "Primitive", "RNode", "Recording", "derivative", "grad", "hessian", "hvp",
    "jacfwd", "jacobian", "jacrev", "jvp", "logsumexp", "record", "sigmoid", "softmax",
    "value_and_grad", "vjp",
]
