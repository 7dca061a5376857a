"""Reading a file from anyone within a time and a memory bound: parsers run in reader processes.

Measured on hostile and on merely large files (``tests/test_fuzz_loaders.py``,
``bench/fuzz.py``): a 430 KB DOCX whose XML unpacks to 136 MB ran over 90 s and took 2.4 GB; a
47 MB HTML page took 2.5 GB and over 90 s; pypdf needs about 5 s for a page that draws a 1 MB
content stream, which every page of a file may share; markdown-it needs 7 s for 16 KB of
``>>`` lines between plain ones and 148 s for 64 KB; trafilatura 26 s for a 550 KB page of
nested table cells. The loaders refuse what can be seen up front (a page tree of 100,000
pages, a zip that declares gigabytes), but how long a parser runs on the rest cannot be known
without running it. So every file but small plain text (PDF, DOCX, HTML, Markdown, and text
over ``IN_PROCESS_BYTES``) is parsed in a child process with an address-space limit
(``Limits.memory_mb``) and a wall-clock limit (``Limits.timeout_s``). A child that runs over
is killed and replaced, and the file fails with ``TooLarge``; a parser that crashes (a
segfault in C code) costs the child, never this process, and the file fails with
``CorruptFile``. Whatever a loader raises that is not an ``IngestError`` comes back as
``ReaderFailed``, a ``CorruptFile`` with the original type in its reason.

Children are plain ``python -m ingest.reader`` processes (what multiprocessing's 'spawn'
context does, without re-importing the caller's ``__main__``): started on first use, kept and
reused, at most ``POOL_SIZE`` at once. A file costs about a millisecond of pipe traffic on top
of its parse. Small plain-text files stay in this process: their loader is linear and light
(64 KB of the slowest text measured reads in 0.03 s), and bulk ingests are made of them.

This module is the parent's side (the pool, limits and outcomes); ``ingest/reader.py`` is what
runs in the children, and the framing both sides speak.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any

from assistant import errors
from assistant.errors import CorruptFile, IngestError, TooLarge
from ingest.loaders import Extracted, load_bytes, loader_for
from ingest.reader import extracted_from_json, read_frame, write_frame

#: Plain-text files up to this many bytes are read in this process.
IN_PROCESS_BYTES = 64_000
IN_PROCESS_SUFFIXES = frozenset({".txt", ".text"})
#: Reader processes alive at most (one ingest reads one file at a time).
POOL_SIZE = 2
#: A reader is replaced after this many files, or when it holds more than half its memory
#: limit after one: parsers' caches and the heap of a large file stay behind.
FILES_PER_READER = 500
_ERRORS = {
    cls.__name__: cls
    for cls in vars(errors).values()
    if isinstance(cls, type) and issubclass(cls, IngestError)
}


class ReaderFailed(CorruptFile):
    """A loader failed with an exception of its own rather than a named ``IngestError``.

    For the user it reads as a damaged file; ``bench/fuzz.py`` counts these as bugs to fix.
    """


@dataclass(frozen=True)
class Limits:
    """What reading one file may take."""

    max_pages: int = 2000
    max_unzipped: int = 200 * 2**20
    max_chars: int | None = None
    timeout_s: float = 120.0
    memory_mb: int = 1024


@dataclass
class Outcome:
    """How reading one file in a reader process ended.

    ``status`` is ``ok`` (``extracted`` is set), ``error`` (a named ``IngestError``),
    ``unexpected`` (any other exception; ``detail`` holds its traceback), ``timeout``,
    ``memory`` or ``crash`` (the reader died on its own; ``detail`` names the signal).
    """

    status: str
    extracted: Extracted | None = None
    error: IngestError | None = None
    seconds: float = 0.0
    #: Peak resident memory of the reader during this file (only when asked to measure).
    peak_mb: float | None = None
    detail: str = ""

    def result(self) -> Extracted:
        """The extracted document, or the named error that reading it ended with."""
        if self.extracted is not None:
            return self.extracted
        assert self.error is not None
        raise self.error


def load_bounded(
    data: bytes,
    name: str,
    suffix: str | None = None,
    url: str | None = None,
    limits: Limits | None = None,
) -> Extracted:
    """``ingest.loaders.load_bytes`` within ``limits``; every failure is an ``IngestError``."""
    limits = limits or Limits()
    suffix = (suffix or PurePath(name).suffix).lower()
    loader_for(suffix)  # an unsupported type is refused before any process is involved
    if reads_in_process(suffix, len(data)):
        return _read_here(data, name, suffix, limits)
    return reader_pool().read(data, name, suffix, url=url, limits=limits).result()


def reads_in_process(suffix: str, size: int) -> bool:
    """Whether ``load_bounded`` reads a file of this type and size in this process."""
    return suffix.lower() in IN_PROCESS_SUFFIXES and size <= IN_PROCESS_BYTES


def _read_here(data: bytes, name: str, suffix: str, limits: Limits) -> Extracted:
    try:
        return load_bytes(data, name, suffix=suffix, max_chars=limits.max_chars)
    except IngestError:
        raise
    except Exception as exc:
        raise ReaderFailed(f"could not read it ({type(exc).__name__}: {exc})") from exc


class ReaderPool:
    """Reader processes, started on demand and reused; safe to share between threads."""

    def __init__(self, size: int = POOL_SIZE) -> None:
        self._size = size
        self._idle: list[_Reader] = []
        self._all: set[_Reader] = set()
        self._busy = 0
        self._cond = threading.Condition()
        self._closed = False

    def read(
        self,
        data: bytes,
        name: str,
        suffix: str,
        url: str | None = None,
        limits: Limits | None = None,
        measure: bool = False,
    ) -> Outcome:
        """Read one file in a reader process; never raises for anything the file does.

        ``measure`` also records the reader's peak resident memory for this file.
        """
        limits = limits or Limits()
        request = {
            "name": name,
            "suffix": suffix,
            "url": url,
            "max_pages": limits.max_pages,
            "max_unzipped": limits.max_unzipped,
            "max_chars": limits.max_chars,
            "timeout_s": limits.timeout_s,
            "measure": measure,
        }
        started = time.monotonic()
        for attempt in (1, 2):
            reader = self._acquire(limits.memory_mb)
            keep = False
            try:
                outcome, keep = reader.read(request, data, limits)
            finally:
                self._release(reader, keep)
            # A reader found dead before it took the file (killed while idle) is not the
            # file's fault: one more try with a fresh one.
            if outcome is not None:
                break
            if attempt == 2:
                outcome = Outcome("crash", detail="reader process not accepting work")
        assert outcome is not None
        outcome.seconds = time.monotonic() - started
        if outcome.error is None and outcome.extracted is None:
            outcome.error = _error_for(outcome, limits)
        return outcome

    def close(self) -> None:
        """Stop every reader process; readers busy with a file are killed."""
        with self._cond:
            self._closed = True
            idle, self._idle = self._idle, []
            self._cond.notify_all()
        for reader in idle:
            reader.close()
        for reader in list(self._all):
            reader.kill()

    def _acquire(self, memory_mb: int) -> _Reader:
        with self._cond:
            while True:
                if self._closed:
                    raise IngestError("the reader processes are shut down")
                for reader in self._idle:
                    if reader.memory_mb == memory_mb:
                        self._idle.remove(reader)
                        self._busy += 1
                        return reader
                if self._busy + len(self._idle) < self._size:
                    self._busy += 1
                    break
                if self._idle:  # idle, but started with another memory limit
                    self._idle.pop(0).close()
                    continue
                self._cond.wait()
        try:
            reader = _Reader(memory_mb)
        except OSError as exc:
            with self._cond:
                self._busy -= 1
                self._cond.notify()
            raise IngestError(f"could not start a reader process ({exc})") from exc
        self._all.add(reader)
        return reader

    def _release(self, reader: _Reader, keep: bool) -> None:
        with self._cond:
            self._busy -= 1
            keep = keep and not self._closed
            if keep:
                self._idle.append(reader)
            else:
                self._all.discard(reader)
            self._cond.notify()
        if not keep:
            reader.close()


class _Reader:
    """One reader process and its two pipes."""

    def __init__(self, memory_mb: int) -> None:
        self.memory_mb = memory_mb
        self.files = 0
        root = str(Path(__file__).resolve().parents[1])
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])),
        }
        # -P: the user's current folder is not put on the import path, so an ``ingest.py`` or
        # ``ingest/`` where ``brief`` runs cannot stand in for this package in the reader.
        self.proc = subprocess.Popen(
            [sys.executable, "-P", "-m", "ingest.reader", str(memory_mb)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            bufsize=0,
            env=env,
            start_new_session=True,  # Ctrl-C in a terminal is for the parent to handle
        )

    def read(
        self, request: dict[str, Any], data: bytes, limits: Limits
    ) -> tuple[Outcome | None, bool]:
        """The outcome of one file (``None``: the reader was dead before it took it), and
        whether the reader may read another."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        deadline = time.monotonic() + limits.timeout_s
        try:
            write_frame(self.proc.stdin.fileno(), request, data)
        except OSError:
            self.kill()
            return None, False
        try:
            reply, _ = read_frame(self.proc.stdout.fileno(), deadline)
        except TimeoutError:
            self.kill()
            return Outcome("timeout"), False
        except (EOFError, OSError, ValueError):
            return self._died(), False
        self.files += 1
        outcome = _outcome_from(reply)
        keep = (
            outcome.status in ("ok", "error")
            and self.files < FILES_PER_READER
            and reply.get("rss_mb", 0) < self.memory_mb / 2
        )
        return outcome, keep

    def _died(self) -> Outcome:
        try:
            code = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.kill()
            code = self.proc.returncode
        if code is not None and code < 0:
            sig = signal.Signals(-code)
            if sig == signal.SIGXCPU:  # its own CPU limit, the net under our deadline
                return Outcome("timeout")
            if sig == signal.SIGKILL:  # not ours: the kernel's out-of-memory killer
                return Outcome("memory")
            return Outcome("crash", detail=sig.name)
        return Outcome("crash", detail=f"exit status {code}")

    def close(self) -> None:
        """Ask the reader to stop (end of its input), then make sure it has."""
        try:
            if self.proc.stdin is not None:
                self.proc.stdin.close()
            self.proc.wait(timeout=2)
        except (OSError, subprocess.TimeoutExpired):
            pass
        self.kill()

    def kill(self) -> None:
        """End the reader now (if it has not ended) and let go of its pipes."""
        if self.proc.returncode is None:  # not reaped yet, so the pid is still its own
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                pipe.close()


