"""What every benchmark needs before anything else: offline settings and the repository's
packages on the import path. Import it first: ``from common import REPO, RESULTS, SHARED``.
A benchmark that reads ``SHARED`` calls ``need_shared`` before it does."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

for _var, _value in (
    ("HF_HUB_OFFLINE", "1"),
    ("TRANSFORMERS_OFFLINE", "1"),
    ("ANONYMIZED_TELEMETRY", "False"),
):
    os.environ.setdefault(_var, _value)

REPO = Path(__file__).resolve().parents[1]
#: Evaluation data that is not ours to ship (the seed article, SciFact, SQuAD, RealTime QA): a
#: ``shared`` folder beside the repository. Only benchmarks read it; the tests use tests/data.
SHARED = REPO.parent / "shared"
RESULTS = REPO / "bench" / "results"
#: Our own documents in ``tests/data`` that the chat models' replies were recorded on
#: (``bench/llm.py``) and the support check's report split is made from (``bench/support.py``),
#: as ``tests/data/model_replies/documents.txt`` names them: a document added there later
#: leaves both as they were measured.
OWN_DOCUMENTS = [
    REPO / "tests" / "data" / name
    for name in (REPO / "tests" / "data" / "model_replies" / "documents.txt").read_text().split()
]

# Ahead of bench/ itself, so that ``ingest`` is the package and not bench/ingest.py.
if str(REPO) not in sys.path[:1]:
    sys.path.insert(0, str(REPO))

from assistant.faces.http.workers import free_port as free_port  # noqa: E402 - the product's, after the path


@contextmanager
def rules_alone(assistant: Any) -> Iterator[None]:
    """Within it, ``assistant`` finds short answers by the rules alone, as with
    ``BRIEF_SHORT_READER=rules``: the baseline beside the span reader, in the same run."""
    responder = assistant.responder
    reader, responder.span_reader = responder.span_reader, None
    try:
        yield
    finally:
        responder.span_reader = reader


def use_reader(assistant: Any, weights: Path) -> None:
    """Make ``assistant`` answer with the reader weights at ``weights`` (their calibration read
    from the ``.json`` beside them) instead of the shipped ones."""
    from assistant.answering.qa_reader import get_reader

    assistant.responder.__dict__["reader"] = get_reader(assistant.settings.embed_dtype, weights)


@contextmanager
def tap_readings(assistant: Any) -> Iterator[list[list[Any]] | None]:
    """Within it, the reader's readings behind each answer of ``assistant`` (its margins, the
    windows it read) are appended to the list it gives as ``compose_read`` receives them; None
    for an answerer without them (the rules, or a checkout older than the reader)."""
    responder = assistant.responder
    compose = getattr(responder, "compose_read", None)
    if compose is None or assistant.settings.answerer != "reader":
        yield None
        return
    tapped: list[list[Any]] = []

    def tap(question: str, readings: list[Any], *args: Any) -> Any:
        tapped.append(readings)
        return compose(question, readings, *args)

    responder.compose_read = tap
    try:
        yield tapped
    finally:
        del responder.compose_read  # the method again


def run_at(revision: str, script: str, args: list[str], result: str) -> dict[str, Any]:
    """Run ``bench/<script>`` as it was at git ``revision`` (checked out in a temporary
    worktree, run with this interpreter) and return its ``bench/results/<result>`` JSON: the
    baseline measured in the same run as the figures it is compared with."""
    import json
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory(prefix="bench-baseline-") as tmp:
        tree = Path(tmp) / "tree"
        (Path(tmp) / "shared").symlink_to(SHARED)  # where that tree's benchmarks look for it
        subprocess.run(
            ["git", "-C", str(REPO), "worktree", "add", "--detach", str(tree), revision],
            check=True,
            capture_output=True,
        )
        try:
            subprocess.run([sys.executable, str(tree / "bench" / script), *args], check=True)
            return json.loads((tree / "bench" / "results" / result).read_text())
        finally:
            subprocess.run(
                ["git", "-C", str(REPO), "worktree", "remove", "--force", str(tree)],
                capture_output=True,
            )


def need_shared(*paths: Path) -> None:
    """Return if every one of ``paths`` exists; otherwise end the benchmark (status 1) with a
    message naming what is missing and where ../shared is expected."""
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        sys.exit(
            "this benchmark needs ../shared (the seed article / SciFact / SQuAD / RealTime QA): "
            f"missing {', '.join(missing)}. Put the shared evaluation data in {SHARED}; "
            "the repository does not ship it, and the tests (make test) do not need it."
        )


def start_app(
    data: Path,
    port: int,
    cwd: Path,
    command: list[str] | None = None,
    stderr: Any = None,
    **env: str,
):
    """``python app.py`` (or ``command``) over ``data`` on 127.0.0.1:``port``, quiet (its
    errors to ``stderr`` if given), in the background."""
    import subprocess

    return subprocess.Popen(
        command or [sys.executable, str(REPO / "app.py")],
        cwd=cwd,
        env={**os.environ, "BRIEF_DATA_DIR": str(data), "BRIEF_PORT": str(port), **env},
        stdout=subprocess.DEVNULL,
        stderr=stderr or subprocess.DEVNULL,
    )


def cpu() -> tuple[str, set[str]]:
    """The CPU's model name and flags (from /proc/cpuinfo): the figures of a benchmark depend on
    them (bfloat16 is fast only with AVX-512 BF16 or AMX)."""
    model, flags = "unknown", set()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and model == "unknown":
                model = value.strip()
            elif key.strip() == "flags" and not flags:
                flags = set(value.split())
    return model, flags
