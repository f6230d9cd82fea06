"""Run a computation under a wall-clock budget, in a worker process that is really stopped.

Symbolic work (sympy's ``diff``, ``expand``, ``count_ops``, ``cse``) can take minutes on a
swollen expression and cannot be interrupted from inside Python: a thread cannot be killed and
sympy does not check for signals often enough. So the computation runs in a separate process;
past the budget the process is terminated (SIGTERM), then killed (SIGKILL) if it lingers, and
``Timeout`` is raised. Any command may use it (swell, cost, symbolic ...).

On Linux the worker is forked: the function and its arguments are inherited, not pickled, so a
large sympy expression costs nothing to hand over. But a fork copies only the calling thread: once
this process runs other threads (jax's runtime after its first computation, or a Python thread),
one of them may hold a lock that the worker then waits on forever (JAX warns "os.fork() was called
... will likely lead to a deadlock"). Then the work goes to a fork server instead: one
single-threaded interpreter per process, started without a fork (``subprocess``) with sympy
imported once, that forks the worker itself and applies the same budget. It receives ``fn`` and its
arguments pickled (a parsed expression as its text, parsed again there; a lambda, a local function or
one of ``__main__`` by value). Those that do not pickle or do not unpickle there (a lock, a class of
``__main__``, a function of a ``--file`` module) run in a worker forked from this process as before.
Elsewhere than Linux "spawn" is used, and then ``fn`` must be a module-level (picklable) function
and the arguments picklable. The return value always travels back pickled: return summaries (numbers, strings)
rather than huge objects when you can.
"""

from __future__ import annotations

import atexit
import importlib
import io
import marshal
import multiprocessing
import os
import pickle
import subprocess
import sys
import threading
import types
from collections.abc import Callable
from typing import Any

from diffcompare.errors import Timeout

# after SIGTERM, how long the worker gets to exit before SIGKILL; sympy does not trap SIGTERM,
# so it normally dies at once
_GRACE_SECONDS = 1.0
# how long the fork server may take to start (an interpreter plus sympy: about 1-2 s on a loaded machine)
_SERVER_START_SECONDS = 120.0


def threads_running() -> bool:
    """True when a fork of this process could copy a lock held by another thread: a Python thread besides this
    one, or jax's runtime (its threads, started by its first computation, are invisible to ``threading``)."""
    if threading.active_count() > 1:
        return True
    xla_bridge = sys.modules.get("jax._src.xla_bridge")
    return bool(getattr(xla_bridge, "_backends", None))


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


def _worker_unpickling(conn: Any, blob: bytes) -> None:
    """:func:`_worker` on a pickled ``(fn, args, kw)``; one that does not unpickle here is reported as such."""
    try:
        fn, args, kw = _loads(blob)
    except BaseException as exc:  # noqa: BLE001 - e.g. a function of a module this process cannot import
        conn.send(("unloadable", f"{type(exc).__name__}: {exc}"))
        conn.close()
        return
    _worker(conn, fn, args, kw)


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
    name = getattr(fn, "__name__", "computation")
    if not sys.platform.startswith("linux"):
        return _unwrap(*_run(multiprocessing.get_context("spawn"), _worker, (fn, args, kw), timeout, name))
    if threads_running():
        blob = _dumps((fn, args, kw))
        if blob is not None:
            answer = _server().run(blob, timeout, name)
            if answer is not None and answer[0] != "unloadable":
                return _unwrap(*answer)
    return _unwrap(*_run(multiprocessing.get_context("fork"), _worker, (fn, args, kw), timeout, name))


def _run(ctx: Any, target: Callable[..., None], args: tuple, timeout: float, name: str) -> tuple[str, Any]:
    """``target(sender, *args)`` in a worker process of ``ctx``: the message it sent, as ``(kind, payload)``."""
    receiver, sender = ctx.Pipe(duplex=False)
    process = ctx.Process(target=target, args=(sender, *args), daemon=True)
    process.start()
    try:
        sender.close()  # our copy: so that a dead worker shows as EOF instead of a hang
        if not receiver.poll(timeout):
            raise Timeout(f"{name} ran past its budget of {timeout:g} s")
        try:
            return receiver.recv()
        except (EOFError, OSError, pickle.UnpicklingError) as exc:
            process.join(_GRACE_SECONDS)
            raise RuntimeError(f"the worker died without an answer (exit code {process.exitcode}): {exc}") from None
    finally:
        stop(process)
        receiver.close()


