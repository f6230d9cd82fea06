"""The safe expression parser: accepted language, evaluation semantics, limits and error messages."""

from __future__ import annotations

import inspect
import math
import re
import time
from typing import ClassVar

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from diffcompare.errors import DiffcompareError, ParseError
from diffcompare.parse import (
    FUNCTIONS,
    MAX_DEPTH,
    Expression,
    compile_expression,
    parse_constant,
    parse_point,
)

# --------------------------------------------------------------------------------------------------------
# Basic behaviour


def test_table1_function_evaluates_to_seed_value():
    e = compile_expression("x1*x2 + x2 - log(x1)")
    assert isinstance(e, Expression)
    assert e.variables == ("x1", "x2")
    assert e(2.0, 4.0) == pytest.approx(11.307, abs=5e-4)
    assert e(3.0, -4.0) == pytest.approx(-17.10, abs=5e-3)


def test_variables_are_ordered_by_first_appearance_in_text():
    assert compile_expression("y + x*y + sin(z) + x").variables == ("y", "x", "z")


def test_explicit_variables_fix_order_and_allow_unused_names():
    e = compile_expression("y - x", variables=["x", "y", "unused"])
    assert e.variables == ("x", "y", "unused")
    assert e(1.0, 5.0, 100.0) == 4.0


def test_variable_missing_from_explicit_list_is_refused_with_its_name():
    with pytest.raises(ParseError, match=r"variable 'y' is not in --vars"):
        compile_expression("x + y", variables=["x"])


@pytest.mark.parametrize("bad", ["sin", "pi", "e", "_x", "2x"])
def test_explicit_variable_list_rejects_reserved_or_invalid_names(bad):
    with pytest.raises(ParseError):
        compile_expression("x", variables=["x", bad])


def test_precedence_and_associativity_follow_python():
    assert parse_constant("2+3*4") == 14.0
    assert parse_constant("-2**2") == -4.0
    assert parse_constant("2**-1") == 0.5
    assert parse_constant("2**3**2") == 512.0
    assert parse_constant("10-4-3") == 3.0
    assert parse_constant("16/4/2") == 2.0
    assert parse_constant("+3") == 3.0


def test_constants_pi_and_e():
    assert parse_constant("pi/3") == math.pi / 3
    assert parse_constant("2*pi") == 2 * math.pi
    assert parse_constant("e") == math.e
    assert parse_constant("1e-3") == 1e-3
    assert parse_constant("-4") == -4.0


def test_integer_literals_become_floats():
    e = compile_expression("x*2")
    result = e(3)
    assert type(result) is float and result == 6.0
    assert type(parse_constant("7")) is float


@pytest.mark.parametrize(
    "text, x, expected",
    [
        ("sin(x)", 0.5, math.sin(0.5)),
        ("cos(x)", 0.5, math.cos(0.5)),
        ("tan(x)", 0.5, math.tan(0.5)),
        ("exp(x)", 0.5, math.exp(0.5)),
        ("log(x)", 0.5, math.log(0.5)),
        ("sqrt(x)", 0.5, math.sqrt(0.5)),
        ("tanh(x)", 0.5, math.tanh(0.5)),
        ("sigmoid(x)", 0.5, 1 / (1 + math.exp(-0.5))),
        ("abs(x)", -0.5, 0.5),
        ("log1p(x)", 0.5, math.log1p(0.5)),
        ("expm1(x)", 0.5, math.expm1(0.5)),
        ("sinh(x)", 0.5, math.sinh(0.5)),
        ("cosh(x)", 0.5, math.cosh(0.5)),
        ("arcsin(x)", 0.5, math.asin(0.5)),
        ("arccos(x)", 0.5, math.acos(0.5)),
        ("arctan(x)", 0.5, math.atan(0.5)),
        ("asin(x)", 0.5, math.asin(0.5)),
        ("acos(x)", 0.5, math.acos(0.5)),
        ("atan(x)", 0.5, math.atan(0.5)),
    ],
)
def test_every_whitelisted_function_matches_math(text, x, expected):
    assert compile_expression(text)(x) == pytest.approx(expected, rel=1e-15)


