"""Transforms run from several threads at once: each thread nests its own trace levels, and the cyclic
collector, paused while tapes are recorded (one collector per process), is on again once all are done."""

import gc
import sys
import threading

import numpy as np

from diffcompare import ad

THREADS = 6
CALLS = 1000


def nested(x):
    """d/da [a * d/db (a * b) at b = 2] = d/da a**2 = 2a: a level shared with another thread's trace
    makes the inner grad see ``a`` as its own variable, and the result is wrong (0.0 was seen)."""
    return ad.grad(lambda a: a * ad.grad(lambda b: a * b)(2.0))(x)


def nested_arrays(x):
    """The same over arrays, forward over reverse: the Hessian of sum(x**3) / 3 is diag(2x)."""
    return ad.hessian(lambda v: np.sum(v * ad.grad(lambda w: np.sum(v * w * w) / 3.0)(v)) / 2.0)(x)


def fails(b):
    raise ArithmeticError("raised inside a nested transform")


def run_in_threads(work):
    """Run ``work(k)`` in THREADS threads started together, switching between them as often as the
    interpreter allows, so that races show within a few hundred calls; re-raise a thread's exception."""
    errors = []
    start = threading.Barrier(THREADS)

    def body(k):
        try:
            start.wait()
            work(k)
        except BaseException as e:  # noqa: B036 - handed to the main thread
            errors.append(e)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=body, args=(k,)) for k in range(THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    if errors:
        raise errors[0]


def test_nested_grads_in_six_threads_are_always_right_and_leave_the_collector_on():
    assert gc.isenabled()
    wrong = []

    def work(k):
        for i in range(CALLS):
            x = 1.0 + k + i / CALLS
            g = nested(x)
            if g != 2.0 * x:  # 2a is one exact product: no rounding to allow for
                wrong.append((x, g))

    run_in_threads(work)
    assert gc.isenabled()
    assert not wrong, f"{len(wrong)} of {THREADS * CALLS} wrong, e.g. {wrong[:3]}"


def test_nested_array_transforms_in_threads_and_a_failing_one_leave_the_collector_on():
    wrong = []

    def work(k):
        for i in range(CALLS // 30):
            x = np.linspace(0.5, 2.0, 3) + k + i
            H = nested_arrays(x)
            if not np.allclose(H, np.diag(2.0 * x), rtol=1e-14, atol=0):  # a few roundings of x * x
                wrong.append((x, H))
            if k == 0:  # a transform left by an exception gives its pause back too
                try:
                    ad.grad(lambda a: a * ad.grad(fails)(a))(1.0)
                except ArithmeticError:
                    pass

    run_in_threads(work)
    assert gc.isenabled()
    assert not wrong


def test_a_collector_the_user_turned_off_stays_off():
    gc.disable()
    try:
        assert nested(3.0) == 6.0
        run_in_threads(lambda k: nested(1.0 + k))
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_the_collector_is_paused_while_recording_and_each_thread_gives_its_levels_back():
    from diffcompare.ad import tracer

    seen = []

    def f(x):
        seen.append((gc.isenabled(), tracer.depth()))
        return x * x

    def work(k):
        assert tracer.depth() == 0  # a new thread starts with no trace open
        ad.grad(f)(1.0)
        ad.grad(ad.grad(f))(1.0)
        try:
            ad.grad(lambda a: a * ad.grad(fails)(a))(1.0)
        except ArithmeticError:
            pass
        assert tracer.depth() == 0

    work(0)
    assert seen == [(False, 1), (False, 2)]  # paused inside f, one level per open transform
    run_in_threads(work)
    assert gc.isenabled()


def _in_two_threads(first, second):
    """Run ``first()`` and ``second()`` in two threads; re-raise either's exception."""
    errors = []

    def body(fn):
        try:
            fn()
        except BaseException as e:  # noqa: B036 - handed to the main thread
            errors.append(e)

    threads = [threading.Thread(target=body, args=(fn,)) for fn in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def test_a_jit_trace_in_one_thread_leaves_another_threads_eager_grad_on_the_fast_policy(monkeypatch):
    """Staging records under the reference policy; an eager grad run meanwhile in another thread keeps the fast
    one (a switched global gave it the reference engine while the other thread was tracing)."""
    from diffcompare.ad import policy

    monkeypatch.setattr(policy, "DEFAULT", policy.FAST)  # restored after, even if a switched global leaks

    inside, looked = threading.Barrier(2, timeout=20), threading.Barrier(2, timeout=20)
    seen = {}

    def staged(x):
        seen["staging"] = policy.current()
        inside.wait()  # the jit thread is inside its trace ...
        looked.wait()  # ... until the eager thread has recorded
        return x * 2.0

    def eager_f(x):
        seen["eager"] = policy.current()
        return x * x

    def eager():
        inside.wait()
        try:
            assert ad.grad(eager_f)(3.0) == 6.0
        finally:
            looked.wait()

    _in_two_threads(lambda: ad.jit(staged)(1.0), eager)
    assert seen == {"staging": policy.REFERENCE, "eager": policy.FAST}
    assert policy.current() is policy.FAST


def test_two_threads_tracing_at_once_leave_the_default_policy_as_it_was(monkeypatch):
    """A saved-and-restored global: the second tracer saved the first's switched value, restored it last,
    and every transform of the process ran the reference engine from then on."""
    from diffcompare.ad import policy

    monkeypatch.setattr(policy, "DEFAULT", policy.FAST)  # restored after, even if a switched global leaks

    both_inside = threading.Barrier(2, timeout=20)
    first_done = threading.Event()

    def first(x):
        both_inside.wait()
        return x * 2.0

    def second(x):
        both_inside.wait()
        first_done.wait(timeout=20)  # the first trace closes (and restores) before this one
        return x * 3.0

    def run_first():
        try:
            assert ad.jit(first)(1.0) == 2.0
        finally:
            first_done.set()

    _in_two_threads(run_first, lambda: ad.jit(second)(1.0))
    assert policy.DEFAULT is policy.FAST and policy.current() is policy.FAST


def test_one_jitted_gradient_shared_by_six_threads_is_always_right():
    """jit's cache, its staging trace and its programs from several threads at once: a first call traced in
    two threads at once, or a program run while another thread stages, must give each thread its own answer."""
    jitted = ad.jit(ad.grad(lambda a: a * ad.grad(lambda b: a * b)(2.0)))  # d/da a**2 = 2a, one exact product
    arrays = ad.jit(nested_arrays)
    wrong = []

    def work(k):
        for i in range(CALLS // 5):
            x = 1.0 + k + i / CALLS
            g = jitted(x)
            if g != 2.0 * x:
                wrong.append((x, g))
            if i % 50 == 0:
                v = np.linspace(0.5, 2.0, 3) + k + i
                if not np.allclose(arrays(v), np.diag(2.0 * v), rtol=1e-14, atol=0):
                    wrong.append((v, "hessian"))

    run_in_threads(work)
    assert not wrong, f"{len(wrong)} wrong, e.g. {wrong[:3]}"
    assert 1 <= jitted.traces <= THREADS and gc.isenabled()
