"""Batched tangents: forward mode pushes k directions in one pass (a leading batch axis on every tangent).

The oracle is the unbatched forward mode, one direction at a time (what jacfwd and hessian did before): every
batched result must equal the per-direction results stacked, to 1e-14 of their size, on random programs and on
every primitive whose jvp handles the batch axis itself; a primitive without a batched jvp is pushed one
direction at a time (the fallback), and the convention at 0 * inf holds per direction.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from diffcompare import ad
from diffcompare.ad import policy, rules
from diffcompare.ad.rules import defprim
from diffcompare.errors import TracingError
from tests.test_fast_vs_reference import every_array_lean  # noqa: F401 (a fixture)
from tests.test_reverse_pass import N, program, step

RTOL = 1e-14


def same(a, b):
    a, b = np.asarray(a), np.asarray(b)
    scale = max(float(np.max(np.abs(b[np.isfinite(b)]), initial=0.0)), 1e-300)
    return a.shape == b.shape and np.allclose(a, b, rtol=0, atol=RTOL * scale, equal_nan=True) \
        and np.array_equal(np.isinf(a), np.isinf(b))


def under(p, fn, *args):
    saved = policy.DEFAULT
    policy.DEFAULT = p
    try:
        return fn(*args)
    finally:
        policy.DEFAULT = saved


def columns(f, x, directions):
    """The oracle: one unbatched jvp per direction, stacked: (k, *out.shape)."""
    return np.stack([np.asarray(ad.jvp(f, (x,), (d,))[1]) for d in directions])


def jacfwd_by_columns(f, x):
    x = np.asarray(x, dtype=float)
    eye = np.eye(x.size).reshape((x.size,) + x.shape)
    cols = columns(f, x, eye)  # (n, *out)
    return np.moveaxis(cols, 0, -1).reshape(cols.shape[1:] + x.shape)


POLICIES = pytest.mark.parametrize("pol", [policy.FAST, policy.REFERENCE], ids=["fast", "reference"])


@settings(max_examples=40, deadline=None)
@given(st.lists(step, min_size=1, max_size=8),
       st.lists(st.tuples(st.integers(0, 99), st.sampled_from([1.0, -2.0, 0.5, 3.0])), min_size=1, max_size=3),
       st.lists(st.floats(-1.5, 1.5), min_size=N, max_size=N),
       st.sampled_from([policy.FAST, policy.REFERENCE]))
def test_random_programs_batched_equal_one_direction_at_a_time(steps, outputs, xs, pol):
    f = program(steps, outputs)
    x = np.array(xs)
    batched = under(pol, ad.hessian(f), x)
    assert same(batched, under(pol, jacfwd_by_columns, ad.grad(f), x))
    directions = np.random.default_rng(len(steps)).normal(size=(3, N))
    value, t = under(pol, ad.jvp, ad.grad(f), (x,), (directions,), True)
    assert same(t, under(pol, columns, ad.grad(f), x, directions))


@pytest.mark.usefixtures("every_array_lean")
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(step, min_size=1, max_size=8),
       st.lists(st.tuples(st.integers(0, 99), st.sampled_from([1.0, -2.0, 0.5, 3.0])), min_size=1, max_size=3),
       st.lists(st.floats(-1.5, 1.5), min_size=N, max_size=N))
def test_random_programs_batched_hessians_with_every_array_lean(steps, outputs, xs):
    """The fast layer's lean rows, deferred values and buffer pool for arrays of every size, under the batch."""
    f = program(steps, outputs)
    x = np.array(xs)
    assert same(ad.hessian(f)(x), under(policy.REFERENCE, ad.hessian(f), x))
    assert same(ad.hessian(f)(x), jacfwd_by_columns(ad.grad(f), x))