def _unwrap(kind: str, payload: Any) -> Any:
    if kind == "ok":
        return payload
    if kind in ("error", "raise"):
        raise payload
    raise RuntimeError(payload)


# -- the fork server: used once this process runs threads ---------------------------------------------------


class _Pickler(pickle.Pickler):
    """Pickles for the fork server what plain pickle cannot send there: a parsed expression's function by its
    text (a closure; parsing the text again in the worker gives the same function, see :mod:`diffcompare.parse`),
    and a function that pickle would look up by name where the worker cannot find it (a lambda, a local
    function, one of ``__main__``: a notebook's) by value, its code and the globals it names."""

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, types.FunctionType):
            by_text = getattr(obj, "reduce_by_text", None)
            if by_text is not None:
                return by_text
            if obj.__module__ == "__main__" or "<" in obj.__qualname__:  # <lambda>, <locals>
                return _by_value(obj)
        elif isinstance(obj, types.ModuleType):
            return importlib.import_module, (obj.__name__,)
        return NotImplemented


def _by_value(fn: types.FunctionType) -> tuple:
    """A reduce tuple that rebuilds ``fn`` from its code (marshal: the same interpreter runs the worker), the
    globals its code names, its defaults and its closure's values."""
    names = _names(fn.__code__)
    scope = {name: fn.__globals__[name] for name in names if name in fn.__globals__}
    closure = None if fn.__closure__ is None else tuple(cell.cell_contents for cell in fn.__closure__)
    return _rebuild_function, (marshal.dumps(fn.__code__), scope, fn.__name__, fn.__qualname__, fn.__defaults__,
                               fn.__kwdefaults__, closure, dict(fn.__dict__))


def _names(code: types.CodeType) -> set[str]:
    """The global (and attribute) names ``code`` and the functions defined in it read."""
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _names(const)
    return names


def _rebuild_function(code: bytes, scope: dict, name: str, qualname: str, defaults: tuple | None,
                      kwdefaults: dict | None, closure: tuple | None, attributes: dict) -> types.FunctionType:
    import builtins

    scope = {"__builtins__": builtins, **scope}
    cells = None if closure is None else tuple(types.CellType(v) for v in closure)
    fn = types.FunctionType(marshal.loads(code), scope, name, defaults, cells)
    fn.__qualname__, fn.__kwdefaults__ = qualname, kwdefaults
    fn.__dict__.update(attributes)
    return fn


def _dumps(payload: Any) -> bytes | None:
    """``payload`` pickled for a worker that does not share this process's memory, or None if it cannot be."""
    buffer = io.BytesIO()
    try:
        _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(payload)
    except Exception:  # noqa: BLE001 - a lock, an open file, a local class ...: the caller forks instead
        return None
    return buffer.getvalue()


def _loads(blob: bytes) -> Any:
    """``pickle.loads``, with sympy's automatic evaluation off: unpickling rebuilds each node with its class's
    constructor, which would otherwise simplify a tree built unevaluated (the textbook derivative ``swell``
    counts: 176 operations became 139). A tree built evaluated is already in that form and comes back alike."""
    if "sympy" not in sys.modules:
        return pickle.loads(blob)
    from sympy.core.parameters import evaluate

    with evaluate(False):
        return pickle.loads(blob)


