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
