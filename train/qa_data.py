"""Training examples for the reader (``train/qa_reader.py``): (question, window, answer span or
None), where a window is a sentence with up to one neighbour on each side, as the product reads.

Sources, all under ``../shared/train`` and ``../shared/eval/realtimeqa_train`` (see their
README); never the 2023 dev weeks, ``squad2_dev500``, SciFact or the seed article:

- SQuAD 2.0 train (first ten articles): the window around the answer's sentence; a window
  around another sentence of the paragraph as "no answer"; for an unanswerable question, the
  window around the sentence that shares most of its words, as "no answer".
- QED (Natural Questions short answers with their Wikipedia paragraph): as SQuAD.
- RealTime QA quiz questions with their evidence paragraph (2020-2022 and 2024; 2023 dropped).
- RealTime QA news weeks (2022, 2024, 2025 before ``HELD_OUT_FROM``): distant supervision. For
  each question whose answer is in the week's articles, the sentences that hold the answer
  string and share the most (rarity-weighted) words with the question are answers; the
  sentences that share most words but lack it are "no answer" (the hard cases the product
  meets: a sentence on the topic that does not say it). Questions whose answer is not in the
  week, and the next week's questions, give "no answer" windows only.

Weeks from ``HELD_OUT_FROM`` on are never read here: ``bench/reader_heldout.py`` reports on them.
"""

from __future__ import annotations

import json
import math
import random
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from assistant.text.sentences import sentence_spans

SHARED = Path(__file__).resolve().parents[2] / "shared"
TRAIN = SHARED / "train"
WEEKS = TRAIN / "realtimeqa_weeks"
#: Weeks on or after this date are held out for measurement only.
HELD_OUT_FROM = "20250701"

#: (question, window text, (start, end) of the answer in the window or None, source name)
Example = tuple[str, str, tuple[int, int] | None, str]

_TOKEN = re.compile(r"[a-z0-9]+")


def tokens(text: str) -> set[str]:
    """Lower-case word tokens of three characters or more (shorter ones carry little here)."""
    return {t for t in _TOKEN.findall(text.lower()) if len(t) >= 3}


def find(answer: str, text: str) -> tuple[int, int] | None:
    """Where ``answer`` stands in ``text`` as whole words (case-insensitive), or None."""
    a = answer.strip().strip("“”\"'.").lower()
    if not a:
        return None
    for m in re.finditer(re.escape(a), text.lower()):
        lo, hi = m.start(), m.end()
        if (lo == 0 or not text[lo - 1].isalnum()) and (hi == len(text) or not text[hi].isalnum()):
            return lo, hi
    return None


def window(text: str, spans: list[tuple[int, int]], i: int, rng: random.Random) -> tuple[int, int]:
    """Characters of a window around sentence ``i``: it and, each with probability 1/2, the
    sentence before and the one after (the product reads a sentence with its neighbours)."""
    lo = spans[max(0, i - 1)][0] if rng.random() < 0.5 else spans[i][0]
    hi = spans[min(len(spans) - 1, i + 1)][1] if rng.random() < 0.5 else spans[i][1]
    return lo, hi


def _span_example(
    question: str,
    text: str,
    spans: list[tuple[int, int]],
    i: int,
    at: tuple[int, int] | None,
    rng: random.Random,
    source: str,
) -> Example | None:
    lo, hi = window(text, spans, i, rng)
    if at is None:
        return question, text[lo:hi], None, source
    if not (lo <= at[0] and at[1] <= hi):
        return None
    return question, text[lo:hi], (at[0] - lo, at[1] - lo), source


def _closest(question: str, text: str, spans: list[tuple[int, int]], skip: set[int]) -> int | None:
    """The sentence (not in ``skip``) sharing most words with the question."""
    q = tokens(question)
    best, best_i = 0, None
    for i, (a, b) in enumerate(spans):
        if i in skip:
            continue
        shared = len(q & tokens(text[a:b]))
        if shared > best:
            best, best_i = shared, i
    return best_i


def paragraph_examples(
    question: str,
    text: str,
    answers: list[tuple[int, int]],
    rng: random.Random,
    source: str,
) -> Iterator[Example]:
    """A positive window around the (first) answer's sentence and one negative window around
    the closest other sentence; for no answer, a negative window around the closest sentence."""
    spans = sentence_spans(text)
    if not spans:
        return
    holding = {i for i, (a, b) in enumerate(spans) for s, e in answers if a <= s and e <= b}
    if answers:
        s, e = answers[0]
        for i, (a, b) in enumerate(spans):
            if a <= s and e <= b:
                ex = _span_example(question, text, spans, i, (s, e), rng, source)
                if ex:
                    yield ex
                break
    # a neighbour of an answer sentence may appear in its window: skip those as negatives
    near = holding | {i + 1 for i in holding} | {i - 1 for i in holding}
    j = _closest(question, text, spans, near)
    if j is None and len(spans) > len(near):
        j = rng.choice([i for i in range(len(spans)) if i not in near])
    if j is not None:
        lo, hi = window(text, spans, j, rng)
        if not any(lo <= s < hi or lo < e <= hi for s, e in answers):
            yield question, text[lo:hi], None, source


