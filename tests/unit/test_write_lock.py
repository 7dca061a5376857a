"""The store's write lock (``ingest/locking.py``) within one process."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest


def test_a_writer_waits_for_another_thread_a_bounded_time(tmp_path: Path) -> None:
    """A second writer of the same process gets ``StoreBusy`` after ``wait_s``; before, it
    queued on the in-process lock without end."""
    import time

    from assistant.errors import StoreBusy
    from ingest.locking import WriteLock

    path = tmp_path / "write.lock"
    held, done = threading.Event(), threading.Event()

    def hold() -> None:
        with WriteLock(path):
            held.set()
            done.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(5)
    try:
        started = time.monotonic()
        with (
            pytest.raises(StoreBusy, match=r"has not finished within 0\.3 s"),
            WriteLock(path, wait_s=0.3),
        ):
            pass
        assert time.monotonic() - started < 2
    finally:
        done.set()
        holder.join()
    with WriteLock(path, wait_s=0.3):  # free again: it goes ahead
        pass
