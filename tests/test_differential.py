"""Differential testing (issue 11 item 8): random expressions through every backend and every command's JSON,
each checked against the independent mpmath Taylor reference of tests/mpref.py (never the sympy path under test).

Cases come in five categories (``CATEGORIES``): ``interior`` (random points inside the domain), ``zero``
(exact zeros and near-stationary points of the derivative), ``boundary`` (the edge of sqrt, arcsin, arccos,
fractional powers: one-sided infinite derivatives), ``extreme`` (arguments from 1e-300 to 1e300, tails of
tanh, sigmoid, expm1, exp near overflow) and ``kink``-free wrappers of all of these with 1-3 variables.

Tolerances, per backend:

* AD (reverse, forward, the engine's grad / jacfwd / hessian, nested AD for higher orders) and symbolic
  (the sympy derivative evaluated in float64): ``|got - exact| <= AD_ULPS * EPS * E`` where ``E`` is the
  running error bound of the chain-rule evaluation computed by mpref (sum over every operation of
  ``|partial of the result w.r.t. that operation| * |its value|``, with 1 EPS per libm value and 2 EPS per
  derivative rule: the condition number of the derivative evaluation). ``AD_ULPS = 4``: the bound is first
  order and libm is allowed slightly over 1 ulp; a correct rule stays well inside it, a rule that
  cancels (1 - tanh^2 at 20) misses it by orders of magnitude.
* finite central differences: the theoretical bound ``|f'''| h^2/6 + |f^(5)| h^4/120`` (truncation; the
  second term covers the variation of f''' over [x-h, x+h]) plus ``EPS E_0 / h`` (the rounding of the two
  values, E_0 their running error bound), times ``FD_SAFETY = 4``.
* finite Richardson: its own ``error_estimate`` times ``FD_SAFETY``, floored by the AD bound.

Known bugs other engineers are fixing are not asserted in the main tests; the inputs that hit them are
skipped with a named reason (``KNOWN``, each naming its issue item; hypothesis ``event`` counts them), and
each has its own xfail(strict=False) test that targets it, so that an XPASS tells the lead a fix landed:
then delete the entry from ``KNOWN`` and the main tests check those inputs too.

``pytest -m slow`` runs the same properties with many more examples (>= 10,000 cases) and prints counts per
(target, category, outcome); set ``DIFFTEST_COUNTS=file.json`` to keep them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import io
import json
import math
import os
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mpmath
import numpy as np
import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).parent))
import mpref  # noqa: E402

from diffcompare import backends  # noqa: E402
from diffcompare.backends.base import evaluate  # noqa: E402
from diffcompare.errors import DomainError, ParseError, Unsupported  # noqa: E402
from diffcompare.parse import FUNCTIONS, compile_expression  # noqa: E402

EPS = mpref.EPS
DBL_MAX = sys.float_info.max
AD_ULPS = 4
FD_SAFETY = 4
REF_DIGITS = 45  # the tool's reference promises 50 digits; 45 leaves room for its last-digit rounding

# -- known bugs: name -> (reason naming the issue item, the reference tags / signatures that select it) ----------

KNOWN: dict[str, str] = {
    # not fixable in a float64 reverse pass: the adjoint that carries the partial is itself beyond the range
    "pow-partial-out-of-range": "issue 11 item 4, not fixable in float64 reverse mode: the pow partial y*x^(y-1) is "
                                "beyond the float64 range and so is the adjoint it sends on (exp(x)**-3 at 200: the "
                                "adjoint of exp(x) is -3e^-800, which underflows, while the derivative -7.95e-261 "
                                "does not). Fixed: the rule's own overflow (x**x at 5e-324: ans/x = inf; now "
                                "(y*ans)/x for |y| <= 1)",
    "partial-out-of-range": "issue 11 item 4 family, not fixable in float64 reverse mode: a local partial (a/b^2 of a "
                            "division, f'(x)) is beyond the float64 range and so is the adjoint it sends on (x/x**x "
                            "at 100: the adjoint of x**x is -x/(x**x)^2 = -1e-398, below the smallest subnormal, "
                            "while the derivative -5.6e-198 is not; AD gives 1e-200, the other term). Division's "
                            "d/dy is already -(ans/y); forward mode would need a written-out division JVP. "
                            "Hessians too (forward over reverse): the tangent of log's adjoint 1/u is -u'/u^2, "
                            "log(y**2.719) at 7.87e-91: -3.4e335 (AD -inf, exact -4.39e180); at 1e100: -3.4e-372 "
                            "(lost: AD +4.67e-200, exact -2.719e-200)",
    # fixed: the floor uses the stencil values (fixed-fd-estimate-floor: (x-1.25)**3 at 1.25, x*x at 1e-300), and an
    # off-grid difference checks richardson's estimate (cos(x) at 1e300 claimed 3.2e-302; now inf)
    # fixed for richardson and adaptive (one-sided check; fixed-fd-near-singularity); central has no estimate
    "fd-near-singularity": "issue 11 item 7, central only: the stencil straddles a singular point or kink (its step "
                           "is larger than the distance to it); central has no estimate and item 7 keeps it unchanged",
    # not a bug: u**u with u -> 0 from below exists only at the point; this reference takes the constant's limit
    "pow-variable-base-nonpositive": "not a bug: the reference cannot decide u**u at u = 0",
    # not a bug: the first-order reference cannot tell a zero derivative from a kink there
    "zero-tangent-at-singularity": "not a bug: the argument of sqrt/arcsin/arccos/abs sits at its singular point "
                                   "with a zero first-order tangent: the derivative may be 0 or not exist (a kink: "
                                   "acos(x*x - 2*x) at 1), which this reference does not decide",
    "reference-nan-for-infinite": "found by the long run (wrongs), not investigated: the tool's reference says nan "
                                  "where the one-sided derivative is infinite through nonzero factors: "
                                  "atan(arcsin(x))**4 at 1 (exact +inf: 4 atan(pi/2)^3 / (1 + pi^2/4) * arcsin'(1))",
    # not a bug: a float64 program cannot carry an intermediate derivative beyond 1.8e308 (inf*0 = nan)
    "out-of-range": "not a bug: an intermediate derivative is beyond the float64 range",
}
# the crashes item 6 lists, by the text of their error: an exception matching one is that known bug
KNOWN_CRASHES = ["not 'complex'", "NoneType.__format__", "unsupported format string passed to NoneType",
                 "not enough values to unpack", "could not convert string to float", "Numerical result out of range"]
# tags that only matter for some targets: AD rules are not used by finite differences
RULE_TAGS = {"out-of-range", "partial-out-of-range", "pow-exponent-rounding", "tanh-tail", "sigmoid-tail",
             "expm1-left-tail", "pow-partial-out-of-range", "pow-zero-exponent-at-zero", "pow-integer-at-zero",
             "pow-variable-base-nonpositive"}

COUNTS: Counter = Counter()

# -- expressions ---------------------------------------------------------------------------------------------------

UNARY = sorted(FUNCTIONS)  # every whitelisted function, the aliases asin/acos/atan included
LITERALS = ["0.5", "2", "3", "1.3", "0.1", "2.719", "pi", "e", "10", "0.75", "-1.5"]
POWERS = ["2", "3", "-1", "-2", "0.5", "1.5", "4", "2.5", "-0.5"]


def expressions(variables: list[str], max_leaves: int = 5) -> st.SearchStrategy[str]:
    leaf = st.one_of(st.sampled_from(variables), st.sampled_from(variables), st.sampled_from(LITERALS))

    def grow(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return st.one_of(
            st.tuples(st.sampled_from(UNARY), children).map(lambda t: f"{t[0]}({t[1]})"),
            st.tuples(children, st.sampled_from(["+", "-", "*", "/"]), children).map(
                lambda t: f"({t[0]} {t[1]} {t[2]})"),
            st.tuples(children, st.sampled_from(POWERS)).map(lambda t: f"({t[0]})**{t[1]}"),
            st.tuples(children, children).map(lambda t: f"({t[0]})**({t[1]})"),
        )

    return st.recursive(leaf, grow, max_leaves=max_leaves)


NAMES = ["x", "y", "z"]


@dataclass
class Case:
    category: str
    text: str
    variables: list[str]
    point: list[float]
    ref: mpref.Reference
    tags: set[str] = field(default_factory=set)

    def __repr__(self) -> str:
        at = ",".join(f"{v}={p!r}" for v, p in zip(self.variables, self.point))
        return f"Case({self.category}: {self.text!r} at {at}; tags {sorted(self.tags)})"


def _make_case(category: str, text: str, variables: list[str], point: list[float]) -> Case | None:
    """A case if f is defined (float64 and exactly) at the point, else None."""
    try:
        expr = compile_expression(text, variables)
    except ParseError:
        return None
    try:
        evaluate(expr.function, tuple(point))
    except (DomainError, ValueError, TypeError):
        return None
    try:
        ref = mpref.reference(text, variables, point)
    except (mpref.Undefined, mpref.Singular):
        return None
    if not mpmath.isfinite(ref.value) or abs(ref.value) > DBL_MAX:
        return None
    return Case(category, text, variables, point, ref, set(ref.tags))


def _finish(draw, category: str, text: str, variables: list[str], points: list[list[float]]) -> Case:
    for p in points:
        c = _make_case(category, text, variables, p)
        if c is not None:
            return c
    assume(False)
    raise AssertionError  # unreachable


interior_value = st.one_of(st.floats(-4, 4, allow_nan=False).map(lambda v: round(v, 3)),
                           st.floats(-4, 4, allow_nan=False))


def _extreme_value() -> st.SearchStrategy[float]:
    special = [20.0, 40.0, -40.0, 700.0, -700.0, 709.5, -745.0, 1e-300, -1e-300, 5e-324, 1e300, -1e300, 1e22,
               1e-8, 36.0, -36.0, 18.0, 1e154, 2.0**-1022, 100.0, -100.0]
    mags = st.builds(lambda m, k, s: s * m * 10.0**k, st.floats(1, 9.99), st.integers(-300, 300),
                     st.sampled_from([1.0, -1.0]))
    return st.one_of(st.sampled_from(special), mags)


@st.composite
def interior(draw) -> Case:
    n = draw(st.integers(1, 3))
    v = NAMES[:n]
    text = draw(expressions(v))
    points = [[draw(interior_value) for _ in v] for _ in range(4)]
    return _finish(draw, "interior", text, v, points)


@st.composite
def extreme(draw) -> Case:
    n = draw(st.integers(1, 2))
    v = NAMES[:n]
    text = draw(expressions(v, max_leaves=3))
    points = [[draw(_extreme_value()) for _ in v] for _ in range(4)]
    return _finish(draw, "extreme", text, v, points)


# (template in x, the point): exact zeros of the derivative, and near-stationary points where it is tiny
ZEROS = [("(x - {c})**2", "c"), ("4*x*(1 - x)", 0.5), ("x*x - 2*x", 1.0), ("cos(x - {c})", "c"), ("(x - {c})**3", "c"),
         ("x*x", 0.0), ("exp(x**2 - 2*x)", 1.0), ("x/abs(x)", -3.0), ("cos(x)", math.pi), ("sin(x)", math.pi / 2),
         ("x**4 - 2*x**2", 1.0), ("sigmoid(x - {c})*(1 - sigmoid(x - {c}))", "c"), ("log(1 + (x - {c})**2)", "c"),
         ("tanh(x)**2 - x*x", 0.0), ("arctan(x**2)", 0.0), ("cosh(x - {c})", "c")]
# (template, point): the edge of a domain, where the derivative is one-sided and infinite
BOUNDARY = [("sqrt(x - {c})", "c"), ("sqrt(1 - x*x)", 1.0), ("arcsin(x)", 1.0), ("arcsin(x)", -1.0),
            ("arccos(x)", 1.0), ("arccos(x)", -1.0), ("x**0.5", 0.0), ("sqrt(x)", 0.0), ("asin(x/{c})", "c"),
            ("acos(x - {c} + 1)", "c"), ("(x - {c})**1.5", "c"), ("sqrt(x*x*x)", 0.0)]


def _template(draw, templates) -> tuple[str, float]:
    t, p = draw(st.sampled_from(templates))
    if p == "c":
        c = draw(st.sampled_from([1.0, 2.0, 0.5, -3.0, 1.25, 0.1, 3.7]))
        return t.format(c=repr(c)), c
    return t, p


def _wrapped(category: str, templates):
    @st.composite
    def strategy(draw) -> Case:
        n = draw(st.integers(1, 3))
        v = NAMES[:n]
        inner, x0 = _template(draw, templates)
        outer = draw(expressions(["u"] + v[1:], max_leaves=3).filter(lambda s: "u" in s))
        text = outer.replace("u", f"({inner})") if draw(st.booleans()) else inner
        points = [[x0] + [draw(interior_value) for _ in v[1:]] for _ in range(4)]
        return _finish(draw, category, text, v, points)

    return strategy()


CATEGORIES: dict[str, Any] = {
    "interior": interior(),
    "zero": _wrapped("zero", ZEROS),
    "boundary": _wrapped("boundary", BOUNDARY),
    "extreme": extreme(),
}

# -- checks ----------------------------------------------------------------------------------------------------------


class Mismatch(AssertionError):
    pass


def _event(text: str) -> None:
    """hypothesis's event (counted in --hypothesis-show-statistics); a no-op in the plain tests."""
    from hypothesis.errors import InvalidArgument

    try:
        event(text)
    except InvalidArgument:
        pass


