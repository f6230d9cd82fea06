"""The backend registry: built-ins by name, options passed through, third-party backends plugged in."""

import numpy as np
import pytest

from diffcompare import backends
from diffcompare.backends.base import Differentiator
from diffcompare.errors import DiffcompareError


def test_builtins_are_available_and_satisfy_the_protocol():
    assert backends.available()[:4] == ["finite", "symbolic", "reverse", "forward"]
    for name in ("finite", "symbolic", "reverse", "forward"):
        assert isinstance(backends.get(name), Differentiator)
    assert backends.get("finite", scheme="complex").scheme == "complex"


def test_unknown_backend_is_a_clear_error():
    with pytest.raises(DiffcompareError, match="unknown backend 'nope'; available: finite"):
        backends.get("nope")


class _Twice:
    """A toy third-party backend: 'differentiates' by doubling the value (it is only plumbing)."""

    name = "twice"

    def __init__(self, factor=2.0):
        self.factor = factor

    def derivative(self, f, x, order=1):
        return backends.Result(self.name, f(x), self.factor * f(x), 0.0)

    gradient = jacobian = hessian = derivative


def test_a_backend_registered_through_the_entry_point_group_is_found(monkeypatch):
    class FakeEntryPoint:
        name = "twice"

        def load(self):
            return _Twice

    monkeypatch.setattr(backends, "_entry_points", lambda: {"twice": FakeEntryPoint()})
    assert "twice" in backends.available()
    r = backends.get("twice", factor=3.0).derivative(np.sin, 0.5)
    assert r.derivative == pytest.approx(3 * np.sin(0.5))


def test_register_makes_a_factory_available_by_name(monkeypatch):
    monkeypatch.setattr(backends, "_REGISTERED", {})
    backends.register("twice", _Twice)
    assert backends.get("twice").derivative(np.exp, 0.0).derivative == 2.0
