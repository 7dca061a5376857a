"""The load benchmark extended to a mixed workload held under load: asks, streams, uploads.

``python app.py`` over a fresh store with the seed article, on loopback, rate limit off, the
product's settings otherwise (so glibc's malloc keeps ``BRIEF_MALLOC_ARENA_MAX`` = 2 arenas).
32 clients, each choosing its next request at random (seeded): 70% ``POST /api/v1/ask`` with a
distinct question, 25% ``POST /api/v1/ask/stream`` read to its ``done`` event, 5% an upload to
``POST /api/v1/documents`` of one of ten reports whose text changes every time (so the store
keeps replacing documents, not growing). Every 5 s: the server's memory (resident set), the
machine's load average, the size of Chroma's vector index files, and how full the server's
bounded caches are (a thread started beside ``app.py`` in the server process reports them).

Warm-up is the phase in which those caches fill: 2,048 question passes (every question is new:
a minute or two), 4,096 alignments, and 1,024 sentence passes, which fill only as uploads bring
new best sentences (about one for every three uploads: 20-30 minutes at this workload). It ends
when all three are full, as measured; the load then goes on for ``--after`` minutes (15; the
issue asks for 5). Targets: 0 errors, and memory flat within 10% after warm-up (no leak): the
mean of the last minute against the mean of the minute after warm-up. Also reported: the
least-squares slope of memory (MB a minute) over the whole time after warm-up, where a leak
would show even if 10% were not reached.

Run from the repository root: ``.venv/bin/python bench/soak.py [--after 15] [--max-minutes 60]
[--clients 32]``; ``--malloc-arena-max 0`` runs the server with glibc's default arenas.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import numpy as np
from common import REPO, RESULTS, free_port, need_shared, start_app  # first: offline settings, path
from load import QUESTIONS, SEED, wait_until_ready

AFTER_MINUTES = 15.0
MAX_MINUTES = 60.0
#: The issue's "held for 5 minutes": at least this long under load after warm-up.
HELD_MINUTES = 5.0
SAMPLE_EVERY_S = 5.0
TARGET_GROWTH = 0.10

#: The server: ``app.py``, with a thread that writes how full its bounded caches are (JSON, to
#: the file named by argv[1]) every few seconds. It only reads lengths.
SERVER = """
import gc, json, runpy, sys, threading, time
from pathlib import Path

def watch(out):
    from assistant.answering.alignment import Aligner
    from assistant.index import embeddings
    aligner = None
    while True:
        time.sleep(2)
        if aligner is None:
            aligner = next((o for o in gc.get_objects() if isinstance(o, Aligner)), None)
        emb = next(iter(embeddings._shared.values()), None)
        if emb is None or aligner is None:
            continue
        out.write_text(json.dumps({
            "questions": [len(emb._queries), embeddings.QUERY_CACHE],
            "sentences": [len(emb._sentences), embeddings.SENTENCE_CACHE],
            "alignments": [len(aligner._cache), aligner._cache.maxsize],
        }))