# every primitive whose jvp handles the batch axis itself, in the shapes that make it shift an axis
CASES = {
    "sum axis": (lambda x: np.sum(x * x, axis=1), (3, 4)),
    "sum negative axis keepdims": (lambda x: np.sum(np.sin(x), axis=-2, keepdims=True), (3, 4)),
    "sum all": (lambda x: np.sum(x**3), (3, 4)),
    "reshape": (lambda x: np.reshape(x, (2, -1)) * 2.0, (3, 4)),
    "transpose": (lambda x: np.transpose(x) @ np.arange(3.0), (3, 4)),
    "transpose axes": (lambda x: np.transpose(np.sin(x), (2, 0, 1)), (2, 3, 2)),
    "broadcast_to": (lambda x: np.broadcast_to(x, (2, 3, 4)) * np.arange(24.0).reshape(2, 3, 4), (3, 4)),
    "broadcast elementwise": (lambda x: x[0] * np.ones((4, 3)) + x[:, None], (4,)),
    "getitem slice": (lambda x: x[1:, ::2] ** 2, (3, 4)),
    "getitem int and array": (lambda x: x[1, [0, 2, 2]], (3, 4)),
    "getitem advanced apart": (lambda x: x[[0, 1], :, [1, 0]], (2, 3, 2)),  # the fallback (see below)
    "getitem mask": (lambda x: x[x > 0.3], (3, 4)),
    "getitem newaxis": (lambda x: x[None, :, 1], (3, 4)),
    "scatter (gather's vjp)": (lambda x: ad.grad(lambda y: np.sum(y[[0, 2, 2]] ** 3))(x), (4,)),
    "concatenate": (lambda x: np.concatenate([x, np.ones((3, 2)), x ** 2], axis=1), (3, 4)),
    "concatenate negative axis": (lambda x: np.concatenate([x, x * 3], axis=-2), (3, 4)),
    "concatenate flat": (lambda x: np.concatenate([x, x * 2], axis=None), (2, 3)),
    "stack": (lambda x: np.stack([x, np.ones(4), np.sin(x)], axis=-1), (4,)),
    "where": (lambda x: np.where(np.arange(4) % 2 == 0, x * x, 1.0), (3, 4)),
    "where scalar branch": (lambda x: np.where(x > 0.3, x[0, 0], x), (3, 4)),
    "max axis": (lambda x: np.max(x, axis=0), (3, 4)),
    "min all": (lambda x: np.min(x ** 2), (3, 4)),
    "prod": (lambda x: np.prod(x, axis=1), (3, 4)),
    "logsumexp": (lambda x: ad.logsumexp(x, axis=-1), (3, 4)),
    "norm": (lambda x: np.linalg.norm(x), (3, 4)),
    "matmul 2d 2d": (lambda x: x @ np.arange(8.0).reshape(4, 2) + np.arange(9.0).reshape(3, 3) @ x[:, :2], (3, 4)),
    "matmul x x": (lambda x: x @ x.T, (3, 4)),
    "matmul 1d": (lambda x: x[0] @ x[1] + x[0] @ np.ones((4, 2)) @ np.ones(2) + np.ones(3) @ x, (3, 4)),
    "matmul matrix vector": (lambda x: x @ x[0] + np.ones((3, 4)) @ x[1], (3, 4)),
    "matmul stacked": (lambda x: np.ones((2, 4, 3)) @ x + x.T @ np.arange(24.0).reshape(2, 3, 4), (3, 4)),
    "matmul 1d stacked": (lambda x: x[0] @ np.ones((2, 4, 3)) + np.ones((2, 3, 3)) @ x[:, 0], (3, 4)),
    "dot": (lambda x: np.dot(x, x[0]) + np.dot(x[1], x.T), (3, 4)),
    "dot scalar (fallback)": (lambda x: np.dot(x[0, 0], x), (3, 4)),
    "add and sub broadcast": (lambda x: (x[0] - x) + (x - x[:, :1]) * 2.0 - 1.0 * x[1] - x[2, 3], (3, 4)),
    "neg then add": (lambda x: -x[0] + x + np.exp(x) - x, (3, 4)),
    "scalar values": (lambda x: x[0, 0] * x[1, 1] + np.sin(x[2, 3]) / x[0, 1], (3, 4)),
}


@POLICIES
@pytest.mark.parametrize("name", sorted(CASES))
def test_each_batched_jvp_equals_one_direction_at_a_time(name, pol):
    f, shape = CASES[name]
    x = np.linspace(0.2, 1.3, int(np.prod(shape))).reshape(shape)
    assert same(under(pol, ad.jacfwd(f), x), under(pol, jacfwd_by_columns, f, x))


