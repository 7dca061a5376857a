"""How the serving process asks the C allocator to keep its memory: fewer per-thread pools.

glibc's ``malloc`` gives threads their own pools ("arenas"), up to eight per core. A server
answers on dozens of threads (uvicorn's thread pool, the embedder's workers, Chroma's and
torch's own), and memory freed in one pool is not reused by another or given back, so the
resident set keeps growing after the work has stopped growing. The README's soak section
(``bench/soak.py``) has the figures with glibc's default and with two arenas.

``limit_malloc_arenas`` applies ``BRIEF_MALLOC_ARENA_MAX`` with ``mallopt(M_ARENA_MAX, n)``.
glibc fixes its arena limit the first time a ninth arena would be made, so the call must come
early in the serving process, before its threads start: ``serve``
(``assistant/faces/serve.py``) and a worker (``assistant/faces/http/workers.py``) make it first.
On other C libraries (musl, macOS, Windows) it does nothing.
"""

from __future__ import annotations

import ctypes
import logging
import sys

log = logging.getLogger("briefing.memory")

#: ``M_ARENA_MAX`` in glibc's ``<malloc.h>``.
M_ARENA_MAX = -8


def _glibc() -> ctypes.CDLL | None:
    """The process's C library if it is glibc, else None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None)  # the symbols already loaded into this process
        libc.gnu_get_libc_version  # noqa: B018 - glibc only; musl has no such function
        libc.mallopt  # noqa: B018
    except (OSError, AttributeError):
        return None
    return libc


def limit_malloc_arenas(n: int) -> bool:
    """Let glibc's ``malloc`` use at most ``n`` arenas in this process; ``n`` 0 leaves glibc's
    own choice (eight per core, or the ``MALLOC_ARENA_MAX`` environment variable).

    Returns True when the limit was set; False for 0, on a C library that is not glibc, or if
    glibc refused it.
    """
    if n <= 0:
        return False
    libc = _glibc()
    if libc is None:
        log.debug("not glibc: malloc arenas left as they are")
        return False
    libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    libc.mallopt.restype = ctypes.c_int
    ok = bool(libc.mallopt(M_ARENA_MAX, n))
    if not ok:
        log.warning("glibc refused mallopt(M_ARENA_MAX, %d)", n)
    return ok
