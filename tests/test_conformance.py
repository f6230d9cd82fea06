"""Conformance: every backend, ours and every installed peer, on the same functions (issue 16 item 4).

1. The lecture's worked values (data/seed_numbers.toml): each backend reproduces the printed digits, and
   chain-rule backends agree with the exact reference within the AD bound.
2. Random expressions (the differential suite's hypothesis strategies and its mpmath reference,
   tests/mpref.py): each chain-rule backend within ``AD_ULPS * EPS * E`` of the exact derivative, where ``E``
   is the running error bound of the chain-rule evaluation (the condition number; see test_differential.py).
   The bound is the same for ours and for the peers: the peers run the same float64 operations. Where a
   library's rule is *documented* to lose digits (``DEVIATIONS``: jax and torch write tanh' as 1 - tanh^2,
   sigmoid' as s(1 - s), expm1' as ans + 1), a miss is accepted only on a case the reference has tagged with
   that tail; the table in ``test_conventions_at_kinks_and_tails`` pins the library's exact value there.
3. Kinks and tails: the value each library returns where the derivative is one-sided, undefined or tiny
   (``CONVENTIONS``): they differ, and the README says how.
4. Unsupported where due: a plain-numpy Python function in a library that cannot run numpy code.

A peer that is not installed is skipped with the reason (``pip install 'diffcompare[peers]'``).
"""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path
from typing import Any

import mpmath
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

sys.path.insert(0, str(Path(__file__).parent))
import mpref  # noqa: E402
import test_differential as D  # noqa: E402  (its strategies, reference checks and known float64 limits)

from diffcompare import backends  # noqa: E402
from diffcompare.errors import DomainError, Unsupported  # noqa: E402
from diffcompare.examples import load_examples, read_toml  # noqa: E402
from diffcompare.parse import compile_expression, parse_point  # noqa: E402

EPS = 2.0**-52
PEERS = {"jax": "jax", "torch": "torch", "autograd": "autograd", "numdifftools": "numdifftools",
         "scipy": "scipy", "symengine": "symengine"}  # backend -> the library it needs
# how a backend is judged: "chain" (a float64 program of the chain rule: AD, symbolic) or "finite" (an
# approximation with a step); a backend missing here is skipped with that reason
KIND = {"reverse": "chain", "forward": "chain", "symbolic": "chain", "jax": "chain", "torch": "chain",
        "autograd": "chain", "symengine": "chain", "finite": "finite", "numdifftools": "finite", "scipy": "finite"}
OPTIONS: dict[str, dict[str, Any]] = {"jax": {"both": False}}  # jax: no-jit only here (jit compiles per case)

# documented losses of a library's own derivative rules, by the reference's tag for that tail (see the docstring)
DEVIATIONS = {
    "jax": {"tanh-tail", "sigmoid-tail", "expm1-left-tail"},
    "torch": {"tanh-tail", "sigmoid-tail", "expm1-left-tail"},
    "autograd": {"expm1-left-tail"},
    "symengine": {"tanh-tail", "sigmoid-tail"},  # its derivative, evaluated in float64: 1 - tanh^2, ...
}
# the highest derivative order a backend offers (derivative() beyond it is Unsupported); others: any order
MAX_ORDER = {"scipy": 2}


AVAILABLE = backends.available()


def _installed(name: str) -> bool:
    return name in AVAILABLE and (name not in PEERS or importlib.util.find_spec(PEERS[name]) is not None)


def _params(kinds: tuple[str, ...] = ("chain", "finite")) -> list:
    names = list(dict.fromkeys([*AVAILABLE, *PEERS]))
    out = []
    for n in names:
        marks = []
        if name_missing := (n in PEERS and importlib.util.find_spec(PEERS[n]) is None):
            marks.append(pytest.mark.skip(reason=f"{n} is not installed (pip install 'diffcompare[peers]')"))
        elif not name_missing and n not in AVAILABLE:
            marks.append(pytest.mark.skip(reason=f"{n} is installed but this build has no {n} backend"))
        elif n not in KIND:
            marks.append(pytest.mark.skip(reason=f"no conformance class for backend {n!r}: add it to KIND"))
        elif KIND[n] not in kinds:
            continue
        out.append(pytest.param(n, marks=marks, id=n))
    return out


def _get(name: str):
    return backends.get(name, **OPTIONS.get(name, {}))