def test_compiled_function_works_on_numpy_arrays():
    e = compile_expression("x1**2*x2 + sin(x1) + abs(x2) + sigmoid(x1)")
    x1 = np.linspace(-2, 2, 7)
    x2 = np.linspace(3, -3, 7)
    out = e(x1, x2)
    assert isinstance(out, np.ndarray) and out.shape == (7,)
    expected = [e(float(a), float(b)) for a, b in zip(x1, x2)]
    np.testing.assert_allclose(out, expected, rtol=1e-15)


def test_function_has_name_and_signature_of_its_variables():
    e = compile_expression("x1*x2 + x2 - log(x1)")
    assert e.function.__name__ == "x1*x2 + x2 - log(x1)"
    assert e.function.__qualname__ == "x1*x2 + x2 - log(x1)"
    assert list(inspect.signature(e.function).parameters) == ["x1", "x2"]
    assert e.function(x2=4.0, x1=2.0) == e(2.0, 4.0)


def test_wrong_number_of_arguments_is_a_type_error():
    with pytest.raises(TypeError):
        compile_expression("x + y")(1.0)


def test_expression_without_variables_is_a_zero_argument_function():
    e = compile_expression("2*pi")
    assert e.variables == ()
    assert e() == 2 * math.pi


def test_long_flat_sum_is_not_limited_by_nesting_depth():
    e = compile_expression("+".join(["x"] * 900))
    assert e(1.0) == 900.0


def test_abs_is_complex_step_friendly():
    # complex-step derivative of abs(x)**2 + sin(x): 2x + cos(x)
    e = compile_expression("abs(x)**2 + sin(x)")
    h = 1e-30
    for x in (-1.5, 0.7):
        assert e(complex(x, h)).imag / h == pytest.approx(2 * x + math.cos(x), rel=1e-14)
    z = np.array([-1.5 + 1e-30j, 0.7 + 1e-30j])
    np.testing.assert_allclose(compile_expression("abs(x)")(z).imag, [-1e-30, 1e-30])


class Recorder:
    """A foreign value implementing __array_ufunc__ and operators, like the AD and symbolic backends."""

    calls: ClassVar[list[str]] = []

    def __init__(self, v):
        self.v = v

    @staticmethod
    def _u(o):
        return o.v if isinstance(o, Recorder) else o

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        Recorder.calls.append(ufunc.__name__)
        return Recorder(getattr(ufunc, method)(*(self._u(i) for i in inputs), **kwargs))

    def __add__(self, o):
        return Recorder(self.v + self._u(o))

    def __radd__(self, o):
        return Recorder(self._u(o) + self.v)

    def __sub__(self, o):
        return Recorder(self.v - self._u(o))

    def __rsub__(self, o):
        return Recorder(self._u(o) - self.v)

    def __mul__(self, o):
        return Recorder(self.v * self._u(o))

    def __rmul__(self, o):
        return Recorder(self._u(o) * self.v)

    def __truediv__(self, o):
        return Recorder(self.v / self._u(o))

    def __rtruediv__(self, o):
        return Recorder(self._u(o) / self.v)

    def __pow__(self, o):
        return Recorder(self.v ** self._u(o))

    def __rpow__(self, o):
        return Recorder(self._u(o) ** self.v)

    def __neg__(self):
        return Recorder(-self.v)


def test_foreign_array_ufunc_objects_flow_through_numpy_calls():
    Recorder.calls = []
    e = compile_expression("sin(x)*exp(y) + sigmoid(x) - abs(y)**2 + 2**x")
    out = e(Recorder(0.5), Recorder(-1.0))
    assert isinstance(out, Recorder)
    expected = math.sin(0.5) * math.exp(-1) + 1 / (1 + math.exp(-0.5)) - 1.0 + 2**0.5
    assert out.v == pytest.approx(expected, rel=1e-15)
    assert {"sin", "exp", "absolute"} <= set(Recorder.calls)


# --------------------------------------------------------------------------------------------------------
# Refusals: one-line ParseError, quickly

