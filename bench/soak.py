"""The load benchmark extended to a mixed workload held for 5 minutes: asks, streams, uploads.

``python app.py`` over a fresh store with the seed article, on loopback, rate limit off. 32
clients, each choosing its next request at random (seeded): 70% ``POST /api/v1/ask`` with a
distinct question, 25% ``POST /api/v1/ask/stream`` read to its ``done`` event, 5% an upload to
``POST /api/v1/documents`` of one of ten reports whose text changes every time (so the store
keeps replacing documents, not growing). The server's memory (resident set) is sampled every
5 s. Targets: 0 errors, and memory flat within 10% after warm-up (no leak): the mean of the
last minute against the mean of the minute after warm-up (the first 90 s, in which the model,
the indexes and the bounded caches fill).

Run from the repository root: ``.venv/bin/python bench/soak.py [--minutes 5] [--clients 32]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import numpy as np
from common import RESULTS, free_port, start_app  # first: offline settings, path
from load import QUESTIONS, SEED, wait_until_ready

WARM_UP_S = 90.0
SAMPLE_EVERY_S = 5.0
TARGET_GROWTH = 0.10


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
    http: httpx.AsyncClient, k: int, until: float, stats: dict, rng: random.Random
) -> None:
    i = 0
    while time.perf_counter() < until:
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
            stats["errors"].append(f"{kind}: {detail}")


async def run(url: str, pid: int, clients: int, seconds: float) -> dict:
    stats: dict = {"ask": [], "stream": [], "upload": [], "errors": []}
    memory: list[tuple[float, float]] = []
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as http:
        started = time.perf_counter()
        until = started + seconds

        async def sample() -> None:
            while time.perf_counter() < until:
                memory.append((time.perf_counter() - started, rss_mb(pid)))
                await asyncio.sleep(SAMPLE_EVERY_S)

        await asyncio.gather(
            sample(),
            *(client(http, k, until, stats, random.Random(k)) for k in range(clients)),
        )
        elapsed = time.perf_counter() - started
    after = [mb for t, mb in memory if WARM_UP_S <= t < WARM_UP_S + 60]
    last = [mb for t, mb in memory if t >= elapsed - 60]
    growth = float(np.mean(last) / np.mean(after) - 1) if after and last else None

    def latency(values: list[float]) -> dict:
        ms = np.array(values) * 1000
        return {
            "count": len(values),
            "per_s": len(values) / elapsed,
            "p50_ms": float(np.percentile(ms, 50)) if len(ms) else None,
            "p95_ms": float(np.percentile(ms, 95)) if len(ms) else None,
        }

    return {
        "clients": clients,
        "seconds": elapsed,
        "asks": latency(stats["ask"]),
        "streams": latency(stats["stream"]),
        "uploads": latency(stats["upload"]),
        "errors": len(stats["errors"]),
        "error_samples": stats["errors"][:5],
        "memory_mb": {
            "samples": [(round(t), round(mb, 1)) for t, mb in memory],
            "after_warm_up_mean": float(np.mean(after)) if after else None,
            "last_minute_mean": float(np.mean(last)) if last else None,
            "max": max(mb for _, mb in memory) if memory else None,
            "growth": growth,
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--minutes", type=float, default=5.0)
    args = parser.parse_args()

    from assistant.core import Assistant
    from assistant.settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        assert Assistant(Settings(data_dir=data)).ingest([SEED]).ok
        port = free_port()
        proc = start_app(data, port, Path(tmp), BRIEF_RATE_LIMIT_PER_MINUTE="0")
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until_ready(url)
            result = asyncio.run(run(url, proc.pid, args.clients, args.minutes * 60))
        finally:
            proc.terminate()
            proc.wait(timeout=60)

    growth = result["memory_mb"]["growth"]
    result = {
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "workload": "70% ask, 25% ask/stream (distinct questions on the seed article), "
        "5% upload replacing one of ten reports",
        **result,
        "target": {
            "0 errors": result["errors"] == 0,
            f"memory within {TARGET_GROWTH:.0%} after warm-up": growth is not None
            and abs(growth) <= TARGET_GROWTH,
        },
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "soak.json").write_text(json.dumps(result, indent=2))
    summary = {k: v for k, v in result.items() if k != "memory_mb"}
    print(json.dumps({**summary, "memory_growth": growth}, indent=2))


if __name__ == "__main__":
    main()
