"""Property: on random expressions, every backend agrees with the 50-digit symbolic reference.

Random expressions come from the parser's whitelist, so this also checks that the parsed
function runs unchanged under every backend.
"""

import math

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from diffcompare import backends
from diffcompare.analysis.compare import error_against
from diffcompare.backends.symbolic import reference
from diffcompare.errors import DomainError, ParseError
from diffcompare.parse import compile_expression

UNARY = ["sin", "cos", "tanh", "sigmoid", "exp", "log", "sqrt", "abs", "arctan"]
BINARY = ["+", "-", "*", "/"]


def expressions(variables):
    leaf = st.one_of(st.sampled_from(variables), st.sampled_from(["0.5", "2", "3", "pi"]))

    def grow(children):
        return st.one_of(
            st.tuples(st.sampled_from(UNARY), children).map(lambda t: f"{t[0]}({t[1]})"),
            st.tuples(children, st.sampled_from(BINARY), children).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
            st.tuples(children, st.sampled_from(["2", "3", "0.5"])).map(lambda t: f"({t[0]})**{t[1]}"),
        )

    return st.recursive(leaf, grow, max_leaves=6)


point = st.floats(min_value=0.3, max_value=2.5, allow_nan=False)


def _compile_or_skip(text, variables):
    try:  # the parser refuses constant sub-expressions that are not finite, like log(cos(2))
        return compile_expression(text, variables).function
    except ParseError:
        assume(False)


def _on_a_kink(f, x, h=1e-6):
    """One-sided differences that disagree (abs(x1 - x2) at x1 = x2): the derivative does not exist
    there and the backends follow different conventions (sympy sign(0) = 0, AD +1 as JAX); the
    conventions have their own tests in test_primitives."""
    x = np.array(x, dtype=float)
    for i in range(x.size):
        e = np.zeros(x.size)
        e[i] = h
        with np.errstate(all="ignore"):
            right = (f(*(x + e)) - f(*x)) / h
            left = (f(*x) - f(*(x - e))) / h
        if not np.isfinite(right - left) or abs(right - left) > 1e-3 * (1 + abs(right) + abs(left)):
            return True
    return False


def _reference_or_skip(f, x):
    try:
        return reference(f, x, kind="gradient")
    except DomainError:
        assume(False)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expressions(["x1", "x2"]), point, point)
def test_reverse_and_forward_ad_equal_the_symbolic_derivative(text, a, b):
    f, x = _compile_or_skip(text, ["x1", "x2"]), (a, b)
    try:
        backends.get("reverse").gradient(f, x)
    except DomainError:
        assume(False)
    value, ref = _reference_or_skip(f, x)
    assume(all(math.isfinite(float(r)) and abs(float(r)) < 1e8 for r in ref))
    assume(not _on_a_kink(f, x))
    # Float64 AD is the exact derivative of the rounded program: each of the <= ~30 operations
    # adds a relative rounding of eps = 2.2e-16 to a term of the derivative, so the error is
    # bounded by ~30 * eps * (sum of |terms|). The terms are bounded by the derivative's
    # magnitude times its condition; with inputs in [0.3, 2.5] and at most 6 leaves, the
    # relative 1e-12 of the brief holds, with an absolute floor of 1e-12 * (1 + |f|) for
    # derivatives that cancel to near zero.
    floor = 1e-12 * (1 + abs(float(value)))
    for name in ("reverse", "forward"):
        got = backends.get(name).gradient(f, x).derivative
        # nan only where an intermediate sits on a kink, e.g. sqrt(x1 - x1): sqrt'(0) = inf by convention
        # (as JAX), times a zero tangent; those conventions have their own tests in test_primitives
        assume(np.all(np.isfinite(got)))
        abs_err, _ = error_against(ref, got)
        assert abs_err <= max(1e-12 * float(np.linalg.norm(np.asarray(ref, dtype=float))), floor), (name, text)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expressions(["x"]), point)
def test_central_differences_agree_with_the_symbolic_derivative(text, a):
    f = _compile_or_skip(text, ["x"])
    try:
        got = backends.get("finite", scheme="central").derivative(f, a)
    except DomainError:
        assume(False)
    value, ref = _reference_or_skip(f, a)
    ref = float(ref)
    assume(math.isfinite(ref) and abs(ref) < 1e6)
    # Central differences with h = eps^(1/3) * max(|x|, 1): truncation ~ h^2 |f'''| / 6 and
    # round-off ~ eps |f| / h, both ~ eps^(2/3) ~ 4e-11 times the size of f and its
    # derivatives. 1e-6 relative leaves room for third derivatives up to ~1e4 times larger;
    # points near a singularity of the random expression (|f'''| huge) are skipped by bounding
    # the reference third derivative.
    try:  # sympy cannot always evaluate a third derivative (abs(sqrt(x)): Derivative of sign)
        _, third = reference(f, a, kind="derivative", order=3)
    except DomainError:
        assume(False)
    assume(abs(float(third)) < 1e3 * (1 + abs(ref)))
    scale = max(abs(ref), 1e-3 * (1 + abs(float(value))))
    assert abs(got.derivative - ref) <= 1e-6 * scale, text
