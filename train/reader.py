"""Train the answer-sentence reader (``assistant/answering/reader.py``) on news quiz questions.

Data: ``../shared/eval/realtimeqa_train/questions.jsonl`` (quiz questions of 2020-2022 and
2024, each with its answer and an evidence paragraph). Rows dated 2023 are dropped: the
benchmark's dev weeks are of 2023 and nothing of that year is trained on. The multiple-choice
options are never used: the product does not have them.

For each question, the candidates are the sentences of its evidence paragraph (split as at
ingest) and, as distractors, those of two other questions' evidence of the same date (what
retrieval also brings: passages of that week's other news). A sentence holds the answer when
it contains the answer string (or, for a name of several words, its last word: "Carey" for
"Mariah Carey"). Sentence vectors are pooled from one pass over the paragraph, as ingest does.

The model is trained on a softmax over each question's candidates (which one holds the
answer) plus a per-sentence logistic loss (does this one), so that its logit also reads on its
own for the abstention decision. Held out by date: trained on 2020-2022, reported on 2024,
against the scorer it replaces (``extractive.combine`` with the shipped weights, then
``extractive.lead``'s preference for a sentence of the asked kind). Hyper-parameters are chosen
on the last quarter of the training dates, never on 2024. The shipped model is then refitted
on 2020-2022 and 2024 with those hyper-parameters.

Run from the repository root: ``.venv/bin/python train/reader.py [--write]``; about five
minutes on two cores, most of it embedding. Figures: ``bench/results/reader.json``.
"""

from __future__ import annotations

import argparse
import json
import pickle
import random
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))
from common import RESULTS, SHARED, need_shared  # noqa: E402 - offline settings first

from assistant.answering import reader  # noqa: E402
from assistant.answering.extractive import Weights, with_stems  # noqa: E402
from assistant.answering.question import Question, analyse, has_kind  # noqa: E402
from assistant.index.embeddings import get_embedder  # noqa: E402
from assistant.index.lexical import tokenize  # noqa: E402
from assistant.text.sentences import sentence_spans  # noqa: E402

DATA = SHARED / "eval" / "realtimeqa_train" / "questions.jsonl"
SEED = 15
DISTRACTORS = 2
#: (with the vector product, hidden units, L2 strength) tried by cross-validation over the
#: training dates; 0 hidden units is a linear model.
GRID = [
    (False, 0, 0.01),
    (False, 8, 0.01),
    (False, 16, 0.03),
    (True, 0, 0.01),
    (True, 16, 0.03),
    (True, 16, 0.1),
    (True, 32, 0.1),
]
FOLDS = 4
STEPS = 400


@dataclass
class Group:
    """One question's candidates: features, labels, and which rows are its own paragraph's."""

    qid: str
    date: str
    x: np.ndarray
    y: np.ndarray
    own: np.ndarray
    baseline: np.ndarray  # the replaced scorer's choice, as a one-hot row mask


def load_rows() -> list[dict]:
    rows = [json.loads(line) for line in DATA.read_text().splitlines() if line.strip()]
    return [r for r in rows if not r["date"].startswith("2023") and r["evidence"].strip()]


def holds(answer: str, sentence: str) -> bool:
    a, s = answer.lower().strip(), sentence.lower()
    if a and a in s:
        return True
    words = answer.split()
    return len(words) > 1 and len(words[-1]) >= 4 and words[-1].lower() in s.split()


def build(rows: list[dict]) -> list[Group]:
    """Embed every paragraph and question and turn each question into a ``Group``."""
    embedder = get_embedder()
    spans = [sentence_spans(r["evidence"]) for r in rows]
    started = time.perf_counter()
    _, pooled = embedder.embed_with_spans([r["evidence"] for r in rows], spans)
    qvecs = embedder.embed([r["question"] for r in rows])
    print(f"embedded {len(rows)} paragraphs and questions in {time.perf_counter() - started:.0f} s")
    sentences = [[r["evidence"][a:b] for a, b in sp] for r, sp in zip(rows, spans, strict=True)]
    terms = [tokenize(s) if s else [] for s in sentences]
    df: dict[str, int] = defaultdict(int)
    for paragraph in terms:
        for t in set(t for sent in paragraph for t in sent):
            df[t] += 1
    n = len(rows)

    def idf(t: str) -> float:
        return float(np.log(1.0 + (n - df[t] + 0.5) / (df[t] + 0.5)))

    by_date: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(rows):
        by_date[r["date"]].append(i)
    rng = random.Random(SEED)
    weights = Weights.shipped()
    groups = []
    for i, r in enumerate(rows):
        q = analyse(r["question"])
        others = [j for j in by_date[r["date"]] if j != i and rows[j]["evidence"] != r["evidence"]]
        sources = [i, *rng.sample(others, min(DISTRACTORS, len(others)))]
        texts, vecs, own, sent_terms = [], [], [], []
        for j in sources:
            texts += sentences[j]
            vecs += list(pooled[j])
            own += [j == i] * len(sentences[j])
            sent_terms += terms[j]
        if not texts:
            continue
        y = np.array([holds(r["answer"], t) for t in texts], dtype=np.float32)
        own_a = np.array(own)
        if not y[own_a].any():
            continue
        y[~own_a] = 0.0  # another story naming the answer does not answer this question
        seen = {t: idf(t) for t in q.terms if df.get(t)}
        fallback = min(seen.values()) if seen else 1.0
        w = {t: seen.get(t, fallback) for t in q.terms}
        total = sum(w.values()) or 1.0
        cover, missing = [], []
        for st in sent_terms:
            have = with_stems(set(st), q.terms)
            cover.append(sum(w[t] for t in q.terms if t in have) / total)
            missing.append(sum(1 for t in q.terms if t not in have))
        vec = np.stack(vecs)
        s = reader.Sentences(
            texts=texts,
            vectors=vec,
            dense=vec @ qvecs[i],
            coverage=np.array(cover),
            typed=np.array([float(has_kind(t, q.kind, q.focus)) for t in texts]),
            missing=np.array(missing, dtype=float),
        )
        x = reader.features(Question(r["question"], q.terms, q.kind, q.focus), qvecs[i], s)
        groups.append(Group(r["id"], r["date"], x, y, own_a, _baseline(q, s, weights)))
    return groups


