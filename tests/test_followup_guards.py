"""Guards left by mutation testing (issue 12 follow-up): stale forward tracers, shape refusals, .real/.imag."""

import numpy as np
import pytest

from diffcompare import ad
from diffcompare.ad.policy import FAST
from diffcompare.errors import DiffcompareError, TracingError


def test_a_forward_scalar_tracer_kept_after_jvp_is_refused(ad):
    # the scalar fast path built FNode(3.0, level=1) from a stale tracer: a derivative with no transform around it
    kept = []
    ad.jvp(lambda x: kept.append(x) or x * x, (1.0,), (1.0,))
    for use in (lambda k: k * 3, lambda k: 3 * k, lambda k: k + 1.0, lambda k: k / 2.0, lambda k: k ** 2.0,
                lambda k: -k, lambda k: np.sin(k), lambda k: k * k):
        with pytest.raises(TracingError, match="used after the transform"):
            use(kept[0])


def test_a_forward_scalar_tracer_kept_and_reused_inside_a_new_jvp_is_refused(ad):
    kept = []
    ad.jvp(lambda x: kept.append(x) or x, (1.0,), (1.0,))
    with pytest.raises(TracingError, match="used after the transform"):
        ad.jvp(lambda y: y * kept[0], (2.0,), (1.0,))


def test_pullback_shape_errors_are_tracing_errors_naming_both_shapes(ad):
    _, pullback = ad.vjp(lambda v: np.sin(v), np.array([1.0, 2.0, 3.0]))
    with pytest.raises(TracingError, match=r"shape \(2,\).*output has shape \(3,\)") as err:
        pullback(np.ones(2))
    assert isinstance(err.value, DiffcompareError)
    _, pullback = ad.vjp(lambda v: np.sin(v), np.array([1.0, 2.0]))
    with pytest.raises(TracingError, match=r"output has shape \(2,\): give a cotangent"):
        pullback(None)


def test_jvp_count_and_shape_errors_are_tracing_errors_naming_what_was_given(ad):
    with pytest.raises(TracingError, match=r"jvp was given 2 primal\(s\) and 1 tangent\(s\)"):
        ad.jvp(lambda a, b: a * b, (1.0, 2.0), (1.0,))
    with pytest.raises(TracingError, match=r"tangent of shape \(2,\) for a primal of shape \(3,\)"):
        ad.jvp(np.sin, (np.ones(3),), (np.ones(2),))


def test_real_imag_and_conj_of_real_traced_values_are_the_value_and_zero(ad):
    x = np.array([0.5, -1.2, 2.0])
    f = lambda v: np.sum(v.real ** 2 + v.imag + v.conj() * np.real(v) + np.imag(v) + np.conj(v) + v.conjugate())
    # d/dv of v^2 + 0 + v*v + 0 + v + v = 4v + 2, exactly (small integers and one multiply-add: no rounding slack)
    np.testing.assert_array_equal(ad.grad(f)(x), 4 * x + 2)
    assert ad.grad(lambda a: a.real * a.imag + a.conj() ** 3)(2.0) == 12.0
    np.testing.assert_array_equal(ad.jacfwd(lambda v: np.real(v) * 2)(x), 2 * np.eye(3))
    assert ad.jvp(lambda a: a.imag + a.real * 3, (2.0,), (1.0,)) == (6.0, 3.0)


@pytest.mark.parametrize("part", [lambda z: z.real, lambda z: z.imag, lambda z: z.conj(), np.real, np.imag, np.conj])
def test_real_imag_and_conj_of_complex_traced_values_are_refused(ad, part):
    # not holomorphic: the engine's complex rules give df/dz, which these do not have
    with pytest.raises(TracingError, match="not holomorphic"):
        ad.grad(lambda z: part(z) * z, holomorphic=True)(1.0 + 1.0j)
    with pytest.raises(TracingError, match="not holomorphic"):
        ad.jvp(lambda z: np.sum(part(z)), (np.array([1 + 1j, 2j]),), (np.ones(2, complex),))


