"""diffcompare: one function, differentiated by finite differences, sympy and automatic differentiation.

``import diffcompare as dc``: the analyses of the CLI (``dc.compare``, ``dc.derivatives``, ``dc.error_vs_h``,
``dc.swell``, ``dc.trace``, ``dc.graph``, ``dc.plot``, ``dc.backprop``: results that show themselves in a
notebook), the AD transforms (``dc.grad``, ``dc.jvp``, ...), the backends registry (``diffcompare.backends``)
and the exceptions. Every name loads on first use, so ``import diffcompare`` stays fast; sympy is imported only
when a symbolic backend runs.
"""

from diffcompare.errors import DiffcompareError, DomainError, ParseError, Timeout, TracingError, Unsupported

__version__ = "0.1.0"

_AD_NAMES = {
    "Recording", "derivative", "grad", "hessian", "hvp", "jacfwd", "jacobian", "jacrev", "jit", "jvp",
    "logsumexp", "plot", "record", "sigmoid", "softmax", "value_and_grad", "vjp",
}


_API_NAMES = {"backprop", "compare", "derivatives", "error_vs_h", "graph", "plot", "swell", "trace"}


def __getattr__(name: str):
    """The AD names load numpy on first use, so that ``diffcompare --help`` starts fast."""
    if name in _API_NAMES:
        from diffcompare import api

        return getattr(api, name)
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
    "__version__", "backprop", "backends", "check_grads", "compare", "derivative", "derivatives", "error_vs_h",
    "grad", "graph", "hessian", "hvp", "jacfwd", "jacobian",
    "jacrev", "jit", "jvp",
    "logsumexp", "plot", "record", "sigmoid", "softmax", "swell", "trace", "value_and_grad", "vjp",
]
