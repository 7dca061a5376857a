"""One writer at a time for the embedded store.

Chroma's embedded store must not be written by two processes at once. Every write (ingest,
remove) holds an exclusive lock on a file in the data dir; a second writer waits a little,
then gets a clear ``StoreBusy`` instead of corrupting the store. Threads of one process queue
on an in-process lock first.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from pathlib import Path
from types import TracebackType

_THREAD_LOCKS: dict[str, threading.Lock] = {}
_GUARD = threading.Lock()


class StoreBusy(RuntimeError):
    """Another process is writing to the same data dir."""


class WriteLock:
    """Context manager holding the data dir's write lock."""

    def __init__(self, path: Path, enabled: bool = True, wait_s: float = 10.0) -> None:
        self.path = path
        self.enabled = enabled
        self.wait_s = wait_s
        self._fd: int | None = None
        with _GUARD:
            self._thread_lock = _THREAD_LOCKS.setdefault(str(path), threading.Lock())

    def __enter__(self) -> WriteLock:
        if not self.enabled:
            return self
        self._thread_lock.acquire()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            deadline = time.monotonic() + self.wait_s
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
        if self._fd is not None:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            finally:
                os.close(self._fd)
                self._fd = None
        if self._thread_lock.locked():
            self._thread_lock.release()
