"""How far the support check of a chat model's sentences (``verify.Verifier``) can be trusted.

A labelled set of (sentence, passage, supported?) pairs, from three sources:

* **written**: ``bench/data/support_written.jsonl``, written by hand for this benchmark on our
  own documents (``tests/data``, ``assistant/samples``): true paraphrases, compressions and
  reported speech, and false sentences that keep most of the passage's words (a speaker,
  figure, date or name swapped, the meaning negated, a detail added, a relation reversed);
* **swapped**: made here from every sentence of the same documents, seeded: the sentence as
  it stands (supported) and with one figure, date, name or quoted speaker replaced by another
  of the same document (not supported); the passage is the sentence with its neighbours;
* **replies**: ``bench/data/support_replies.jsonl``, real replies of local chat models
  (recorded by ``bench/llm.py``) split into sentences and labelled by hand against the
  passage they cite.

Each pair is checked as the product checks a model's sentence: the passage is the only one
given, the sentence cites it (``[1]``), and it counts as supported if the verifier keeps it.
Precision and recall of "supported" are reported per source and kind, beside the baseline,
the lexical check as it was before issue 25 (key-term share >= 0.5, a missing number halving
it), in the same run. The documents of ``assistant/samples`` are the dev split (where a
choice was looked at), those of ``tests/data`` and the replies the report split.

Run from the repository root: ``.venv/bin/python bench/support.py``.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from common import OWN_DOCUMENTS, REPO, RESULTS  # first: offline settings, import path

from assistant.answering import verify
from assistant.answering.question import query_stop
from assistant.index.passages import Passage
from assistant.text.sentences import sentence_spans

DATA = REPO / "bench" / "data"
DEV_DOCS = sorted((REPO / "assistant" / "samples").glob("*.md"))
REPORT_DOCS = OWN_DOCUMENTS
SEED = 25

#: What the swaps look for. Month and weekday names are the date words a swap can change.
_MONTHS = (
    "January February March April May June July August September October November December"
).split()
_DAYS = "Monday Tuesday Wednesday Thursday Friday Saturday Sunday".split()
_NUMBER = re.compile(r"(?<![\w.])\d[\d,]*(?:\.\d+)?(?![\w])")
_YEAR = re.compile(r"\b(?:19|20)\d\d\b")
_DATE_WORD = re.compile(r"\b(?:" + "|".join(_MONTHS + _DAYS) + r")\b")
#: A run of capitalised words: a name, more or less (``_names`` skips those opening a sentence).
_CAPS = re.compile(r"\b[A-Z][a-z]+(?: [A-Z][a-z]+)*")
#: Reported speech: the sentences whose speaker a swap can change.
_SPEECH = re.compile(r"\b(?:said|says|told|wrote|added|according to|warned|argued)\b")


@dataclass
class Pair:
    doc: str
    passage: str
    sentence: str
    supported: bool
    kind: str
    source: str
    split: str
    #: What a recorded reply answered (a fragment is checked as its answer).
    question: str = ""


def _context(text: str, spans: list[tuple[int, int]], i: int) -> str:
    """The sentence ``i`` with its neighbours on the same stretch of text, verbatim."""
    lo, hi = max(0, i - 1), min(len(spans) - 1, i + 1)
    return text[spans[lo][0] : spans[hi][1]]


def _swap(
    sentence: str, pattern: re.Pattern[str] | _Names, pool: list[str], rng: random.Random
) -> str:
    """``sentence`` with one match of ``pattern`` replaced by a different value of ``pool``."""
    found = list(pattern.finditer(sentence))
    if not found:
        return ""
    m = rng.choice(found)
    others = [v for v in dict.fromkeys(pool) if v != m.group(0) and v not in sentence]
    if not others:
        return ""
    return sentence[: m.start()] + rng.choice(others) + sentence[m.end() :]


def _names(text: str) -> list[str]:
    """The capitalised runs of ``text`` that open no sentence and are no month or weekday."""
    out = []
    for a, b in sentence_spans(text):
        if text[a] == "#":
            continue  # a heading
        for m in _CAPS.finditer(text, a, b):
            word = m.group(0)
            if word.lower() in query_stop() or word in _MONTHS + _DAYS:
                continue  # "All", "The": a capital, but no name
            if m.start() > a and text[m.start() - 1] == " ":
                out.append(m.group(0))
    return out


class _Names:
    """``_swap``'s pattern for the names of one sentence."""

    def __init__(self, sentence: str) -> None:
        self.names = _names(sentence)

    def finditer(self, sentence: str) -> list[re.Match[str]]:
        return [m for m in _CAPS.finditer(sentence) if m.start() > 0 and m.group(0) in self.names]