# -- 1. the lecture's worked values -------------------------------------------------------------------------------

SEED = {n["id"]: n for n in read_toml("seed_numbers.toml")["number"]}
# seed id -> (example name or expression, point or None for the example's own, what, index)
WORKED = [
    ("t1_y", "table1", None, "value", None),
    ("t2_y", "table3", None, "value", None),
    ("t2_dy", "table3", None, "gradient", 1),
    ("t3_xbar1", "table3", None, "gradient", 0),
    ("t3_xbar2", "table3", None, "gradient", 1),
    ("sin_f", "sin", None, "value", None),
    ("sin_df", "sin", None, 1, None),
    ("cube_d1", "cube", None, 1, None),
    ("cube_d2", "cube", None, 2, None),
    ("cube_d3", "cube", None, 3, None),
    ("contour_f", "contour", None, "value", None),
    ("contour_grad", "contour", None, "gradient", None),
    ("ex2_first", "2*(a*a + b*b + c*c + d*d)", "a=0,b=1,c=2,d=3", "gradient", None),  # y = 2 x.x, x = arange(4)
]


def _printed(text: str) -> tuple[list[float], float]:
    """The printed numbers and half a unit of their last printed digit (the precision the slide claims)."""
    items = [s.strip() for s in text.strip("[]").split(",")]
    decimals = max((len(s.split(".")[1]) if "." in s else 0) for s in items)
    return [float(s) for s in items], 0.5 * 10.0**-decimals


def _worked(seed_id: str, source: str, at: str | None, what: Any):
    example = load_examples().get(source)
    text, point_text = (example.expression, example.point) if example else (source, at)
    e = compile_expression(text)
    return e, parse_point(point_text, e.variables)


@pytest.mark.parametrize("name", _params())
@pytest.mark.parametrize("seed_id, source, at, what, index", WORKED, ids=[w[0] for w in WORKED])
def test_worked_values_of_the_lecture(name: str, seed_id: str, source: str, at: str | None, what: Any,
                                      index: int | None) -> None:
    e, point = _worked(seed_id, source, at, what)
    d = _get(name)
    x = point[0] if len(point) == 1 else point
    if isinstance(what, int) and what > MAX_ORDER.get(name, what):
        with pytest.raises(Unsupported):
            d.derivative(e.function, x, what)
        return
    if isinstance(what, int):
        r = d.derivative(e.function, x, what)
        got = np.atleast_1d(r.derivative)
    else:
        r = d.gradient(e.function, x)
        got = np.atleast_1d(r.value if what == "value" else r.derivative)
    if index is not None:
        got = got[index:index + 1]
    printed, half_unit = _printed(SEED[seed_id]["printed"])
    assert np.all(np.abs(got - printed) <= half_unit * (1 + 1e-12)), (seed_id, got, printed)
    # and against the exact value: the AD bound for chain-rule backends, the step's error for finite ones
    order = what if isinstance(what, int) else 1
    ref = mpref.reference(e.text, list(e.variables), list(point), order=order if len(point) == 1 else 1)
    if what == "value":
        exact, err = [ref.value], [ref.value_err]
    elif isinstance(what, int) and what > 1:
        exact, err = [ref.orders[what]], [ref.orders_err[what]]
    else:
        exact, err = ref.grad, ref.grad_err
        if index is not None:
            exact, err = exact[index:index + 1], err[index:index + 1]
    if KIND[name] == "chain" or what == "value":
        D.check_ad(f"{name} {seed_id}", got, exact, err, ulps=D.AD_ULPS * (order + 1))
    else:
        # a central difference of order k at its best step: truncation ~h^2, rounding ~EPS/h^k, so the
        # relative error is ~EPS^(2/(k+2)) (3.7e-11, 1.5e-8, 5.5e-7); 100x for the worked functions' scales
        tol = 100 * EPS ** (2 / (order + 2))
        for g, x_ in zip(got, exact):
            assert abs(mpmath.mpf(float(g)) - x_) <= tol * max(1, abs(x_)), (name, seed_id, g, x_)
    if name in PEERS:
        assert r.library and r.library.split()[0] == PEERS[name] and r.library.split()[1][0].isdigit()


# -- 2. random expressions against the exact reference ------------------------------------------------------------

CHAIN = [n for n in AVAILABLE if KIND.get(n) == "chain" and _installed(n)]
EXAMPLES = 6  # per category in the default run: ~12 backends x 4 categories x 6 cases in a few seconds
SLOW_EXAMPLES = 150


