"""Every rule of the scalar fast path (diffcompare/ad/fast/scalar.py) against its table partial (rules.py).

The fast path computes local partials with float arithmetic while recording; the table's partials are
what every other path (arrays, nested traces, forward mode on arrays) uses. Both are written from the
same formulas on Python floats, so they must agree to the last digits: 1e-15 relative (~4 ulps) leaves
room only for a rule rewritten in another order, while a slip (a planted 1e-5 error in pow's d/dy
survived the rest of the suite, whose check_grads compares against central differences at 1e-5) fails.
"""

import itertools
import math

import numpy as np
import pytest

from diffcompare import ad
from diffcompare.ad import rules as P

RTOL = 1e-15

POSITIVE = [1e-300, 1e-8, 0.001, 0.1, 0.5, 0.9, 1.0, 1.5, 2.0, math.e, 3.7, 10.0, 123.4, 1e8, 1e200]
ANY = [-1e200, -1e8, -37.5, -3.0, -1.0, -0.5, -1e-8, 0.0, 1e-300, 0.3, 0.7, 1.0, 2.0, 5.5, 20.0, 1e8, 1e200]
EXPONENTS = [-3.5, -2, -1.0, -0.5, 0, 0.0, 0.3, 1, 1.0, 2, 2.0, 2.5, 3, 7.25]

BINARY = {  # operator, primitive, points (a, b)
    "add": (lambda a, b: a + b, P.add, list(itertools.product(ANY, ANY[::3]))),
    "sub": (lambda a, b: a - b, P.sub, list(itertools.product(ANY, ANY[::3]))),
    "mul": (lambda a, b: a * b, P.mul, list(itertools.product(ANY, ANY[::3]))),
    "div": (lambda a, b: a / b, P.div, list(itertools.product(ANY, ANY[::2]))),  # b = 0: the general rule's inf
    "pow": (lambda a, b: a**b, P.pow_, list(itertools.product(POSITIVE, EXPONENTS))),
}
MODERATE = ANY[2:-2]  # exp, sinh, cosh overflow beyond: the general rule's inf there
UNIT = [-0.999, -0.5, -1e-8, 0.0, 1e-300, 0.3, 0.7, 0.999]
UNARY = {  # every primitive with a scalar rule (hand-written or derived from the table), and where it runs
    "sin": (np.sin, P.sin, ANY), "cos": (np.cos, P.cos, ANY), "exp": (np.exp, P.exp, MODERATE),
    "log": (np.log, P.log, POSITIVE), "tanh": (np.tanh, P.tanh, ANY), "sqrt": (np.sqrt, P.sqrt, POSITIVE),
    "neg": (lambda a: -a, P.neg, ANY), "tan": (np.tan, P.tan, ANY), "sinh": (np.sinh, P.sinh, MODERATE),
    "cosh": (np.cosh, P.cosh, MODERATE), "log1p": (np.log1p, P.log1p, POSITIVE),
    "expm1": (np.expm1, P.expm1, MODERATE), "arcsin": (np.arcsin, P.arcsin, UNIT),
    "arccos": (np.arccos, P.arccos, UNIT), "arctan": (np.arctan, P.arctan, ANY),
    "arcsinh": (np.arcsinh, P.arcsinh, ANY), "abs": (np.abs, P.abs_, ANY), "square": (np.square, P.square, MODERATE),
}


def close(fast, table):
    """Equal to 1e-15 relative; an exact 0, inf or nan must be matched exactly."""
    if not math.isfinite(table) or table == 0.0:
        return fast == table or (math.isnan(fast) and math.isnan(table))
    return abs(fast - table) <= RTOL * abs(table)


def table_partials(prim, args):
    """The table's d(ans)/d(arg i) for plain floats, as the general rules compute them."""
    ans = prim.impl(*args)
    return [float(P.raw(p(ans, *args))) for p in prim.partials]


def in_fast_domain(name, a, b):
    """Where the fast path is meant to run (elsewhere the general rule's conventions apply)."""
    if name == "div":
        return b != 0.0
    if name == "pow":
        try:
            return a > 0.0 and (a**b, a ** (b - 1)) is not None
        except OverflowError:
            return False
    return True


def of_traced(fn, args, traced):
    """``fn`` as a function of the arguments at positions ``traced`` only (the others fixed to ``args``)."""
    return lambda *t: fn(*[t[traced.index(i)] if i in traced else a for i, a in enumerate(args)])


def fast_row(fn, args, traced):
    """The tape row the fast path records for ``fn(*args)`` with the arguments at ``traced`` traced."""
    return ad.record(of_traced(fn, args, traced), *[float(args[i]) for i in traced]).tape[-1]


