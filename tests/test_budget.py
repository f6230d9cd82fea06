"""run_with_budget: answers come back, errors keep their type, and a runaway worker is really stopped."""

from __future__ import annotations

import os
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
