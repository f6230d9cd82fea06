"""Buffers reused between gradients (diffcompare.ad.fast.memory): reuse happens, and never behind a holder's back."""

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from diffcompare.ad.fast import lean as core
from diffcompare.ad.fast import memory


@pytest.fixture
def small_buffers(monkeypatch):
    """Pool and lean rows for arrays of any size, so that the tests run on small arrays."""
    monkeypatch.setattr(memory, "MIN_SIZE", 1)
    monkeypatch.setattr(core, "LEAN_MIN_SIZE", 0)
    memory.release()
    yield
    memory.release()


def rosen(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


@pytest.mark.eager_only("the eager engine's buffer pool is the subject: a program allocates its own arrays")
def test_buffers_of_a_finished_gradient_are_reused(ad, small_buffers):
    g = ad.grad(rosen)
    x = np.linspace(-1.0, 1.0, 9)
    g(x)  # its temporaries are garbage now
    memory.recycle()
    freed = memory.cached_bytes()
    g(x)  # takes them again
    assert freed > 0 and memory.cached_bytes() < freed


def test_a_held_gradient_is_never_reused(ad, small_buffers):
    g = ad.grad(rosen)
    first = g(np.linspace(-1.0, 1.0, 9))
    kept = first.copy()
    view = g(np.linspace(0.0, 2.0, 9))[::2]  # only a view of the second result survives
    expected_view = view.copy()
    for k in range(5):
        g(np.full(9, float(k)))
    assert np.array_equal(first, kept) and np.array_equal(view, expected_view)


def test_a_recording_kept_by_the_user_keeps_its_buffers(ad, small_buffers):
    x = np.linspace(-1.0, 1.0, 9)
    value, pullback = ad.vjp(rosen, x)
    first = pullback(1.0)[0].copy()
    for k in range(3):
        ad.grad(rosen)(np.full(9, float(k)))  # other gradients in between
    assert np.array_equal(pullback(1.0)[0], first)


def test_release_lets_go_and_the_lent_list_stays_short(ad, small_buffers):
    g = ad.grad(rosen)
    held = [g(np.full(9, float(k))) for k in range(200)]  # all kept: none can be reused
    assert memory.lent_count() <= memory.SCAN_EVERY + 20
    assert all(np.array_equal(h, g(np.full(9, float(k)))) for k, h in enumerate(held))
    memory.release()
    assert memory.cached_bytes() == 0 and memory.lent_count() == 0


programs = st.lists(st.tuples(st.floats(-1.5, 1.5), st.booleans()), min_size=2, max_size=12)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(programs)
def test_a_training_loop_keeping_some_results_sees_them_unchanged(ad, small_buffers, steps):
    perm = np.array([3, 0, 5, 1, 1, 2])

    def f(x):
        y = np.sin(1.0 - (x**2 * x)[perm])
        return np.sum(np.concatenate([y[1:], y[:1]]) * x) - 2.0 * np.sum(x[2:] ** 2)

    g = ad.grad(f)
    kept = []
    for shift, keep in steps:
        x = np.linspace(-1.0, 1.0, 6) + shift
        result = g(x)
        if keep:
            kept.append((result, result.copy()))
    for result, snapshot in kept:
        assert np.array_equal(result, snapshot)


def test_a_buffer_dropped_a_moment_ago_is_the_next_one_lent(small_buffers):
    a = memory.empty((5,))
    a_address = a.ctypes.data
    del a  # a temporary of f's, dropped: its memory is still in cache
    b = memory.empty((5,))
    assert b.ctypes.data == a_address
    c = memory.empty((5,))  # b is held: never lent twice
    assert c.ctypes.data != b.ctypes.data


def test_give_back_takes_only_buffers_nobody_else_holds(small_buffers):
    a = memory.empty((6,))
    view = a[1:]  # the view holds a: refused
    memory.give_back(a)
    assert memory.cached_bytes() == 0
    del view
    memory.give_back(a)  # only this name holds it now
    assert memory.cached_bytes() == a.nbytes
    frozen = np.ones(6)
    frozen.flags.writeable = False
    memory.give_back(frozen)  # arrays numpy allocated are numpy's to free, not the pool's
    memory.give_back(np.ones(6))
    assert memory.cached_bytes() == a.nbytes


def test_the_pool_does_not_grow_from_one_gradient_to_the_next(ad, small_buffers):
    # a gather's gradient makes arrays numpy allocates (x[idx], the scatter's zeros): taking them in
    # made the pool grow by their size on every call, and malloc fault in fresh memory each time
    idx = np.array([3, 0, 5, 1, 1, 2, 7, 7])
    g = ad.grad(lambda x: np.sum(x[idx] ** 2) + np.sum(np.sin(x) * x))
    x = np.linspace(-1.0, 1.0, 8)
    for _ in range(5):
        g(x)
    settled = memory.cached_bytes()
    for _ in range(50):
        g(x)
    assert memory.cached_bytes() <= settled


@pytest.mark.eager_only("f keeps its traced values in a list: a side effect the program does not replay")
def test_intermediates_the_user_keeps_from_inside_f_stay_intact(ad, small_buffers):
    # grad lets go of its tape as it goes and reuses what nobody holds; a value kept from inside f
    # (here: by the handle, read afterwards) is held, so it is never written over
    kept = []

    def f(x):
        y = (1.0 - x) * 3.0
        kept.append(y)
        return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2) + np.sum(y ** 2)

    g = ad.grad(f)
    xs = [np.linspace(-1.0, 1.0, 7) + k for k in range(4)]
    grads = [g(x) for x in xs]
    for x, y, gx in zip(xs, kept, grads):
        assert np.array_equal(np.asarray(y.value), (1.0 - x) * 3.0)
        assert np.allclose(gx, ad.jacfwd(f)(x), rtol=1e-14, atol=1e-12)


def test_a_result_frozen_or_retyped_by_its_user_is_not_lent_again(ad, small_buffers):
    # the user may freeze a gradient (or give it another dtype) before dropping it: such a buffer
    # must not be written into by a later gradient, nor give that gradient its dtype
    f = lambda x: np.sum(np.sin(x) * x)
    x = np.linspace(-1.0, 1.0, 8)
    expected = np.sin(x) + x * np.cos(x)
    frozen = ad.grad(f)(x)
    frozen.flags.writeable = False
    del frozen
    assert np.allclose(ad.record(f, x).backward()[0], expected, rtol=1e-15, atol=0)
    assert np.allclose(ad.grad(f)(x), expected, rtol=1e-15, atol=0)  # after a recycle() too
    retyped = ad.grad(f)(x)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            retyped.dtype = np.float32
    except (AttributeError, TypeError):  # a numpy that no longer lets a dtype be set in place
        return
    del retyped
    g = ad.record(f, x).backward()[0]
    assert g.dtype == np.float64 and np.allclose(g, expected, rtol=1e-15, atol=0)
