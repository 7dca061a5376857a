"""The reader's side of ``ingest.sandbox``: a child process that parses files within limits.

``ingest.sandbox`` starts it as ``python -m ingest.reader MEMORY_MB``. It limits its own
address space to ``MEMORY_MB`` and, for each file, its CPU time to the file's time limit plus
5 s (so that it ends even if the parent cannot kill it), then reads the files sent on stdin
until that closes, one reply each. A read that ends near the memory limit, or whose error
reads like running out of memory, is reported as ``memory``, and the reader ends after it.

Both sides speak in frames: a JSON header and a byte payload, both length-prefixed; the
functions for them are here, with the conversion of ``Extracted`` to and from JSON.
"""

from __future__ import annotations

import json
import os
import re
import select
import signal
import struct
import sys
import time
import traceback
from typing import Any

from assistant.errors import IngestError
from ingest.loaders import Extracted, load_bytes
from ingest.normalize import Block

#: Peak address space, as a share of the limit, above which a failed read is put down to memory.
NEAR_LIMIT = 0.9
#: How parsers word running out of memory when they catch it themselves (lxml, pypdf).
_OUT_OF_MEMORY = re.compile(r"MemoryError|memory allocation failed|out of memory", re.I)
_HEADER = struct.Struct("!II")


# --- framing: a JSON header and a byte payload, both length-prefixed -------------------------


def write_frame(fd: int, header: dict[str, Any], payload: bytes = b"") -> None:
    head = json.dumps(header).encode()
    data = memoryview(_HEADER.pack(len(head), len(payload)) + head + payload)
    while data:
        data = data[os.write(fd, data) :]


def read_frame(fd: int, deadline: float | None) -> tuple[dict[str, Any], bytes]:
    head_len, payload_len = _HEADER.unpack(_read_exact(fd, _HEADER.size, deadline))
    header = json.loads(_read_exact(fd, head_len, deadline))
    return header, _read_exact(fd, payload_len, deadline)


def _read_exact(fd: int, size: int, deadline: float | None) -> bytes:
    chunks = []
    while size > 0:
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                raise TimeoutError
        chunk = os.read(fd, min(size, 1 << 20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def extracted_to_json(extracted: Extracted) -> dict[str, Any]:
    return {
        "blocks": [vars(block) for block in extracted.blocks],
        "title": extracted.title,
        "date": extracted.date,
        "kind": extracted.kind,
        "extra": extracted.extra,
    }


def extracted_from_json(data: dict[str, Any]) -> Extracted:
    blocks = [Block(**{**b, "heading": tuple(b.get("heading", ()))}) for b in data["blocks"]]
    return Extracted(
        blocks=blocks,
        title=data["title"],
        date=data["date"],
        kind=data["kind"],
        extra=data["extra"],
    )


# --- the reader's side -------------------------------------------------------------------------


def serve(memory_mb: int) -> None:
    """Read files sent on stdin until it closes; one reply on the original stdout each."""
    import resource

    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    replies = os.dup(1)
    os.dup2(2, 1)  # a parser's stray print() must not garble the replies
    while True:
        try:
            request, data = read_frame(0, None)
        except EOFError:
            return
        reply = _read_request(request, data, limit)
        del data
        write_frame(replies, reply)
        if reply["status"] == "memory":
            return  # a heap that ran out is not worth keeping


def _read_request(request: dict[str, Any], data: bytes, limit: int) -> dict[str, Any]:
    import resource

    # Our own CPU limit for this file: if the parent is gone and cannot kill us, it still ends.
    used = sum(resource.getrusage(resource.RUSAGE_SELF)[:2])
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    resource.setrlimit(resource.RLIMIT_CPU, (int(used + request["timeout_s"]) + 5, hard))
    if request.get("measure"):
        _reset_peak()
    reply: dict[str, Any]
    try:
        extracted = load_bytes(
            data,
            request["name"],
            suffix=request["suffix"],
            max_pages=request["max_pages"],
            max_unzipped=request["max_unzipped"],
            max_chars=request["max_chars"],
            url=request["url"],
        )
        reply = {"status": "ok", "extracted": extracted_to_json(extracted)}
    except IngestError as exc:
        reply = {"status": "error", "error": type(exc).__name__, "message": str(exc)}
    except MemoryError:
        reply = {"status": "memory"}
    except Exception as exc:
        reply = {
            "status": "unexpected",
            "error": type(exc).__name__,
            "message": str(exc)[:500],
            "detail": traceback.format_exc(limit=-10),
        }
    status = _memory_status()
    reply["rss_mb"] = status.get("VmRSS", 0) / 1024
    if request.get("measure"):
        reply["peak_mb"] = status.get("VmHWM", 0) / 1024
    ran_out = status.get("VmPeak", 0) * 1024 >= NEAR_LIMIT * limit or bool(
        _OUT_OF_MEMORY.search(str(reply.get("message", "")))
    )
    if reply["status"] in ("error", "unexpected") and ran_out:
        reply = {**reply, "status": "memory"}
    return reply


def _memory_status() -> dict[str, int]:
    """VmPeak, VmHWM, VmRSS... of this process in KB (empty where /proc is missing)."""
    try:
        with open("/proc/self/status") as f:
            return {
                key: int(value.split()[0])
                for key, _, value in (line.partition(":") for line in f)
                if key.startswith("Vm") and value.strip()
            }
    except OSError:
        return {}


def _reset_peak() -> None:
    """Start VmHWM afresh, so that it measures one file (Linux 4.0+)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


if __name__ == "__main__":
    serve(int(sys.argv[1]))