class _Server:
    """This process's end of the fork server: one request at a time, each answered ``(kind, payload)``."""

    def __init__(self) -> None:
        from multiprocessing.connection import Connection

        request_r, request_w = os.pipe()
        answer_r, answer_w = os.pipe()
        code = f"from diffcompare.budget import serve; serve({request_r}, {answer_w})"
        # subprocess forks and at once executes a new interpreter, so no thread's lock is inherited (no
        # at-fork handler runs: JAX does not warn); its own session, so that killing it kills its workers too
        self.process = subprocess.Popen([sys.executable, "-c", code], pass_fds=(request_r, answer_w),
                                        stdin=subprocess.DEVNULL, start_new_session=True)
        os.close(request_r)
        os.close(answer_w)
        self.requests = Connection(request_w, readable=False)
        self.answers = Connection(answer_r, writable=False)
        self.lock = threading.Lock()
        self.ready = False

    def alive(self) -> bool:
        return self.process.poll() is None

    def run(self, blob: bytes, timeout: float, name: str) -> tuple[str, Any] | None:
        """The worker's answer, or None if the server could not start (the caller then forks itself)."""
        with self.lock:
            try:
                if not self.ready:
                    if not self.answers.poll(_SERVER_START_SECONDS):
                        raise TimeoutError
                    self.answers.recv()  # "ready"
                    self.ready = True
                self.requests.send((blob, timeout, name, list(sys.path), _cwd()))
                # the server stops its worker at `timeout`: the margin covers the stop and the answer's trip
                if not self.answers.poll(timeout + 3 * _GRACE_SECONDS + 30):
                    raise Timeout(f"{name} ran past its budget of {timeout:g} s (the fork server did not answer)")
                answer = self.answers.recv_bytes()
            except (EOFError, OSError, TimeoutError):
                self.close()
                return None
            except BaseException:  # Ctrl-C, or the server hung: its answer would come to the next request
                self.close()
                raise
        try:
            return pickle.loads(answer)
        except Exception as exc:  # noqa: BLE001 - e.g. an exception class this process cannot import
            return "unpicklable", f"the worker's answer could not be read here ({type(exc).__name__}: {exc})"

    def close(self) -> None:
        """Stop the server and the worker it may be running (they share a process group)."""
        try:
            os.killpg(self.process.pid, 9)
        except (ProcessLookupError, PermissionError):
            pass
        self.process.wait()
        self.requests.close()
        self.answers.close()


def _cwd() -> str | None:
    try:
        return os.getcwd()
    except OSError:  # the directory was removed under us: the server stays where it is
        return None


_SERVERS: list[_Server] = []
_SERVERS_LOCK = threading.Lock()


def _server() -> _Server:
    """This process's fork server, started on first use (and again if it died)."""
    with _SERVERS_LOCK:
        if not _SERVERS or not _SERVERS[0].alive():
            if not _SERVERS:
                atexit.register(_close_server)
            _SERVERS[:] = [_Server()]
        return _SERVERS[0]


def _close_server() -> None:
    for server in _SERVERS:
        if server.alive():
            server.close()


def serve(request_fd: int, answer_fd: int) -> None:
    """The fork server's loop: for each request, fork a worker (safe here: one thread), apply the budget, answer.

    Ends when the requesting process closes its end (it exited).
    """
    from multiprocessing.connection import Connection

    from diffcompare.backends.symbolic import warm_up

    requests = Connection(request_fd, writable=False)
    answers = Connection(answer_fd, readable=False)
    warm_up()  # sympy imported and warm once, in every worker forked from here
    answers.send("ready")
    fork = multiprocessing.get_context("fork")
    while True:
        try:
            blob, timeout, name, path, cwd = requests.recv()
        except (EOFError, OSError):
            return
        sys.path[:] = path  # the caller's: its functions pickled by reference are found here
        try:
            if cwd is not None:
                os.chdir(cwd)
        except OSError:
            pass
        try:
            answer = _run(fork, _worker_unpickling, (blob,), timeout, name)
        except BaseException as exc:  # noqa: BLE001 - Timeout, a dead worker: the caller's to raise
            answer = ("raise", exc)
        try:
            answers.send(answer)
        except Exception as exc:  # noqa: BLE001 - e.g. an exception that pickles but does not unpickle
            answers.send(("unpicklable", f"the worker's answer could not be sent back ({exc})"))
