"""The jax, torch and autograd adapters (issue 16 item 1): the same Result fields as ours, float64, jax's jit and
no-jit times apart, torch on one thread, availability without importing, Unsupported in one line.
A peer that is not installed is skipped with the reason."""

from __future__ import annotations

import importlib.util
import math

import numpy as np
import pytest

from diffcompare import backends
from diffcompare.errors import DiffcompareError, Unsupported
from diffcompare.parse import compile_expression

PEERS = ["jax", "torch", "autograd"]


def _skip_missing(name: str) -> None:
    if importlib.util.find_spec(name) is None:
        pytest.skip(f"{name} is not installed (pip install 'diffcompare[peers]')")


@pytest.fixture(params=PEERS)
def peer(request) -> str:
    _skip_missing(request.param)
    return request.param


def _get(name: str, **options):
    if name == "jax":
        options.setdefault("both", False)  # the jit compile is measured in its own test
    return backends.get(name, **options)


TABLE3 = compile_expression("x1*x2 + x2 - log(x1)").function


def test_result_has_our_fields_and_the_library_version(peer: str) -> None:
    r = _get(peer).gradient(TABLE3, (3.0, -4.0))
    assert r.backend == peer and r.library.split()[0] == peer and r.library.split()[1][0].isdigit()
    assert r.value == pytest.approx(-17.098612288668110, rel=1e-15)
    np.testing.assert_allclose(r.derivative, [-13 / 3, 4.0], rtol=1e-15)
    assert r.seconds > 0
    assert r.tape_ops == 4  # mul, add, log, sub: the function's own operations, as ours counts them
    assert r.tape_ops == backends.get("reverse").gradient(TABLE3, (3.0, -4.0)).tape_ops


def test_float64_everywhere(peer: str) -> None:
    """sin'(1 + 1e-9) to 1 ulp: float32 (jax's and torch's default) would be off by ~1e-8."""
    x = 1.0 + 1e-9
    r = _get(peer).derivative(compile_expression("sin(x)").function, x)
    assert isinstance(r.derivative, float) and r.derivative == pytest.approx(math.cos(x), rel=2.0**-52, abs=0)


def test_derivatives_to_order_k_and_order_0_is_the_value(peer: str) -> None:
    f = compile_expression("x**3").function
    assert [_get(peer).derivative(f, 2.0, k).derivative for k in range(5)] == [8.0, 12.0, 12.0, 6.0, 0.0]
    with pytest.raises(DiffcompareError, match="order must be a whole number"):
        _get(peer).derivative(f, 2.0, -1)


def test_shapes_follow_ours(peer: str) -> None:
    """One array argument keeps its shape; several arguments give one flat vector in argument order."""
    f = compile_expression("x*y**3").function
    d = _get(peer)
    np.testing.assert_allclose(d.jacobian(f, (1.0, 2.0)).derivative, [8.0, 12.0])
    np.testing.assert_allclose(d.hessian(f, (1.0, 2.0)).derivative, [[0.0, 12.0], [12.0, 12.0]])
    sq = compile_expression("sin(x)*x").function
    x = np.array([[0.5, 1.0], [1.5, 2.0]])
    np.testing.assert_allclose(d.jacobian(sq, x).derivative, np.diag((np.cos(x) * x + np.sin(x)).ravel()).reshape(
        2, 2, 2, 2), rtol=1e-15)
    with pytest.raises(DiffcompareError, match="scalar-valued"):
        d.gradient(sq, x)
    with pytest.raises(DiffcompareError, match="one scalar"):
        d.derivative(f, (1.0, 2.0))


def test_a_constant_expression_has_derivative_zero(peer: str) -> None:
    """exp(0.5) compiles to a Python float; torch.func refused it ("Expected f(*args) to return a Tensor")."""
    f = compile_expression("exp(0.5)", ["x", "y"]).function
    np.testing.assert_array_equal(_get(peer).gradient(f, (1.0, 2.0)).derivative, [0.0, 0.0])