def _mp(x: float) -> Any:
    return mpmath.mpf(float(x))


def _hiprec(check):
    """Run a check at the reference's precision (50-digit strings from the JSON must not round to 53 bits)."""
    import functools

    @functools.wraps(check)
    def run(*args: Any, **kw: Any) -> Any:
        with mpmath.workprec(mpref.PREC):
            return check(*args, **kw)
    return run


@_hiprec
def check_ad(what: str, got: Any, exact: Any, err: Any, ulps: float = AD_ULPS) -> None:
    """got (a float64 array or scalar) against exact with bound ``ulps * EPS * err`` per component."""
    got = np.atleast_1d(np.asarray(got, dtype=float)).ravel()
    exact = list(np.atleast_1d(np.asarray(exact, dtype=object)).ravel())
    err = list(np.atleast_1d(np.asarray(err, dtype=object)).ravel())
    assert len(got) == len(exact), f"{what}: shape {len(got)} vs {len(exact)}"
    for i, (g, x, e) in enumerate(zip(got, exact, err)):
        if mpmath.isnan(x):
            continue  # 0*inf: not determined by the chain rule
        if mpmath.isinf(x):
            if not (math.isinf(g) and (g > 0) == (x > 0)):
                raise Mismatch(f"{what}[{i}]: got {g!r}, exact {x}")
            continue
        if abs(x) > DBL_MAX * (1 - EPS):
            if not (abs(g) >= DBL_MAX * (1 - 4 * EPS) and (g > 0) == (x > 0)):
                raise Mismatch(f"{what}[{i}]: got {g!r}, exact {mpmath.nstr(x, 17)} (beyond float64)")
            continue
        tol = ulps * EPS * e
        if not math.isfinite(g) and tol >= abs(x):
            # the bound guarantees no digit (rounding can land on a singular point: acos(cos(x)) at fl(pi),
            # where cos rounds to -1): a non-finite answer is then the float64 program's honest result
            _event("ill-conditioned: non-finite answer accepted")
            continue
        if not math.isfinite(g) or abs(_mp(g) - x) > tol:
            raise Mismatch(f"{what}[{i}]: got {g!r}, exact {mpmath.nstr(x, 17)}, "
                           f"error {mpmath.nstr(abs(_mp(g) - x) if math.isfinite(g) else mpmath.inf, 3)} "
                           f"> bound {mpmath.nstr(tol, 3)}")