@pytest.mark.parametrize("view", [lambda x: x[:], lambda x: x.reshape(-1), lambda x: x[::1], lambda x: np.transpose(x)],
                         ids=["slice", "reshape", "step", "transpose"])
@pytest.mark.eager_only("f writes into the caller's array during the call: a side effect no program replays "
                        "(JAX's neither), so the program's second call sees 7.0")
def test_an_operation_on_a_view_of_the_users_array_is_not_deferred_past_a_change_to_it(ad, view):
    # a view of the input must not be read after f changed the user's array: with the input traced as the user's
    # own array, fast.lean._ours's `base is None` kept `view + 1` from being deferred (flipped, the gradient was 16
    # everywhere); since the recording traces a copy of the input, the copy guards this as well
    from diffcompare.ad.fast import memory

    xs = np.linspace(-1.0, 1.0, 2 * memory.MIN_SIZE)  # large enough for a lean tape to defer
    x0 = xs.copy()

    def f(x):
        z = view(x) + 1.0
        xs[:] = 7.0  # the user's code changes the view's base after the operation
        return np.sum(z * z)

    # d/dx sum((x + 1)^2) = 2 (x + 1): one add and one multiply by 2, exact in binary
    np.testing.assert_array_equal(ad.grad(f)(xs), 2.0 * (x0 + 1.0))


def test_the_in_place_multiply_never_overwrites_a_partial_a_row_still_holds(ad):
    # fast/backward.py's pull_back multiplies the adjoint into the partial when nobody else holds it (refcount <= 2).
    # For z * w,
    # d/dz is the row's own saved copy of w (held by the row: refcount 3): at a threshold of 3 the first pullback
    # overwrote it with ct * w, so a second pullback (or jacrev's next row) multiplied by ct * w instead of w.
    z = np.array([1.0 + 2.0j, 3.0 - 1.0j])
    w = np.array([2.0 + 0.0j, 0.5j])  # complex: the general path, with a plain array adjoint
    w0 = w.copy()
    _, pullback = ad.vjp(lambda z: z * w, z)
    ct = np.array([2.0 + 0.0j, 1.0 - 1.0j])
    for _ in range(3):  # products of small dyadic numbers: exact
        assert pullback(ct)[0].tolist() == (ct * w0).tolist()
    np.testing.assert_array_equal(ad.jacrev(lambda z: z * w, holomorphic=True)(z), np.diag(w0))
    np.testing.assert_array_equal(w, w0)  # the user's array is untouched too


@pytest.mark.parametrize("n", [4, 40_000], ids=["small", "large"])
@pytest.mark.eager_only("f writes into the caller's array during the call: a side effect no program replays "
                        "(JAX's neither), so the program's second call sees 5.0")
def test_f_changing_the_users_input_array_after_using_it_leaves_the_gradient_right(ad, n):
    # grad traced the user's own array: sin's rule read it in the backward pass, after f had set it to 5,
    # and gave cos(5) everywhere; the recording keeps a copy (JAX's inputs are immutable, torch refuses)
    xs = np.linspace(0.1, 1.0, n)
    x0 = xs.copy()

    def f(x):
        y = np.sin(x)
        xs[:] = 5.0
        return np.sum(y)

    # the same numpy cos on the same inputs, times an adjoint of exactly 1.0: bit for bit
    np.testing.assert_array_equal(ad.grad(f)(xs), np.cos(x0))


def test_grad_of_a_non_scalar_output_is_a_tracing_error_naming_the_way_out(ad):
    """As JAX (a TypeError): the CLI and the backends catch DiffcompareError, not a bare ValueError."""
    import numpy as np
    import pytest

    from diffcompare.errors import DiffcompareError, TracingError

    with pytest.raises(TracingError, match=r"scalar-output.*shape \(3,\).*jacrev") as info:
        ad.grad(lambda x: np.sin(x))(np.ones(3))
    assert isinstance(info.value, DiffcompareError) and isinstance(info.value, TypeError)