def test_advanced_indices_apart_are_pushed_one_direction_at_a_time():
    """numpy moves advanced indices that stand apart in front of the batch axis: t[:, [0, 1], :, [1, 0]] is not
    x[[0, 1], :, [1, 0]] per direction. Such an index is refused by getitem's batched test (the fallback)."""
    assert not rules.getitem.takes_batch(np.zeros((2, 3, 2)), ([0, 1], slice(None), [1, 0]))
    assert not rules.getitem.takes_batch(np.zeros((3, 4)), (0, slice(None), [1]))
    assert rules.getitem.takes_batch(np.zeros((3, 4)), (slice(None), [1, 2]))
    assert rules.getitem.takes_batch(np.zeros((3, 4)), (1, [1, 2]))


@POLICIES
def test_a_primitive_without_a_batched_jvp_is_pushed_one_direction_at_a_time(pol, monkeypatch):
    calls = []

    def jvp(t, ans, x):  # knows nothing of a batch axis: reverses the tangent's first axis
        calls.append(np.shape(t[0]))
        return t[0][::-1] * 1.0

    flip = defprim("test_flip_unbatched", lambda x: x[::-1], vjp=lambda g, ans, i, x: flip(g), jvp=jvp)
    try:
        f = lambda x: flip(x * x) * np.arange(4.0)
        x = np.array([0.5, -1.0, 2.0, 3.0])
        j = under(pol, ad.jacfwd(f), x)
        assert calls == [(4,)] * 4  # once per direction, each without the batch axis
        assert same(j, np.diag(2 * x)[::-1] * np.arange(4.0)[:, None])
        assert same(j, under(pol, ad.jacrev(f), x))
        # a primitive claiming a batched jvp it does not have gives a wrong number: the fallback is what saves it
        monkeypatch.setattr(flip, "batched", True)
        calls.clear()
        assert not same(under(pol, ad.jacfwd(f), x), j)
    finally:
        del rules.RULES["test_flip_unbatched"]


@POLICIES
def test_infinite_directions_through_zero_partials_follow_the_convention(pol):
    """An infinite tangent times a zero partial is 0 (the fast push skips its nan check only where the partial
    is finite and non-zero)."""
    f = lambda x: x * np.array([0.0, 2.0, 3.0]) + np.sin(x) * 0.0 + x[0]
    x = np.array([0.5, 1.0, 2.0])
    directions = np.array([[np.inf, 0.0, 1.0], [1.0, -np.inf, np.nan], [0.0, 0.0, 0.0]])
    with np.errstate(invalid="ignore"):
        t = under(pol, ad.jvp, f, (x,), (directions,), True)[1]
        assert same(t, under(pol, columns, f, x, directions))
    assert t[0, 0] == np.inf and t[2].tolist() == [0.0, 0.0, 0.0] and np.isnan(t[1, 2])


@POLICIES
def test_zero_times_inf_holds_per_direction(pol):
    """A zero tangent through an infinite partial contributes nothing, column by column (sqrt at 0)."""
    f = lambda x: np.sqrt(x) + x[::-1]
    x = np.array([0.0, 4.0, 1.0])
    with np.errstate(divide="ignore", invalid="ignore"):
        j = under(pol, ad.jacfwd(f), x)
        assert same(j, under(pol, jacfwd_by_columns, f, x))
    assert j[0, 0] == np.inf and j[0, 1] == 0.0 and j[1, 0] == 0.0


def test_a_scalar_zero_tangent_adds_nothing_even_through_a_nan_partial_in_reference_mode():
    """In the reference core a plain zero tangent is skipped (its partial never multiplies it): per direction,
    x[0] has a zero tangent in the x[1] direction, so sqrt's nan partial at -1 does not reach that column."""
    f = lambda x: np.sqrt(x[0]) + x[1]
    x = np.array([-1.0, 2.0])
    with np.errstate(invalid="ignore"):
        j = under(policy.REFERENCE, ad.jacfwd(f), x)
        assert same(j, under(policy.REFERENCE, jacfwd_by_columns, f, x))
    assert np.isnan(j[0]) and j[1] == 1.0