def central_bound(case: Case, i: int, h: float) -> Any:
    """Truncation + rounding bound of a central difference of step h in coordinate i (see module docstring)."""
    d = mpref.taylor(case.text, case.variables, case.point, i, 9)
    h = _mp(h)
    # the odd Taylor terms the stencil keeps, to h^8: ((x+3)**3)**3 at -3 has only the 9th
    trunc = mpmath.fsum(abs(d[k]) * h ** (k - 1) / mpmath.factorial(k) for k in (3, 5, 7, 9))
    # the two values are rounded at their own size, ~ sum_k |f^(k)| h^k / k!, not at |f(x)|
    stencil = mpmath.fsum(abs(d[k]) * h**k / mpmath.factorial(k) for k in range(10))
    rounding = EPS * (case.ref.value_err + stencil) / h
    return FD_SAFETY * (trunc + rounding)


@_hiprec
def check_central(what: str, case: Case, got: Any, steps: Any) -> None:
    got = np.atleast_1d(np.asarray(got, dtype=float)).ravel()
    steps = np.atleast_1d(np.asarray(steps, dtype=float)).ravel()
    for i, g in enumerate(got):
        x = case.ref.grad[i]
        if not mpmath.isfinite(x):
            raise Mismatch(f"{what}[{i}]: finite differences gave {g!r} where the derivative is {x}")
        try:
            tol = central_bound(case, i, float(steps[i])) + AD_ULPS * EPS * case.ref.grad_err[i]
        except (mpref.Singular, mpref.Undefined):
            _event("central bound: singular Taylor series at the point")
            continue
        if not math.isfinite(g) or abs(_mp(g) - x) > tol:
            _near_singularity(case, i, float(steps[i]))
            raise Mismatch(f"{what}[{i}]: got {g!r}, exact {mpmath.nstr(x, 17)}, error "
                           f"{mpmath.nstr(abs(_mp(g) - x), 3)} > bound {mpmath.nstr(tol, 3)} (h={steps[i]:g})")


def _near_singularity(case: Case, i: int, h: float) -> None:
    """Tag a finite-difference miss whose stencil (offsets up to 2h) reaches a singular point or kink."""
    if case.ref.distance and case.ref.distance[i] < 4 * h:
        case.tags.add("fd-near-singularity")


def _floor_misses_stencil(case: Case, i: int, h: float) -> bool:
    """Whether |f(x)| (the rounding floor's scale) is small beside the values at the stencil, ~sum |f^(k)| h^k/k!."""
    try:
        d = mpref.taylor(case.text, case.variables, case.point, i, 3)
    except (mpref.Singular, mpref.Undefined):
        return False
    stencil = mpmath.fsum(abs(d[k]) * _mp(h) ** k / mpmath.factorial(k) for k in range(4))
    return abs(case.ref.value) < stencil / 2


@_hiprec
def check_estimate(what: str, case: Case, got: Any, estimate: float | None, steps: Any) -> None:
    got = np.atleast_1d(np.asarray(got, dtype=float)).ravel()
    steps = np.atleast_1d(np.asarray(steps, dtype=float)).ravel()
    for i, g in enumerate(got):
        x = case.ref.grad[i]
        if not mpmath.isfinite(x):
            raise Mismatch(f"{what}[{i}]: finite differences gave {g!r} where the derivative is {x}")
        if estimate is None:
            raise Mismatch(f"{what}: no error estimate")
        tol = FD_SAFETY * _mp(estimate) + AD_ULPS * EPS * case.ref.grad_err[i]
        if not math.isfinite(g) or abs(_mp(g) - x) > tol:
            _near_singularity(case, i, float(steps[i]))
            if _floor_misses_stencil(case, i, float(steps[i])):
                case.tags.add("fd-estimate-floor")
            raise Mismatch(f"{what}[{i}]: got {g!r}, exact {mpmath.nstr(x, 17)}, error "
                           f"{mpmath.nstr(abs(_mp(g) - x), 3)} > {FD_SAFETY} x its estimate {estimate:.3g}")


