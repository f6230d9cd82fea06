"""One parsed expression, every library: the parser compiles the same text to numpy, jax.numpy, torch and
autograd.numpy (issue 16 item 2). Libraries that are not installed are skipped with a reason."""

from __future__ import annotations

import importlib.util
import math
import subprocess
import sys

import numpy as np
import pytest

from diffcompare.errors import DiffcompareError
from diffcompare.examples import load_examples
from diffcompare.namespaces import for_namespace, load
from diffcompare.parse import FUNCTIONS, compile_expression, parse_point

PEERS = ["jax", "torch", "autograd"]


def _installed(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


def peer_params() -> list:
    return [pytest.param(n, marks=pytest.mark.skipif(not _installed(n), reason=f"{n} is not installed "
                                                      "(pip install 'diffcompare[peers]')")) for n in PEERS]


def _lift(namespace: str, x: float):
    """x as the library's own float64 scalar (what its AD would pass in)."""
    if namespace == "torch":
        import torch

        return torch.tensor(x, dtype=torch.float64)
    if namespace == "jax":
        load("jax")  # enables x64 first
        import jax.numpy as jnp

        return jnp.asarray(x, dtype=jnp.float64)
    return np.float64(x)


def _float(v) -> float:
    return float(v.item()) if hasattr(v, "item") else float(v)


def test_numpy_namespace_is_todays_function():
    e = compile_expression("x1*x2 + x2 - log(x1)")
    assert e.compile_for("numpy") is e.function
    assert for_namespace(e.function, "numpy") is e.function


def test_unknown_namespace_is_a_one_line_error():
    with pytest.raises(DiffcompareError, match="unknown namespace 'cupy'; known: numpy, jax"):
        compile_expression("sin(x)").compile_for("cupy")


def test_a_plain_python_function_has_no_other_namespace():
    assert for_namespace(lambda x: np.sin(x), "jax") is None


# every whitelisted function at a point inside its domain (arc functions: |x| < 1)
POINTS = {name: (0.37 if name in ("arcsin", "arccos", "asin", "acos") else 1.3) for name in FUNCTIONS}


@pytest.mark.parametrize("namespace", peer_params())
@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_every_whitelisted_function_in_every_library_agrees_with_numpy(namespace: str, name: str):
    e = compile_expression(f"{name}(x)*x - 0.5")
    x = POINTS[name]
    got = e.compile_for(namespace)(_lift(namespace, x))
    # libm differences between libraries: a few ulps of the value (0.5 ulp each side, ~1 for the * and -)
    assert _float(got) == pytest.approx(e(x), rel=8 * 2.0**-52, abs=8 * 2.0**-52)
    assert getattr(got, "dtype", None) is not None and "float64" in str(got.dtype)


@pytest.mark.parametrize("namespace", peer_params())
def test_every_library_calls_its_own_functions(namespace: str):
    """Each function of the table is the library's own: a numpy call on a torch tensor or a jax array would
    convert it to numpy (or fail under the library's tracing), and the derivative would be lost."""
    functions = load(namespace).functions
    assert set(functions) == set(FUNCTIONS)
    x = _lift(namespace, 0.3)
    for name, fn in functions.items():
        if namespace == "torch":
            import torch

            assert isinstance(fn(x), torch.Tensor), name
        elif namespace == "jax":
            import jax

            assert isinstance(fn(x), jax.Array), name
        else:
            import autograd.numpy as anp

            assert name == "sigmoid" or fn is getattr(anp, {"asin": "arcsin", "acos": "arccos",
                                                            "atan": "arctan", "asinh": "arcsinh"}.get(name, name)), name


@pytest.mark.parametrize("namespace", peer_params())
def test_folded_constants_are_the_same_float64_in_every_library(namespace: str):
    """exp(1)/3 is folded once with numpy: every library multiplies by the same double (not its own exp(1))."""
    e = compile_expression("x*(exp(1)/3) + sin(pi/7)")
    assert _float(e.compile_for(namespace)(_lift(namespace, 1.0))) == e(1.0)


@pytest.mark.parametrize("namespace", peer_params())
@pytest.mark.parametrize("example", sorted(load_examples()))
def test_named_examples_compile_for_every_library(namespace: str, example: str):
    ex = load_examples()[example]
    e = compile_expression(ex.expression)
    point = parse_point(ex.point, e.variables)
    got = e.compile_for(namespace)(*(_lift(namespace, p) for p in point))
    assert _float(got) == pytest.approx(e(*point), rel=8 * 2.0**-52)


@pytest.mark.parametrize("namespace", peer_params())
def test_compiling_for_a_library_keeps_variable_order_and_signature(namespace: str):
    e = compile_expression("y - x", ["x", "y", "unused"])
    g = e.compile_for(namespace)
    assert g.__name__ == "y - x" and list(__import__("inspect").signature(g).parameters) == ["x", "y", "unused"]
    assert _float(g(*(_lift(namespace, v) for v in (1.0, 5.0, 9.0)))) == 4.0
    assert e.compile_for(namespace) is g  # compiled once per namespace


def test_autograd_sigmoid_has_no_overflow_and_a_finite_gradient_in_both_tails():
    """autograd.numpy has no sigmoid: ours is a double where, so the untaken branch sends no nan (#802)."""
    if not _installed("autograd"):
        pytest.skip("autograd is not installed (pip install 'diffcompare[peers]')")
    from autograd import grad

    s = load("autograd").functions["sigmoid"]
    for x in (-800.0, -40.0, 0.0, 3.0, 800.0):
        exact = 1 / (1 + math.exp(-x)) if x > -700 else 0.0
        assert s(x) == pytest.approx(exact, rel=1e-15)
        d = grad(s)(x)
        assert math.isfinite(d) and d == pytest.approx(exact * (1 - exact) if x > -700 else 0.0, rel=1e-14)


def test_importing_the_cli_and_the_parser_loads_no_peer_library():
    """Start-up stays fast: the peers (and sympy, mpmath, matplotlib) load only when a command needs them."""
    code = ("import sys, diffcompare.cli, diffcompare.parse, diffcompare.backends as b; "
            "diffcompare.parse.compile_expression('sin(x)'); b.available(); "
            "print(sorted(m for m in ('jax', 'torch', 'autograd', 'sympy', 'mpmath', 'matplotlib', "
            "'numdifftools', 'scipy', 'symengine') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
