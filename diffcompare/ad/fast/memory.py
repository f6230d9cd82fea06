"""Large float64 buffers, reused from one gradient to the next instead of faulted in afresh.

glibc hands large freed blocks back to the kernel, and on a virtual machine a page fault costs
more than the arithmetic on the page (1-2 µs per 4 KiB page on the 2-core VM this was measured on:
a gradient at n = 10^5 spent most of its time faulting in its own arrays). A training loop asks for
the same arrays on every call, so reverse mode takes its large arrays from here, and they come back
once nobody holds them.

Safety rests on reference counts: a buffer goes back on the free list only when a scan finds that
the list of lent buffers holds the only reference to it: no user, no tape, no view can reach it
any more, so it is garbage that nobody else can see. A buffer found in use is forgotten (it is the
user's now, and Python frees it as usual). Scans run when a lean recording starts and whenever many
buffers are out. One pool per thread; at most ``MAX_FREE_BYTES`` are kept; :func:`release` empties it.
"""

from __future__ import annotations

import math
import sys
import threading

import numpy as np

from diffcompare.ad.fast import refcount

MIN_SIZE = 1 << 14  # elements: smaller arrays come from numpy and malloc's own free lists
MAX_FREE_BYTES = 256 << 20  # kept on the free lists at most; beyond that, buffers are let go
SCAN_EVERY = 64  # lent buffers between scans, so the lent list stays short
_F64 = np.dtype(np.float64)
_LOOK_BACK = 8  # the most recently lent buffers, looked at for a dropped one before the free list


class _Pool(threading.local):
    def __init__(self) -> None:
        self.free: dict[tuple[int, ...], list[np.ndarray]] = {}
        self.free_bytes = 0
        self.lent: list[np.ndarray] = []


_pool = _Pool()


def empty(shape: tuple[int, ...]) -> np.ndarray:
    """An uninitialised float64 array of ``shape``: a free buffer of that shape if there is one."""
    if not refcount.REFCOUNTS_EXACT or math.prod(shape) < MIN_SIZE:  # the pool trusts reference counts
        return np.empty(shape)
    pool = _pool
    lent = pool.lent
    # first a buffer lent a moment ago and dropped since (a temporary of f's): the warmest in cache
    for i in range(len(lent) - 1, max(len(lent) - _LOOK_BACK, 0) - 1, -1):
        buf = lent[i]
        # three references: the lent list, this name, getrefcount's argument
        if buf.shape == shape and sys.getrefcount(buf) <= 3 and _intact(buf):
            return buf
    buf = None  # (a name left on a buffer would keep recycle() from taking it back)
    stack = pool.free.get(shape)
    if stack:
        buf = stack.pop()
        pool.free_bytes -= buf.nbytes
    else:
        if len(lent) >= SCAN_EVERY:
            recycle()
        buf = np.empty(shape)
    pool.lent.append(buf)
    return buf


def _intact(buf: np.ndarray) -> bool:
    """Still a writable C-ordered float64 buffer: a result handed out may have been frozen
    (``flags.writeable = False``) or given another dtype by its user before being dropped."""
    return buf.dtype is _F64 and buf.flags.writeable and buf.flags.c_contiguous


def give_back(buf: np.ndarray) -> None:
    """Put a buffer this pool lent back on the free list now, if the caller's one name is the last
    reference to it besides the lent list.

    A buffer used and dropped within one gradient is the warmest in cache: the next ``empty`` of its
    shape takes it (the free lists are stacks), instead of writing into memory the caches have lost.
    Arrays numpy allocated are left to numpy: taken in, they would pile up on free lists of shapes
    nobody asks for, while malloc faulted in fresh memory for their successors.
    """
    # four references: the lent list, the caller's name, this parameter, getrefcount's argument
    if not refcount.REFCOUNTS_EXACT or buf.size < MIN_SIZE or sys.getrefcount(buf) != 4 or not _intact(buf):
        return
    pool = _pool
    lent = pool.lent
    for i in range(len(lent) - 1, -1, -1):
        if lent[i] is buf:
            if pool.free_bytes + buf.nbytes <= MAX_FREE_BYTES:
                del lent[i]
                pool.free.setdefault(buf.shape, []).append(buf)
                pool.free_bytes += buf.nbytes
            return


def zeros(shape: tuple[int, ...]) -> np.ndarray:
    buf = empty(shape)
    buf.fill(0.0)
    return buf


def recycle() -> None:
    """Put every lent buffer that nobody else holds back on the free list; forget the others."""
    pool = _pool
    lent, pool.lent = pool.lent, []
    for buf in lent:
        # three references: the lent list, this loop's name, getrefcount's argument
        if sys.getrefcount(buf) <= 3 and _intact(buf) and pool.free_bytes + buf.nbytes <= MAX_FREE_BYTES:
            pool.free.setdefault(buf.shape, []).append(buf)
            pool.free_bytes += buf.nbytes


def release() -> None:
    """Let go of every cached buffer of this thread (the memory goes back to the allocator)."""
    pool = _pool
    pool.free.clear()
    pool.free_bytes = 0
    pool.lent = []


def cached_bytes() -> int:
    """Bytes held on this thread's free lists."""
    return _pool.free_bytes


def lent_count() -> int:
    """Buffers this thread's pool has lent and not yet seen come back (a scan keeps this below ~SCAN_EVERY)."""
    return len(_pool.lent)