HOSTILE = [
    "9**9**9**9",
    "(" * 10000 + "x" + ")" * 10000,
    "__import__('os')",
    "x.real",
    "x[0]",
    "lambda: 1",
    "'a'",
    "x if x else 1",
    "foo(x)",
    "sin(x, y)",
    "sin(x=1)",
    "x**1e6",
    "x**-1001",
    "x**(10**400)",
    "(2**1000)**2 * x",
    "1/0",
    "exp(1000) * x",
    "sqrt(-1)",
    "1e400",
    "x < 1",
    "x and y",
    "not x",
    "x // 2",
    "x % 2",
    "x @ y",
    "x ^ y",
    "~x",
    "sin",
    "pi(2)",
    "(x+1)(2)",
    "sin(*x)",
    "_x",
    "__class__",
    "True",
    "None",
    "1j",
    "b'x'",
    "f'{x}'",
    "[x]",
    "(x, y)",
    "{x}",
    "{x: 1}",
    "[i for i in x]",
    "(y := 1)",
    "x\n+y",
    "x y",
    "",
    "   ",
    "x\x00",
    "-" * 1999 + "x",
    "sin(" * (MAX_DEPTH + 1) + "x" + ")" * (MAX_DEPTH + 1),
    "x" * 2001,
    "(" * 199 + "x" + ")" * 199 + "+" + "(" * 300 + "x" + ")" * 300,
    "sin(" * 300 + "x" + ")" * 300,
]


@pytest.mark.parametrize("text", HOSTILE, ids=lambda t: repr(t[:30]))
def test_hostile_or_invalid_input_is_refused_with_one_line_parse_error(text):
    with pytest.raises(ParseError) as info:
        compile_expression(text)
    message = str(info.value)
    assert message and "\n" not in message and len(message) < 300
    assert isinstance(info.value, (DiffcompareError, ValueError))


def test_all_hostile_inputs_are_refused_quickly():
    start = time.perf_counter()
    for text in HOSTILE:
        with pytest.raises(ParseError):
            compile_expression(text)
    assert time.perf_counter() - start < 1.0


def test_unknown_function_message_lists_allowed_functions():
    with pytest.raises(ParseError, match=r"unknown function 'foo'; allowed: sin, cos") as info:
        compile_expression("foo(x)")
    for name in FUNCTIONS:
        assert name in str(info.value)


def test_exponent_limit_names_the_problem():
    with pytest.raises(ParseError, match="exponent"):
        compile_expression("9**9**9**9")
    with pytest.raises(ParseError, match="exponent"):
        compile_expression("x**1e6")
    assert compile_expression("x**1000")(1.0) == 1.0
    assert compile_expression("x**-1000")(1.0) == 1.0
    assert compile_expression("x**y")(2.0, 10.0) == 1024.0  # exponent with variables is not limited


def test_nesting_depth_limit_and_length_limit_are_named():
    ok = "sin(" * (MAX_DEPTH - 1) + "x" + ")" * (MAX_DEPTH - 1)
    compile_expression(ok)
    with pytest.raises(ParseError, match="nested too deeply"):
        compile_expression("sin(" * (MAX_DEPTH + 1) + "x" + ")" * (MAX_DEPTH + 1))
    with pytest.raises(ParseError, match="too long"):
        compile_expression("x+" * 1000 + "x")


def test_attribute_subscript_and_non_function_call_are_named():
    with pytest.raises(ParseError, match="attribute"):
        compile_expression("x.real")
    with pytest.raises(ParseError, match="subscript"):
        compile_expression("x[0]")
    with pytest.raises(ParseError, match="only named functions"):
        compile_expression("(x+1)(2)")
    with pytest.raises(ParseError, match="'pi' is a constant"):
        compile_expression("pi(2)")
    with pytest.raises(ParseError, match="positional"):
        compile_expression("sin(x=1)")
    with pytest.raises(ParseError, match="exactly 1 argument"):
        compile_expression("sin(x, y)")


def test_parse_constant_refuses_variables():
    with pytest.raises(ParseError, match="constant"):
        parse_constant("x + 1")


# --------------------------------------------------------------------------------------------------------
# parse_point


def test_parse_point_orders_values_by_variables():
    assert parse_point("x2=-4, x1=3", ["x1", "x2"]) == (3.0, -4.0)
    assert parse_point(" x1 = pi/3 ,x2=1e-3", ("x1", "x2")) == (math.pi / 3, 1e-3)


def test_parse_point_accepts_bare_value_for_a_single_variable():
    assert parse_point("2", ["x"]) == (2.0,)
    assert parse_point("pi/3", ["x"]) == (math.pi / 3,)
    assert parse_point("x=2", ["x"]) == (2.0,)


