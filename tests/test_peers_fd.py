"""The finite-difference and symbolic peers: numdifftools, scipy.differentiate and SymEngine.

Each library is optional: without it its tests skip with the reason. Tolerances: numdifftools and scipy
extrapolate to ~1e-12 relative on smooth functions (their own error estimates say ~1e-13 .. 1e-10), so
1e-9 relative is loose enough for every library version and tight enough to catch a wrong layout or sign.
"""

import math

import numpy as np
import pytest

from diffcompare import backends
from diffcompare.errors import DiffcompareError, DomainError, Unsupported
from diffcompare.parse import compile_expression

TABLE3 = compile_expression("x1*x2 + x2 - log(x1)")  # the lecture's Table 3 function at (3, -4)
TABLE3_GRAD = np.array([-4 - 1 / 3, 4.0])
TABLE3_HESS = np.array([[1 / 9, 1.0], [1.0, 0.0]])


def _peer(name):
    module = {"numdifftools": "numdifftools", "scipy": "scipy.differentiate", "symengine": "symengine"}[name]
    pytest.importorskip(module, reason=f"{name} is not installed (pip install 'diffcompare[peers]')")
    return backends.get(name)


class Counter:
    """f with its calls counted here, independently of the backend's own counter."""

    def __init__(self, f):
        self.f, self.calls = f, 0

    def __call__(self, *a):
        self.calls += 1
        return self.f(*a)


