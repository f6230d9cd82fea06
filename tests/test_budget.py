"""run_with_budget: answers come back, errors keep their type, and a runaway worker is really stopped."""

from __future__ import annotations

import os
import pickle
import sys
import time

import pytest

from diffcompare.budget import run_with_budget
from diffcompare.errors import DomainError, Timeout


def _add(a: int, b: int, scale: int = 1) -> int:
    return (a + b) * scale


def _sleep_and_report_pid(path: str) -> None:
    with open(path, "w") as fh:
        fh.write(str(os.getpid()))
    time.sleep(60)


def _spin_and_report_pid(path: str) -> None:
    with open(path, "w") as fh:
        fh.write(str(os.getpid()))
    while True:  # a pure-Python loop that never sleeps nor checks for signals itself
        pass


def _raise_domain() -> None:
    raise DomainError("log of a negative number")


def _die() -> None:
    os._exit(3)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie still answers kill(pid, 0): look at its state
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_the_value_comes_back_with_args_and_keywords() -> None:
    assert run_with_budget(_add, 2, 3, scale=10, timeout=30) == 50


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork is used on Linux only")
def test_a_lambda_works_under_fork() -> None:
    # fork inherits the function, so even a closure runs (spawn would need a module-level one)
    assert run_with_budget(lambda: [1, 2, 3], timeout=30) == [1, 2, 3]


@pytest.mark.parametrize("target", [_sleep_and_report_pid, _spin_and_report_pid])
def test_a_runaway_worker_is_stopped_and_gone(tmp_path, target) -> None:
    path = tmp_path / "pid"
    start = time.perf_counter()
    with pytest.raises(Timeout, match="budget"):
        run_with_budget(target, str(path), timeout=0.5)
    # 0.5 s budget + terminate/join; 20 s is a generous bound that still proves no 60 s sleep/endless loop
    assert time.perf_counter() - start < 20
    pid = int(path.read_text())
    assert not _alive(pid)


def test_the_worker_exception_keeps_its_type() -> None:
    with pytest.raises(DomainError, match="negative"):
        run_with_budget(_raise_domain, timeout=30)


def test_a_worker_that_dies_is_reported() -> None:
    with pytest.raises(RuntimeError, match="died"):
        run_with_budget(_die, timeout=30)


@pytest.mark.parametrize("bad", [0, -1.0, float("nan")])
def test_a_non_positive_budget_is_refused(bad: float) -> None:
    with pytest.raises(ValueError):
        run_with_budget(_add, 1, 2, timeout=bad)


# -- once this process runs threads, the worker comes from the fork server (no fork of a threaded process) -----


def _parent_pid() -> int:
    return os.getppid()


@pytest.fixture
def a_thread():
    """A Python thread alive while the test runs: a fork now could copy a lock it holds."""
    import threading

    done = threading.Event()
    thread = threading.Thread(target=done.wait, daemon=True)
    thread.start()
    yield
    done.set()
    thread.join()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork is used on Linux only")
def test_with_threads_running_the_worker_is_not_forked_from_this_process(a_thread) -> None:
    assert run_with_budget(_parent_pid, timeout=60) != os.getpid()  # the fork server's child
    assert run_with_budget(_add, 2, 3, scale=10, timeout=60) == 50
    with pytest.raises(DomainError, match="negative"):
        run_with_budget(_raise_domain, timeout=60)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork is used on Linux only")
def test_with_threads_running_a_runaway_worker_is_still_stopped(tmp_path, a_thread) -> None:
    # a local function travels to the fork server by value: a module-level one would make the worker import this
    # test module (pytest, hypothesis: over 0.5 s on a loaded machine, so the budget ended before the pid was
    # written and the test failed reading it, twice in a row under load)
    def spin_and_report_pid(path: str) -> None:
        import os

        with open(path, "w") as fh:
            fh.write(str(os.getpid()))
        while True:
            pass

    path = tmp_path / "pid"
    with pytest.raises(Timeout, match="budget"):
        run_with_budget(spin_and_report_pid, str(path), timeout=0.5)
    assert not _alive(int(path.read_text()))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork is used on Linux only")
@pytest.mark.filterwarnings("ignore:os.fork:RuntimeWarning")  # JAX's, when jax ran earlier in this process
def test_with_threads_running_what_does_not_pickle_is_forked_as_before(a_thread) -> None:
    import threading

    lock = threading.Lock()  # a lock does not pickle
    assert run_with_budget(lambda: (lock.locked(), os.getppid()), timeout=60) == (False, os.getpid())


SCALE = 3.0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork is used on Linux only")
def test_with_threads_running_a_lambda_or_local_function_travels_by_value(a_thread) -> None:
    """A notebook's function: pickle would look it up by name, which the fork server's worker cannot do."""
    import numpy as np

    offset = 0.5

    def local(x, power=2):
        def inner(v):
            return np.sin(v) ** power
        return SCALE * inner(x) + offset

    value, parent = run_with_budget(lambda x: (local(x), os.getppid()), 1.0, timeout=60)
    assert value == local(1.0) and parent != os.getpid()  # computed by the fork server's worker


def test_a_parsed_expression_pickles_by_its_text() -> None:
    import numpy as np

    from diffcompare.budget import _dumps
    from diffcompare.parse import compile_expression

    e = compile_expression("x*y + 0.1*sin(x)", ["y", "x"])
    f, args, kw = pickle.loads(_dumps((e.function, (2.0, 3.0), {})))
    assert f(*args) == e.function(2.0, 3.0) and f.expression.variables == ("y", "x")
    j = pickle.loads(_dumps(e.compile_for("numpy")))
    assert j(np.float64(2.0), np.float64(3.0)) == e.function(2.0, 3.0)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork is used on Linux only")
def test_with_jax_running_a_budgeted_sympy_call_forks_no_threaded_process() -> None:
    """JAX warns "os.fork() was called ... will likely lead to a deadlock" when this process forks."""
    jax = pytest.importorskip("jax")
    import warnings

    from diffcompare.analysis.compare import compare
    from diffcompare.parse import compile_expression

    jax.numpy.sin(jax.numpy.ones(3)).block_until_ready()  # jax's runtime threads are running now
    import numpy as np

    import diffcompare as dc

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        c = compare(compile_expression("sin(x)*exp(x)"), 1.0, backends=["symbolic"])
        n = dc.compare(lambda x: np.sin(x) * np.exp(x), at={"x": 1.0}, backends=["symbolic"])  # a notebook's
    assert not [w for w in caught if "fork" in str(w.message)], [str(w.message) for w in caught]
    assert c.reference_method != "" and c.rows[0].abs_error < 1e-15
    assert n.rows[0].abs_error == c.rows[0].abs_error


def _ops(expression) -> int:
    from sympy import count_ops

    return count_ops(expression)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork is used on Linux only")
def test_a_tree_built_unevaluated_reaches_the_fork_server_unchanged(a_thread) -> None:
    """Unpickling rebuilds each node through its constructor, which would simplify x*x + x*x into 2*x**2."""
    import sympy

    x = sympy.Symbol("x")
    tree = sympy.Add(sympy.Mul(x, x, evaluate=False), sympy.Mul(x, x, evaluate=False), evaluate=False)
    assert run_with_budget(_ops, tree, timeout=60) == _ops(tree) == 3