def swapped_pairs(path: Path, split: str, rng: random.Random) -> list[Pair]:
    text = path.read_text(encoding="utf-8")
    spans = [
        (a, b)
        for a, b in sentence_spans(text)
        if len(text[a:b].split()) >= 6 and not re.match(r"#|title:", text[a:b])
    ]
    numbers = [n for n in _NUMBER.findall(text) if not _YEAR.fullmatch(n)]
    years = _YEAR.findall(text)
    names = _names(text)
    out: list[Pair] = []

    def add(sentence: str, supported: bool, kind: str, passage: str) -> None:
        if sentence:
            out.append(Pair(path.name, passage, sentence, supported, kind, "swapped", split))

    for i, (a, b) in enumerate(spans):
        s, passage = text[a:b], _context(text, spans, i)
        add(s, True, "copy", passage)
        figures = re.compile(rf"(?!{_YEAR.pattern}(?!\w)){_NUMBER.pattern}")
        add(_swap(s, figures, numbers, rng), False, "figure_swap", passage)
        if _YEAR.search(s):
            add(_swap(s, _YEAR, years, rng), False, "date_swap", passage)
        elif _DATE_WORD.search(s):
            words = _MONTHS if any(m in s for m in _MONTHS) else _DAYS
            add(_swap(s, re.compile("|".join(words)), words, rng), False, "date_swap", passage)
        near = [n for n in _names(passage) if n not in s]
        far = [n for n in names if n not in passage]
        if _SPEECH.search(s) and near:
            add(_swap(s, _Names(s), near, rng), False, "speaker_swap", passage)
        else:
            add(_swap(s, _Names(s), far, rng), False, "name_swap", passage)
    return out


def load_jsonl(path: Path, source: str, split_of: dict[str, str]) -> list[Pair]:
    if not path.exists():
        return []
    pairs = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            split = row.get("split") or split_of.get(row["doc"], "report")
            pairs.append(
                Pair(
                    row["doc"],
                    row["passage"],
                    row["sentence"],
                    bool(row["supported"]),
                    row["kind"],
                    source,
                    split,
                    row.get("question", ""),
                )
            )
    return pairs


def title_of(doc: str) -> str:
    """The title the product gives the document: its front matter's, else its first line."""
    path = next(p for p in DEV_DOCS + REPORT_DOCS if p.name == doc)
    lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    for line in lines[:5]:
        if line.startswith("title:"):
            return line[len("title:") :].strip().strip('"')
    return lines[0].lstrip("# ").strip() if lines[0] != "---" else ""


def passage_of(pair: Pair, title: str) -> Passage:
    """The pair's passage as retrieval would give it."""
    return Passage(
        doc_id=pair.doc, title=title, source=pair.doc, text=pair.passage, start=0,
        end=len(pair.passage), location="paragraph 1", score=1.0,
    )  # fmt: skip


def kept_quote(pair: Pair) -> str | None:
    """What the product's verifier quotes for the sentence, citing the pair's passage, or None
    where it drops the sentence."""
    passage = passage_of(pair, title_of(pair.doc))
    verifier = verify.Verifier([passage], pair.question)
    return verifier.citations[0].quote if verifier.check(pair.sentence + " [1]") else None


def checked(pair: Pair) -> bool:
    """Whether the product's verifier keeps the sentence, citing the pair's passage."""
    return kept_quote(pair) is not None


def model_sweep(pairs: list[Pair], weights: Path) -> dict[str, dict[str, object]]:
    """The verifier with a trained support model (``train/support_net.py``) after it: a kept
    sentence stays only if the model's logit for (sentence, its quote) is above a threshold.
    Precision / recall on each split, for thresholds from -4 to 4."""
    sys.path.insert(0, str(REPO / "train"))
    from support_net import Support

    model = Support(weights)
    quotes = [kept_quote(p) for p in pairs]
    asked = [(p.sentence, q) for p, q in zip(pairs, quotes, strict=True) if q is not None]
    logit = dict(zip(asked, model.logits(asked), strict=True))
    sweep: dict[str, dict[str, object]] = {}
    for t in [x / 2 for x in range(-8, 9)]:
        kept = [
            q is not None and logit[(p.sentence, q)] > t for p, q in zip(pairs, quotes, strict=True)
        ]
        sweep[f"{t:+.1f}"] = {
            split: scores(
                [p for p in pairs if p.split == split],
                [k for p, k in zip(pairs, kept, strict=True) if p.split == split],
            )
            for split in ("dev", "report")
        }
        row = sweep[f"{t:+.1f}"]
        print(
            f"model above {t:+.1f}: dev P/R {row['dev']['precision']:.3f} / "
            f"{row['dev']['recall']:.3f}   report P/R {row['report']['precision']:.3f} / "
            f"{row['report']['recall']:.3f}"
        )
    return sweep