def test_jacfwd_hessian_and_hvp_run_f_once(monkeypatch):
    calls = []

    def f(x):
        calls.append(1)
        return np.sum(np.sin(x) * x[::-1])

    x = np.linspace(-1, 1, 30)
    ad.hessian(f)(x)
    assert len(calls) == 1
    calls.clear()
    ad.jacfwd(ad.grad(f))(x)
    assert len(calls) == 1
    calls.clear()
    ad.hvp(f, x, np.cos(x))
    assert len(calls) == 1
    calls.clear()
    monkeypatch.setattr("diffcompare.ad.transforms.BATCH_ELEMENTS", 30 * 8)  # chunks of 8 directions: 4 passes
    h = ad.hessian(f)(x)
    assert len(calls) == 4
    monkeypatch.undo()
    assert same(h, ad.hessian(f)(x))


def test_jit_of_hessian_stages_the_batched_pass():
    """The staged program of jit(hessian(f)) does not grow with n: one batched pass, not n passes."""
    f = lambda x: np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)
    lengths = []
    for n in (4, 12):
        x = np.linspace(-1, 1, n)
        jh = ad.jit(ad.hessian(f))
        assert same(jh(x), ad.hessian(f)(x))
        assert same(jh(x + 0.5), ad.hessian(f)(x + 0.5))
        lengths.append(len(jh.source.splitlines()))
        assert "eagerly" not in repr(jh)  # compiled, not run eagerly for a value-dependent rule
    assert lengths[0] == lengths[1]


def test_jvp_batched_shapes_and_refusals():
    f = lambda x, y: np.sin(x) * y
    x, y = np.array([0.1, 0.2, 0.3]), 2.0
    tx, ty = np.arange(6.0).reshape(2, 3), np.array([1.0, -1.0])
    value, t = ad.jvp(f, (x, y), (tx, ty), batched=True)
    assert t.shape == (2, 3)
    for j in range(2):
        assert same(t[j], ad.jvp(f, (x, y), (tx[j], ty[j]))[1])
    # f not depending on its input: zeros with the batch axis
    value, t = ad.jvp(lambda x: np.ones(4), (x,), (tx,), batched=True)
    assert t.shape == (2, 4) and not t.any()
    with pytest.raises(TracingError, match="batched=True"):
        ad.jvp(f, (x, y), (tx, np.ones(3)), batched=True)  # different k
    with pytest.raises(TracingError, match="batched=True"):
        ad.jvp(f, (x, y), (x, 1.0), batched=True)  # no batch axis


def test_jacfwd_of_a_scalar_and_of_an_empty_input_keep_their_shapes():
    assert ad.jacfwd(lambda x: np.array([x, x * x]))(3.0).shape == (2,)
    assert ad.jacfwd(lambda x: x * 2.0)(np.zeros((0, 2))).shape == (0, 2, 0, 2)
    assert ad.jacfwd(lambda x: np.sum(x))(np.ones((2, 3))).shape == (2, 3)
    assert ad.hessian(lambda x: np.sum(x**3))(np.ones((2, 2))).shape == (2, 2, 2, 2)



def test_the_fast_push_decides_the_batch_once_and_one_direction_skips_the_reference(monkeypatch):
    """One direction (jvp, hvp) takes the fast layer's direct rule, which asks no shapes (hvp got 1.15x slower
    when every push went through the reference's batch bookkeeping); a batch of arrays takes the batched rule."""
    from diffcompare.ad import forward
    from diffcompare.ad.fast import forward as fast_forward

    class Taken(Exception):
        pass

    def refuse(*args):
        raise Taken

    f = lambda x: np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)
    x, v = np.linspace(-1.2, 1.2, 6), np.cos(np.arange(6.0))
    expected = under(policy.REFERENCE, ad.hvp, f, x, v)
    monkeypatch.setattr(forward, "push_forward", refuse)  # the fast layer's way into the reference rule
    assert same(under(policy.FAST, ad.hvp, f, x, v), expected)
    monkeypatch.undo()
    monkeypatch.setattr(fast_forward, "_push_batch", refuse)
    with pytest.raises(Taken):
        under(policy.FAST, ad.jacfwd(ad.grad(f)), x)