@_hiprec
def check_reference(what: str, case: Case, tool: Any, exact: Any, err: Any, digits: int = REF_DIGITS) -> None:
    """The tool's 50-digit reference against ours: exactly 0 where ours is exactly 0 (item 1), else within
    10^-REF_DIGITS of the scale |exact| + E (E, the magnitude of the terms, also bounds our own residues)."""
    tool = list(np.atleast_1d(np.asarray(tool, dtype=object)).ravel())
    exact = list(np.atleast_1d(np.asarray(exact, dtype=object)).ravel())
    err = list(np.atleast_1d(np.asarray(err, dtype=object)).ravel())
    for i, (t, x, e) in enumerate(zip(tool, exact, err)):
        t = mpmath.mpf(t) if t is not None else None
        if x == 0:
            if t != 0:
                case.tags.add("reference-exact-zero")
                raise Mismatch(f"{what}[{i}]: tool reference {t} where the exact value is 0")
            continue
        if mpmath.isnan(x):
            # 0 * inf, not decided by this first-order reference (sin(arcsin(x)) at 1); sympy may know the
            # limit (it simplifies sin(asin(x)) to x: 1), so any answer of the tool's reference stands
            _event("reference: 0 * inf not decided here")
            continue
        if not mpmath.isfinite(x):
            if t is not None and mpmath.isnan(t):
                case.tags.add("reference-nan-for-infinite")
            if t is None or not (mpmath.isinf(t) and (t > 0) == (x > 0)):
                raise Mismatch(f"{what}[{i}]: tool reference {t} where the exact value is {x}")
            continue
        if t is None or abs(t - x) > (abs(x) + e) * mpmath.mpf(10) ** -digits:
            rel = abs(t - x) / abs(x) if t is not None else mpmath.inf
            if t is not None and rel < 1e-11 and _has_fractional_constant(case.text):
                case.tags.add("reference-53-bit")
            raise Mismatch(f"{what}[{i}]: tool reference {t} vs exact {mpmath.nstr(x, 30)} (rel {mpmath.nstr(rel, 3)})")


def _has_fractional_constant(text: str) -> bool:
    """A literal, pi, e or a folded constant (1/3) that is not an integer: sympy rounds those at 53 bits."""
    ev = mpref.Evaluator(text, [])  # folding only
    return any(v is not None and not float(v).is_integer() for v in ev._consts.values())


# -- targets: each runs one backend or command on a case and checks it ---------------------------------------------


def _f(case: Case):
    return compile_expression(case.text, case.variables).function


def t_backend(name: str, **options: Any):
    def run(case: Case) -> None:
        try:
            r = backends.get(name, **options).gradient(_f(case), tuple(case.point))
        except (Unsupported, DomainError) as exc:  # a refusal is never wrong; a finite point off the domain
            _event(f"refused: {type(exc).__name__}")
            return
        if name == "finite":
            if options.get("scheme") in ("richardson", "adaptive"):
                check_estimate(f"finite-{options['scheme']} {case}", case, r.derivative, r.error_estimate,
                               r.options["step"])
            else:
                check_central(f"finite-central {case}", case, r.derivative, r.options["step"])
        else:
            check_ad(f"{name} {case}", r.derivative, case.ref.grad, case.ref.grad_err)
    return run


def _ad(flavour: str) -> Any:
    """diffcompare.ad, eager or with every transform jitted (tests/jitflavour.py)."""
    from tests.jitflavour import FLAVOURS

    return FLAVOURS[flavour]


def t_grad(case: Case, flavour: str = "eager") -> None:
    n = len(case.point)
    with np.errstate(all="ignore"):
        g = _ad(flavour).grad(_f(case), argnums=tuple(range(n)) if n > 1 else 0)(*case.point)
    check_ad(f"grad {case}", np.asarray(g, dtype=float), case.ref.grad, case.ref.grad_err)


def t_jacfwd(case: Case, flavour: str = "eager") -> None:
    f = _f(case)
    with np.errstate(all="ignore"):
        j = _ad(flavour).jacfwd(lambda v: f(*v))(np.array(case.point))
    check_ad(f"jacfwd {case}", j, case.ref.grad, case.ref.grad_err)


def t_hessian(case: Case, flavour: str = "eager") -> None:
    hessian = _ad(flavour).hessian
    try:
        ref = mpref.reference(case.text, case.variables, case.point, hessian=True)
    except mpref.Singular as exc:
        _event(f"hessian: singular ({exc})")
        return
    case.tags |= ref.tags
    _skip_known(case, "hessian")
    f = _f(case)
    with np.errstate(all="ignore"):
        h = hessian(lambda v: f(*v))(np.array(case.point))
    check_ad(f"hessian {case}", h, ref.hess, ref.hess_err)


def _cli(*argv: str) -> tuple[int, str, str]:
    from diffcompare.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def _at(case: Case) -> list[str]:
    return ["--at", ",".join(f"{v}={p!r}" for v, p in zip(case.variables, case.point)), "--vars",
            ",".join(case.variables)]


def _run_json(case: Case, *argv: str) -> dict | None:
    code, out, err = _cli(*argv)
    if code == 2:
        _event(f"{argv[0]}: refused (exit 2)")
        return None
    if code != 0:
        case.tags.add("crash")
        raise Mismatch(f"{argv[0]} {case}: exit {code}: {err.strip()}")
    return json.loads(out)


def _json_numbers(values: Any, exact: list[Any]) -> list[float]:
    """JSON numbers; null (the JSON's inf or nan, it cannot say which) matches an infinite exact value."""
    out = []
    for v, x in zip(np.atleast_1d(np.asarray(values, dtype=object)), exact):
        if v is None:
            out.append(float(x) if mpmath.isinf(x) else math.nan)
        else:
            out.append(float(v))
    return out


