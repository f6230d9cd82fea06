"""Array namespaces: the parser's function names in numpy, jax.numpy, torch and autograd.numpy.

One parsed expression is compiled once per library (:meth:`diffcompare.parse.Expression.compile_for`), so
every backend differentiates exactly the same function: the same operations in the same order, the same
float64 constants (folded once, with numpy). Each library is imported only when its namespace is first
asked for: ``import diffcompare.cli`` imports none of them.

A :class:`Namespace` also carries the few array helpers the function families need (``sum``, ``flip``,
``asarray``), so ``cost`` can run Rosenbrock in every library. A library with a different name for a
function (``torch.asin``), or no such function at all (``autograd.numpy`` has no sigmoid), gets it here,
written in that library's own primitives.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from diffcompare.errors import DiffcompareError

__all__ = ["LOADERS", "Namespace", "for_namespace", "load"]


@dataclass(frozen=True)
class Namespace:
    """One library's spelling of the parser's functions and of a few array helpers."""

    name: str
    functions: dict[str, Callable[[Any], Any]]
    sum: Callable[[Any], Any]
    flip: Callable[[Any], Any]
    asarray: Callable[[Any], Any]


_NAMES = ("sin", "cos", "tan", "exp", "log", "sqrt", "tanh", "log1p", "expm1", "sinh", "cosh",
          "arcsin", "arccos", "arctan", "arcsinh")


def _with_aliases(functions: dict[str, Callable[[Any], Any]]) -> dict[str, Callable[[Any], Any]]:
    """The parser's other spellings (asin for arcsin, ...) are the same function; they come from the rules
    table, as the parser's own names do."""
    from diffcompare.ad.rules import RULES

    for rule in RULES.values():
        for alias in rule.parse[1:]:
            functions[alias] = functions[rule.parse[0]]
    return functions


def _numpy() -> Namespace:
    import numpy as np

    from diffcompare.parse import FUNCTIONS

    return Namespace("numpy", dict(FUNCTIONS), np.sum, np.flip, np.asarray)


def _jax() -> Namespace:
    import jax

    jax.config.update("jax_enable_x64", True)  # float64 everywhere: jax's default is float32
    import jax.numpy as jnp

    functions = {name: getattr(jnp, name) for name in _NAMES}
    functions.update(sigmoid=jax.nn.sigmoid, abs=jnp.abs)
    return Namespace("jax", _with_aliases(functions), jnp.sum, jnp.flip,
                     lambda a: jnp.asarray(a, dtype=jnp.float64))


def _torch() -> Namespace:
    import torch

    names = {"arcsin": "asin", "arccos": "acos", "arctan": "atan", "arcsinh": "asinh"}
    functions = {name: getattr(torch, names.get(name, name)) for name in _NAMES}
    functions.update(sigmoid=torch.sigmoid, abs=torch.abs)
    return Namespace("torch", _with_aliases(functions), torch.sum, lambda a: torch.flip(a, (0,)),
                     lambda a: torch.as_tensor(a, dtype=torch.float64))


def _autograd() -> Namespace:
    import autograd.numpy as anp

    def sigmoid(v: Any) -> Any:
        """1/(1+exp(-v)) for v >= 0, exp(v)/(1+exp(v)) below: never exp of a large positive number.

        The "double where" (STYLE.md, autograd #802): each branch sees a harmless argument, so the branch
        not taken cannot send a nan or inf into the gradient.
        """
        pos = v >= 0
        vp = anp.where(pos, v, 0.0)
        vn = anp.where(pos, 0.0, v)
        en = anp.exp(vn)
        return anp.where(pos, 1.0 / (1.0 + anp.exp(-vp)), en / (1.0 + en))

    functions = {name: getattr(anp, name) for name in _NAMES}
    functions.update(sigmoid=sigmoid, abs=anp.abs)
    return Namespace("autograd", _with_aliases(functions), anp.sum, anp.flip, anp.asarray)


#: namespace name -> a loader importing its library (called once, on first use)
LOADERS: dict[str, Callable[[], Namespace]] = {
    "numpy": _numpy,
    "jax": _jax,
    "torch": _torch,
    "autograd": _autograd,
}


@functools.cache
def load(name: str) -> Namespace:
    """The namespace ``name`` (its library imported now); an unknown name is a one-line error."""
    if name not in LOADERS:
        raise DiffcompareError(f"unknown namespace {name!r}; known: {', '.join(LOADERS)}")
    return LOADERS[name]()


def for_namespace(f: Callable[..., Any], name: str) -> Callable[..., Any] | None:
    """``f`` written in namespace ``name``, if ``f`` knows how (a compiled expression, a family member), else None.

    Such a function carries ``compile_for(name)``; a plain Python function over numpy does not, and a peer
    that cannot run numpy code says so (:class:`~diffcompare.errors.Unsupported`).
    """
    compile_for = getattr(f, "compile_for", None)
    return compile_for(name) if callable(compile_for) else None
