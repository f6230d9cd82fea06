"""diffcompare: one function, differentiated by finite differences, sympy and automatic differentiation.

``import diffcompare as dc``: the AD transforms (``dc.grad``, ``dc.jvp``, ...), the backends registry
(``diffcompare.backends``) and the exceptions. sympy is imported only when a symbolic backend runs.
"""

from diffcompare.errors import DiffcompareError, DomainError, ParseError, Timeout, TracingError, Unsupported

__version__ = "0.1.0"

_AD_NAMES = {
    "Recording", "derivative", "grad", "hessian", "hvp", "jacfwd", "jacobian", "jacrev", "jvp",
    "logsumexp", "record", "sigmoid", "softmax", "value_and_grad", "vjp",
}


def __getattr__(name: str):
    """The AD names load numpy on first use, so that ``diffcompare --help`` starts fast."""
    if name in _AD_NAMES:
        from diffcompare import ad

        return getattr(ad, name)
    if name == "check_grads":
        from diffcompare.ad.check import check_grads

        return check_grads
    if name == "backends":
        import importlib

        return importlib.import_module("diffcompare.backends")
    raise AttributeError(f"module 'diffcompare' has no attribute {name!r}")

__all__ = [
    "DiffcompareError", "DomainError", "ParseError", "Recording", "Timeout", "TracingError", "Unsupported",
    "__version__", "backends", "check_grads", "derivative", "grad", "hessian", "hvp", "jacfwd", "jacobian",
    "jacrev", "jvp",
    "logsumexp", "record", "sigmoid", "softmax", "value_and_grad", "vjp",
]
