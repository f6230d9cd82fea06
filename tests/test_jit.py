"""diffcompare.jit: the staged, generated program gives the eager engine's numbers, one trace per signature.

The eager oracle is the reference policy (the textbook engine), which the staging trace records: the generated
code calls the same numpy and math functions in the same order, so values and derivatives agree to 1e-15 of
their size (in practice bit for bit; 1e-15 leaves room for a libm that rounds a fused operation differently).
"""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import diffcompare as dc
from diffcompare import ad
from diffcompare.ad import policy
from diffcompare.ad.jitting import JitWarning
from diffcompare.errors import TracingError
from tests.test_reverse_pass import N, program, step

RTOL = 1e-15


def under_reference(fn, *args):
    saved = policy.DEFAULT
    policy.DEFAULT = policy.REFERENCE
    try:
        return fn(*args)
    finally:
        policy.DEFAULT = saved


def same(a, b):
    a, b = np.asarray(a), np.asarray(b)
    scale = max(float(np.max(np.abs(b), initial=0.0)), 1e-300)
    return a.shape == b.shape and np.allclose(a, b, rtol=0, atol=RTOL * scale, equal_nan=True)


def logistic(x):
    for _ in range(20):
        x = 4.0 * x * (1.0 - x)
    return x


def rosen(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def test_jit_is_exported_from_the_package_and_the_engine():
    assert dc.jit is ad.jit


@pytest.mark.parametrize("x", [0.3, 0.71])
def test_jit_grad_of_the_logistic_map_is_the_eager_derivative(x):
    j = dc.jit(dc.grad(logistic))
    j(0.2)  # traced at another point: the program is not specialised to it
    assert j(x) == under_reference(dc.grad(logistic), x)
    assert j.traces == 1


def test_jit_grad_of_rosenbrock_is_the_eager_gradient_and_reads_like_a_trace():
    x = np.linspace(-1.2, 1.3, 7)
    j = dc.jit(dc.grad(rosen))
    assert same(j(x), under_reference(dc.grad(rosen), x))
    assert same(j(x + 0.5), under_reference(dc.grad(rosen), x + 0.5)) and j.traces == 1
    src = j.source
    assert src.startswith("def staged(v_0):") and "v_1 = v_0[1:]" in src
    assert all(len(line) <= 80 for line in src.splitlines())


def test_jit_of_f_value_and_grad_hessian_and_grad_of_jit_compose():
    x = np.array([0.5, -1.0, 2.0, 0.25])
    assert same(dc.jit(rosen)(x), rosen(x))
    v, g = dc.jit(dc.value_and_grad(rosen))(x)
    assert same(v, rosen(x)) and same(g, under_reference(dc.grad(rosen), x))
    h = dc.jit(dc.hessian(rosen))
    assert same(h(x), under_reference(dc.hessian(rosen), x)) and same(h(2 * x), dc.hessian(rosen)(2 * x))
    assert same(dc.grad(dc.jit(rosen))(x), under_reference(dc.grad(rosen), x))
    assert same(dc.jit(dc.grad(dc.jit(rosen)))(x), under_reference(dc.grad(rosen), x))


def test_a_cache_entry_never_serves_another_shape_dtype_kind_or_static_argument():
    calls = []

    def f(x, k):
        calls.append(1)
        return np.sum(x * k) if isinstance(x, np.ndarray) or hasattr(x, "shape") else x * k

    j = dc.jit(f, static_argnums=1)
    x3 = np.arange(3.0)
    assert j(x3, 2) == 6.0 and j(x3, 2) == 6.0 and j.traces == 1
    assert j(x3, 3) == 9.0 and j.traces == 2  # another static value
    assert j(np.arange(4.0), 3) == 18.0 and j.traces == 3  # another shape
    assert j(np.arange(4.0).reshape(2, 2), 3) == 18.0 and j.traces == 4  # same size, another shape
    assert j(np.arange(3, dtype=np.float32), 3) == 9.0 and j.traces == 5  # another dtype
    assert j(np.arange(3.0), 3) == 9.0 and j.traces == 5  # hit


def test_static_arguments_must_be_hashable_and_other_objects_are_refused():
    j = dc.jit(lambda x, k: x * len(k), static_argnums=1)
    with pytest.raises(TracingError, match="hashable"):
        j(1.0, [1, 2])
    assert j(2.0, (1, 2)) == 4.0
    with pytest.raises(TracingError, match="static_argnums"):
        dc.jit(lambda x, s: x)(1.0, "text")


def test_control_flow_on_a_traced_value_is_refused_naming_the_line():
    def f(x):
        if x > 0:  # the refused line
            return x
        return -x

    with pytest.raises(TracingError, match=r"test_jit\.py:\d+: if x > 0:.*np\.where"):
        dc.jit(f)(1.0)
    with pytest.raises(TracingError, match="control flow"):
        dc.jit(dc.grad(f))(1.0)


def test_float_of_a_traced_value_is_refused_under_jit():
    import math

    with pytest.raises(TracingError, match="math.sin"):
        dc.jit(lambda x: math.sin(x))(1.0)


def test_a_rule_that_reads_values_runs_eagerly_with_a_warning_never_frozen():
    f = lambda x: np.sum(np.abs(x) ** 3.0)  # noqa: E731  (x^3's rule looks for zeros in x)
    j = dc.jit(dc.grad(f))
    x = np.array([1.0, -2.0])
    with pytest.warns(JitWarning, match="eagerly"):
        g = j(x)
    assert same(g, dc.grad(f)(x))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # said once, at the trace
        assert same(j(-x), dc.grad(f)(-x)) and same(j(x + 1), dc.grad(f)(x + 1))
    assert j.traces == 1 and all(fn is None for fn, _ in j.cache.values())  # no program of these values is run


def test_a_domain_error_of_math_gives_numpys_answer_as_eagerly():
    j = dc.jit(lambda x: np.log(x))
    assert j(2.0) == np.log(2.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert np.isnan(j(-1.0)) and np.isnan(dc.grad(lambda x: np.log(x))(-1.0)) is not None


def test_closed_over_arrays_are_constants_of_the_program():
    w = np.array([1.0, 2.0])
    j = dc.jit(lambda x: np.sum(w * x))
    assert j(np.ones(2)) == 3.0
    w[:] = 10.0  # as in JAX: the program holds the values of its first call
    assert j(np.ones(2)) == 3.0


def test_source_before_any_call_says_to_call_first():
    with pytest.raises(TracingError, match="call the jitted function once"):
        _ = dc.jit(rosen).source


@settings(max_examples=40, deadline=None)
@given(st.lists(step, min_size=1, max_size=8),
       st.lists(st.tuples(st.integers(0, 99), st.sampled_from([1.0, -2.0, 0.5, 3.0])), min_size=1, max_size=3),
       st.lists(st.floats(-1.5, 1.5), min_size=N, max_size=N))
def test_random_programs_give_the_eager_values_and_gradients_under_jit(steps, outputs, xs):
    f = program(steps, outputs)
    x = np.array(xs)
    j = dc.jit(dc.value_and_grad(f))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", JitWarning)  # x**3.0 reads x (its rule at 0): those run eagerly
        j(x[::-1].copy())  # traced elsewhere
        value, g = j(x)
    ref_value, ref_grad = under_reference(dc.value_and_grad(f), x)
    assert same(value, ref_value) and same(g, ref_grad)
    if not any(s[0] == "cube" for s in steps):
        assert all(fn is not None for fn, _ in j.cache.values()), "without value-dependent rules: compiled"


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(["add", "sub", "mul", "div", "sin", "exp", "tanh", "neg", "sq"]),
                min_size=1, max_size=12),
       st.floats(0.1, 2.0))
