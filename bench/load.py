"""A bounded load on the HTTP API: 32 concurrent clients asking for 60 s, on loopback.

The server runs over a fresh store holding the seed article (offline answerer, rate limit off
for the run); each client asks questions about the article in turn through
``POST /api/v1/ask`` and waits for the answer before asking again. Reported: requests/s,
p50/p95/p99 latency and errors. Target: 0 errors and p95 under 1 s.

Three runs of the same length, side by side: one process (``python app.py``) with the
questions asked in turn; the same with every question's text made distinct, so that no cache
of repeated questions helps; and ``brief serve --workers 2`` with distinct questions.

Run from the repository root: ``.venv/bin/python bench/load.py [--clients 32] [--seconds 60]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import numpy as np
from common import RESULTS, SHARED, free_port, need_shared, start_app  # first: offline env

os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"
SEED = SHARED / "corpus" / "seed" / "000_0edca9b518269310.txt"
QUESTIONS = [
    "Who founded DeepSeek?",
    "Which chips did DeepSeek use?",
    "How much did R1 reportedly cost to develop?",
    "What did Marc Andreessen say about DeepSeek?",
    "Who said that US export controls are ineffective?",
    "What did Lennart Heim say about training costs?",
    "How big is Trump's Stargate project?",
    "Where is DeepSeek based?",
    "What is the capital of Peru?",
]
TARGET_P95_S = 1.0


async def client(
    http: httpx.AsyncClient,
    offset: int,
    until: float,
    latencies: list,
    errors: list,
    distinct: bool,
) -> None:
    i = offset
    while time.perf_counter() < until:
        question = QUESTIONS[i % len(QUESTIONS)]
        if distinct:  # never the same text twice: no cache can help
            question = f"{question} (ref {offset}-{i})"
        i += 1
        started = time.perf_counter()
        try:
            r = await http.post("/api/v1/ask", json={"question": question})
            if r.status_code != 200 or "text" not in r.json():
                errors.append(f"{r.status_code}: {r.text[:200]}")
                continue
        except httpx.HTTPError as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
            continue
        latencies.append(time.perf_counter() - started)


async def run_load(url: str, clients: int, seconds: float, distinct: bool) -> dict:
    latencies: list[float] = []
    errors: list[str] = []
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as http:
        started = time.perf_counter()
        until = started + seconds
        await asyncio.gather(
            *(client(http, k, until, latencies, errors, distinct) for k in range(clients))
        )
        elapsed = time.perf_counter() - started
    ms = np.array(latencies) * 1000
    return {
        "clients": clients,
        "seconds": elapsed,
        "requests": len(latencies) + len(errors),
        "answered": len(latencies),
        "errors": len(errors),
        "error_samples": errors[:5],
        "requests_per_s": len(latencies) / elapsed,
        "latency_ms": {
            "p50": float(np.percentile(ms, 50)) if len(ms) else None,
            "p95": float(np.percentile(ms, 95)) if len(ms) else None,
            "p99": float(np.percentile(ms, 99)) if len(ms) else None,
        },
    }


def wait_until_ready(url: str) -> None:
    deadline = time.time() + 180
    while True:
        try:
            if httpx.get(f"{url}/api/v1/health", timeout=2).json().get("ready"):
                return
            # Nobody opens a page: one question warms the model up meanwhile.
            httpx.post(f"{url}/api/v1/ask", json={"question": "warm up"}, timeout=120)
        except (httpx.HTTPError, ValueError):
            pass
        if time.time() > deadline:
            raise SystemExit("the server did not become ready")
        time.sleep(0.5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    need_shared(SEED)

    from assistant.core import Assistant
    from assistant.settings import Settings

    runs = {}
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        assert Assistant(Settings(data_dir=data)).ingest([SEED]).ok
        for name, workers, distinct in (
            ("one process, questions in turn", 1, False),
            ("one process, every question distinct", 1, True),
            ("--workers 2, every question distinct", 2, True),
        ):
            port = free_port()
            # The load comes from one address: no rate limit for the run.
            env = {"BRIEF_RATE_LIMIT_PER_MINUTE": "0"}
            if workers > 1:
                command = [str(Path(sys.executable).parent / "brief"), "serve", "--no-samples"]
                proc = start_app(
                    data, port, Path(tmp), command=[*command, "--workers", str(workers)], **env
                )
            else:
                proc = start_app(data, port, Path(tmp), **env)
            url = f"http://127.0.0.1:{port}"
            try:
                wait_until_ready(url)
                runs[name] = asyncio.run(run_load(url, args.clients, args.seconds, distinct))
            finally:
                proc.terminate()
                proc.wait(timeout=60)
            print(name, json.dumps(runs[name]["latency_ms"]), flush=True)

    result = {
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "endpoint": "POST /api/v1/ask (offline answerer, seed article)",
        "questions": f"{len(QUESTIONS)} questions about the seed article, asked in turn",
        "runs": runs,
        "target": {
            name: {
                "0 errors": run["errors"] == 0,
                f"p95 < {TARGET_P95_S:g} s": run["latency_ms"]["p95"] is not None
                and run["latency_ms"]["p95"] < TARGET_P95_S * 1000,
            }
            for name, run in runs.items()
        },
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "load.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