def t_compare(case: Case) -> None:
    doc = _run_json(case, "compare", case.text, *_at(case), "--json")
    if doc is None:
        return
    if str(doc["reference"].get("method", "")).startswith("timeout"):
        _event("compare: the reference timed out (said so)")
        return
    with mpmath.workprec(mpref.PREC):  # our checks at the reference's precision
        exact = case.ref.grad
        check_reference(f"compare reference {case}", case, doc["reference"]["derivative_digits"], exact,
                        case.ref.grad_err)
        zero = all(x == 0 for x in exact)
        for row in doc["results"]:
            if row["unsupported"]:
                continue  # a refusal (a finite-difference point off the domain) is never a wrong number
            b = row["backend"]
            got = _json_numbers(row["derivative"], exact)
            if b == "finite":
                check_central(f"compare finite {case}", case, got, row["options"]["step"])
            else:
                check_ad(f"compare {b} {case}", got, exact, case.ref.grad_err)
            if not all(math.isfinite(g) for g in got):
                continue
            true_abs = mpmath.sqrt(mpmath.fsum((_mp(g) - x) ** 2 for g, x in zip(np.atleast_1d(got), exact)))
            scale = mpmath.sqrt(mpmath.fsum(x * x for x in exact if mpmath.isfinite(x)))
            # the tool measures against its 50-digit reference: below 1e-45 of the scale its error is noise; the
            # scale counts the terms' magnitude (grad_err): an exact 0 of ours may be a 2^-640 residue (x**3/x**3)
            scale += mpmath.fsum(e for e in case.ref.grad_err if mpmath.isfinite(e)) * EPS
            if row["abs_error"] is not None and abs(_mp(row["abs_error"]) - true_abs) > (
                    1e-6 * true_abs + 1e-45 * scale + 1e-300):
                raise Mismatch(f"compare {b} {case}: abs_error {row['abs_error']} but the error is "
                               f"{mpmath.nstr(true_abs, 6)}")
            if zero and row["rel_error"] is not None:
                case.tags.add("reference-exact-zero")
                raise Mismatch(f"compare {b} {case}: rel_error {row['rel_error']} where the exact derivative is 0")


def t_derivatives(case: Case) -> None:
    n = len(case.point)
    order = 3 if n == 1 else 2
    try:
        ref = mpref.reference(case.text, case.variables, case.point, hessian=n > 1, order=order if n == 1 else 1)
    except mpref.Singular as exc:
        _event(f"derivatives: singular ({exc})")
        return
    case.tags |= ref.tags
    _skip_known(case, "derivatives")
    doc = _run_json(case, "derivatives", case.text, *_at(case), "--order", str(order), "--json")
    if doc is None:
        return
    with mpmath.workprec(mpref.PREC):  # our checks at the reference's precision
        for o in doc["orders"]:
            k = o["order"]
            if n == 1:
                exact, err = [ref.orders[k]], [ref.orders_err[k]]
            elif k == 1:
                exact, err = ref.grad, ref.grad_err
            else:
                exact, err = [v for row in ref.hess for v in row], [v for row in ref.hess_err for v in row]
            tool = o["reference_digits"]
            if tool is None and o.get("reference_method") == "—":
                # no reference (its sympy step timed out under its budget: the table says so; the JSON only "—")
                _event("derivatives: no reference (said so)")
            else:
                tool = [v for row in tool for v in row] if tool and isinstance(tool[0], list) else tool
                check_reference(f"derivatives order {k} reference {case}", case, tool, exact, err)
            for row in o["results"]:
                if row["value"] is None or row["backend"] == "finite":
                    continue  # finite differences of order k: checked at order 1 by the compare target
                got = np.nan_to_num(np.array(row["value"], dtype=float), nan=np.nan)
                check_ad(f"derivatives {row['backend']} order {k} {case}", got, exact, err, ulps=AD_ULPS * (k + 1))


def t_error_vs_h(case: Case) -> None:
    doc = _run_json(case, "error-vs-h", case.text, *_at(case), "--points", "5", "--h-min", "1e-10", "--h-max",
                    "1e-2", "--json")
    if doc is None:
        return
    with mpmath.workprec(mpref.PREC):  # our checks at the reference's precision
        exact = case.ref.grad
        check_reference(f"error-vs-h reference {case}", case, doc["reference_digits"], exact, case.ref.grad_err)
        for line in doc["references"]:
            if line["derivative"] is not None:
                check_ad(f"error-vs-h {line['backend']} {case}", line["derivative"], exact, case.ref.grad_err)
        norm = mpmath.sqrt(mpmath.fsum(x * x for x in exact if mpmath.isfinite(x)))
        norm += mpmath.fsum(e for e in case.ref.grad_err if mpmath.isfinite(e)) * EPS  # residues of an exact 0
        for s in doc["schemes"]:
            for d, a in zip(s["derivative"], s["abs_error"]):
                if d is None or a is None:
                    continue
                true_abs = mpmath.sqrt(mpmath.fsum((_mp(g) - x) ** 2 for g, x in zip(np.atleast_1d(d), exact)))
                if abs(_mp(a) - true_abs) > 1e-6 * true_abs + 1e-40 * norm + 1e-300:
                    raise Mismatch(f"error-vs-h {s['scheme']} {case}: abs_error {a} but the error is "
                                   f"{mpmath.nstr(true_abs, 6)}")


def t_trace(case: Case) -> None:
    doc = _run_json(case, "trace", case.text, *_at(case), "--json")
    if doc is None:
        return
    with mpmath.workprec(mpref.PREC):  # our checks at the reference's precision
        check_ad(f"trace value {case}", doc["value"], [case.ref.value], [case.ref.value_err])
        if doc["gradient"] is not None:
            check_ad(f"trace gradient {case}", _json_numbers(doc["gradient"], case.ref.grad), case.ref.grad,
                     case.ref.grad_err)
        check_ad(f"trace derivative {case}", _json_numbers([doc["derivative"]], case.ref.grad[:1]),
                 case.ref.grad[:1], case.ref.grad_err[:1])


TARGETS: dict[str, Any] = {
    "finite-central": t_backend("finite", scheme="central"),
    "finite-richardson": t_backend("finite", scheme="richardson"),
    "finite-adaptive": t_backend("finite", scheme="adaptive"),
    "symbolic": t_backend("symbolic"),
    "reverse": t_backend("reverse"),
    "forward": t_backend("forward"),
    "grad": t_grad,
    "jacfwd": t_jacfwd,
    "hessian": t_hessian,
    "jit-grad": lambda case: t_grad(case, "jit"),  # the same transforms under jit (the program, traced once)
    "jit-jacfwd": lambda case: t_jacfwd(case, "jit"),
    "jit-hessian": lambda case: t_hessian(case, "jit"),
    "compare": t_compare,
    "derivatives": t_derivatives,
    "error-vs-h": t_error_vs_h,
    "trace": t_trace,
}
FINITE = {"finite-central", "finite-richardson", "finite-adaptive"}
# cost of one case (sympy or a whole command per case): fewer examples in the default run
EXAMPLES = {"symbolic": 2, "compare": 2, "derivatives": 2, "error-vs-h": 2, "trace": 2}
DEFAULT_EXAMPLES = 4  # x 13 targets x 4 categories; the slow run (-m slow) draws 220 each
# the default run's earlier, larger draw (8 a target and category; sympy and whole commands 2-4): the long run
# still runs exactly these cases (test_differential_earlier_default_draw)
EARLIER_EXAMPLES = {"symbolic": 4, "compare": 3, "derivatives": 3, "error-vs-h": 2, "trace": 4}
EARLIER_DEFAULT_EXAMPLES = 8
SLOW_EXAMPLES = int(os.environ.get("DIFFTEST_SLOW_EXAMPLES", 220))  # 13 targets x 4 categories x 220 = 11,440