def test_random_scalar_programs_give_the_eager_derivatives_under_jit(ops, x0):
    def f(x):
        v = x
        for op in ops:
            v = {"add": lambda v: v + x, "sub": lambda v: 2.0 - v, "mul": lambda v: v * x, "div": lambda v: v / (1 + x),
                 "sq": lambda v: v**2, "sin": np.sin, "exp": lambda v: np.exp(v / 10),
                 "tanh": np.tanh, "neg": lambda v: -v}[op](v)
        return v

    j = dc.jit(dc.grad(f))
    j(0.5)
    assert same(j(x0), under_reference(dc.grad(f), x0)) and j.traces == 1
    # the engine's value, not plain f's: on a float the engine calls math.tanh, plain f numpy's tanh (an ulp apart)
    assert same(dc.jit(f)(x0), under_reference(dc.value_and_grad(f), x0)[0])


def test_np_where_on_a_traced_condition_is_staged_not_decided():
    f = lambda x: np.sum(np.where(x > 0, x, -3.0 * x) ** 2)  # noqa: E731
    j = dc.jit(dc.grad(f))
    x = np.array([1.0, -2.0, 0.5])
    assert same(j(x), dc.grad(f)(x))
    assert same(j(-x), dc.grad(f)(-x)) and j.traces == 1  # the other branch at every element: not frozen
    assert "np.greater(v_0, 0)" in j.source or "v_0 > 0" in j.source


