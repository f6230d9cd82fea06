"""The reference engine is the oracle: the fast layer must give the same numbers, and the policy switches it.

Random array programs (the generators of test_reverse_pass) run under the reference policy (textbook recording
and reverse loop, diffcompare/ad/reverse.py) and under the fast policy (scalar partials, lean rows, deferred
values, pooled buffers, scaled adjoints, in-place updates); values and gradients must agree to 1e-14 of their
size. The fast layer reorders a few roundings (a constant factor folded into an adjoint: (100 * 2) g instead
of 100 (2 g)), a few ulps at most; a wrong shortcut is off by far more.
"""

import ast
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from diffcompare import ad
from diffcompare.ad import policy
from diffcompare.ad.fast import lean, memory
from diffcompare.ad.fast.scalar import FastRNode
from diffcompare.ad.reverse import RNode
from tests.test_reverse_pass import N, program, step

# the jit flavour of the ad fixture is skipped here: jit always stages the reference rows (policy.scoped), so
# both sides of a comparison would be the same program (test_jit compares jit with the eager engine)
pytestmark = pytest.mark.eager_only("compares the eager engine's two policies; jit stages the reference rows only")

RTOL = 1e-14
AD = Path(ad.__file__).parent


def under(p, fn, *args):
    saved = policy.DEFAULT
    policy.DEFAULT = p
    try:
        return fn(*args)
    finally:
        policy.DEFAULT = saved


# The fast scalar path computes floats with ``math``, the reference with numpy, whose exp, tanh and arcsinh differ
# from glibc's by an ulp on 5-30% of arguments (measured on this machine: sin, cos agree). Through a chain of up
# to 12 ops with cancellation (``2 - v``) such an ulp was amplified past 1e-14 relative (-0.0022134336570403326 vs
# ...0305, 1.25e-14, found by this test). Scalar programs get 1e-12: the planted rule errors this test exists for
# are 1e-5 and larger. Array programs run numpy on both sides and keep 1e-14.
SCALAR_RTOL = 1e-12


def same(fast, ref, rtol=RTOL):
    fast, ref = np.asarray(fast), np.asarray(ref)
    scale = max(float(np.max(np.abs(ref), initial=0.0)), 1e-300)
    return fast.shape == ref.shape and np.allclose(fast, ref, rtol=0, atol=rtol * scale, equal_nan=True)


@pytest.fixture
def every_array_lean(monkeypatch):
    """Lean rows, deferral and the buffer pool for arrays of any size (by default only from 16384 elements)."""
    monkeypatch.setattr(lean, "LEAN_MIN_SIZE", 0)
    monkeypatch.setattr(memory, "MIN_SIZE", 1)
    memory.release()
    yield
    memory.release()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(step, min_size=1, max_size=8),
       st.lists(st.tuples(st.integers(0, 99), st.sampled_from([1.0, -2.0, 0.5, 3.0])), min_size=1, max_size=3),
       st.lists(st.floats(-1.5, 1.5), min_size=N, max_size=N))
def test_random_array_programs_give_the_same_values_and_gradients_under_both_policies(ad, every_array_lean, steps,
                                                                                        outputs, xs):
    f = program(steps, outputs)
    x = np.array(xs)
    ref_value, ref_grad = under(policy.REFERENCE, ad.value_and_grad(f), x)
    value, g = under(policy.FAST, ad.value_and_grad(f), x)
    assert same(value, ref_value) and same(g, ref_grad)
    assert same(under(policy.FAST, ad.grad(f), x), ref_grad)  # grad alone defers what only the value needs
    assert same(under(policy.FAST, ad.jacfwd(f), x), under(policy.REFERENCE, ad.jacfwd(f), x))
    v = np.cos(np.arange(N))  # one direction: the fast layer's unbatched push (forward over reverse)
    assert same(under(policy.FAST, ad.hvp, f, x, v), under(policy.REFERENCE, ad.hvp, f, x, v))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(["add", "sub", "mul", "div", "pow", "sin", "exp", "tanh", "arcsinh", "neg"]),
                min_size=1, max_size=12),
       st.floats(0.1, 2.0))
def test_random_scalar_programs_give_the_same_values_and_gradients_under_both_policies(ad, ops, x0):
    def f(x):
        v = x
        for op in ops:
            v = {"add": lambda v: v + x, "sub": lambda v: 2.0 - v, "mul": lambda v: v * x, "div": lambda v: v / (1 + x),
                 "pow": lambda v: abs(v) ** 1.5 + x**x, "sin": np.sin, "exp": lambda v: np.exp(v / 10),
                 "tanh": np.tanh, "arcsinh": np.arcsinh, "neg": lambda v: -v}[op](v)
        return v

    ref = under(policy.REFERENCE, ad.value_and_grad(f), x0)
    fast = under(policy.FAST, ad.value_and_grad(f), x0)
    assert same(fast[0], ref[0], SCALAR_RTOL) and same(fast[1], ref[1], SCALAR_RTOL)
    assert same(under(policy.FAST, ad.hessian(f), x0), under(policy.REFERENCE, ad.hessian(f), x0), SCALAR_RTOL)


def test_one_value_switches_every_transform_to_the_reference(ad, monkeypatch):
    rows = []

    def f(x):
        y = x * x
        rows.append(type(y))
        return y

    ad.grad(f)(3.0)
    monkeypatch.setattr(policy, "DEFAULT", policy.REFERENCE)
    assert ad.grad(f)(3.0) == 6.0
    assert rows == [FastRNode, RNode]


def test_the_policy_refuses_combinations_the_fast_rows_cannot_run():
    with pytest.raises(ValueError):
        policy.Policy(fast_nodes=False, lean=True, scaled=True)
    with pytest.raises(ValueError):
        policy.Policy(fast_nodes=True, lean=False, scaled=False)


def _top_level_imports(path: Path) -> set[str]:
    """The diffcompare.ad modules a module imports when it is itself imported (not inside functions)."""
    found = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("diffcompare.ad"):
            if node.module in ("diffcompare.ad", "diffcompare.ad.fast"):
                found |= {f"{node.module}.{a.name}" for a in node.names}
            else:
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("diffcompare.ad")}
    return found


def _ad_modules() -> list[str]:
    return sorted("diffcompare." + ".".join(p.relative_to(AD.parent).with_suffix("").parts)
                  for p in AD.rglob("*.py") if p.name != "__init__.py")


def test_the_engine_has_no_import_cycle():
    graph = {m: {d for d in _top_level_imports(AD.parent.parent / (m.replace(".", "/") + ".py"))
                 if d in _ad_modules()} for m in _ad_modules()}
    done: set[str] = set()

    def visit(m, path):
        assert m not in path, "import cycle: " + " -> ".join([*path, m])
        if m not in done:
            for d in graph[m]:
                visit(d, [*path, m])
            done.add(m)

    for m in graph:
        visit(m, [])


@pytest.mark.slow  # ~15 s: a numpy import per module (the graph test above guards the same in the default suite)
def test_each_engine_module_imports_alone_in_a_fresh_interpreter():
    code = "import importlib, sys\nfor m in sys.argv[1:]:\n    importlib.import_module(m)\n"
    for m in _ad_modules():  # one interpreter per module: none may depend on another having been imported first
        subprocess.run([sys.executable, "-c", code, m], check=True, timeout=120)