class KnownBug(Exception):
    pass


# bugs of one backend: only the targets that run it skip their inputs
ONLY_FOR = {"fd-near-singularity": {"finite-central", "compare"}}  # compare's finite row is central differences


def _known(case: Case, target: str) -> list[str]:
    return sorted(t for t in case.tags if t in KNOWN and not (target in FINITE and t in RULE_TAGS)
                  and target in ONLY_FOR.get(t, {target}))


def _skip_known(case: Case, target: str) -> None:
    """Known bugs are skipped with their name; finite differences use no derivative rules."""
    if case.category == "known":  # the targeted tests below: run it, the bug shows
        return
    hit = _known(case, target)
    if hit:
        raise KnownBug(hit[0])


def run_case(target: str, case: Case, strict: bool) -> str:
    """Run one case: 'passed', 'known: <name>' or 'failed'; raises in strict mode on an unknown failure."""
    try:
        _skip_known(case, target)
        TARGETS[target](case)
        outcome = "passed"
    except KnownBug as bug:
        outcome = f"known: {bug}"
    except Exception as exc:
        if not isinstance(exc, Mismatch):
            if any(k in str(exc) for k in KNOWN_CRASHES):
                case.tags.add("crash")
            if strict and "crash" not in case.tags:
                raise Mismatch(f"{target} {case}: {type(exc).__name__}: {exc}") from exc
        elif "exit 1" in str(exc) and any(k in str(exc) for k in KNOWN_CRASHES):
            case.tags.add("crash")
        hit = _known(case, target)
        if hit:
            outcome = f"known: {hit[0]}"
        elif strict:
            raise
        else:
            outcome = "failed"
            FAILURES.append((target, repr(case), str(sys.exc_info()[1])[:400]))
    _event(outcome)
    COUNTS[(target, case.category, outcome)] += 1
    return outcome


FAILURES: list[tuple[str, str, str]] = []


def _property(target: str, category: str, examples: int, strict: bool) -> None:
    # the default run draws the same examples every time (a shared suite must not flake on a new draw);
    # the long run explores
    @settings(max_examples=examples, deadline=None, derandomize=strict, database=None,
              suppress_health_check=list(HealthCheck))
    @given(CATEGORIES[category])
    def prop(case: Case) -> None:
        run_case(target, case, strict)

    prop()


@pytest.mark.parametrize("category", list(CATEGORIES))
@pytest.mark.parametrize("target", list(TARGETS))
def test_differential(target: str, category: str) -> None:
    """Every target on every category of cases agrees with the mpmath reference within its tolerance."""
    _property(target, category, EXAMPLES.get(target, DEFAULT_EXAMPLES), strict=True)


@pytest.mark.slow
@pytest.mark.parametrize("category", list(CATEGORIES))
@pytest.mark.parametrize("target", list(TARGETS))
def test_differential_earlier_default_draw(target: str, category: str) -> None:
    """The same fixed (derandomized, strict) draw the default run made before it was halved to keep it short."""
    _property(target, category, EARLIER_EXAMPLES.get(target, EARLIER_DEFAULT_EXAMPLES), strict=True)


EVERY_POINTS = [0.3, -0.7, 0.999, 2.5, -1.7, 1.0, -1.0, 0.0, 20.0, -40.0, 40.0, 710.0, -745.0, 1e-300, 1e22, 1e300]
CHEAP = ["reverse", "forward", "grad", "jacfwd", "hessian", "symbolic", "finite-central", "finite-richardson",
         "finite-adaptive"]


# The default run: each function alone at every point, and composed (times x, of 2x - x^2) at four ordinary
# points; the composed forms at the other twelve points (domain edges, tails, extremes) run in the long run
# (-m slow). Building a case (its mpmath reference, and the higher derivatives central differences and the
# Hessian check against) is most of the cost.
EVERY_DEFAULT_COMPOSED_POINTS = [0.3, -0.7, 2.5, -1.7]


@pytest.mark.parametrize("target", CHEAP)
@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_every_function(name: str, target: str) -> None:
    """Each whitelisted function alone and composed, at points across (and at the edge of) its domain, through
    every backend: the random draws of the default run need not meet them all."""
    _every_function(name, target, _every_cases(name, slow=False))


@pytest.mark.slow
@pytest.mark.parametrize("target", CHEAP)
@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_every_function_long(name: str, target: str) -> None:
    """The composed forms at the points the default run leaves out."""
    _every_function(name, target, _every_cases(name, slow=True), least=0)


JITTED = ["jit-grad", "jit-jacfwd", "jit-hessian"]


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_every_function_under_jit(name: str) -> None:
    """jit(grad(f)) for each function alone at all 16 points: the default run's share of the jit targets (each
    case is traced and compiled afresh); the composed forms and jacfwd and hessian run in the long run."""
    _every_function(name, "jit-grad", [c for c in _every_cases(name, slow=False) if c.text == f"{name}(x)"])


@pytest.mark.slow
@pytest.mark.parametrize("target", JITTED)
@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_every_function_under_jit_long(name: str, target: str) -> None:
    _every_function(name, target, _every_cases(name, slow=False) + _every_cases(name, slow=True), least=0)


def _every_function(name: str, target: str, cases: list[Case], least: int = 5) -> None:
    if target == "symbolic":  # sympy costs ~30 ms a case: the plain function only
        cases = [c for c in cases if c.text == f"{name}(x)"]
    for case in cases:
        run_case(target, dataclasses.replace(case, tags=set(case.tags)), strict=True)
    assert len(cases) >= least


def _every_inputs(name: str, slow: bool) -> list[tuple[str, float]]:
    """(text, x) of every case of one function: the default share (slow=False) or the rest (slow=True)."""
    out = []
    for text in (f"{name}(x)", f"{name}(x)*x + 1.5", f"{name}(2*x - x*x)"):
        for x in EVERY_POINTS:
            default = text == f"{name}(x)" or x in EVERY_DEFAULT_COMPOSED_POINTS
            if default != slow:
                out.append((text, x))
    return out