def _outcome_from(reply: dict[str, Any]) -> Outcome:
    status = reply["status"]
    outcome = Outcome(status, peak_mb=reply.get("peak_mb"), detail=reply.get("detail", ""))
    if status == "ok":
        outcome.extracted = extracted_from_json(reply["extracted"])
    elif status == "error":
        cls = _ERRORS.get(reply.get("error", ""), IngestError)
        outcome.error = cls(reply.get("message", ""))
    elif status == "unexpected":
        outcome.error = ReaderFailed(f"could not read it ({reply['error']}: {reply['message']})")
    return outcome


def _error_for(outcome: Outcome, limits: Limits) -> IngestError:
    if outcome.status == "timeout":
        return TooLarge(
            f"took longer than {limits.timeout_s:g} s to read, the limit: it is very large, "
            "or built to stall a reader"
        )
    if outcome.status == "memory":
        return TooLarge(f"needed more than {limits.memory_mb:,} MB of memory to read, the limit")
    return CorruptFile(f"the reader crashed on it ({outcome.detail}); the file is likely damaged")


_POOL: ReaderPool | None = None
_POOL_PID = 0
_POOL_LOCK = threading.Lock()


def reader_pool() -> ReaderPool:
    """The process's pool of readers (a forked child gets its own, never its parent's)."""
    global _POOL, _POOL_PID
    with _POOL_LOCK:
        if _POOL is None or os.getpid() != _POOL_PID:
            _POOL, _POOL_PID = ReaderPool(), os.getpid()
            atexit.register(_POOL.close)
        return _POOL