threading.Thread(target=watch, args=(Path(sys.argv[1]),), daemon=True).start()
sys.argv = [sys.argv[2]]
sys.path.insert(0, str(Path(sys.argv[0]).parent))  # as "python app.py" would have it
runpy.run_path(sys.argv[0], run_name="__main__")
"""
CACHES = ("questions", "sentences", "alignments")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def report_text(k: int, version: int) -> bytes:
    return (
        f"Harbour report {k}, version {version}\n\n"
        f"The harbour office counted {100 + version} ships in berth {k} this week. "
        f"Dredging of berth {k} is planned for week {version % 52 + 1}.\n"
    ).encode()


async def client(
    http: httpx.AsyncClient, k: int, until: dict, stats: dict, rng: random.Random
) -> None:
    i = 0
    while time.perf_counter() < until["t"]:
        i += 1
        roll = rng.random()
        kind = "ask" if roll < 0.70 else "stream" if roll < 0.95 else "upload"
        question = f"{QUESTIONS[(k + i) % len(QUESTIONS)]} (ref {k}-{i})"
        started = time.perf_counter()
        try:
            if kind == "ask":
                r = await http.post("/api/v1/ask", json={"question": question})
                ok = r.status_code == 200 and "text" in r.json()
                detail = r.text[:200]
            elif kind == "stream":
                async with http.stream(
                    "POST", "/api/v1/ask/stream", json={"question": question}
                ) as r:
                    body = (await r.aread()).decode()
                ok = r.status_code == 200 and "event: done" in body and "event: error" not in body
                detail = body[-200:]
            else:
                doc = rng.randrange(10)
                files = {"files": (f"harbour-{doc}.txt", report_text(doc, i * 100 + k))}
                r = await http.post("/api/v1/documents", files=files)
                ok = r.status_code == 200 and r.json()["results"][0]["status"] == "ingested"
                detail = r.text[:200]
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            ok, detail = False, f"{type(exc).__name__}: {exc}"
        elapsed = time.perf_counter() - started
        if ok:
            stats[kind].append(elapsed)
        else:
            stats["errors"].append(
                f"{time.perf_counter() - until['start']:.0f} s, {kind}: {detail}"
            )


def _caches(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _mb(paths: list[Path]) -> float:
    return sum(p.stat().st_size for p in paths if p.exists()) / 2**20


async def run(
    url: str, pid: int, clients: int, after_s: float, max_s: float, caches: Path, store: Path
) -> dict:
    stats: dict = {"ask": [], "stream": [], "upload": [], "errors": []}
    rows: list[list] = []
    full_at: dict[str, float] = {}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as http:
        started = time.perf_counter()
        until = {"start": started, "t": started + max_s}
        warm_up = {"ends_s": None, "how": None}

        async def sample() -> None:
            while time.perf_counter() < until["t"]:
                t = time.perf_counter() - started
                state = _caches(caches) or {}
                for name in CACHES:
                    have, bound = state.get(name, (0, 1))
                    if have >= bound:
                        full_at.setdefault(name, t)
                if warm_up["ends_s"] is None and (
                    len(full_at) == len(CACHES) or t >= max_s - after_s
                ):
                    warm_up["ends_s"] = t
                    warm_up["how"] = "caches full" if len(full_at) == len(CACHES) else "time limit"
                    until["t"] = started + t + after_s
                rows.append(
                    [
                        round(t),
                        round(rss_mb(pid), 1),
                        round(os.getloadavg()[0], 2),
                        round(_mb(list(store.rglob("*.bin"))), 2),
                        *(state.get(name, [None])[0] for name in CACHES),
                    ]
                )
                await asyncio.sleep(SAMPLE_EVERY_S)

        await asyncio.gather(
            sample(),
            *(client(http, k, until, stats, random.Random(k)) for k in range(clients)),
        )
        elapsed = time.perf_counter() - started

    def latency(values: list[float]) -> dict:
        ms = np.array(values) * 1000
        return {
            "count": len(values),
            "per_s": len(values) / elapsed,
            "p50_ms": float(np.percentile(ms, 50)) if len(ms) else None,
            "p95_ms": float(np.percentile(ms, 95)) if len(ms) else None,
        }

    load = [row[2] for row in rows]
    return {
        "clients": clients,
        "seconds": elapsed,
        "asks": latency(stats["ask"]),
        "streams": latency(stats["stream"]),
        "uploads": latency(stats["upload"]),
        "errors": len(stats["errors"]),
        "error_samples": stats["errors"][:5],
        "load_average_1min": {"mean": float(np.mean(load)), "max": max(load)},
        "warm_up": {
            **warm_up,
            "caches_full_at_s": {name: round(t) for name, t in full_at.items()},
        },
        "rows": rows,
    }


def memory_figures(rows: list[list], warm_up_s: float, elapsed: float) -> dict:
    """Memory after warm-up: the minute after it and the last minute (means), their ratio - 1,
    and the least-squares slope in MB a minute over everything after it, and over each half."""
    samples = [(row[0], row[1]) for row in rows]
    after = [mb for t, mb in samples if warm_up_s <= t < warm_up_s + 60]
    last = [mb for t, mb in samples if t >= elapsed - 60]
    held = [(t, mb) for t, mb in samples if t >= warm_up_s]
    growth = float(np.mean(last) / np.mean(after) - 1) if after and last else None
    slope = None
    halves: list[float | None] = [None, None]
    if len(held) >= 3:
        t, mb = np.array(held).T
        slope = float(np.polyfit(t / 60, mb, 1)[0])
    if len(held) >= 6:
        # A leak grows at a steady rate; memory settling after warm-up grows ever slower.
        middle = len(held) // 2
        for i, part in enumerate((held[:middle], held[middle:])):
            t, mb = np.array(part).T
            halves[i] = float(np.polyfit(t / 60, mb, 1)[0])
    return {
        "at_start": samples[0][1],
        "after_warm_up_mean": float(np.mean(after)) if after else None,
        "last_minute_mean": float(np.mean(last)) if last else None,
        "max": max(mb for _, mb in samples),
        "growth": growth,
        "slope_mb_per_min": slope,
        "slope_first_half_mb_per_min": halves[0],
        "slope_second_half_mb_per_min": halves[1],
        "held_after_warm_up_s": max(0.0, elapsed - warm_up_s),
    }


def soak(after_minutes: float, max_minutes: float, clients: int, **env: str) -> dict:
    """Run the soak against the product's server with ``env``; the result."""
    from assistant.core import Assistant
    from assistant.settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        assert Assistant(Settings(data_dir=data)).ingest([SEED]).ok
        port = free_port()
        env = {"BRIEF_RATE_LIMIT_PER_MINUTE": "0", **env}
        caches = Path(tmp) / "caches.json"
        log = Path(tmp) / "server.log"
        with log.open("wb") as err:
            command = [sys.executable, "-c", SERVER, str(caches), str(REPO / "app.py")]
            proc = start_app(data, port, Path(tmp), command, stderr=err, **env)
            url = f"http://127.0.0.1:{port}"
            try:
                wait_until_ready(url)
                result = asyncio.run(
                    run(
                        url,
                        proc.pid,
                        clients,
                        after_minutes * 60,
                        max_minutes * 60,
                        caches,
                        data / "chroma",
                    )
                )
            finally:
                proc.terminate()
                proc.wait(timeout=60)
        server_log = log.read_text(errors="replace")
    rows = result.pop("rows")
    warm_up_s = result["warm_up"]["ends_s"]
    memory = memory_figures(rows, warm_up_s, result["seconds"])
    growth, slope = memory["growth"], memory["slope_mb_per_min"]
    return {
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "workload": "70% ask, 25% ask/stream (distinct questions on the seed article), "
        "5% upload replacing one of ten reports",
        "server_env": {k: v for k, v in env.items() if k.startswith(("BRIEF_", "MALLOC_"))},
        "machine": {
            "cores": os.cpu_count(),
            "note": "a machine shared with other work (see load_average_1min): requests/s and "
            "latencies are lower than on an idle one; compare memory, not throughput",
        },
        **result,
        "memory_mb": memory,
        "target": {
            "0 errors": result["errors"] == 0,
            f"held {HELD_MINUTES:g} minutes after warm-up": memory["held_after_warm_up_s"]
            >= HELD_MINUTES * 60,
            f"memory within {TARGET_GROWTH:.0%} after warm-up": growth is not None
            and abs(growth) <= TARGET_GROWTH,
        },
        "summary": f"{result['errors']} errors in {result['seconds'] / 60:.0f} minutes; warm-up "
        f"({result['warm_up']['how']}) {warm_up_s / 60:.1f} minutes; memory "
        f"{memory['after_warm_up_mean']:.0f} MB in the minute after it, "
        f"{memory['last_minute_mean']:.0f} MB in the last ({growth:+.1%}); "
        f"slope after warm-up {slope:+.2f} MB/min",
        "server_stderr_tail": server_log[-3000:] if result["errors"] else "",
        "samples": {
            "columns": ["s", "rss_mb", "load_1min", "vector_index_mb", *CACHES],
            "rows": rows,
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument(
        "--after", type=float, default=AFTER_MINUTES, help="minutes of load after warm-up"
    )
    parser.add_argument(
        "--max-minutes",
        type=float,
        default=MAX_MINUTES,
        help="longest run: warm-up ends at this minus --after even if the caches are not full",
    )
    parser.add_argument(
        "--malloc-arena-max",
        type=int,
        default=None,
        help="BRIEF_MALLOC_ARENA_MAX for the server (default: the product's, 2; 0: glibc's)",
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "soak.json")
    args = parser.parse_args()
    if args.after < HELD_MINUTES or args.max_minutes <= args.after:
        parser.error(f"--after must be at least {HELD_MINUTES:g} and below --max-minutes")
    need_shared(SEED)
    env = {}
    if args.malloc_arena_max is not None:
        env["BRIEF_MALLOC_ARENA_MAX"] = str(args.malloc_arena_max)
    result = soak(args.after, args.max_minutes, args.clients, **env)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    summary = {k: v for k, v in result.items() if k not in ("memory_mb", "samples")}
    print(json.dumps({**summary, "memory_mb": result["memory_mb"]}, indent=2))


if __name__ == "__main__":
    main()