@pytest.mark.parametrize(
    "text, match",
    [
        ("x1=3", "missing value for x2 in --at"),
        ("x1=3,x2=4,x3=1", "x3 is not a variable of the expression; variables: x1, x2"),
        ("x1=3,x1=4,x2=1", "x1 is given twice"),
        ("x1=abc,x2=1", "malformed number 'abc' for x1"),
        ("x1=3 4,x2=1", "malformed number"),
        ("x1==3,x2=1", "malformed item"),
        ("=3,x2=1", "malformed item"),
        ("x1,x2=1", "malformed item"),
        ("x1=3,", "empty item"),
        ("x1=,x2=1", "missing number"),
        ("x1=1e400,x2=1", "not finite"),
        ("x1=1/0,x2=1", "not finite"),
        ("3,4", "name=value"),
        ("", "empty"),
    ],
)
def test_parse_point_errors_are_one_line_and_named(text, match):
    with pytest.raises(ParseError, match=match) as info:
        parse_point(text, ["x1", "x2"])
    assert "\n" not in str(info.value)


@given(st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=1, max_size=4))
def test_parse_point_round_trips_finite_floats_exactly(values):
    names = [f"x{i + 1}" for i in range(len(values))]
    text = ",".join(f"{n}={v!r}" for n, v in reversed(list(zip(names, values))))
    assert parse_point(text, names) == tuple(values)


# --------------------------------------------------------------------------------------------------------
# Property: compiled text == direct numpy evaluation of the same random tree

VARS = ("x", "y", "z")
UNARY = sorted(FUNCTIONS)
BINOPS = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
    "**": lambda a, b: a**b,
}
NP_FUNCS = {name: FUNCTIONS[name] for name in FUNCTIONS}
NP_FUNCS.update({"sigmoid": lambda v: 1.0 / (1.0 + np.exp(-v)), "abs": np.abs})

leaves = st.one_of(
    st.tuples(st.just("num"), st.integers(0, 20).map(float) | st.floats(0, 10, allow_nan=False)),
    st.tuples(st.just("var"), st.sampled_from(VARS)),
    st.tuples(st.just("const"), st.sampled_from(["pi", "e"])),
)


def _extend(children):
    return st.one_of(
        st.tuples(st.just("neg"), children),
        st.tuples(st.just("call"), st.sampled_from(UNARY), children),
        st.tuples(st.just("bin"), st.sampled_from(sorted(BINOPS)), children, children),
    )


trees = st.recursive(leaves, _extend, max_leaves=12)


def render(t) -> str:
    kind = t[0]
    if kind == "num":
        return str(int(t[1])) if t[1].is_integer() and t[1] < 100 else repr(t[1])
    if kind in ("var", "const"):
        return t[1]
    if kind == "neg":
        return f"(-{render(t[1])})"
    if kind == "call":
        return f"{t[1]}({render(t[2])})"
    return f"({render(t[2])} {t[1]} {render(t[3])})"


def direct(t, env):
    """Evaluate the tree with numpy float64 semantics; return (value, is_constant)."""
    kind = t[0]
    if kind == "num":
        return np.float64(t[1]), True
    if kind == "const":
        return np.float64(math.pi if t[1] == "pi" else math.e), True
    if kind == "var":
        return env[t[1]], False
    if kind == "neg":
        v, c = direct(t[1], env)
        return -v, c
    if kind == "call":
        v, c = direct(t[2], env)
        return NP_FUNCS[t[1]](v), c
    (a, ca), (b, cb) = direct(t[2], env), direct(t[3], env)
    return BINOPS[t[1]](a, b), ca and cb


def constant_problem(t) -> bool:
    """True if some variable-free sub-tree is non-finite, or a constant exponent exceeds the limit."""
    kind = t[0]
    children = {"neg": [t[1:2]], "call": [t[2:3]], "bin": [t[2:3], t[3:4]]}.get(kind, [])
    if any(constant_problem(c[0]) for c in children):
        return True
    with np.errstate(all="ignore"):
        if not _has_var(t) and not np.isfinite(direct(t, {})[0]):
            return True
        if kind == "bin" and t[1] == "**" and not _has_var(t[3]):
            e, _ = direct(t[3], {})
            if abs(e) > 1000:
                return True
    return False


