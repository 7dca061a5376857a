"""Questions made from news sentences, answered by another outlet's sentence of the same fact
(``train/qa_reader.py --cloze``): the cloze questions of unsupervised QA (Lewis et al., 2019),
asked of a sentence in other words than their own.

A sentence that ``news_facts.same_facts`` pairs with another article's sentence of the same
fact gives one question for each name or number both say: the sentence with that name or
number replaced by a question word ("Aled Trethewey, chair of the fishermen's association,
said the cut would end 40 jobs." -> "who, chair of the fishermen's association, said the cut
would end 40 jobs?"), its answer where the other sentence says it, in a window of the other
article. So the reader meets plain facts asked in another outlet's words, which the quiz
questions (asked in the quiz writer's words, often long) give little of. Near-miss windows of
the week that lack the answer come with it as "no answer" (as ``qa_data.week_examples``).

The question words are grammar, chosen by the answer's form (a money figure, a year, another
number, a name of several words or of one), not fitted to any document. Made from the news
weeks before the held-out block only.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Iterator

from news_facts import MARK, same_facts
from qa_data import Example, WeekSentences, find, train_weeks, window

_YEAR = re.compile(r"(1[89]|20)\d\d")
_MONEY = "$£€"


def asked(sentence: str, start: int, end: int) -> str:
    """``sentence`` as a question about its words ``start:end``: they are replaced by "how
    much" (after a currency sign, which goes too), "what year" (a year), "how many" (another
    number) or "who" (a name), and the full stop by a question mark."""
    answer = sentence[start:end]
    if start and sentence[start - 1] in _MONEY:
        start, word = start - 1, "how much"
    elif _YEAR.fullmatch(answer):
        word = "what year"
    elif answer[0].isdigit():
        word = "how many"
    elif " " in answer:  # a name of two words or more: most often a person's
        word = "who"
    else:
        word = "what"
    return (sentence[:start] + word + sentence[end:]).rstrip(" .!;:") + "?"


def _names(sentence: str) -> list[tuple[int, int]]:
    """The whole names (capitalised words after a lower-case one, as many as follow each
    other) and the counts (a number before a lower-case word: "17 arrested") of ``sentence``:
    what a question may ask for. A name that goes on after "of" or "to" ("Committee to
    Protect Journalists") is skipped: its part would make a question of half a name."""
    out: list[tuple[int, int]] = []
    covered = 0  # the end of the last name: a mark before it is part of it
    for m in MARK.finditer(sentence):
        if m.start() < covered:
            continue
        end = m.end()
        if m.group()[0].isalpha():  # "Aled" -> "Aled Trethewey"
            while (nxt := re.match(r" [A-Z][a-z]+", sentence[end:])) is not None:
                end += nxt.end()
            covered = end
            if (more := re.match(r" (?:of|to|for|and|de) [A-Z][a-z]+", sentence[end:])) is not None:
                covered = end + more.end()
                continue
        elif not (_YEAR.fullmatch(m.group()) or re.match(r" [a-z]", sentence[end:])):
            continue  # a number of an address, a date or a score: not a count
        out.append((m.start(), end))
    return out


def week_cloze(week: str, rng: random.Random, per_week: int, negatives: int) -> Iterator[list]:
    """Up to ``per_week`` cloze questions of one week, each a group: the window of the other
    article that answers it, then up to ``negatives`` near-miss windows of the week."""
    index = WeekSentences(week)
    made = 0
    for fact in same_facts(week, rng):
        for start, end in _names(fact.sentence):
            if made >= per_week:
                return
            answer = fact.sentence[start:end]
            a, b = fact.spans[fact.index]
            at = find(answer, fact.text[a:b])
            if at is None:
                continue
            question = asked(fact.sentence, start, end)
            lo, hi = window(fact.text, fact.spans, fact.index, rng)
            group: list[Example] = [
                (question, fact.text[lo:hi], (a + at[0] - lo, a + at[1] - lo), "cloze")
            ]
            for _, k in index.ranked(question, 40):
                if len(group) > negatives:
                    break
                text, spans, i = index.sents[k]
                lo, hi = window(text, spans, i, rng)
                if find(answer, text) is None:  # the whole article lacks it: no answer here
                    group.append((question, text[lo:hi], None, "cloze"))
            made += 1
            yield group


def cloze_groups(n: int, seed: int, negatives: int = 4) -> list[list[Example]]:
    """``n`` cloze questions in all (at most ``n`` over the number of weeks from each training
    week), each with its answering window and near misses."""
    rng = random.Random(seed + 11)
    names = train_weeks()
    per_week = max(1, math.ceil(n / len(names)))
    out: list[list[Example]] = []
    for week in names:
        out.extend(week_cloze(week, rng, per_week, negatives))
    rng.shuffle(out)
    return out[:n]


if __name__ == "__main__":
    import json

    made = cloze_groups(20000, 0)
    print(len(made), "questions")
    for g in made[:15]:
        q, t, at, _ = g[0]
        print(json.dumps([q, t[at[0] : at[1]], len(g)], ensure_ascii=False))
