"""Word alignment: how well each content word of a question is matched, in context, by a sentence.

A question written against a passage that does not answer it tends to differ from the passage's
closest sentence in a word or two: a swapped name, "fight" where the source says "dine",
"succeeded" where it says "failed". The sentences' cosine hardly moves; the weakest word's
alignment does. Each key term of the question is represented by its contextual token embeddings
from the same MiniLM model (question and sentence in one batch); its alignment is the mean,
over its word pieces, of the best cosine to any token of the sentence. The abstention model
(``abstain.py``) uses the weakest, the second weakest and the mean alignment.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
from cachetools import LRUCache

from assistant.index.embeddings import Embedder, TokenVectors
from assistant.index.lexical import tokenize


@lru_cache(maxsize=1)
def _stop_words() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN_PLUS

    return frozenset(STOPWORDS_EN_PLUS)


class Aligner:
    """``aligner(question, sentence) -> (weakest, second weakest, mean)``, each in [-1, 1].

    Results are kept in a small LRU: the benchmark and repeated questions ask again.
    """

    def __init__(self, embedder: Embedder, capacity: int = 4096) -> None:
        self.embedder = embedder
        #: Alignments by (question, sentence, terms); touched under ``_cache_lock`` only.
        self._cache: LRUCache[tuple[str, str, tuple[str, ...]], tuple[float, float, float]] = (
            LRUCache(maxsize=capacity)
        )
        self._cache_lock = threading.Lock()

    def __call__(
        self,
        question: str,
        sentence: str,
        terms: Sequence[str] | None = None,
        question_tokens: TokenVectors | None = None,
    ) -> tuple[float, float, float]:
        """Alignment of the question's words; with ``terms`` (stemmed key terms), of those only.

        ``question_tokens`` (from ``Embedder.embed_query`` of the same text) saves a pass.
        """
        if not sentence.strip():
            return (0.0, 0.0, 0.0)
        key = (question, sentence, tuple(terms or ()))
        with self._cache_lock:
            value = self._cache.get(key)
        if value is None:
            value = self._align(question, sentence, set(terms or ()), question_tokens)
            with self._cache_lock:
                self._cache[key] = value
        return value

    def _align(
        self,
        question: str,
        sentence: str,
        terms: set[str],
        question_tokens: TokenVectors | None,
    ) -> tuple[float, float, float]:
        if question_tokens is None:
            (qv, qenc), (sv, _) = self.embedder.token_vectors([question, sentence])
        else:
            (qv, qenc), (sv, _) = question_tokens, self.embedder.token_vectors([sentence])[0]
        targets = sv[1:-1] if len(sv) > 2 else sv  # without [CLS] and [SEP]
        stop = _stop_words()
        pieces: dict[int, list[int]] = {}
        for i, word in enumerate(qenc.word_ids):
            if word is not None:
                pieces.setdefault(word, []).append(i)
        scores = []
        for word, idx in pieces.items():
            chars = qenc.word_to_chars(word)
            assert chars is not None  # a word id of this very encoding
            start, end = chars
            text = question[start:end].lower()
            if text in stop or not text.isalnum():
                continue
            if terms and not terms.intersection(tokenize([text])[0]):
                continue  # not a key term ("say" in "What did X say?")
            scores.append(float((qv[idx] @ targets.T).max(axis=1).mean()))
        if not scores:
            return (1.0, 1.0, 1.0)
        scores.sort()
        return (scores[0], scores[1] if len(scores) > 1 else scores[0], float(np.mean(scores)))
