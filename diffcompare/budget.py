"""Run a computation under a wall-clock budget, in a worker process that is really stopped.

Symbolic work (sympy's ``diff``, ``expand``, ``count_ops``, ``cse``) can take minutes on a
swollen expression and cannot be interrupted from inside Python: a thread cannot be killed and
sympy does not check for signals often enough. So the computation runs in a separate process;
past the budget the process is terminated (SIGTERM), then killed (SIGKILL) if it lingers, and
``Timeout`` is raised. Any command may use it (swell, cost, symbolic ...).

On Linux the worker is forked: the function and its arguments are inherited, not pickled, so a
large sympy expression costs nothing to hand over. Elsewhere "spawn" is used, and then ``fn``
must be a module-level (picklable) function and the arguments picklable. The return value always
travels back pickled: return summaries (numbers, strings) rather than huge objects when you can.
"""

from __future__ import annotations

import multiprocessing
import pickle
import sys
from collections.abc import Callable
from typing import Any

from diffcompare.errors import Timeout

# after SIGTERM, how long the worker gets to exit before SIGKILL; sympy does not trap SIGTERM,
# so it normally dies at once
_GRACE_SECONDS = 1.0


def _context() -> Any:
    method = "fork" if sys.platform.startswith("linux") else "spawn"
    return multiprocessing.get_context(method)


def _worker(conn: Any, fn: Callable[..., Any], args: tuple, kw: dict) -> None:
    try:
        message = ("ok", fn(*args, **kw))
    except BaseException as exc:  # noqa: BLE001 - anything fn raises is the parent's to re-raise
        message = ("error", exc)
    try:
        conn.send(message)
    except Exception as exc:  # noqa: BLE001 - unpicklable result or exception: describe it instead
        kind, payload = message
        what = "result" if kind == "ok" else f"{type(payload).__name__}: {payload}"
        conn.send(("unpicklable", f"{what} could not be sent back from the worker ({exc})"))
    finally:
        conn.close()


def stop(process: Any) -> None:
    """Terminate ``process``, kill it if it does not exit within a grace period, and reap it."""
    if process.is_alive():
        process.terminate()
        process.join(_GRACE_SECONDS)
    if process.is_alive():
        process.kill()
    process.join()


def run_with_budget(fn: Callable[..., Any], *args: Any, timeout: float, **kw: Any) -> Any:
    """``fn(*args, **kw)`` computed in a worker process, or ``Timeout`` after ``timeout`` seconds.

    The worker is gone when this returns or raises. An exception raised by ``fn`` is re-raised
    here with its own type (``RuntimeError`` describing it if it cannot be pickled); a worker that
    dies without answering (killed, out of memory, crashed) gives ``RuntimeError``.
    """
    if not timeout > 0:
        raise ValueError(f"timeout must be positive, not {timeout!r}")
    ctx = _context()
    receiver, sender = ctx.Pipe(duplex=False)
    process = ctx.Process(target=_worker, args=(sender, fn, args, kw), daemon=True)
    process.start()
    try:
        sender.close()  # our copy: so that a dead worker shows as EOF instead of a hang
        if not receiver.poll(timeout):
            raise Timeout(f"{getattr(fn, '__name__', 'computation')} ran past its budget of {timeout:g} s")
        try:
            kind, payload = receiver.recv()
        except (EOFError, OSError, pickle.UnpicklingError) as exc:
            process.join(_GRACE_SECONDS)
            raise RuntimeError(f"the worker died without an answer (exit code {process.exitcode}): {exc}") from None
    finally:
        stop(process)
        receiver.close()
    if kind == "ok":
        return payload
    if kind == "error":
        raise payload
    raise RuntimeError(payload)