def _baseline(q: Question, s: reader.Sentences, w: Weights) -> np.ndarray:
    """The replaced scorer's pick: ``extractive.combine`` (rank 0 for all: no retrieval
    here), then ``extractive._lead``'s switch to a near-best sentence of the asked kind."""
    kind_w = w.specific_kind if q.kind in ("instance", "statement") else w.kind
    score = w.dense * s.dense + w.coverage * s.coverage + kind_w * s.typed + w.rank
    order = np.argsort(-score, kind="stable")
    best = order[0]
    if q.kind and not s.typed[best]:
        for k in order:
            if s.typed[k] and score[k] >= 0.75 * score[best]:
                best = k
                break
    out = np.zeros(len(score), dtype=bool)
    out[best] = True
    return out


def stack(groups: list[Group]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x = np.concatenate([g.x for g in groups])
    y = np.concatenate([g.y for g in groups])
    gid = np.concatenate([np.full(len(g.y), k) for k, g in enumerate(groups)])
    return x, y, gid


def fit(
    groups: list[Group], product: bool, hidden: int, l2: float, seed: int = SEED
) -> reader.Model:
    """Adam on listwise softmax + pointwise logistic loss, full batch, fixed seed. Without
    ``product`` the model reads only the columns before the vector product."""
    x, y, gid = stack(groups)
    if not product:
        x = x[:, : reader.width() - reader.DIM]
    mean = x.mean(axis=0)
    scale = x.std(axis=0) + 1e-6
    mean[len(reader.BASE) - 1], scale[len(reader.BASE) - 1] = 0.0, 1.0  # the bias column
    z = (x - mean) / scale
    rng = np.random.default_rng(seed)
    d = z.shape[1]
    params = {
        "w1": rng.normal(0, 0.01 if hidden else 0.0, (d, max(hidden, 1))),
        "b1": np.zeros(max(hidden, 1)),
    }
    if hidden:
        params["w1"] = rng.normal(0, 1 / np.sqrt(d), (d, hidden))
        params["w2"] = rng.normal(0, 1 / np.sqrt(hidden), (hidden, 1))
        params["b2"] = np.zeros(1)
    m = {k: np.zeros_like(v) for k, v in params.items()}
    v = {k: np.zeros_like(v) for k, v in params.items()}
    groups_n = gid.max() + 1
    for step in range(1, STEPS + 1):
        h = z @ params["w1"] + params["b1"]
        if hidden:
            a = np.tanh(h)
            s = (a @ params["w2"])[:, 0] + params["b2"][0]
        else:
            s = h[:, 0]
        # Listwise: softmax within each group; target spread over the group's positives.
        mx = np.full(groups_n, -np.inf)
        np.maximum.at(mx, gid, s)
        e = np.exp(s - mx[gid])
        den = np.bincount(gid, e, groups_n)
        p = e / den[gid]
        pos_n = np.bincount(gid, y, groups_n)
        target = y / pos_n[gid]
        g_list = (p - target) / groups_n
        # Pointwise logistic, averaged over rows.
        sig = 1 / (1 + np.exp(-s))
        g_point = (sig - y) / len(y)
        g = g_list + g_point
        grads = {}
        if hidden:
            grads["w2"] = a.T @ g[:, None] + l2 * params["w2"]
            grads["b2"] = np.array([g.sum()])
            gh = (g[:, None] @ params["w2"].T) * (1 - a**2)
        else:
            gh = g[:, None]
        grads["w1"] = z.T @ gh + l2 * params["w1"]
        grads["b1"] = gh.sum(axis=0)
        for k in params:
            m[k] = 0.9 * m[k] + 0.1 * grads[k]
            v[k] = 0.999 * v[k] + 0.001 * grads[k] ** 2
            mh = m[k] / (1 - 0.9**step)
            vh = v[k] / (1 - 0.999**step)
            params[k] -= 0.01 * mh / (np.sqrt(vh) + 1e-8)
    return reader.Model(
        mean=mean,
        scale=scale,
        w1=params["w1"],
        b1=params["b1"],
        w2=params.get("w2"),
        b2=float(params["b2"][0]) if hidden else 0.0,
    )


def evaluate(model: reader.Model | None, groups: list[Group]) -> dict[str, float]:
    """Top-1 accuracy: the chosen sentence holds the answer, among all candidates (own paragraph
    and distractors) and within the own paragraph alone where it has a sentence without it.
    ``model`` None is the replaced scorer."""
    all_hits, own_hits = [], []
    for g in groups:
        own_idx = np.flatnonzero(g.own)
        if model is None:
            pick_all = int(np.argmax(g.baseline))
            pick_own = own_idx[_BASELINE_OWN[g.qid]]
        else:
            s = model.score(g.x)
            pick_all = int(np.argmax(s))
            pick_own = own_idx[int(np.argmax(s[own_idx]))]
        all_hits.append(bool(g.y[pick_all]))
        if 0 < g.y[g.own].sum() < g.own.sum():
            own_hits.append(bool(g.y[pick_own]))
    return {
        "questions": len(all_hits),
        "top1_with_distractors": round(float(np.mean(all_hits)), 4),
        "questions_own_paragraph": len(own_hits),
        "top1_own_paragraph": round(float(np.mean(own_hits)), 4),
    }


#: The replaced scorer's pick within each question's own paragraph (``_fill_baseline_own``).
_BASELINE_OWN: dict[str, int] = {}


def cross_validate(train: list[Group]) -> list[dict]:
    """Each ``GRID`` point's mean top-1 over ``FOLDS`` blocks of consecutive training dates,
    each block reported on by a model fitted on the others."""
    dates = sorted({g.date for g in train})
    block = {d: min(i * FOLDS // len(dates), FOLDS - 1) for i, d in enumerate(dates)}
    tried = []
    for product, hidden, l2 in GRID:
        runs = []
        for k in range(FOLDS):
            model = fit([g for g in train if block[g.date] != k], product, hidden, l2)
            runs.append(evaluate(model, [g for g in train if block[g.date] == k]))
        row = {
            "product": product,
            "hidden": hidden,
            "l2": l2,
            "top1_with_distractors": round(
                float(np.mean([r["top1_with_distractors"] for r in runs])), 4
            ),
            "top1_own_paragraph": round(float(np.mean([r["top1_own_paragraph"] for r in runs])), 4),
        }
        print(json.dumps(row), flush=True)
        tried.append(row)
    return tried


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="ship the refitted model")
    parser.add_argument("--cache", type=Path, help="keep the built questions in this file")
    args = parser.parse_args()
    need_shared(DATA)
    started = time.perf_counter()
    rows = load_rows()
    if args.cache and args.cache.exists():
        groups = pickle.loads(args.cache.read_bytes())
    else:
        groups = build(rows)
        if args.cache:
            args.cache.write_bytes(pickle.dumps(groups))
    _fill_baseline_own(groups, rows)
    train = [g for g in groups if not g.date.startswith("2024")]
    held = [g for g in groups if g.date.startswith("2024")]
    print(f"{len(train)} training questions (2020-2022), {len(held)} held out (2024)")
    tried = cross_validate(train)
    choice = max(tried, key=lambda t: t["top1_with_distractors"] + t["top1_own_paragraph"])
    chosen = (choice["product"], choice["hidden"], choice["l2"])
    model = fit(train, *chosen)
    result = {
        "data": "realtimeqa_train, 2023 dropped; trained on 2020-2022, held out 2024",
        "chosen": {"product": chosen[0], "hidden": chosen[1], "l2": chosen[2]},
        "cross_validated_grid": tried,
        "held_out_2024": {"reader": evaluate(model, held), "replaced_scorer": evaluate(None, held)},
        "training_2020_2022": {
            "reader": evaluate(model, train),
            "replaced_scorer": evaluate(None, train),
        },
    }
    if args.write:
        fit(groups, *chosen).save(reader.WEIGHTS)
        result["shipped"] = "refitted on 2020-2022 and 2024 with the chosen hyper-parameters"
    result["seconds"] = round(time.perf_counter() - started, 1)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "reader.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "cross_validated_grid"}, indent=2))


def _fill_baseline_own(groups: list[Group], rows: list[dict]) -> None:
    """The replaced scorer's pick within each question's own paragraph."""
    weights = Weights.shipped()
    col = {name: i for i, name in enumerate(reader.BASE)}
    by_id = {r["id"]: r for r in rows}
    for g in groups:
        idx = np.flatnonzero(g.own)
        s = reader.Sentences(
            texts=[""] * len(idx),
            vectors=np.zeros((len(idx), reader.DIM)),
            dense=g.x[idx, col["dense"]].astype(float),
            coverage=g.x[idx, col["coverage"]].astype(float),
            typed=g.x[idx, col["typed"]].astype(float),
            missing=np.zeros(len(idx)),
        )
        _BASELINE_OWN[g.qid] = int(
            np.argmax(_baseline(analyse(by_id[g.qid]["question"]), s, weights))
        )


if __name__ == "__main__":
    main()
