"""One writer at a time for the embedded store.

Chroma's embedded store must not be written by two processes at once. Every write (ingest,
remove) holds an exclusive lock on a file in the data dir; a second writer waits a little
(``BRIEF_WRITE_WAIT_S``), then gets a clear ``StoreBusy`` instead of corrupting the store.
Threads of one process queue on an in-process lock first, within the same wait: a server's
writers never pile up behind a slow one and use up the threads its routes share.

A server holds ``ServeLock`` over its data dir for as long as it runs: it keeps its own copy
of the vector index in memory and would not see another process's writes, so a write from
any other process (``brief ingest`` in a shell) is refused with a message that says to add
documents through the server, and a second server on the same data dir does not start.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from pathlib import Path
from types import TracebackType

from assistant.errors import StoreBusy

_THREAD_LOCKS: dict[str, threading.Lock] = {}
_GUARD = threading.Lock()
#: Data dirs this process serves (``ServeLock``): its own writes to them go ahead.
_SERVED: set[str] = set()


class WriteLock:
    """Context manager holding the data dir's write lock."""

    def __init__(self, path: Path, enabled: bool = True, wait_s: float = 10.0) -> None:
        self.path = path
        self.enabled = enabled
        self.wait_s = wait_s
        self._fd: int | None = None
        self._serve_fd: int | None = None
        with _GUARD:
            self._thread_lock = _THREAD_LOCKS.setdefault(str(path), threading.Lock())

    def __enter__(self) -> WriteLock:
        if not self.enabled:
            return self
        # One deadline for both waits: a writer never queues behind another without end.
        deadline = time.monotonic() + self.wait_s
        if not self._thread_lock.acquire(timeout=self.wait_s):
            raise StoreBusy(
                f"another write to {self.path.parent} has not finished within "
                f"{self.wait_s:g} s; try again when it has"
            )
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            while True:
                try:
                    fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        holder = os.pread(self._fd, 32, 0).decode(errors="replace").strip()
                        raise StoreBusy(
                            f"another process (pid {holder or '?'}) is writing to "
                            f"{self.path.parent}; try again when it has finished"
                        ) from None
                    time.sleep(0.1)
            os.ftruncate(self._fd, 0)
            os.pwrite(self._fd, str(os.getpid()).encode(), 0)
            self._serve_fd = _not_served(self.path.parent)
        except BaseException:
            self._release()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.enabled:
            self._release()

    def _release(self) -> None:
        if self._serve_fd is not None:
            os.close(self._serve_fd)  # closing drops the shared lock
            self._serve_fd = None
        if self._fd is not None:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            finally:
                os.close(self._fd)
                self._fd = None
        if self._thread_lock.locked():
            self._thread_lock.release()


def _not_served(data_dir: Path) -> int | None:
    """Refuse a write to a data dir another process serves; else hold a shared lock on its
    serve lock for the write, so that no server starts over it meanwhile."""
    if str(data_dir.resolve()) in _SERVED:
        return None
    fd = os.open(data_dir / ServeLock.NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).decode(errors="replace").strip()
        os.close(fd)
        raise StoreBusy(
            f"the store in {data_dir} is served by a running server (pid {holder or '?'}), "
            "which would not see this change: add documents through it (the web chat or "
            "POST /api/v1/documents), or stop it first"
        ) from None
    return fd


class ServeLock:
    """Held by a server over its data dir while it runs (see the module's docstring)."""

    NAME = "serve.lock"

    def __init__(self, data_dir: Path, wait_s: float = 30.0) -> None:
        self.data_dir = data_dir
        self.wait_s = wait_s
        self._fd: int | None = None

    def acquire(self) -> ServeLock:
        """Take the lock, waiting ``wait_s`` for a write in progress elsewhere to finish."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.data_dir / self.NAME, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + self.wait_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    holder = os.pread(fd, 32, 0).decode(errors="replace").strip()
                    os.close(fd)
                    raise StoreBusy(
                        f"the store in {self.data_dir} is in use by another process "
                        f"(pid {holder or '?'}): another server, or a write that has not "
                        "finished; stop it or use another BRIEF_DATA_DIR"
                    ) from None
                time.sleep(0.2)
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._fd = fd
        _SERVED.add(str(self.data_dir.resolve()))
        return self

    def release(self) -> None:
        if self._fd is not None:
            _SERVED.discard(str(self.data_dir.resolve()))
            os.ftruncate(self._fd, 0)
            os.close(self._fd)
            self._fd = None
