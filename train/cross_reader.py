"""Train a cross reader (``train/cross_model.py``) on news quiz questions: an experiment.

Measured and not shipped (README, "Readers tried"): on 2024 questions held out, asked of a
collection of that year's evidence paragraphs, choosing the sentence by it found the answer
less often than the shipped sentence reader (82 against 95 of 133), and its short answers
held a SQuAD gold answer less often than the rules (0.18 against 0.29).

Data: ``../shared/eval/realtimeqa_train/questions.jsonl`` (quiz questions of 2020-2022 and
2024 with their answer and evidence paragraph). Rows of 2023 are dropped: the benchmark's dev
weeks are of 2023. The multiple-choice options are never used. A fifth of the 2024 questions
(by a hash of their id) is held out and only reported on.

Each question becomes a group of candidate sentences (split as at ingest):
- a sentence of its evidence holding the answer string (the positive; the answer's span in it
  is the short answer to learn);
- its evidence's other sentences (they are about the story but do not say the answer);
- the sentences of other questions' evidence closest to the question in words (TF-IDF), which
  do not hold the answer: what retrieval brings when it finds the topic but not the fact;
- one sentence of another question of the same date.
The loss: softmax over the group (which one answers), a per-sentence logistic loss (so the
logit reads on its own for abstention), and start/end cross-entropy for the span (the [CLS]
piece for sentences that do not answer). The bottom layers of the packaged MiniLM stay frozen.

Run from the repository root: ``.venv/bin/python train/cross_reader.py [--write]``.
Figures: ``bench/results/cross_reader.json``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO / "train"))
import cross_model as cr  # noqa: E402 - beside this script
from common import RESULTS, SHARED, need_shared  # noqa: E402 - offline settings first

from assistant.text.sentences import sentence_spans  # noqa: E402

DATA = SHARED / "eval" / "realtimeqa_train" / "questions.jsonl"
SEED = 15
HARD = 4
OWN_NEGATIVES = 2


@dataclass
class Group:
    qid: str
    date: str
    question: str
    answer: str
    sentences: list[str]
    labels: list[int]  # 1 = holds the answer
    spans: list[tuple[int, int] | None]  # the answer's characters in each positive


def holds(answer: str, sentence: str) -> tuple[int, int] | None:
    """Where ``answer`` stands in ``sentence`` (case-insensitive), or for a name of several
    words its last word ("Carey" for "Mariah Carey"); None if neither."""
    a = answer.strip().strip("“”\"'").lower()
    s = sentence.lower()
    if len(a) >= 1:
        at = s.find(a)
        if at >= 0 and (len(a) > 2 or not s[at + len(a) : at + len(a) + 1].isalnum()):
            return at, at + len(a)
    words = answer.split()
    if len(words) > 1 and len(words[-1]) >= 4:
        last = words[-1].lower()
        at = s.find(last)
        if at >= 0:
            return at, at + len(last)
    return None


def held_out(row: dict) -> bool:
    digest = int(hashlib.md5(row["id"].encode()).hexdigest(), 16)
    return row["date"].startswith("2024") and digest % 5 == 0


def load_rows() -> list[dict]:
    rows = [json.loads(line) for line in DATA.read_text().splitlines() if line.strip()]
    return [r for r in rows if not r["date"].startswith("2023") and r["evidence"].strip()]


def build(rows: list[dict]) -> list[Group]:
    from sklearn.feature_extraction.text import TfidfVectorizer

    rng = random.Random(SEED)
    sents = [[r["evidence"][a:b].strip() for a, b in sentence_spans(r["evidence"])] for r in rows]
    flat = [(i, s) for i, ss in enumerate(sents) for s in ss if len(s) >= 12]
    vec = TfidfVectorizer(stop_words="english", sublinear_tf=True, min_df=2)
    m = vec.fit_transform([s for _, s in flat])
    qm = vec.transform([r["question"] for r in rows])
    by_date: dict[str, list[int]] = {}
    for k, (i, _) in enumerate(flat):
        by_date.setdefault(rows[i]["date"], []).append(k)
    groups = []
    for i, r in enumerate(rows):
        own = [s for s in sents[i] if len(s) >= 12]
        found = [(s, holds(r["answer"], s)) for s in own]
        pos = [(s, sp) for s, sp in found if sp]
        if not pos:
            continue
        neg = [s for s, sp in found if not sp][:OWN_NEGATIVES]
        sims = (m @ qm[i].T).toarray().ravel()
        hard = []
        for k in np.argsort(-sims)[:60]:
            j, s = flat[k]
            if rows[j]["evidence"] == r["evidence"] or holds(r["answer"], s) or s in hard:
                continue
            hard.append(s)
            if len(hard) >= HARD:
                break
        same = [k for k in by_date.get(r["date"], []) if flat[k][0] != i]
        rand = [flat[rng.choice(same)][1]] if same else []
        rand = [s for s in rand if not holds(r["answer"], s)]
        s0, sp0 = pos[0]
        cand = [s0, *neg, *hard, *rand]
        groups.append(
            Group(
                r["id"],
                r["date"],
                r["question"],
                r["answer"],
                cand,
                [1] + [0] * (len(cand) - 1),
                [sp0] + [None] * (len(cand) - 1),
            )
        )
    return groups


def encode(tok, groups: list[Group]):
    """Tokenised pairs of a batch of groups, with span targets in word pieces."""
    import torch

    qs, ss, spans, gid, labels = [], [], [], [], []
    for g_i, g in enumerate(groups):
        for s, y, sp in zip(g.sentences, g.labels, g.spans, strict=True):
            qs.append(g.question)
            ss.append(s)
            spans.append(sp)
            gid.append(g_i)
            labels.append(y)
    b = tok(
        qs,
        ss,
        truncation="only_second",
        max_length=cr.MAX_TOKENS,
        padding=True,
        return_offsets_mapping=True,
        return_tensors="pt",
    )
    offsets = b.pop("offset_mapping").numpy()
    starts, ends = [], []
    for k, sp in enumerate(spans):
        st = en = 0
        if sp:
            seq = b.sequence_ids(k)
            for t, sid in enumerate(seq):
                if sid != 1:
                    continue
                a, e = offsets[k, t]
                if st == 0 and e > sp[0]:
                    st = t
                if a < sp[1]:
                    en = t
            if en < st:
                st = en = 0
        starts.append(st)
        ends.append(en)
    seg = torch.tensor(
        [[1 if s == 1 else 0 for s in b.sequence_ids(k)] for k in range(len(qs))], dtype=torch.bool
    )
    return (
        b,
        seg,
        torch.tensor(starts),
        torch.tensor(ends),
        torch.tensor(gid),
        torch.tensor(labels, dtype=torch.float32),
    )


def losses(model, batch, n_groups: int):
    import torch
    import torch.nn.functional as F

    b, seg, starts, ends, gid, labels = batch
    rel, start, end = model(b["input_ids"], b["attention_mask"], b["token_type_ids"])
    rel, start, end = rel.float(), start.float(), end.float()
    allowed = seg.clone()
    allowed[:, 0] = True
    start = start.masked_fill(~allowed, -1e4)
    end = end.masked_fill(~allowed, -1e4)
    point = F.binary_cross_entropy_with_logits(rel, labels)
    listwise = []
    for g in range(n_groups):
        sel = gid == g
        z = rel[sel]
        listwise.append(torch.logsumexp(z, 0) - z[labels[sel].argmax()])
    listwise = torch.stack(listwise).mean()
    span = (F.cross_entropy(start, starts) + F.cross_entropy(end, ends)) / 2
    return point + listwise + span, (point.item(), listwise.item(), span.item())


def evaluate(model, tok, groups: list[Group]) -> dict:
    """Held-out: is the top-scored sentence the answer's; is the short answer right; how
    often the positive's probability and a negative's stand above 0.5."""
    import torch

    model.eval()
    top1 = short_hit = short_exact = 0
    pos_p, neg_p = [], []
    with torch.inference_mode():
        for k in range(0, len(groups), 16):
            chunk = groups[k : k + 16]
            b, seg, *_ = encode(tok, chunk)
            offsets = tok(
                [g.question for g in chunk for _ in g.sentences],
                [s for g in chunk for s in g.sentences],
                truncation="only_second",
                max_length=cr.MAX_TOKENS,
                padding=True,
                return_offsets_mapping=True,
            )["offset_mapping"]
            rel, start, end = model(b["input_ids"], b["attention_mask"], b["token_type_ids"])
            rel, start, end = rel.float().numpy(), start.float().numpy(), end.float().numpy()
            row = 0
            for g in chunk:
                n = len(g.sentences)
                z = rel[row : row + n]
                best = int(np.argmax(z))
                top1 += g.labels[best] == 1
                pos_p.append(float(z[0]))
                neg_p += [float(v) for v in z[1:]]
                a, e, margin = cr.span_from_logits(start[row], end[row], seg[row].numpy())
                text = g.sentences[0]
                if margin > -1e8:
                    x, y = cr.widen(text, offsets[row][a][0], offsets[row][e][1])
                    got = text[x:y].lower()
                    gold = g.answer.lower().strip("“”\"' ")
                    short_hit += gold in got or (got and got in gold and len(got) >= 4)
                    short_exact += got.strip() == gold
                row += n
    n = len(groups)
    sig = lambda v: 1 / (1 + np.exp(-np.array(v)))  # noqa: E731
    return {
        "questions": n,
        "top1": round(top1 / n, 3),
        "short_contains_gold_on_answer_sentence": round(short_hit / n, 3),
        "short_exact": round(short_exact / n, 3),
        "answer_sentence_p_over_half": round(float((sig(pos_p) > 0.5).mean()), 3),
        "other_sentence_p_over_half": round(float((sig(neg_p) > 0.5).mean()), 3),
    }


def cpu_name() -> str:
    from common import cpu

    model, flags = cpu()
    fast = sorted(f for f in flags if "bf16" in f or "amx" in f)
    return f"{model} ({', '.join(fast) or 'no bf16'})"


def main() -> None:
    import torch

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--write", action="store_true", help="ship assistant/cross_reader.npz")
    ap.add_argument("--epochs", type=float, default=2.0)
    ap.add_argument("--layers", type=int, default=3, help="top layers fine-tuned")
    ap.add_argument("--limit", type=int, default=0, help="train on this many groups (a trial)")
    ap.add_argument("--batch", type=int, default=8, help="groups per step")
    args = ap.parse_args()
    need_shared(DATA)
    torch.manual_seed(SEED)
    torch.set_num_threads(2)
    started = time.perf_counter()
    rows = load_rows()
    groups = build(rows)
    rows_by_id = {r["id"]: r for r in rows}
    test = [g for g in groups if held_out(rows_by_id[g.qid])]
    train = [g for g in groups if not held_out(rows_by_id[g.qid])]
    random.Random(SEED).shuffle(train)
    if args.limit:
        train = train[: args.limit]
    print(
        f"{len(train)} training groups, {len(test)} held out; built in "
        f"{time.perf_counter() - started:.0f} s",
        flush=True,
    )
    base, tok = cr.load_base()
    model = cr.build_model(base, args.layers)
    trained = model.trained_parameters()
    for name, p in model.named_parameters():
        p.requires_grad = name in trained
    before = evaluate(model, tok, test) if not args.limit else {}
    heads = [p for n, p in trained.items() if n.startswith(("relevance", "span"))]
    body = [p for n, p in trained.items() if not n.startswith(("relevance", "span"))]
    opt = torch.optim.AdamW(
        [{"params": body, "lr": 5e-5}, {"params": heads, "lr": 1e-3}], weight_decay=0.01
    )
    steps = int(len(train) / args.batch * args.epochs)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / (0.06 * steps)) * max(0.0, 1 - s / steps)
    )
    model.train()
    t0 = time.perf_counter()
    for step in range(steps):
        k = (step * args.batch) % len(train)
        chunk = train[k : k + args.batch] or train[: args.batch]
        batch = encode(tok, chunk)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            loss, parts = losses(model, batch, len(chunk))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_([*body, *heads], 1.0)
        opt.step()
        sched.step()
        if step % 50 == 0:
            el = time.perf_counter() - t0
            print(f"step {step}/{steps} loss {loss.item():.3f} {parts} {el:.0f} s", flush=True)
    train_s = time.perf_counter() - t0
    after = evaluate(model, tok, test)
    print("held out before", before, "after", after, flush=True)
    out = {
        "data": "realtimeqa_train (2020-2022, 2024; 2023 dropped); "
        "held out: 1/5 of 2024 by id hash",
        "train_groups": len(train),
        "held_out_groups": len(test),
        "epochs": args.epochs,
        "layers": args.layers,
        "train_seconds": round(train_s),
        "held_out_untrained": before,
        "held_out": after,
        "cpu": cpu_name(),
    }
    if args.write:
        model.eval()
        cr.save(model, cr.WEIGHTS)
        out["weights_bytes"] = cr.WEIGHTS.stat().st_size
        (RESULTS / "cross_reader.json").write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