def _has_var(t) -> bool:
    if t[0] == "var":
        return True
    return any(isinstance(c, tuple) and _has_var(c) for c in t[1:])


def same(a, b) -> bool:
    if np.isnan(a) and np.isnan(b):
        return True
    return a == b or math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-300)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trees, st.tuples(*[st.floats(-3, 3, allow_nan=False) for _ in VARS]))
def test_compiled_random_expression_equals_direct_numpy_evaluation(tree, point):
    text = render(tree)
    env = {name: np.float64(v) for name, v in zip(VARS, point)}
    if constant_problem(tree):
        with pytest.raises(ParseError):
            compile_expression(text, variables=VARS)
        return
    e = compile_expression(text, variables=VARS)
    with np.errstate(all="ignore"):
        expected, _ = direct(tree, env)
        got = e(*(env[name] for name in VARS))
        assert same(float(got), float(expected)), (text, got, expected)
        # the same callable on arrays agrees with the direct evaluation on the same arrays
        arrays = {name: np.array([env[name], env[name] / 2, -env[name]]) for name in VARS}
        vec = np.broadcast_to(e(*(arrays[name] for name in VARS)), (3,))
        ref = np.broadcast_to(direct(tree, arrays)[0], (3,))
        assert all(same(float(v), float(r)) for v, r in zip(vec, ref)), text


@given(trees)
def test_variables_reported_in_order_of_first_appearance(tree):
    text = render(tree)
    try:
        e = compile_expression(text)
    except ParseError:
        return
    found = [m.group() for m in re.finditer(r"\b[xyz]\b", text)]
    assert e.variables == tuple(dict.fromkeys(found))


# -- one table of functions: the engine's rules name what the parser accepts, suggests and the README lists ----------

def _rules_with_names():
    from diffcompare.ad.rules import RULES

    return {name: rule for name, rule in RULES.items() if rule.parse}


def test_every_function_of_the_rules_table_is_accepted_and_computes_its_rule():
    from diffcompare.ad.rules import parser_names
    from diffcompare.parse import ALIASES, FUNCTIONS

    assert set(FUNCTIONS) == set(parser_names())
    for rule in _rules_with_names().values():
        for spelling in rule.parse:
            f = compile_expression(f"{spelling}(x)").function
            assert f(0.5) == pytest.approx(float(rule.prim(0.5)), rel=1e-15), spelling
    for alias, name in ALIASES.items():
        assert name in FUNCTIONS and compile_expression(f"{alias}(x)").function(0.5) == FUNCTIONS[name](0.5)


@pytest.mark.parametrize("typo, meant", [("arcsinhh", "arcsinh"), ("asinh2", "asinh"), ("Arcsinh", "arcsinh"),
                                         ("sigmod", "sigmoid")])
def test_the_did_you_mean_hint_comes_from_the_same_table(typo, meant):
    with pytest.raises(ParseError, match=f"did you mean '{meant}'"):
        compile_expression(f"{typo}(x)")


def test_the_list_of_allowed_functions_is_the_table():
    from diffcompare.parse import FUNCTIONS

    with pytest.raises(ParseError) as info:
        compile_expression("qqq(x)")
    allowed = str(info.value).split("allowed: ")[1]
    assert allowed == f"{', '.join(FUNCTIONS)} (and ln for log)"


def test_arcsinh_and_asinh_are_functions_not_a_hint_towards_arcsin():
    for text in ("arcsinh(x)", "asinh(x)"):
        assert compile_expression(text).function(1.0) == pytest.approx(math.asinh(1.0), rel=1e-15)


def test_the_readme_names_every_function_the_parser_accepts():
    from pathlib import Path

    from diffcompare.parse import ALIASES, FUNCTIONS

    readme = " ".join((Path(__file__).parents[1] / "README.md").read_text().split())
    start = readme.index("An expression is Python syntax over the variables")
    paragraph = readme[start:readme.index("parsed by a whitelist", start)]
    listed = set(re.findall(r"[a-z][a-z0-9]*", " ".join(re.findall(r"`([^`]*)`", paragraph))))
    assert set(FUNCTIONS) | set(ALIASES) <= listed, sorted(set(FUNCTIONS) | set(ALIASES) - listed)
