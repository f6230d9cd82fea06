"""The reverse pass's bookkeeping (lazy constant factors, shared and owned adjoints, scatters),
checked on random array programs against forward mode, which shares none of that code."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from diffcompare.ad.policy import FAST

N = 6
PERM = np.array([3, 0, 5, 1, 1, 2])  # an advanced index with a repeat: its scatter accumulates

# each step makes a new vector of length N from earlier ones (indices drawn by hypothesis)
UNARY = {
    "neg": lambda a: -a,
    "scale": lambda a: 100.0 * a,
    "rsub": lambda a: 1.0 - a,
    "square": lambda a: a**2,
    "cube": lambda a: a**3.0,
    "sin": np.sin,
    "reverse": lambda a: a[::-1],
    "gather": lambda a: a[PERM],
    "roll": lambda a: np.concatenate([a[1:], a[:1]]),
    "cumulate": lambda a: a * np.sum(a[2:]) / 10.0,
    "mean": lambda a: a - np.mean(a),
}
BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "where": lambda a, b: np.where(np.arange(N) % 2 == 0, a, b),
}

step = st.one_of(
    st.tuples(st.sampled_from(sorted(UNARY)), st.integers(0, 99)),
    st.tuples(st.sampled_from(sorted(BINARY)), st.integers(0, 99), st.integers(0, 99)),
)


def program(steps, outputs):
    def f(x):
        vs = [x]
        for s in steps:
            if s[0] in UNARY:
                vs.append(UNARY[s[0]](vs[s[1] % len(vs)]))
            else:
                vs.append(BINARY[s[0]](vs[s[1] % len(vs)], vs[s[2] % len(vs)]))
        total = 0.0
        for j, w in outputs:  # a weighted sum of some of the values, one of them sliced
            v = vs[j % len(vs)]
            total = total + w * np.sum(v[1:] if j % 3 == 0 else v)
        return total

    return f


@pytest.fixture(params=["large arrays lean", "all arrays lean", "no reference counts"])
def lean_sizes(request):
    """Both kinds of tape row: kept whole (small arrays) and lean (forced here for every size); and
    the engine as it runs where reference counts are not trusted (no in-place updates, no reuse).

    Set once per test, not per example: every example of one test runs with the same setting."""
    from diffcompare.ad.fast import lean, refcount

    saved = lean.LEAN_MIN_SIZE, refcount.REFCOUNTS_EXACT
    if request.param == "all arrays lean":
        lean.LEAN_MIN_SIZE = 0
    if request.param == "no reference counts":
        lean.LEAN_MIN_SIZE = 0
        refcount.REFCOUNTS_EXACT = False  # the one place every use reads
    yield
    lean.LEAN_MIN_SIZE, refcount.REFCOUNTS_EXACT = saved


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(step, min_size=1, max_size=8),
       st.lists(st.tuples(st.integers(0, 99), st.sampled_from([1.0, -2.0, 0.5, 3.0])), min_size=1, max_size=3),
       st.lists(st.floats(-1.5, 1.5), min_size=N, max_size=N))
@pytest.mark.jit_slow  # the default run's random programs under jit: test_jit's property tests
def test_reverse_gradient_of_random_array_programs_matches_forward_mode(ad, lean_sizes, steps, outputs, xs):
    f = program(steps, outputs)
    x = np.array(xs)
    rev = ad.grad(f)(x)
    fwd = ad.jacfwd(f)(x)
    # both are exact up to rounding: a few ulps per operation on values below ~1e6 here (|x| <= 1.5,
    # at most 8 steps); 1e-9 of the largest component leaves orders of magnitude of room
    scale = max(1.0, float(np.max(np.abs(fwd))))
    assert np.allclose(rev, fwd, rtol=1e-9, atol=1e-9 * scale)


def test_a_slice_scattered_into_a_shared_adjoint(ad, lean_sizes):
    # sum(x) hands x a broadcast 1 shared with nobody it may write to; the slice's scatter must copy it
    f = lambda x: np.sum(x[1:]) + np.sum(x)
    assert ad.grad(f)(np.zeros(4)).tolist() == [1.0, 2.0, 2.0, 2.0]
    g = lambda x: np.sum(x) + np.sum(-3.0 * x[:2]) + np.sum(x[2:] ** 2)
    assert ad.grad(g)(np.arange(4.0)).tolist() == [-2.0, -2.0, 5.0, 7.0]


def test_gradients_handed_out_are_arrays_of_their_own(ad):
    x = np.arange(3.0)
    y = np.array([2.0, 3.0, 4.0])
    gx = ad.grad(lambda x: np.sum(x * y))(x)  # d/dx = y: must not be y itself
    assert gx.tolist() == y.tolist() and not np.shares_memory(gx, y)
    gx[0] = 99.0
    assert y[0] == 2.0
    g1 = ad.grad(lambda x: np.sum(x))(x)
    assert g1.flags.writeable and g1.tolist() == [1.0, 1.0, 1.0]


@pytest.mark.parametrize("n", [1, 7])
def test_rosenbrock_gradient_is_exact_against_the_hand_written_one(ad, lean_sizes, n):
    x = np.linspace(-1.2, 1.2, n + 1)
    f = lambda x: np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)
    d = x[1:] - x[:-1] ** 2
    by_hand = np.zeros_like(x)
    by_hand[:-1] = -400.0 * x[:-1] * d - 2.0 * (1.0 - x[:-1])
    by_hand[1:] += 200.0 * d
    assert np.allclose(ad.grad(f)(x), by_hand, rtol=1e-14, atol=1e-12)


def test_a_boolean_index_is_a_copy_not_a_view(ad, lean_sizes):
    # x[True] adds an axis and copies: the scatter must not write into a temporary (review finding)
    x, y = np.arange(4.0), np.array([1.0, 2.0, 3.0, 4.0])
    assert ad.grad(lambda x: np.sum(x[True] * y))(x).tolist() == [1.0, 2.0, 3.0, 4.0]
    assert ad.grad(lambda x: np.sum(x[True] * y) + np.sum(x * x))(x).tolist() == [1.0, 4.0, 7.0, 10.0]


def test_empty_arrays_have_empty_gradients(ad, lean_sizes):
    rosen = lambda x: np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)
    assert ad.grad(rosen)(np.array([0.5])).tolist() == [0.0]  # x[1:] is empty
    assert ad.grad(np.sum)(np.zeros(0)).tolist() == []
    x = np.arange(3.0)
    assert ad.grad(lambda x: np.sum(x[2:2]) + np.sum(x**2))(x).tolist() == [0.0, 2.0, 4.0]


def test_no_gradient_is_a_view_of_anything_else(ad, lean_sizes):
    z = np.array([1.0 + 2.0j, 3.0 - 1.0j])
    ct = np.array([1.0 + 0.0j, 2.0 + 1.0j])
    (gz,) = ad.vjp(lambda z: z + 1.0, z)[1](ct)  # complex: the general path passes ct on
    assert gz.tolist() == ct.tolist() and gz is not ct and gz.flags.writeable
    (gs,) = ad.vjp(lambda z: np.sum(z), z)[1](1.0)  # a broadcast 1.0 would be read-only
    assert gs.tolist() == [1.0, 1.0] and gs.flags.writeable
    w = np.array([2.0 + 0.0j, 0.5j])
    (gw,) = ad.vjp(lambda z: z * w, z)[1](np.ones(2, complex))
    assert gw.tolist() == w.tolist() and not np.shares_memory(gw, w)


@pytest.fixture
def deferred_small(monkeypatch):
    """Deferred values (and lean rows) for small arrays too, so the tests stay fast."""
    from diffcompare.ad.fast import lean as core
    from diffcompare.ad.fast import memory

    monkeypatch.setattr(memory, "MIN_SIZE", 1)
    monkeypatch.setattr(core, "LEAN_MIN_SIZE", 0)
    yield
    memory.release()


def test_grad_does_not_compute_what_no_rule_reads(ad, deferred_small):
    from diffcompare.ad.fast.lean import Deferred
    from diffcompare.ad.transforms import Recording

    x = np.linspace(-1.0, 1.0, 7)
    f = lambda x: np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)
    rec = Recording(f, (x,), policy=FAST)
    rec.pullback(1.0)
    assert rec.output.v.__class__ is Deferred and rec.output.v.value is None  # f's value: never computed
    value, g = ad.value_and_grad(f)(x)
    assert value == f(x) and np.allclose(g, ad.grad(f)(x), rtol=0, atol=0)


@pytest.mark.eager_only("an if on a traced value is the point (jit refuses it: test_jit)")
def test_reading_a_deferred_value_computes_it(ad, deferred_small):
    def f(x):
        y = np.sin(x) * 2.0
        if np.sum(y) > 0:  # control flow reads the value
            return np.sum(y * y)
        return np.sum(-y)

    for x in (np.linspace(0.1, 1.0, 5), np.linspace(-1.0, -0.1, 5)):
        assert np.allclose(ad.grad(f)(x), ad.jacfwd(f)(x), rtol=1e-14, atol=0)
        assert ad.value_and_grad(f)(x)[0] == pytest.approx(float(f(x)), rel=1e-15)


@pytest.mark.jit_slow  # a 10,000-line program; the default run's: test_a_2500_operation_program_needs_no_recursion...
def test_a_long_deferred_chain_is_computed_without_recursion(ad, deferred_small):
    def f(x):
        for _ in range(5000):
            x = x * 1.0001 + 0.5
        return np.sum(x)

    x = np.zeros(4)
    value, g = ad.value_and_grad(f)(x)
    assert g == pytest.approx(np.full(4, 1.0001**5000), rel=1e-12)
    assert value == pytest.approx(float(f(x)), rel=1e-12)


def test_a_jacobian_of_a_deferred_vector_output(ad, deferred_small):
    f = lambda x: np.sin(x) * x + 1.0
    x = np.linspace(0.2, 1.4, 5)
    assert np.allclose(ad.jacrev(f)(x), ad.jacfwd(f)(x), rtol=1e-14, atol=0)


def test_an_operation_on_a_constant_array_is_not_deferred(ad, deferred_small):
    def f(x):
        scratch = np.ones(3)
        y = x * scratch  # computed now: the user's array may change before anything reads y
        scratch[:] = 5.0  # (the tape row keeps a copy of scratch: see tests/test_in_place.py)
        return np.sum(y * y)

    assert ad.value_and_grad(f)(np.array([1.0, 2.0, 3.0]))[0] == 14.0


def test_forward_over_a_deferred_reverse_with_respect_to_another_argument(ad, deferred_small):
    # the inner gradient defers sin(2x); the outer tangent flows in through y (review finding)
    f = lambda x, y: np.sum(np.sin(x * 2.0) * y)
    x, y, v = np.linspace(0.1, 1.0, 5), np.linspace(1.0, 2.0, 5), np.linspace(-1.0, 1.0, 5)
    _, tangent = ad.jvp(lambda y: ad.grad(f, 0)(x, y), (y,), (v,))
    assert np.allclose(tangent, 2.0 * np.cos(2.0 * x) * v, rtol=1e-14, atol=0)
    blocks = ad.hessian(f, (0, 1))(x, y)
    assert np.allclose(blocks[0][1], np.diag(2.0 * np.cos(2.0 * x)), rtol=1e-14, atol=0)


def test_arrays_the_user_changes_later_are_read_before(ad, deferred_small):
    def f(w):  # a scratch buffer refilled per batch, as a data loader might
        buf, acc = np.empty(4), 0.0
        for k in range(3):
            buf[:] = k
            acc = acc + (w - buf) ** 2
        return np.sum(acc)

    w = np.linspace(0.0, 3.0, 4)
    value, g = ad.value_and_grad(f)(w)
    assert value == f(w) and np.allclose(g, sum(2 * (w - k) for k in range(3)), rtol=1e-15, atol=0)
    rec = ad.Recording(lambda x: np.sum(np.sin(x * 2.0)), (w.copy(),), policy=FAST)
    x_input = rec.inputs[0].value
    x_input += 1.0  # the input changed between recording and pullback
    assert np.allclose(rec.pullback(1.0)[0], 2.0 * np.cos(2.0 * w), rtol=1e-14, atol=0)


def test_numpy_error_settings_inside_f_are_kept(ad, deferred_small):
    import warnings

    def quiet(x):
        with np.errstate(invalid="ignore"):
            y = np.sqrt(x * 1.0)  # nan at the negative entry, without a warning
        return np.sum(np.where(np.isnan(y), 0.0, y))

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ad.value_and_grad(quiet)(np.array([-1.0, 4.0]))
    if ad.name == "jit":  # the program would not run under f's settings: jit runs this signature eagerly
        assert any("np.errstate set inside f" in m for m in ad.eager_runs())

    def guarded(x):
        try:
            with np.errstate(divide="raise"):
                y = np.log(x * 1.0)
        except FloatingPointError:
            y = np.log(x * 1.0 + 1e-300)
        return np.sum(y)

    assert ad.grad(guarded)(np.array([0.0, 1.0]))[0] == pytest.approx(1e300, rel=1e-12)


def test_error_settings_are_read_afresh_whenever_they_change(ad, deferred_small):
    # the engine caches numpy's settings object: a change in between must still be seen
    f = lambda x: np.sum(np.log(x * 1.0))
    x = np.array([0.0, 1.0])
    for _ in range(2):
        with np.errstate(divide="ignore"):
            assert ad.grad(f)(x)[1] == 1.0
        with np.errstate(divide="raise"), pytest.raises(FloatingPointError):
            ad.grad(f)(x)
    old = np.seterr(divide="raise")
    try:
        with pytest.raises(FloatingPointError):
            ad.value_and_grad(f)(x)
    finally:
        np.seterr(**old)


def test_a_square_written_as_a_product_counts_both_factors(ad, lean_sizes):
    # x * x sends the same product g * x to x twice: computed once, counted twice
    M = np.linspace(-1.0, 1.0, 12).reshape(3, 4)
    f = lambda M: np.sum(np.sum(M * M, axis=0) ** 2)  # a non-uniform cotangent reaches M * M
    assert np.allclose(ad.grad(f)(M), ad.jacfwd(f)(M), rtol=1e-14, atol=0)
    g = lambda x: np.sum(x * x) + np.sum(x + x)  # a uniform one
    assert ad.grad(g)(np.arange(3.0)).tolist() == [2.0, 4.0, 6.0]
    assert np.allclose(ad.grad(np.linalg.norm)(np.array([3.0, -4.0])), [0.6, -0.8], rtol=1e-15, atol=0)