def test_a_domain_error_comes_first_with_numpy(peer: str) -> None:
    from diffcompare.errors import DomainError

    with pytest.raises(DomainError):
        _get(peer).derivative(compile_expression("log(x)").function, -1.0)


@pytest.mark.parametrize("name", ["jax", "torch"])
def test_plain_numpy_function_is_unsupported_in_one_line(name: str) -> None:
    _skip_missing(name)
    with pytest.raises(Unsupported) as info:
        _get(name).gradient(lambda x: np.sum(np.sin(x)), np.array([0.5, 1.0]))
    text = str(info.value)
    assert "\n" not in text and len(text) < 300 and "give it as an expression" in text and "http" not in text


def test_a_failure_of_a_compiled_expression_is_not_reported_as_unsupported(monkeypatch) -> None:
    """Only a plain function's refusal becomes Unsupported: a bug in our compiled path must surface."""
    _skip_missing("torch")
    from diffcompare.backends.peers.torch import Torch

    d = Torch()
    monkeypatch.setattr(Torch, "grad", lambda self, h: (lambda v: 1 / 0))
    with pytest.raises(ZeroDivisionError):
        d.derivative(compile_expression("sin(x)").function, 0.5)


def test_jax_reports_jit_and_no_jit_times_apart() -> None:
    _skip_missing("jax")
    r = backends.get("jax").gradient(TABLE3, (3.0, -4.0))
    o = r.options
    assert o["shown"] == "no-jit" and r.seconds == o["nojit_seconds"]
    assert o["jit_compile_seconds"] > o["jit_seconds"] > 0  # compiling costs more than a compiled call
    j = backends.get("jax", jit=True).gradient(TABLE3, (3.0, -4.0))
    assert j.options["shown"] == "jit" and j.seconds == j.options["jit_seconds"]
    np.testing.assert_array_equal(j.derivative, r.derivative)


def test_torch_runs_on_one_thread_by_default() -> None:
    _skip_missing("torch")
    import torch

    backends.get("torch").gradient(TABLE3, (3.0, -4.0))
    assert torch.get_num_threads() == 1
    r = backends.get("torch", threads=2).gradient(TABLE3, (3.0, -4.0))
    assert torch.get_num_threads() == 2 and r.options["threads"] == 2
    backends.get("torch").gradient(TABLE3, (3.0, -4.0))
    with pytest.raises(ValueError):
        backends.get("torch", threads=0)


def test_a_peer_whose_library_is_missing_is_not_available_and_says_how_to_install(monkeypatch) -> None:
    from diffcompare.backends.peers import support

    real = support.installed

    def without_jax(distribution: str, module: str | None = None):
        return None if distribution == "jax" else real(distribution, module)

    monkeypatch.setattr(support, "installed", without_jax)
    assert "jax" not in backends.available()
    with pytest.raises(DiffcompareError, match=r"'jax'.*pip install 'diffcompare\[peers\]'"):
        backends.get("jax")
    from diffcompare.backends.peers.jax import Jax

    with pytest.raises(DiffcompareError, match=r"needs jax, which is not installed: pip install 'diffcompare"):
        Jax()  # the class itself, created without the registry



def test_jax_backend_enables_float64_itself() -> None:
    """In a fresh process, a plain function (no compiled expression, so no namespace loaded) is still float64."""
    _skip_missing("jax")
    import subprocess
    import sys

    code = ("from diffcompare.backends.peers.jax import Jax; "
            "print(repr(Jax(both=False).derivative(lambda x: x * x, 1.0 + 1e-9).derivative))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert float(out) == 2.0 + 2e-9


def test_the_compare_table_says_which_jax_time_it_shows(capsys, monkeypatch) -> None:
    _skip_missing("jax")
    from diffcompare.cli import main

    monkeypatch.setenv("COLUMNS", "120")
    assert main(["compare", "table3", "--backends", "reverse,jax"]) == 0
    out = capsys.readouterr().out
    assert "jax no-jit" in out and "jax: µs is no-jit; jit " in out and "ms compile" in out