def _squad_questions() -> Iterator[tuple[list[str], int, dict, list[tuple[int, int]]]]:
    """Each SQuAD question: its article's paragraphs, its own paragraph's index among them,
    the question, and its answers' offsets in its paragraph."""
    data = json.loads((TRAIN / "squad2_train_part" / "train-v2.0-first10.json").read_text())
    for article in data["data"]:
        paragraphs = [p["context"] for p in article["paragraphs"]]
        for k, para in enumerate(article["paragraphs"]):
            for qa in para["qas"]:
                answers = [
                    (a["answer_start"], a["answer_start"] + len(a["text"]))
                    for a in qa.get("answers", [])
                ]
                yield paragraphs, k, qa, answers


def squad(rng: random.Random) -> Iterator[Example]:
    for paragraphs, k, qa, answers in _squad_questions():
        yield from paragraph_examples(qa["question"], paragraphs[k], answers, rng, "squad")


def qed(rng: random.Random) -> Iterator[Example]:
    for path in sorted((TRAIN / "qed_nq").glob("*.jsonlines")):
        for line in path.read_text().splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            text, question = row.get("paragraph_text", ""), row.get("question_text", "")
            if "answer_spans" in row:
                answers = [tuple(s) for s in row["answer_spans"]]
            else:  # qed-dev.jsonlines: several annotators' answers; the shortest first
                groups = row.get("original_nq_answers", [])
                found = [(a["start"], a["end"]) for g in groups for a in g]
                answers = sorted(found, key=lambda se: se[1] - se[0])
            if text and question:
                yield from paragraph_examples(question, text, answers, rng, "qed")  # type: ignore[arg-type]


def quiz_evidence(rng: random.Random) -> Iterator[Example]:
    path = SHARED / "eval" / "realtimeqa_train" / "questions.jsonl"
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        if row["date"].startswith("2023") or not row["evidence"].strip():
            continue  # the news benchmark's dev weeks are of 2023
        text = row["evidence"].strip()
        at = find(row["answer"], text)
        yield from paragraph_examples(row["question"], text, [at] if at else [], rng, "quiz")