def test_buffers_are_reused_only_when_dead_never_an_input_a_view_or_a_later_operand():
    def f(x):
        a = x * 2.0
        view = a[1:]  # a view of a: a may not be overwritten while it is read
        b = a + 1.0  # a is read again below: not overwritten here
        c = np.sin(b)  # b is dead after this: overwritten (out=)
        return np.sum(view * b[1:]) + np.sum(a * c)

    x = np.array([0.5, -1.0, 2.0, 3.0])
    keep = x.copy()
    j = dc.jit(dc.value_and_grad(f))
    for point in (x, 2 * x):
        v, g = j(point)
        rv, rg = under_reference(dc.value_and_grad(f), point)
        assert same(v, rv) and same(g, rg)
    assert np.array_equal(x, keep)  # the caller's array is never a buffer
    rosen_grad = dc.jit(dc.grad(rosen))
    y = np.linspace(-1.0, 1.0, 9)
    keep = y.copy()
    rosen_grad(y), rosen_grad(y)
    assert np.array_equal(y, keep) and "out=" in rosen_grad.source and "] += " in rosen_grad.source


def test_logsumexp_under_jit_computes_its_shift_at_every_call():
    f = lambda z: np.sum(dc.logsumexp(z, axis=1))  # noqa: E731  (its rule shifts by max z before exp)
    j = dc.jit(dc.grad(f))
    z = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 2.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error", JitWarning)  # staged, not run eagerly
        assert same(j(z), under_reference(dc.grad(f), z))
        far = z + 800.0  # exp(800) overflows: a shift frozen at the first call's values would give nan here
        assert same(j(far), under_reference(dc.grad(f), far)) and j.traces == 1


def test_zero_times_inf_is_zero_in_the_program_as_in_the_eager_engine():
    f = lambda x: np.sqrt(2 * x - x**2)  # noqa: E731  (d/dx at 0: 1 * inf, where a plain product chain gives nan)
    g = lambda x: np.sum(np.sqrt(x) * np.array([0.0, 1.0]))  # noqa: E731  (0 * inf at x[0] = 0: contributes 0)
    x = np.array([0.0, 4.0])
    with np.errstate(divide="ignore", invalid="ignore"):
        jf, jg = dc.jit(dc.grad(f)), dc.jit(dc.grad(g))
        for _ in range(2):  # the tracing call and the compiled one
            assert jf(0.0) == dc.grad(f)(0.0) == np.inf
            assert np.array_equal(jg(x), dc.grad(g)(x)) and jg(x)[0] == 0.0
        assert same(jf(0.5), dc.grad(f)(0.5))


def test_a_jitted_function_inside_another_transform_may_close_over_its_traced_values():
    """jit inside a transform is f itself, traced by it, also when its arguments are constants and it closes
    over the outer transform's value (as JAX's jit does): the closure was refused as 'not received'."""

    def outer(x):
        return x * dc.jit(dc.grad(lambda y: x * y + y))(1.0)  # d/dy = x + 1, so outer = x**2 + x

    assert dc.grad(outer)(3.0) == 7.0
    assert dc.jit(dc.grad(outer))(3.0) == 7.0
    assert dc.jit(dc.grad(dc.jit(outer)))(3.0) == 7.0


def compiled_program(j, *args):
    """The generated function jit cached for these arguments (called directly: no eager fallback hides a fault)."""
    j(*args)
    fn, _ = j.cache[j._key(args, {})]
    assert fn is not None, "this signature runs eagerly"
    return fn


@pytest.mark.parametrize("f", [lambda x: np.sum(np.sum(x, axis=0) ** 2),
                               lambda x: np.sum(np.mean(x, axis=0, keepdims=True) ** 2)], ids=["sum", "mean"])