def lexical(pair: Pair) -> bool:
    """The baseline: the check before issue 25, the best one- or two-sentence span's key-term
    share at least 0.5, a number of the sentence missing from it halving the share."""
    passage = passage_of(pair, pair.doc)
    terms = verify.analyse(pair.sentence).terms
    if not terms:
        return True
    best = 0.0
    for span in verify._spans(passage):
        have = set(verify.tokenize([span.text])[0])
        score = sum(t in have for t in terms) / len(terms)
        if any(n.rstrip(".,") not in span.text for n in verify._NUMBER.findall(pair.sentence)):
            score *= 0.5
        best = max(best, score)
    return best >= 0.5


def scores(pairs: list[Pair], said: list[bool]) -> dict[str, float | int]:
    tp = sum(p.supported and s for p, s in zip(pairs, said, strict=True))
    fp = sum((not p.supported) and s for p, s in zip(pairs, said, strict=True))
    pos = sum(p.supported for p in pairs)
    return {
        "pairs": len(pairs),
        "supported": pos,
        "kept": round(sum(said) / len(said), 3) if said else 0.0,
        "precision": round(tp / (tp + fp), 3) if tp + fp else 0.0,
        "recall": round(tp / pos, 3) if pos else 0.0,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--show", action="store_true", help="print every pair judged wrongly")
    ap.add_argument(
        "--model",
        type=Path,
        help="also a trained support model's weights (train/support_model.py) after the "
        "verifier, by threshold; figures in bench/results/support_model.json",
    )
    args = ap.parse_args()
    rng = random.Random(SEED)
    split_of = {p.name: "dev" for p in DEV_DOCS} | {p.name: "report" for p in REPORT_DOCS}
    pairs: list[Pair] = []
    for path in DEV_DOCS:
        pairs += swapped_pairs(path, "dev", rng)
    for path in REPORT_DOCS:
        pairs += swapped_pairs(path, "report", rng)
    pairs += load_jsonl(DATA / "support_written.jsonl", "written", split_of)
    pairs += load_jsonl(DATA / "support_replies.jsonl", "replies", split_of)

    checks = {"verifier": checked, "lexical_baseline": lexical}
    said = {name: [f(p) for p in pairs] for name, f in checks.items()}
    result: dict[str, object] = {
        "benchmark": "support",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "targets": {"precision": 0.95, "recall": 0.80, "on": "report split"},
    }
    groups: dict[str, list[int]] = defaultdict(list)
    for i, p in enumerate(pairs):
        groups[f"split={p.split}"].append(i)
        groups[f"split={p.split} source={p.source}"].append(i)
        groups[f"kind={p.kind}"].append(i)
    table = {}
    for group, idx in sorted(groups.items()):
        sub = [pairs[i] for i in idx]
        table[group] = {name: scores(sub, [said[name][i] for i in idx]) for name in checks}
    result["figures"] = table
    result["counts"] = dict(Counter(f"{p.source}/{p.kind}/{p.supported}" for p in pairs))
    wrong = [asdict(p) for p, s in zip(pairs, said["verifier"], strict=True) if s != p.supported]
    result["verifier_wrong"] = wrong
    out = RESULTS / "support.json"
    out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(f"{'group':40} {'n':>5} {'true':>5}   verifier P / R / kept   lexical P / R / kept")
    for group, row in table.items():
        v, b = row["verifier"], row["lexical_baseline"]
        print(
            f"{group:40} {v['pairs']:>5} {v['supported']:>5}   "
            + "   ".join(
                f"{r['precision']:.3f} / {r['recall']:.3f} / {r['kept']:.3f}" for r in (v, b)
            )
        )
    if args.model:
        sweep = model_sweep(pairs, args.model)
        extra = RESULTS / "support_model.json"
        extra.write_text(json.dumps({"weights": str(args.model), "sweep": sweep}, indent=1) + "\n")
        print(f"wrote {extra.relative_to(REPO)}")
    if args.show:
        for w in wrong:
            print(f"\n[{w['kind']} {w['supported']}] {w['sentence']}\n   << {w['passage']}")
    print(f"wrote {out.relative_to(REPO)}")


if __name__ == "__main__":
    main()