def _read_jsonl(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


def train_weeks() -> list[str]:
    return sorted(
        d.name
        for d in WEEKS.iterdir()
        if d.is_dir() and d.name[:8].isdigit() and d.name[:8] < HELD_OUT_FROM
    )


def held_out_weeks() -> list[str]:
    return sorted(
        d.name
        for d in WEEKS.iterdir()
        if d.is_dir() and d.name[:8].isdigit() and d.name[:8] >= HELD_OUT_FROM
    )


class WeekSentences:
    """The sentences of one week's articles, ranked for a question by the rarity-weighted
    words they share with it: the near misses of a question (and its answers) in that week."""

    def __init__(self, week: str) -> None:
        #: (article text, its sentence spans, the sentence's index)
        self.sents: list[tuple[str, list[tuple[int, int]], int]] = []
        self._toks: list[set[str]] = []
        for art in _read_jsonl(WEEKS / week / "articles.jsonl"):
            text = art["text"]
            spans = sentence_spans(text)
            for i, (a, b) in enumerate(spans):
                self.sents.append((text, spans, i))
                self._toks.append(tokens(text[a:b]))
        df = Counter(t for ts in self._toks for t in ts)
        self._idf = {t: math.log(len(self._toks) / c) for t, c in df.items()}

    def ranked(self, question: str, top: int = 60) -> list[tuple[float, int]]:
        """The ``top`` sentences sharing any word with ``question``, as (score, index into
        ``sents``), best first."""
        q = tokens(question)
        # summed in sorted order: a set's order changes from one process to the next (string
        # hashing), and with it the last bits of the sum, and which of two tied sentences wins
        scored = [
            (sum(self._idf.get(t, 0.0) for t in sorted(q & ts)), k)
            for k, ts in enumerate(self._toks)
        ]
        scored = [x for x in scored if x[0] > 0]
        scored.sort(reverse=True)
        return scored[:top]


def week_examples(
    week: str,
    next_week: str | None,
    rng: random.Random,
    positives: int = 2,
    negatives: int = 4,
    absent_negatives: int = 2,
) -> Iterator[Example]:
    """Distantly supervised windows from one week's articles (see the module's docstring)."""
    index = WeekSentences(week)
    if not index.sents:
        return
    sents, ranked = index.sents, index.ranked

    questions = _read_jsonl(WEEKS / week / "questions.jsonl")
    absent = []
    if next_week:
        absent = [q for q in _read_jsonl(WEEKS / next_week / "questions.jsonl")]
    for q in questions + absent:
        own = q in questions and q.get("answer_in_collection")
        answer = q["answer"]
        pos = neg = 0
        hits = ranked(q["question"])
        top = hits[0][0] if hits else 0.0
        for score, k in hits:
            text, spans, i = sents[k]
            a, b = spans[i]
            at = find(answer, text[a:b])
            if at:
                # an answer sentence that shares little with the question is often a chance
                # mention of the answer string ("Haiti" in a story on something else)
                if own and pos < positives and score >= 0.5 * top:
                    ex = _span_example(
                        q["question"], text, spans, i, (a + at[0], a + at[1]), rng, "weeks"
                    )
                    if ex:
                        pos += 1
                        yield ex
                continue
            if neg >= (negatives if own else absent_negatives):
                continue
            lo, hi = window(text, spans, i, rng)
            if find(answer, text[lo:hi]) or (find(answer, text) and not own):
                continue
            neg += 1
            yield q["question"], text[lo:hi], None, "weeks"


def weeks(rng: random.Random, negatives: int = 4, absent_negatives: int = 2) -> Iterator[Example]:
    names = train_weeks()
    for k, week in enumerate(names):
        nxt = names[k + 1] if k + 1 < len(names) else None
        yield from week_examples(
            week, nxt, rng, negatives=negatives, absent_negatives=absent_negatives
        )


def all_examples(seed: int) -> list[Example]:
    """Every example, in a seeded order."""
    rng = random.Random(seed)
    data: list[Example] = []
    for source in (squad, qed, quiz_evidence, weeks):
        data.extend(source(rng))
    rng.shuffle(data)
    return data


def _contiguous(examples: Iterator[Example]) -> Iterator[list[Example]]:
    """Consecutive examples of one question as one group (each source yields a question's
    windows together)."""
    group: list[Example] = []
    for ex in examples:
        if group and (ex[0], ex[3]) != (group[0][0], group[0][3]):
            yield group
            group = []
        group.append(ex)
    if group:
        yield group


def squad_groups(rng: random.Random, others: int = 2) -> Iterator[list[Example]]:
    """SQuAD's windows of a question, and windows of the ``others`` other paragraphs of its
    article that share most of its words (their closest sentence, as "no answer"): the
    paragraphs a reader confuses with the right one, since they are on the same subject."""
    words: list[set[str]] = []
    article: list[str] | None = None
    for paragraphs, k, qa, answers in _squad_questions():
        if paragraphs is not article:  # a new article: its paragraphs' words, once
            article, words = paragraphs, [tokens(p) for p in paragraphs]
        golds = {a["text"].lower() for a in qa.get("answers", [])}
        group = list(paragraph_examples(qa["question"], paragraphs[k], answers, rng, "squad"))
        q = tokens(qa["question"])
        ranked = sorted(
            (j for j in range(len(paragraphs)) if j != k),
            key=lambda j: -len(q & words[j]),
        )
        for j in ranked[:others]:
            text = paragraphs[j]
            spans = sentence_spans(text)
            i = _closest(qa["question"], text, spans, set())
            if i is None:
                continue
            lo, hi = window(text, spans, i, rng)
            if not any(g and g in text[lo:hi].lower() for g in golds):
                group.append((qa["question"], text[lo:hi], None, "squad"))
        if group:
            yield group


def all_groups(
    seed: int, week_negatives: int = 4, absent_negatives: int = 2
) -> list[list[Example]]:
    """The examples grouped by question, for training with one softmax over all the windows
    of a question (``train/qa_reader.py --shared``): SQuAD's with windows of the article's
    other paragraphs, the other sources' windows as ``all_examples`` makes them. In a seeded
    order.

    ``week_negatives`` (``absent_negatives`` for a question the week does not answer): "no
    answer" windows of a news week's question, the sentences of the week that share most of
    its rare words but lack the answer. The product reads about 16
    windows of a collection for a question, most of them such near misses; more of them
    teach the reader to single out the one that answers among as many (``--hard``)."""
    rng = random.Random(seed)
    groups: list[list[Example]] = list(squad_groups(rng))
    for source in (qed, quiz_evidence):
        groups.extend(_contiguous(source(rng)))
    groups.extend(_contiguous(weeks(rng, week_negatives, absent_negatives)))
    rng.shuffle(groups)
    return groups


#: A word's ending, for swapping a word for another that keeps its grammar.
_ENDINGS = ("ing", "ed", "es", "s", "ly", "er", "al", "")


def ending(word: str) -> str:
    """Which of ``_ENDINGS`` ``word`` has ("" for none)."""
    return next(e for e in _ENDINGS if word.endswith(e))


if __name__ == "__main__":
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    examples = all_examples(0)
    print(len(examples))
    print(Counter((s, a is not None) for _, _, a, s in examples))