def test_a_reduction_along_axis_0_keeps_its_axis_in_the_program(f):
    """axis=0 was dropped from the generated np.sum (0 == False, the default left out): a total instead of
    column sums, which failed on the reshape after it and ran eagerly, or gave wrong numbers."""
    x = np.arange(6.0).reshape(2, 3)
    for transform in (dc.grad, lambda f: f):
        j = dc.jit(transform(f))
        assert same(compiled_program(j, x)(x), under_reference(transform(f), x))
        assert "axis=0" in j.source


def test_the_program_returns_new_arrays_never_an_input_a_view_of_one_or_its_own_constant():
    """As eagerly (and as JAX's jit): the program returned its constant (a caller's write changed the next call's
    gradient), its input (a pullback returned the cotangent itself) or a view of it."""
    w, x = np.array([1.0, 2.0, 3.0]), np.ones(3)
    g = dc.jit(dc.grad(lambda x: np.sum(x * w)))  # the gradient is the constant w
    program = compiled_program(g, x)
    program(x)[:] = 0.0
    assert program(x).tolist() == [1.0, 2.0, 3.0]
    pull = compiled_program(dc.jit(lambda z, ct: dc.vjp(lambda z: z + 1.0, z)[1](ct)), x, w)
    assert pull(x, w)[0] is not w
    reshaped = compiled_program(dc.jit(lambda z: z.reshape(3, 1)), x)
    assert not np.shares_memory(reshaped(x), x)
    square = dc.jit(dc.grad(lambda x: np.sum(x * x)))
    square(x)
    assert "copy" not in square.source  # an array the program made is not copied again


def test_none_arguments_are_static_as_in_jax():
    """None is a pytree without leaves in JAX: a jitted function takes it (an optional weight, a pullback's
    missing cotangent) and a None call never shares a program with an array call; it was refused as 'a NoneType'."""
    f = dc.jit(lambda x, w: np.sum(x if w is None else x * w))
    x = np.array([1.0, 2.0])
    assert f(x, None) == 3.0 and f(x, None) == 3.0 and f(x, np.array([2.0, 1.0])) == 4.0 and f.traces == 2


def test_a_product_whose_nan_a_comparison_could_drop_is_checked_where_it_is_made():
    # grad(sqrt(t) * 0) at 0 is the product 0 * inf: 0 under the convention, nan plainly; the comparison turns
    # either into a number (0 < 1: 5, nan < 1: 7), so one check of the output could not see the difference
    inner = dc.grad(lambda t: np.sqrt(t) * 0.0)
    f = lambda x: np.where(inner(x) < 1.0, 5.0, 7.0)  # noqa: E731
    with np.errstate(divide="ignore", invalid="ignore"):
        j = dc.jit(f)
        assert j(0.0) == 5.0 and j(0.0) == 5.0 and j(4.0) == 5.0
    assert "_zero_times_inf" in j.source


def test_a_long_program_recycles_short_lived_names_and_gives_the_eager_values():
    def long_map(x):
        for _ in range(100):
            x = 4.0 * x * (1.0 - x)
        return x

    j = dc.jit(dc.grad(long_map))
    for x in (0.3, 0.71, 0.3):
        assert j(x) == under_reference(dc.grad(long_map), x)
    assert "w_1 = " in j.source and j.source.count("\n") < 800  # 700 operations, no check per product
    assert j(1e200) == under_reference(dc.grad(long_map), 1e200)  # infinities inside


def test_constant_factors_fold_only_where_the_rounding_is_the_same():
    # 3 (2x) = 6x exactly (2x is exact); 0.3 (2x) overflows where 0.6x does not; 3 (1.5x) rounds twice; 4 (0.5x)
    # rounds a subnormal 0.5x first; -(0.7x) = (-0.7)x and (-x)(0.7x) = x((-0.7)x): negation is exact
    x = np.array([1e308, -1e308, 5e-324, 3e-320, 0.1257302210933933, 0.36159505490948474, 7.0, -2.5, 1e-310])
    cases = [lambda x: 3.0 * (2.0 * x), lambda x: 0.3 * (2.0 * x), lambda x: 3.0 * (1.5 * x),
             lambda x: 4.0 * (0.5 * x), lambda x: -(0.7 * x), lambda x: (-x) * (0.7 * x)]
    with np.errstate(over="ignore"):
        for f in cases:
            j = dc.jit(f)
            for _ in range(2):
                assert np.array_equal(j(x), f(x)), j.source
        six, negated = dc.jit(cases[0]), dc.jit(cases[5])
        six(x), negated(x)
    assert "6.0 * v_0" in six.source
    assert "-0.7" in negated.source and "-v_0" not in negated.source