def _returns_its_saved_argument():
    """x * w whose VJP hands back the row's own saved ``w`` (exact where the cotangent is all ones: a sum's):
    a rule may return an array its row holds, and the reverse pass must not take it for a temporary."""
    from diffcompare.ad.tracer import Primitive

    prim = Primitive("times_saved_w", lambda x, w: x * w)
    prim.vjp = lambda g, ans, i, x, w: w
    prim.jvp = lambda t, ans, x, w: t[0] * w
    return prim


def test_a_vjp_result_the_row_still_holds_is_not_updated_in_place():
    # fast/backward.py's pull_back takes a VJP's result for a temporary of its own at two references (the name c,
    # getrefcount's argument); the row's saved w has a third (the row). At a threshold of 3 the pass owned w, added
    # the other term (+1) into it, and the next pullback read w + 1 (then w + 2).
    times_w = _returns_its_saved_argument()
    w = np.array([2.0, 3.0, 4.0])
    rec = ad.Recording(lambda x: np.sum(x) + np.sum(times_w(x, w)), (np.ones(3),), policy=FAST)
    first = rec.pullback(1.0)[0].copy()
    np.testing.assert_array_equal(first, w + 1.0)
    np.testing.assert_array_equal(rec.pullback(1.0)[0], first)


def test_an_input_adjoint_the_tape_still_holds_is_handed_out_as_a_copy():
    # the reverse pass hands an input's plain-array adjoint out as it is only at four references (node.grad, the
    # pass's name g, fast.backward._input_adjoint's parameter, getrefcount's argument). A complex adjoint that is
    # the row's saved w has a fifth (the row): at a threshold of 5 the caller got the row's own array, and zeroing
    # it zeroed the next pullback. (v's rows, walked
    # after, leave the pass's own names on other arrays, as in any longer program.)
    times_w = _returns_its_saved_argument()
    w = np.array([2.0 + 1.0j, 3.0, 4.0 - 2.0j])
    rec = ad.Recording(lambda z, v: np.sum(v * 2.0) + np.sum(times_w(z, w)),
                       (np.ones(3, dtype=complex), np.ones(2)), (0, 1), policy=FAST)
    first = rec.pullback(1.0)[0]
    np.testing.assert_array_equal(first, w)
    first[:] = 0.0  # the caller's array to change
    np.testing.assert_array_equal(rec.pullback(1.0)[0], w)


def test_a_temporary_partial_holds_the_product_instead_of_a_new_buffer(monkeypatch):
    # fast/backward.py's _pull_scaled multiplies a Scaled adjoint into a partial nobody else holds (cos(x) for
    # sin) at three references (the name a, _fresh's parameter, getrefcount's argument). Asked one reference too
    # late (while the result tuple was being built, its items on the stack) every partial looked held, and each
    # product took a buffer of its own: never wrong, only slower, which no other test sees
    from diffcompare.ad.fast import memory, refcount
    from diffcompare.ad.policy import Policy

    if not refcount.REFCOUNTS_EXACT:
        pytest.skip("reference counts are not trusted on this interpreter: every product is a new array")
    x = np.linspace(0.0, 1.0, 2 * memory.MIN_SIZE)  # large: products on the pool's side of the threshold
    rec = ad.Recording(lambda x: np.sum(np.sin(np.sin(x))), (x,), policy=Policy(lean=False))  # all computed now
    asked = []
    empty = memory.empty
    monkeypatch.setattr(memory, "empty", lambda shape: asked.append(shape) or empty(shape))
    (g,) = rec.pullback(1.0)
    np.testing.assert_allclose(g, np.cos(np.sin(x)) * np.cos(x), rtol=1e-15)
    assert asked == []  # the outer sin's partial is passed on as the factor's array, the inner one holds g * cos(x)
