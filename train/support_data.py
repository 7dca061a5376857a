"""Training pairs for the support model (``train/support_model.py``): (claim, span, supported?),
where the span is what the verifier quotes for a claim (a sentence, or it and a neighbour) and
the claim is what a chat model might write from it.

Made here, seeded, from public news only: the RealTime QA news weeks before ``HELD_OUT_FROM``
(``qa_data.train_weeks``) and the RealTime QA quiz questions with evidence (2023 dropped). Never
from our own documents, ``bench/data`` or the sets the benchmarks report on.

Each sentence of a week's articles gives one pair, of one kind drawn at random. Supported:

- ``copy``: the sentence itself, its span the sentence with a neighbour or not;
- ``compression``: the sentence with a part between commas, a leading clause or a trailing
  one left out (what a summary does);
- ``attribution``: "..., X said." written as "X said that ..." or "According to X, ...";
- ``quiz``: a quiz question turned into a statement by putting its answer in place of its
  "which ..."/"who"/"this ..." words, over its evidence paragraph: the facts in other words
  than the article's (kept only where most of its content words are the evidence's, so that a
  quiz's own added context is not taught as supported).

Not supported (each keeps nearly every word of the span, so that a word count passes it):

- ``negation``: "not" put after the first auxiliary verb, or taken out;
- ``reversed``: two names (or two numbers) of the sentence trade places;
- ``added_detail``: a phrase of another article's sentence put before the full stop;
- ``substitution``: one content word replaced by a different word of the same article with
  the same ending ("rose" for "fell", "buyers" for "sellers");
- ``name_swap`` / ``figure_swap``: a name or number replaced by another of the article;
- ``quiz_wrong``: the quiz statement with a wrong choice in place of the answer;
- ``other``: another sentence of the same article, over this span.

Word lists here are grammar (auxiliary verbs, question words), not fitted to any document.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator

from news_facts import FUNCTION, same_facts
from qa_data import SHARED, WEEKS, _read_jsonl, ending, tokens, train_weeks

from assistant.text.sentences import sentence_spans

#: (claim, span, supported, kind)
Pair = tuple[str, str, bool, str]

#: English auxiliary verbs: where a negation goes ("was" -> "was not").
_AUX = re.compile(
    r"\b(is|are|was|were|will|would|can|could|has|have|had|should|may|might|must|does|did|do)"
    r"\b(?! not\b|n't)"
)
_NEGATED = re.compile(r"\b(not |n't\b|never )", re.I)
_NAME = re.compile(r"(?<=[a-z,;] )[A-Z][a-z]+(?: [A-Z][a-z]+)*")
_NUMBER = re.compile(r"(?<![\w.])\d[\d,]*(?:\.\d+)?(?!\w)")
_WORD = re.compile(r"\b[a-z]{4,}\b")
_SAID = re.compile(r"^(?P<body>.+?),[\"”’]? (?P<who>[A-Z][\w.' -]{2,40}?) (?P<verb>said|says)\.$")
_PHRASE = re.compile(r"\b(?:in|at|after|before|for|with|during|under|by|from) [^,.;]{6,40}")
#: Question words a quiz statement puts its answer in place of.
_ASKS = re.compile(r"^(?:Which|This|These) [a-z]+\b|^Who\b")
#: Short function words: not content (for the quiz filter and the substitution).
_FUNCTION = FUNCTION


def _span(text: str, spans: list[tuple[int, int]], i: int, rng: random.Random) -> str:
    """The sentence, alone or with the next or the previous one, as the verifier quotes."""
    a, b = spans[i]
    r = rng.random()
    if r < 0.3 and i + 1 < len(spans):
        b = spans[i + 1][1]
    elif r < 0.6 and i > 0:
        a = spans[i - 1][0]
    return text[a:b].strip()


#: Words that open a clause leaning on what came before it: a part left without its head.
_LEANING = set("which who whom whose where when while and but or as that whereas".split())
#: How a part that can go without changing what the rest says opens (an aside, a time or
#: reason clause, a participle).
_ASIDE = re.compile(
    r"^(?:which|who|where|while|as|including|according|after|before|with|"
    r"though|although|a|an|the|\w+ing)\b"
)

#: How a leading clause that can go opens (a time, a place, a condition, a linking adverb).
_OPENING = re.compile(
    r"^(?:In|On|At|After|Before|During|Last|This|For|Since|When|While|As|Although|Though|"
    r"However|Meanwhile|Still|Yet|Now|Earlier|Later|Instead|Already|Overall|By|Under|Over)\b"
)


def _compress(s: str, rng: random.Random) -> str | None:
    parts = s.rstrip(".").split(", ")
    if len(parts) < 2:
        return None
    choice = rng.random()
    if len(parts) >= 3 and choice < 0.4:
        k = rng.randrange(1, len(parts) - 1)
        if not _ASIDE.match(parts[k]):
            return None
        out = ", ".join(parts[:k] + parts[k + 1 :])
    elif choice < 0.7:
        rest = parts[1]
        if (
            len(parts[0].split()) > 6
            or not _OPENING.match(parts[0])
            or rest.split()[0].lower() in _LEANING
        ):
            return None
        out = ", ".join(parts[1:])
        out = out[:1].upper() + out[1:]
    else:
        if not _ASIDE.match(parts[-1]):
            return None
        out = ", ".join(parts[:-1])
    if len(out.split()) < 5:
        return None
    return out + "."


def _attribute(s: str, rng: random.Random) -> str | None:
    m = _SAID.match(s.strip())
    if not m:
        return None
    body = m.group("body").strip('"“”‘’ ')
    if len(body.split()) < 5:
        return None
    if rng.random() < 0.5:
        return f"{m.group('who')} said that {body[:1].lower() + body[1:]}."
    return f"According to {m.group('who')}, {body[:1].lower() + body[1:]}."


def _negate(s: str, rng: random.Random) -> str | None:
    if _NEGATED.search(s):
        return _NEGATED.sub("", s, count=1)
    m = _AUX.search(s)
    if not m:
        return None
    return s[: m.end()] + " not" + s[m.end() :]


def _reverse(s: str, rng: random.Random) -> str | None:
    for pattern in (_NAME, _NUMBER):
        found = list(dict.fromkeys(m.group() for m in pattern.finditer(s)))
        if len(found) >= 2:
            x, y = rng.sample(found, 2)
            return s.replace(x, "\0").replace(y, x).replace("\0", y)
    return None


def _add_detail(s: str, other: str, rng: random.Random) -> str | None:
    phrases = [m.group().strip() for m in _PHRASE.finditer(other)]
    phrases = [p for p in phrases if p.lower() not in s.lower()]
    if not phrases or not s.endswith("."):
        return None
    return s[:-1] + " " + rng.choice(phrases) + "."


def _substitute(s: str, article: str, rng: random.Random) -> str | None:
    words = [w for w in _WORD.findall(s) if w not in _FUNCTION]
    pool = sorted({w for w in _WORD.findall(article) if w not in _FUNCTION} - set(words))
    rng.shuffle(words)
    for w in words:
        end = ending(w)
        same = [v for v in pool if ending(v) == end and v[:3] != w[:3]]
        if same:
            v = rng.choice(same)
            return re.sub(rf"\b{w}\b", v, s, count=1)
    return None


def _swap(s: str, article: str, pattern: re.Pattern[str], rng: random.Random) -> str | None:
    mine = [m.group() for m in pattern.finditer(s)]
    others = sorted({m.group() for m in pattern.finditer(article)} - set(mine))
    if not mine or not others:
        return None
    x = rng.choice(mine)
    return s.replace(x, rng.choice(others), 1)


def week_pairs(week: str, rng: random.Random, per_week: int) -> Iterator[Pair]:
    articles = [a["text"] for a in _read_jsonl(WEEKS / week / "articles.jsonl")]
    cands = []
    for t, text in enumerate(articles):
        spans = sentence_spans(text)
        for i, (a, b) in enumerate(spans):
            n = len(text[a:b].split())
            if 8 <= n <= 45 and text[a:b].rstrip().endswith("."):
                cands.append((t, i, spans))
    rng.shuffle(cands)
    made = 0
    for t, i, spans in cands:
        if made >= per_week:
            return
        text = articles[t]
        s = text[spans[i][0] : spans[i][1]].strip()
        span = _span(text, spans, i, rng)
        other_art = articles[rng.randrange(len(articles))]
        kind = rng.choices(
            [
                "copy",
                "compression",
                "attribution",
                "negation",
                "reversed",
                "added_detail",
                "substitution",
                "name_swap",
                "figure_swap",
                "other",
            ],
            weights=[10, 22, 12, 12, 8, 12, 12, 4, 4, 4],
        )[0]
        claim: str | None
        if kind == "copy":
            claim = s
        elif kind == "compression":
            claim = _compress(s, rng)
        elif kind == "attribution":
            claim = _attribute(s, rng) or _compress(s, rng)
        elif kind == "negation":
            claim = _negate(s, rng)
        elif kind == "reversed":
            claim = _reverse(s, rng)
        elif kind == "added_detail":
            claim = _add_detail(s, other_art, rng)
        elif kind == "substitution":
            claim = _substitute(s, text, rng)
        elif kind == "name_swap":
            claim = _swap(s, text, _NAME, rng)
        elif kind == "figure_swap":
            claim = _swap(s, text, _NUMBER, rng)
        else:
            j = rng.randrange(len(spans))
            claim = text[spans[j][0] : spans[j][1]].strip() if abs(j - i) > 1 else None
        if not claim or (claim == s and kind != "copy"):
            continue
        supported = kind in ("copy", "compression", "attribution")
        made += 1
        yield claim, span, supported, kind


def _statement(question: str, answer: str) -> str | None:
    m = _ASKS.search(question)
    if not m:
        return None
    out = question[: m.start()] + answer + question[m.end() :]
    out = out.rstrip(" ?.") + "."
    return out[:1].upper() + out[1:]


def quiz_pairs(rng: random.Random) -> Iterator[Pair]:
    path = SHARED / "eval" / "realtimeqa_train" / "questions.jsonl"
    for q in _read_jsonl(path):
        if q["date"].startswith("2023") or not q.get("evidence"):
            continue
        claim = _statement(q["question"], q["answer"])
        if not claim:
            continue
        content = {w for w in tokens(claim) if w not in _FUNCTION and not w.isdigit()}
        evidence = tokens(q["evidence"]) | tokens(q["answer"])
        if not content or len(content & evidence) < 0.6 * len(content):
            continue
        evidence_text = " ".join(q["evidence"].split())
        if q["answer"].lower() not in evidence_text.lower():
            continue
        if rng.random() < 0.5:
            yield claim, evidence_text, True, "quiz"
        else:
            wrong = [c for c in q.get("choices", []) if c.lower() != q["answer"].lower()]
            if wrong:
                yield (
                    _statement(q["question"], rng.choice(wrong)),
                    evidence_text,
                    False,
                    ("quiz_wrong"),
                )


def restatements(week: str, rng: random.Random, per_week: int) -> Iterator[Pair]:
    """``restated``: a sentence of one article over a sentence of another article of the same
    week that gives the same fact in other words (supported; ``news_facts.same_facts``)."""
    for made, fact in enumerate(same_facts(week, rng)):
        if made >= per_week:
            return
        yield fact.sentence, fact.other, True, "restated"


def all_pairs(seed: int, per_week: int = 100) -> list[Pair]:
    rng = random.Random(seed)
    pairs: list[Pair] = []
    for week in train_weeks():
        pairs.extend(week_pairs(week, rng, per_week))
        pairs.extend(restatements(week, rng, per_week // 3))
    pairs.extend(p for p in quiz_pairs(rng) if p[0])
    rng.shuffle(pairs)
    return pairs


if __name__ == "__main__":
    from collections import Counter

    ps = all_pairs(0)
    print(len(ps), Counter((k, s) for _, _, s, k in ps))
    rng = random.Random(1)
    for p in rng.sample(ps, 14):
        print(json.dumps(p, ensure_ascii=False)[:400])