def test_reading_the_dtype_of_an_outer_levels_value_is_no_value_read():
    """np.sum(x, dtype=float) checks the dtype of grad's traced value, whose dtype is read from the staged value
    under it: a metadata read, which had made the signature run eagerly (27 tests of the jit flavour did)."""
    j = dc.jit(dc.grad(lambda x: np.sum(x * x, dtype=np.float64)))
    x = np.array([1.0, 2.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error", JitWarning)
        assert same(compiled_program(j, x)(x), 2 * x)


def test_a_staged_gradient_has_no_dead_rows():
    # the convention's product is staged as one times row, not a plain product (left dead) beside it
    from diffcompare.ad.staging import stage
    from diffcompare.ad.simplify import walk

    program, _ = stage(dc.grad(logistic), [0.3], [True])
    read = {v.index for row in program.rows for v in walk(list(row.args))} | {v.index for v in walk(program.output)}
    assert [row.out.index for row in program.rows if row.out.index not in read] == [60]  # f's value, which grad drops


def test_the_cheaper_key_never_serves_another_kind_shape_or_dtype():
    j = dc.jit(lambda x: x * 2)
    assert j(1.5) == 3.0 and j(1.5) == 3.0 and j.traces == 1
    assert j(2) == 4 and type(j(2)) is int and j.traces == 2  # an int is not a float
    assert j(np.ones(3)).shape == (3,) and j(np.ones(4)).shape == (4,) and j.traces == 4
    assert j(np.ones((3, 1))).shape == (3, 1) and j.traces == 5
    assert j(np.ones(3, np.float32)).dtype == np.float32 and j.traces == 6
    assert j(np.ones(3)).dtype == np.float64 and j(np.float64(1.5)) == 3.0 and j.traces == 7


def test_a_broadcast_cotangent_is_not_copied_and_large_outputs_check_the_products_instead():
    rng = np.random.default_rng(1)
    x, onehot = rng.normal(size=(6, 20)), np.eye(3)[rng.integers(0, 3, 6)]

    def loss(w, onehot):  # onehot an argument: the cotangent of logsumexp is staged, (6, 1) broadcast to (6, 3)
        z = np.tanh(x @ w)
        return -np.sum(onehot * (z - dc.logsumexp(z, axis=1, keepdims=True)))

    j = dc.jit(dc.grad(loss))
    w = rng.normal(size=(20, 3))
    for point in (w, 2 * w):
        assert np.array_equal(j(point, onehot), under_reference(dc.grad(loss), point, onehot))
    assert "_broadcast_to" not in j.source
    # dW (20 x 3) holds more than twice the elements of the one product (6 x 3): checked where it is made
    assert "_zero_times_inf" in j.source and "_exact" not in j.source


def test_a_long_array_program_with_accumulations_recycles_names_and_gives_the_reference_values():
    def f(x):  # ~880 lines, 119 of them `target[index] += g`: a recycled name must outlive its buffer's last use
        s, y = 0.0, x
        for _ in range(40):
            y = np.sin(y) * 0.9 + 0.1 * x
            s = s + np.sum(y[1:] * y[:-1]) + np.sum((y[::2] - 0.5) ** 2)
        return s

    x = np.linspace(-1.0, 1.0, 9)
    j = dc.jit(dc.value_and_grad(f))
    j(0.5 * x)
    v, g = j(x)
    rv, rg = under_reference(dc.value_and_grad(f), x)
    assert v == rv and np.array_equal(g, rg)
    assert "w_1 = " in j.source and "] += " in j.source


def test_common_subexpression_keys_take_a_var_after_a_tuple_argument():
    """A row whose tuple argument (an index, a shape) comes before a Var: the key still names the Var, and the
    Vars are left for Op to walk (it failed with None.append, found reading the split of codegen)."""
    from diffcompare.ad.ops import Var
    from diffcompare.ad.simplify import _cse_key

    v = Var(3, (2,), np.dtype(float), False)
    key, flat = _cse_key("scatter_add", [(0, 1), v], {})
    assert key[0] == "scatter_add" and 3 in key and flat is None