@pytest.mark.parametrize("name", ["numdifftools", "scipy", "symengine"])
def test_table3_gradient_and_hessian_match_the_slides(name):
    d = _peer(name)
    g = d.gradient(TABLE3.function, (3.0, -4.0))
    np.testing.assert_allclose(g.derivative, TABLE3_GRAD, rtol=1e-9)
    assert g.value == pytest.approx(-16.0 - math.log(3.0), rel=1e-15)
    assert g.library.startswith(name + " ") and g.library.split()[1][0].isdigit()
    h = d.hessian(TABLE3.function, (3.0, -4.0))
    np.testing.assert_allclose(h.derivative, TABLE3_HESS, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("name", ["numdifftools", "scipy"])
def test_evaluations_are_every_call_of_f_and_the_error_estimate_is_reported(name):
    d = _peer(name)
    f = Counter(compile_expression("sin(x)*exp(x)").function)
    r = d.derivative(f, 0.5)
    assert r.evaluations == f.calls - 1  # the one call for the value comes before the clock, as for all backends
    assert r.evaluations > 3
    assert r.derivative == pytest.approx(math.exp(0.5) * (math.sin(0.5) + math.cos(0.5)), rel=1e-12)
    assert r.error_estimate is not None and 0 <= r.error_estimate < 1e-8
    f = Counter(TABLE3.function)
    r = d.gradient(f, (3.0, -4.0))
    assert r.evaluations == f.calls - 1


def test_scipy_calls_a_plain_numpy_function_once_per_point():
    """scipy passes arrays of points; a user function with `if` on its argument still runs, point by point."""
    d = _peer("scipy")

    def f(x):
        if x > 0:  # a plain Python branch: an array of points would raise here
            return x**3
        return -x

    r = d.derivative(f, 2.0)
    assert r.derivative == pytest.approx(12.0, rel=1e-10)
    assert r.options["nfev"] == r.evaluations  # scipy's own count agrees with ours for a scalar derivative


def test_scipy_has_no_third_derivative():
    d = _peer("scipy")
    with pytest.raises(Unsupported, match="stops at order 2"):
        d.derivative(np.sin, 0.5, 3)
    assert d.derivative(np.sin, 0.5, 2).derivative == pytest.approx(-math.sin(0.5), rel=1e-9)


def test_numdifftools_gives_any_order():
    d = _peer("numdifftools")
    r = d.derivative(np.sin, 0.5, 4)  # sin'''' = sin; numdifftools' estimate says ~1e-7 at order 4
    assert r.derivative == pytest.approx(math.sin(0.5), rel=1e-6)


@pytest.mark.parametrize("name", ["numdifftools", "scipy"])
def test_a_step_outside_the_domain_is_a_domain_error_not_a_nan(name):
    """log at 0.1: scipy's first step is 0.5 (absolute), so it evaluates log of a negative number."""
    d = _peer(name)
    f = compile_expression("log(x)").function
    try:
        r = d.derivative(f, 0.1)
    except DomainError as exc:
        assert "domain" in str(exc)
    else:  # a library whose steps stay inside must then be right
        assert r.derivative == pytest.approx(10.0, rel=1e-8)


@pytest.mark.parametrize("name", ["numdifftools", "scipy", "symengine"])
def test_jacobian_layout_is_ours(name):
    d = _peer(name)
    r = d.jacobian(lambda v: np.array([v[0] * v[1], np.sin(v[0]), v[1] ** 2]), np.array([1.0, 2.0]))
    assert np.shape(r.derivative) == (3, 2)
    np.testing.assert_allclose(r.derivative, [[2, 1], [math.cos(1.0), 0], [0, 4]], rtol=1e-9, atol=1e-9)


def test_symengine_derivative_matches_sympy_and_reports_size_and_times():
    d = _peer("symengine")
    import sympy

    f = compile_expression("sin(x)*exp(x)").function
    ours = backends.get("symbolic").derivative(f, 0.5, 3)
    r = d.derivative(f, 0.5, 3)
    assert r.derivative == pytest.approx(ours.derivative, rel=1e-14)
    # the same measure (sympy.count_ops) on each library's own tree: sympy keeps 2*(cos - sin)*exp (6 ops),
    # SymEngine expands to -2*exp*sin + 2*exp*cos (9 ops)
    assert r.expression_size == sympy.count_ops(r.expression._sympy_()) == 9
    assert ours.expression_size == 6
    assert r.options["diff_seconds"] <= r.seconds and r.options["trace_seconds"] <= r.seconds


def test_symengine_reports_an_unevaluated_kink_as_unsupported():
    """SymEngine's symbols are not real: it cannot differentiate |x| (sympy gives sign(x))."""
    d = _peer("symengine")
    with pytest.raises(Unsupported, match="abs"):
        d.derivative(compile_expression("abs(x)*sin(x)").function, 0.5)


def test_symengine_runs_a_plain_numpy_function_and_refuses_control_flow():
    d = _peer("symengine")

    def f(x1, x2):
        return x1 * x2 + x2 - np.log(x1)

    np.testing.assert_allclose(d.gradient(f, (3.0, -4.0)).derivative, TABLE3_GRAD, rtol=1e-15)

    def g(x):
        return x if x > 0 else -x

    with pytest.raises(Unsupported):
        d.derivative(g, 0.5)


def test_to_symengine_rebuilds_the_tree_without_text():
    """The conversion walks the sympy tree: a node with no counterpart is refused, never parsed from str."""
    pytest.importorskip("symengine", reason="symengine is not installed")
    import sympy as sp

    from diffcompare.backends.peers.symengine import to_symengine

    x = sp.Symbol("x", real=True)
    e = sp.Rational(5854679515581645, 4503599627370496) * sp.exp(x) + sp.atan2(x, 2) - sp.pi
    se_e = to_symengine(e)
    assert float(se_e.subs({se_e.free_symbols.pop(): 0.25})) == pytest.approx(float(e.subs(x, 0.25)), rel=1e-15)
    with pytest.raises(Unsupported, match="gamma"):
        to_symengine(sp.gamma(x))


def test_a_peer_whose_library_is_missing_is_known_but_not_available(monkeypatch):
    from diffcompare.backends.peers.numdifftools import Numdifftools

    monkeypatch.setattr(Numdifftools, "version", classmethod(lambda cls: None))
    assert "numdifftools" in backends.known()
    assert "numdifftools" not in backends.available()
    with pytest.raises(DiffcompareError, match="not installed.*available: finite"):
        backends.resolve(["finite", "numdifftools"])
    with pytest.raises(DiffcompareError, match="needs its library"):
        backends.get("numdifftools")


def test_resolve_expands_all_and_names_the_available_on_a_typo():
    assert backends.resolve(["all"])[:4] == ["finite", "symbolic", "reverse", "forward"]
    assert backends.resolve(["reverse", "all"])[0] == "reverse"
    with pytest.raises(DiffcompareError, match="unknown backend 'jaxx'; available: finite, symbolic"):
        backends.resolve(["jaxx"])


def test_a_complex_value_from_pythons_power_is_outside_the_domain_not_its_real_part():
    """(-0.4) ** 1.5 is a complex number in Python: scipy's 0.5 step from 0.1 gets there, and must see nan."""
    d = _peer("scipy")
    with pytest.raises(DomainError, match="domain"):
        d.derivative(compile_expression("x**1.5").function, 0.1)


def test_a_math_domain_error_is_nan_for_the_library():
    d = _peer("scipy")
    with pytest.raises(DomainError, match="domain"):
        d.derivative(lambda x: math.log(x), 0.1)


def test_a_scipy_without_scipy_differentiate_is_not_available_and_says_why(monkeypatch):
    """scipy < 1.15 has no scipy.differentiate: the backend is listed, not usable, and the reason is named."""
    pytest.importorskip("scipy", reason="scipy is not installed")
    from diffcompare.analysis.catalog import survey
    from diffcompare.backends.peers import scipy as peer

    # an old scipy: the distribution is there, its scipy.differentiate is not
    monkeypatch.setattr(peer, "installed", lambda distribution, module=None: None if module else "1.14.1")
    assert "scipy" not in backends.available()
    info = {i.name: i for i in survey(probe=False)}["scipy"]
    assert not info.installed and "needs scipy >= 1.15" in info.note