def _check_case(case: D.Case, only: str | None = None) -> list[str]:
    """Every installed chain-rule backend (or ``only`` one) on one case; returns the documented deviations met."""
    documented = []
    for name in [only] if only else CHAIN:
        if name == "symbolic" and case.category not in ("interior", "known"):
            continue  # sympy costs ~30 ms a case: the differential suite covers the rest of its categories
        if D._known(case, name):
            continue  # a float64 limit of every reverse pass, or of the reference (test_differential.KNOWN)
        try:
            with np.errstate(all="ignore"):
                r = _get(name).gradient(compile_expression(case.text, case.variables).function, tuple(case.point))
        except (Unsupported, DomainError):
            continue  # a refusal is never a wrong number
        try:
            D.check_ad(f"{name} {case}", r.derivative, case.ref.grad, case.ref.grad_err)
        except D.Mismatch:
            hit = sorted(DEVIATIONS.get(name, set()) & case.tags)
            if not hit:
                raise
            documented.append(f"{name}: {hit[0]}")
    return documented


def _property(category: str, examples: int) -> None:
    @settings(max_examples=examples, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(D.CATEGORIES[category])
    def prop(case: D.Case) -> None:
        for text in _check_case(case):
            D._event(f"documented deviation: {text}")

    prop()


@pytest.mark.parametrize("category", list(D.CATEGORIES))
def test_random_expressions_agree_with_the_exact_reference(category: str) -> None:
    """The same random expression, compiled for each library, through every installed chain-rule backend."""
    _property(category, EXAMPLES)


@pytest.mark.slow
@pytest.mark.parametrize("category", list(D.CATEGORIES))
def test_random_expressions_long(category: str) -> None:
    _property(category, SLOW_EXAMPLES)


@pytest.mark.parametrize("name, text, x", [
    ("jax", "tanh(x)", 20.0), ("torch", "sigmoid(x)", 40.0), ("autograd", "expm1(x)", -40.0),
    ("symengine", "tanh(x)", 20.0)])
def test_a_documented_deviation_is_accepted_only_where_the_reference_tags_it(name: str, text: str, x: float):
    """The acceptance is narrow: the same wrong number on a case without the tag is a failure."""
    if not _installed(name):
        pytest.skip(f"{name} is not installed (pip install 'diffcompare[peers]')")
    case = D._make_case("known", text, ["x"], [x])
    assert _check_case(case, only=name), "the library's tail value should miss the AD bound here"
    case.tags -= DEVIATIONS[name]
    with pytest.raises(D.Mismatch):
        _check_case(case, only=name)


# -- 3. kinks and tails: each library's convention ----------------------------------------------------------------

NAN = math.nan
U = "Unsupported"
DOM = "DomainError"
# (expression, point, exact derivative and why) -> the value each backend returns; "DomainError" where the
# finite-difference stencil leaves the domain, "Unsupported" where the backend refuses. Measured with jax 0.10.2,
# torch 2.13.0, autograd 1.9.1, numdifftools 0.11.2, scipy 1.17.1, symengine 0.15.0.
CONVENTIONS: list[tuple[str, float, str, dict[str, Any]]] = [
    ("abs(x)", 0.0, "undefined: a kink, one-sided -1 and +1",
     {"reverse": 1.0, "forward": 1.0, "symbolic": 0.0, "finite": 0.0, "jax": 1.0, "torch": 0.0, "autograd": 0.0,
      "symengine": U, "numdifftools": 0.0, "scipy": 0.0}),
    ("sqrt(x*x)", 0.0, "undefined: |x| written as sqrt(x^2); the rule meets inf * 0",
     {"reverse": 0.0, "forward": 0.0, "symbolic": 0.0, "finite": 0.0, "jax": NAN, "torch": NAN, "autograd": NAN,
      "symengine": U, "numdifftools": 0.0, "scipy": 0.0}),
    ("sqrt(x)", 0.0, "+inf, one-sided (the edge of the domain)",
     {"reverse": math.inf, "forward": math.inf, "symbolic": math.inf, "finite": DOM, "jax": math.inf,
      "torch": math.inf, "autograd": math.inf, "symengine": math.inf, "numdifftools": DOM, "scipy": DOM}),
    ("arcsin(x)", 1.0, "+inf, one-sided",
     {"reverse": math.inf, "forward": math.inf, "symbolic": math.inf, "finite": DOM, "jax": math.inf,
      "torch": math.inf, "autograd": math.inf, "symengine": math.inf, "numdifftools": DOM, "scipy": DOM}),
    ("x**0", 0.0, "0 (x**0 = 1 everywhere); jax's rule is 0 * 0**-1 = nan",
     {"reverse": 0.0, "forward": 0.0, "symbolic": 0.0, "finite": 0.0, "jax": NAN, "torch": 0.0, "autograd": 0.0,
      "symengine": 0.0, "numdifftools": 0.0, "scipy": 0.0}),
    ("tanh(x)", 20.0, "1.6993e-17; 1 - tanh^2 cancels to 0",
     {"reverse": 1.6993417021166355e-17, "forward": 1.6993417021166355e-17, "symbolic": 1.6993417021166355e-17,
      "finite": 0.0, "jax": 0.0, "torch": 0.0, "autograd": 1.6993417021166355e-17, "symengine": 0.0,
      "numdifftools": 0.0, "scipy": 0.0}),
    ("sigmoid(x)", 40.0, "4.2484e-18; s(1 - s) cancels to 0",
     {"reverse": 4.248354255291589e-18, "forward": 4.248354255291589e-18, "symbolic": 4.248354255291589e-18,
      "finite": 0.0, "jax": 0.0, "torch": 0.0, "autograd": 4.248354255291589e-18,
      "symengine": 4.248354255291598e-18, "numdifftools": 0.0, "scipy": 0.0}),
    ("expm1(x)", -40.0, "4.2484e-18; the rule ans + 1 cancels to 0",
     {"reverse": 4.248354255291589e-18, "forward": 4.248354255291589e-18, "symbolic": 4.248354255291589e-18,
      "finite": 0.0, "jax": 0.0, "torch": 0.0, "autograd": 0.0, "symengine": 4.248354255291589e-18,
      "numdifftools": 0.0, "scipy": 0.0}),
]


@pytest.mark.parametrize("name", _params())
@pytest.mark.parametrize("text, x, exact, values", CONVENTIONS, ids=[f"{c[0]}@{c[1]:g}" for c in CONVENTIONS])
def test_conventions_at_kinks_and_tails(name: str, text: str, x: float, exact: str, values: dict[str, Any]) -> None:
    if name not in values:
        pytest.skip(f"no convention recorded for {name} at {text}, x={x:g}")
    want = values[name]
    f = compile_expression(text).function
    if isinstance(want, str):
        with pytest.raises(DomainError if want == DOM else Unsupported):
            _get(name).derivative(f, x)
        return
    with np.errstate(all="ignore"):
        got = float(_get(name).derivative(f, x).derivative)
    assert got == want or (math.isnan(got) and math.isnan(want)), f"{name} at {text}, x={x}: {got} (exact: {exact})"


# -- 4. Unsupported where due ---------------------------------------------------------------------------------------


def _plain(x):
    return np.sin(x) * x  # plain numpy: np.sin on the library's value


def _branch(x):
    if x > 0:  # Python control flow on the value
        return x * x
    return -x


# backend -> (plain numpy ufuncs, Python control flow): the derivative at 0.5, or "Unsupported"
RUNS = {"reverse": (True, True), "forward": (True, True), "finite": (True, True), "symbolic": (True, False),
        "jax": (False, False), "torch": (False, True), "autograd": (True, True), "symengine": (True, False),
        "numdifftools": (True, True), "scipy": (True, True)}


@pytest.mark.parametrize("name", _params())
def test_plain_python_functions_run_or_are_unsupported_in_one_line(name: str) -> None:
    """jax and torch cannot run numpy code on their traced values; autograd's boxes take numpy's ufuncs; jax
    refuses Python control flow on a traced value, torch and autograd follow it (they trace one path)."""
    if name not in RUNS:
        pytest.skip(f"no expectation recorded for {name}")
    for f, runs, exact in ((_plain, RUNS[name][0], math.sin(0.5) + 0.5 * math.cos(0.5)),
                           (_branch, RUNS[name][1], 1.0)):
        if runs:
            assert _get(name).derivative(f, 0.5).derivative == pytest.approx(exact, rel=1e-8)
        else:
            with pytest.raises(Unsupported) as info:
                _get(name).derivative(f, 0.5)
            assert "\n" not in str(info.value)