@functools.lru_cache(maxsize=None)
def _every_cases(name: str, slow: bool) -> list[Case]:
    made = (_make_case("every", text, ["x"], [x]) for text, x in _every_inputs(name, slow))
    return [c for c in made if c is not None]


@pytest.mark.slow
@pytest.mark.parametrize("category", list(CATEGORIES))
@pytest.mark.parametrize("target", list(TARGETS))
def test_differential_long(target: str, category: str) -> None:
    """The long run: many cases, counted per outcome; fails at the end listing the unknown failures."""
    before = len(FAILURES)
    _property(target, category, SLOW_EXAMPLES, strict=False)
    new = FAILURES[before:]
    assert not new, f"{len(new)} failures, first: {new[:3]}"


@pytest.fixture(scope="module", autouse=True)
def _report_counts():
    yield
    if not COUNTS:
        return
    lines = [f"{t:18} {c:9} {o:40} {n}" for (t, c, o), n in sorted(COUNTS.items())]
    total = sum(COUNTS.values())
    sys.stdout.write(f"\ndifferential cases: {total}\n" + "\n".join(lines) + "\n")
    path = os.environ.get("DIFFTEST_COUNTS")
    if path:
        Path(path).write_text(json.dumps({"total": total, "counts": [[*k, n] for k, n in sorted(COUNTS.items())],
                                          "failures": FAILURES}, indent=1))


# -- the reference itself --------------------------------------------------------------------------------------------


def test_reference_knows_every_whitelisted_function() -> None:
    assert {mpref.ALIASES.get(name, name) for name in FUNCTIONS} <= mpref.KNOWN


@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.one_of(CATEGORIES["interior"], CATEGORIES["zero"]))
def test_reference_is_stable_in_precision(case: Case) -> None:
    """Evaluated at 320 and 480 bits the reference agrees far below any tolerance (it is not the error)."""
    hi = mpref.reference(case.text, case.variables, case.point, prec=480)
    for a, b, e in zip(case.ref.grad, hi.grad, hi.grad_err):
        if mpmath.isfinite(b) and mpmath.isfinite(e):
            assert abs(a - b) <= mpmath.mpf(2) ** -200 * (abs(b) + e)


@pytest.mark.parametrize("text, x, exact", [
    ("x1*x2 + x2 - log(x1)", (3.0, -4.0), ["-13/3", "4"]),
    ("4*x*(1 - x)", (0.5,), ["0"]),
    ("tanh(x)", (20.0,), ["1.6993417021166355e-17"]),
    ("sqrt(x)", (0.0,), ["inf"]),
    ("sqrt(1 - x*x)", (1.0,), ["-inf"]),
])
def test_reference_on_known_values(text: str, x: tuple, exact: list[str]) -> None:
    names = ["x1", "x2"] if len(x) == 2 else ["x"]
    ref = mpref.reference(text, names, list(x))
    for got, want in zip(ref.grad, exact):
        want = mpmath.mpf(mpmath.fraction(*map(int, want.split("/")))) if "/" in want else mpmath.mpf(want)
        assert got == want or abs(got - want) <= 1e-15 * abs(want)


@pytest.mark.parametrize("text, x", [("sin(arcsin(x))", 1.0), ("sin(arcsin(x))", -1.0), ("cos(arccos(x))", -1.0),
                                     ("sin(asin(x))*x + 1.5", 1.0), ("(tan((arccos(x))))**((1.3)**0.5)", 1.0)])
def test_reference_leaves_infinity_times_an_exact_zero_undecided(text: str, x: float) -> None:
    """0 * inf after a domain edge is nan (not decided at first order), not the sign of a residue: cos(pi/2) is
    -1e-97 at 320 bits, and the reference said -inf for sin(arcsin(x)) at 1 (its true derivative is 1); a power
    1 < p < 2 at 0 of an infinitely steep argument is 0 * inf too (tan(arccos(x))**1.14 at 1 said 0; it is -inf)."""
    ref = mpref.reference(text, ["x"], [x])
    assert mpmath.isnan(ref.grad[0]), ref.grad


def test_reference_keeps_infinities_that_are_decided() -> None:
    """A partial that is not a residue keeps the infinity and its sign; a residue value is the exact 0."""
    ref = mpref.reference("cos(arcsin(x))", ["x"], [1.0])  # sqrt(1 - x^2): -x / sqrt(1 - x^2) -> -inf
    assert ref.grad[0] == -mpmath.inf and ref.value == 0
    assert mpref.reference("arcsin(x)", ["x"], [-1.0]).grad[0] == mpmath.inf
    assert mpref.reference("sin(arcsin(x))", ["x"], [0.5]).grad[0] == 1  # inside the domain: exact