@pytest.mark.filterwarnings("ignore:overflow", "ignore:divide by zero", "ignore:invalid value")  # numpy's inf, nan
@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.jit_slow(default=lambda p: p["name"] == "div")  # each point traces a program: one by default
def test_binary_fast_path_values_and_partials_equal_the_table(ad, name):
    fn, prim, points = BINARY[name]
    checked = 0
    for a, b in points:
        table = table_partials(prim, (float(a), b))  # an int b as it comes: x ** 2 is the table's own case
        for traced in ((0,), (1,), (0, 1)):
            if b.__class__ is int and 1 in traced:
                continue  # an int constant is not a traced value
            args = (float(a), b) if 1 not in traced else (float(a), float(b))
            row = fast_row(fn, args, traced)
            assert (row.local is not None) == in_fast_domain(name, *args), f"{name} at {a!r}, {b!r}: which path"
            if row.local is None:
                continue  # outside the fast path (its domain, overflow): the table's rule runs itself
            assert row.prim is prim and tuple(row.argnums) == traced
            assert close(row.value, prim.impl(*args)), f"{name} at {a!r}, {b!r}: {row.value!r}"
            for i, d in zip(row.argnums, row.local):
                assert close(d, table[i]), f"{name} d/d{'ab'[i]} at {a!r}, {b!r}: fast {d!r}, table {table[i]!r}"
                checked += 1
            if len(traced) == 2 and not all(map(math.isfinite, table)):
                continue  # forward mode would add 0 * inf from the other argument's zero tangent
            for i in traced:  # forward mode: the tangent of a unit perturbation of argument i
                primals = [args[j] for j in traced]
                tangents = [1.0 if j == i else 0.0 for j in traced]
                y, t = ad.jvp(of_traced(fn, args, traced), primals, tangents)
                assert close(y, prim.impl(*args)), f"{name} forward at {a!r}, {b!r}: {y!r}"
                assert close(float(t), table[i]), f"{name} forward d/d{'ab'[i]} at {a!r}, {b!r}: {t!r}, {table[i]!r}"
    assert checked > len(points)  # the fast path did run


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_fast_path_values_and_partials_equal_the_table(ad, name):
    fn, prim, points = UNARY[name]
    for a in points:
        row = fast_row(fn, (float(a),), (0,))
        assert row.prim is prim and row.local is not None
        (table,) = table_partials(prim, (float(a),))
        assert close(row.local[0], table), f"{name}' at {a!r}: fast {row.local[0]!r}, table {table!r}"
        assert row.value == prim.impl(float(a)), f"{name} at {a!r}: {row.value!r}"
        y, t = ad.jvp(fn, (float(a),), (1.0,))
        assert y == row.value, f"{name} forward at {a!r}: {y!r}"
        assert close(float(t), table), f"{name}' forward at {a!r}: {t!r}, table {table!r}"


OPERATORS = {
    "+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b, "/": lambda a, b: a / b,
    "**": lambda a, b: a**b,
}
OTHERS = [2, 1.5, np.float64(1.5), np.array(1.5), np.array([0.5, 2.5])]


@pytest.mark.parametrize("op", sorted(OPERATORS))
def test_a_traced_float_meets_every_kind_of_operand(ad, op):
    """The fast path's type checks hand everything that is not a plain number or a float of its own
    trace to the general rules: the derivative is the one a 0-d array (never on the fast path) gets."""
    fn = OPERATORS[op]
    for c in OTHERS:
        for f in (lambda x, c=c: np.sum(fn(x, c)), lambda x, c=c: np.sum(fn(c, x))):
            fast, general = ad.grad(f)(0.7), ad.grad(f)(np.array(0.7))
            assert fast == pytest.approx(float(general), rel=RTOL, abs=0), (op, c)
            assert ad.jvp(f, (0.7,), (1.0,))[1] == pytest.approx(float(general), rel=RTOL, abs=0), (op, c)
    # a float of another (outer) trace: a constant to the inner one; d2/dx dy of x op y and y op x
    for f in (lambda x, y: fn(x, y), lambda x, y: fn(y, x)):
        results = []
        for x, y in ((1.3, 0.7), (np.array(1.3), np.array(0.7))):  # floats, then 0-d arrays
            inner = lambda y, f=f, x=x: ad.grad(f, 0)(x, y)
            results.append((float(ad.grad(inner)(y)), float(ad.jvp(inner, (y,), (1.0,))[1])))
        assert results[0] == pytest.approx(results[1], rel=RTOL, abs=0), op


def test_floats_stay_on_the_fast_path_in_both_modes(ad, monkeypatch):
    """The fast path is there for speed (scalar code was several times slower without it): a float
    program inside the fast path's domain never reaches the general rules, forward or reverse."""
    from diffcompare.ad.fast.scalar import FastFNode, FastRNode

    general = []
    for cls in (FastFNode, FastRNode):
        monkeypatch.setattr(cls, "process", lambda self, prim, *rest: general.append(prim.name))

    def f(x):
        y = -(x + 1.0) - (2 - x) + (x - 3) - (1.5 * x) * (x * 2) * (x * x)
        y = y + x / 2.0 + 3.0 / x + x / (x + 1.0) + x**2.5 + 2.0**x + x ** (x + 1.0) + (1 + x) + (x + x)
        return y + np.sin(x) + np.cos(x) + np.exp(x) + np.log(x) + np.tanh(x) + np.sqrt(x)

    ad.jvp(f, (0.7,), (1.0,))
    ad.grad(f)(0.7)
    assert general == []


def test_every_scalar_rule_of_the_table_is_checked_here():
    """A primitive given a hand-written fast rule (``fast=``) or a derived one (``math=`` with a partial) in
    diffcompare/ad/rules.py runs on the fast path: it must be among the rules checked above."""
    from diffcompare.ad.fast.scalar import UNARY_RULES

    hand_written = {r.prim.name for r in P.RULES.values() if r.prim.fast is not None}
    on_the_fast_path = {prim.name for prim, _ in UNARY_RULES.values()}
    missing = (hand_written | on_the_fast_path) - set(UNARY) - set(BINARY)
    assert not missing, f"scalar fast rules not checked against their partials here: {sorted(missing)}"