@pytest.mark.parametrize("x", [1.0, -1.0])
def test_sin_arcsin_at_the_edge_what_each_side_reports(x: float) -> None:
    """The tool's reference (sympy: sin(asin(x)) is x) gives the true one-sided derivative 1; AD gives +inf, the
    float64 chain rule: arcsin'(+-1) = inf (sqrt at 0) times cos(fl(pi/2)) = 6.1e-17 > 0 (fl(pi/2) < pi/2). Not the
    -inf the test reference gave."""
    code, out, _ = _cli("compare", "sin(arcsin(x))", "--at", f"x={x!r}", "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["reference"]["derivative"] == 1.0
    rows = {r["backend"]: r for r in doc["results"]}
    assert rows["symbolic"]["derivative"] == 1.0
    from diffcompare import ad

    f = compile_expression("sin(arcsin(x))", ["x"]).function
    with np.errstate(all="ignore"):
        assert ad.grad(f)(x) == math.inf
        assert ad.jvp(f, (x,), (1.0,))[1] == math.inf


def test_reference_tags_a_hessian_intermediate_beyond_range() -> None:
    """log(y**2.719): the Hessian's intermediate d/dy (1/u) = -u'/u^2 is -3.4e335 at 7.87e-91 and -3.4e-372 at
    1e100, beyond float64 while the Hessian (-4.39e180, -2.719e-200) is not: named, not a silent mismatch."""
    for y, exact in [(7.87e-91, -2.719 / 7.87e-91**2), (1e100, -2.719e-200)]:
        ref = mpref.reference("log(y**2.719)", ["y"], [y], hessian=True)
        assert "partial-out-of-range" in ref.tags
        assert abs(float(ref.hess[0][0]) / exact - 1) < 1e-12
    assert "partial-out-of-range" not in mpref.reference("log(y**2.719)", ["y"], [3.0], hessian=True).tags
    # log's second partial -1/u^2 = -1e-400 alone is not held (reciprocal's term is -(t ans) ans): checked, -1
    assert "partial-out-of-range" not in mpref.reference("log(y*1e200)", ["y"], [1.0], hessian=True).tags


def test_derivatives_json_reference_has_50_digits() -> None:
    """reference_digits keep the reference's 50 digits (they were str(mpf): 15), for a scalar and a Hessian."""
    code, out, _ = _cli("derivatives", "cos(x)", "--at", "x=1", "--order", "1", "--json")
    assert code == 0
    digits = json.loads(out)["orders"][0]["reference_digits"]
    assert len(digits.lstrip("-0.").replace(".", "")) >= 45, digits
    code, out, _ = _cli("derivatives", "x*sin(y)", "--at", "x=1,y=2", "--vars", "x,y", "--order", "2", "--json")
    assert code == 0
    hess = json.loads(out)["orders"][1]["reference_digits"]
    assert len(hess[0][1].lstrip("-0.").replace(".", "")) >= 45, hess  # cos(2)


# -- one targeted case per known bug: XPASS means the fix landed; then delete its KNOWN entry, and the case stays
# -- as a plain regression test (those whose name is no longer in KNOWN are fixed bugs) ----------------------------

KNOWN_CASES = [
    ("tanh-tail", "reverse", "tanh(x)", [20.0]),
    ("tanh-tail", "forward", "tanh(x)", [4.0]),
    ("tanh-tail", "symbolic", "tanh(x)", [20.0]),
    ("sigmoid-tail", "reverse", "sigmoid(x)", [40.0]),
    ("expm1-left-tail", "grad", "expm1(x)", [-40.0]),
    ("pow-partial-out-of-range", "grad", "exp(x)**-3", [200.0]),
    ("pow-partial-overflow-first", "reverse", "x**x", [5e-324]),  # fixed: ans/x overflowed before y*
    ("partial-out-of-range", "reverse", "x/x**x", [100.0]),
    ("fixed-pow-exponent-rounding", "reverse", "x**0.1", [1e-300]),
    ("pow-zero-exponent-at-zero", "reverse", "x**0", [0.0]),
    ("pow-integer-at-zero", "hessian", "x**1", [0.0]),
    ("pow-fractional-at-zero", "finite-central", "acos(x**0.5)", [0.0]),
    ("pow-fractional-at-zero", "compare", "x**1.5", [0.0]),
    ("fixed-pow-variable-base-nonpositive", "jacfwd", "(x*x)**(x*x)", [0.0]),
    ("fixed-infinite", "symbolic", "arcsin(x)", [1.0]),
    ("fixed-infinite", "compare", "sqrt(1 - x*x)", [1.0]),
    ("reference-exact-zero", "compare", "4*x*(1 - x)", [0.5]),
    ("reference-exact-zero", "compare", "exp(x**2 - 2*x)", [1.0]),
    ("reference-53-bit", "compare", "pi**x", [20.0]),
    ("reference-53-bit", "compare", "sin(exp(x + 0.5))", [10.0]),
    ("fixed-crash", "error-vs-h", "arcsin(x)", [1.0]),
    ("fixed-fd-near-singularity", "finite-richardson", "abs(x)", [1e-8]),
    ("fixed-fd-near-singularity", "finite-richardson", "x**-1", [0.001953125]),  # every step beyond the pole
    ("fixed-infinite-adjoint", "reverse", "sqrt(2*x - x*x)", [0.0]),
    ("fixed-infinite-times-zero", "reverse", "sin(arcsin(x))", [1.0]),  # the reference said -inf (AD +inf, true 1)
    ("fixed-infinite-times-zero", "compare", "sin(arcsin(x))", [-1.0]),
    ("reference-nan-for-infinite", "compare", "(atan((arcsin(x))))**4", [1.0]),
    ("fixed-reference-residue", "compare", "(x)**3 / (x)**3", [1.504]),  # mpref's 0 is 1.7e-195: within its scale
    ("fixed-reference-residue", "error-vs-h", "((x / x))**((2)**3)", [-10.0]),
    ("zero-tangent-at-singularity", "compare", "((arctan(x**2)))**0.5", [0.0]),  # |x|: the tool's nan is right
    ("partial-out-of-range", "hessian", "log(x**2.719)", [7.87e-91]),  # -inf, exact -4.39e180
    ("partial-out-of-range", "hessian", "log(x**2.719)", [1e100]),  # +4.67e-200, exact -2.719e-200
    ("symbolic-sigmoid-tail", "symbolic", "sigmoid(x)", [-400.0]),
    ("fixed-infinite", "finite-adaptive", "acos(x - 0.1 + 1)", [0.1]),
    ("crash", "derivatives", "x", [2.8816732002797674e+300]),
    ("pow-exponent-rounding", "symbolic", "((x)**(0.1))**(2)", [3.4544502254079445e-170]),
    ("value-underflow", "symbolic", "x**arctan(z)", [1.691579423298529e-290, 1.0, 2.51]),
    ("fixed-fd-estimate-floor", "finite-richardson", "(x - 1.25)**3", [1.25]),
    ("fixed-fd-estimate-floor", "finite-richardson", "x*x", [1e-300]),
    ("fixed-symbolic-expm1", "symbolic", "expm1(x)**(pi**x)", [4e-208]),  # was nan (exp(x) - 1 = 0 at 53 bits)
    ("fixed-symbolic-expm1", "symbolic", "expm1(x)**(pi**x)", [3.2e-208]),
    ("fixed-fd-estimate-floor", "finite-richardson", "cos(x)", [1e300]),  # 3.5e-299 +- 3.2e-302, exact 0.82
    ("fixed-fd-estimate-floor", "finite-richardson", "sin(10000*x)", [0.3]),  # 51.8 +- 1e-4, exact -9757
    ("fixed-fd-near-singularity", "finite-adaptive", "abs(x)", [1e-300]),  # 0.0 +- 4.4e-16, exact 1
    ("fixed-fd-flat-values", "finite-adaptive", "log((3 - x)**(x**1.3))", [6.3e-78]),  # 0.0 +- 0, exact 9.9e-24
]


@pytest.mark.parametrize("bug, target, text, point", [
    pytest.param(*c, marks=[pytest.mark.xfail(strict=False, reason=KNOWN[c[0]])] if c[0] in KNOWN else [],
                 id=f"{c[0]}-{c[1]}-{c[2]}") for c in KNOWN_CASES])
def test_known_bug(bug: str, target: str, text: str, point: list[float]) -> None:
    """The smallest case of each known bug, checked like any other (known bugs are not skipped here)."""
    case = _make_case("known", text, NAMES[:len(point)], point)
    assert case is not None, "f must be defined at the point"
    with np.errstate(all="ignore"):
        TARGETS[target](case)
