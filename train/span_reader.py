"""Train the span reader (``assistant/answering/span_reader.py``): which words of a text answer a
question.

Data: ``../shared/eval/realtimeqa_train/questions.jsonl`` (news quiz questions of 2020-2022 and
2024 with their answer and evidence paragraph). Rows of 2023 are dropped (the news benchmark's
dev weeks are of 2023); the multiple-choice options are never used; a fifth of the 2024
questions (by a hash of their id, as ``cross_reader.held_out``) is held out and only reported on.
Where the evidence holds the answer (the whole string, or a name's last word: "Carey" for
"Mariah Carey"), a question gives:
- the question with the whole evidence paragraph, the answer's characters as the target;
- the question with the one sentence that holds the answer (how the product reads it);
- for half of the evidence's other sentences, that sentence with "no answer" ([CLS]) as target,
  so that the margin over [CLS] reads as "this sentence does not say it".

All six layers of the packaged MiniLM and the head are trained (AdamW, linear warm-up and
decay, 2 epochs of batches of 16); the word-piece embeddings stay frozen, so only the layers and
the head are saved (int8 with a scale per row: ``span_reader.pack``).

Run from the repository root: ``.venv/bin/python train/span_reader.py [--write]``; about 15
minutes on 2 cores. ``--write`` saves ``assistant/answering/span_reader.npz``; the figures go to
``bench/results/span_reader.json``.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "train"))
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO))
from common import RESULTS, need_shared  # noqa: E402 - offline settings first

from assistant.answering import span_reader as sr  # noqa: E402
from assistant.text.sentences import sentence_spans  # noqa: E402

SEED = 0
EPOCHS = 2.0
BATCH = 16
LR = 1e-4

Example = tuple[str, str, tuple[int, int] | None]


def examples(rows: list[dict], rng: random.Random, negatives: bool) -> list[Example]:
    """(question, text, answer characters in text or None) for every usable row."""
    from cross_reader import holds

    out: list[Example] = []
    for r in rows:
        evidence = r["evidence"].strip()
        at = holds(r["answer"], evidence)
        if not at:
            continue
        out.append((r["question"], evidence, at))
        for a, b in sentence_spans(evidence):
            text = evidence[a:b]
            if a <= at[0] and at[1] <= b:
                out.append((r["question"], text, (at[0] - a, at[1] - a)))
            elif negatives and rng.random() < 0.5 and len(text) > 20:
                if holds(r["answer"], text):
                    continue
                out.append((r["question"], text, None))
    return out


def encode(tokenizer, batch: list[Example]):
    """Tokenised pairs with their start/end word pieces (0, 0: no answer)."""
    import torch

    enc = tokenizer(
        [q for q, _, _ in batch],
        [t for _, t, _ in batch],
        truncation="only_second",
        max_length=sr.MAX_TOKENS,
        padding=True,
        return_offsets_mapping=True,
        return_tensors="pt",
    )
    offsets = enc.pop("offset_mapping").numpy()
    starts, ends = [], []
    for k, (_, _, at) in enumerate(batch):
        first = last = 0
        if at:
            first = last = -1
            for t, sid in enumerate(enc.sequence_ids(k)):
                if sid != 1:
                    continue
                a, e = offsets[k, t]
                if first < 0 and e > at[0]:
                    first = t
                if a < at[1]:
                    last = t
            if first < 0 or last < first:  # cut off by truncation
                first = last = 0
        starts.append(first)
        ends.append(last)
    allowed = torch.tensor(
        [
            [sid == 1 or t == 0 for t, sid in enumerate(enc.sequence_ids(k))]
            for k in range(len(batch))
        ]
    )
    return enc, allowed, torch.tensor(starts), torch.tensor(ends)


def train(
    model, tokenizer, data: list[Example], rng: random.Random, epochs: float = EPOCHS
) -> float:
    import torch
    import torch.nn.functional as F

    for p in model.base.embeddings.parameters():
        p.requires_grad_(False)
    params = [p for p in model.parameters() if p.requires_grad]
    steps = int(len(data) / BATCH * epochs)
    opt = torch.optim.AdamW(params, lr=LR, weight_decay=0.01)
    warm = max(1, int(0.1 * steps))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, s / warm) * max(0.0, (steps - s) / (steps - warm))
    )
    model.train()
    started = time.time()
    order: list[int] = []
    for step in range(steps):
        if not order:
            order = list(range(len(data)))
            rng.shuffle(order)
        idx, order = order[:BATCH], order[BATCH:]
        enc, allowed, starts, ends = encode(tokenizer, [data[i] for i in idx])
        start, end = model(enc["input_ids"], enc["attention_mask"], enc["token_type_ids"])
        start = start.masked_fill(~allowed, -1e4)
        end = end.masked_fill(~allowed, -1e4)
        loss = (F.cross_entropy(start, starts) + F.cross_entropy(end, ends)) / 2
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        opt.zero_grad()
        if (step + 1) % 100 == 0:
            print(f"step {step + 1}/{steps} loss {loss.item():.3f} {time.time() - started:.0f} s")
    model.eval()
    return time.time() - started


def held_out_figures(reader: sr.SpanReader, rows: list[dict]) -> dict[str, float]:
    """On held-out questions, reading the sentence that holds the answer: how often the span
    holds the answer string, how often it is exactly it, and how often the margin is positive."""
    from cross_reader import holds

    hits = exact = positive = total = 0
    for r in rows:
        evidence = r["evidence"].strip()
        at = holds(r["answer"], evidence)
        if not at:
            continue
        for a, b in sentence_spans(evidence):
            if a <= at[0] and at[1] <= b:
                text = evidence[a:b]
                span = reader.read(r["question"], [text])[0]
                total += 1
                if span is None:
                    continue
                got = text[span.start : span.end].lower()
                want = evidence[at[0] : at[1]].lower()
                hits += want in got
                exact += got.strip(" .,;:\"'“”") == want
                positive += span.margin > 0
    return {
        "sentences": total,
        "span_holds_answer": round(hits / max(total, 1), 3),
        "span_is_answer": round(exact / max(total, 1), 3),
        "margin_positive": round(positive / max(total, 1), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--write", action="store_true", help="save assistant/answering/span_reader.npz"
    )
    parser.add_argument("--out", type=Path, default=sr.WEIGHTS)
    parser.add_argument("--epochs", type=float, default=EPOCHS)
    args = parser.parse_args()
    need_shared()
    import torch
    from cross_reader import held_out, load_rows

    torch.manual_seed(SEED)
    torch.set_num_threads(2)
    rng = random.Random(SEED)
    rows = load_rows()
    fit = [r for r in rows if not held_out(r)]
    held = [r for r in rows if held_out(r)]
    data = examples(fit, rng, negatives=True)
    print(f"{len(data)} examples from {len(fit)} questions; {len(held)} held out")
    base, tokenizer = sr.load_base()
    model = sr.build(base)
    seconds = train(model, tokenizer, data, rng, args.epochs)
    path = args.out if args.write else Path("/tmp/span_reader.npz")
    np.savez_compressed(path, **sr.pack(model.trained()))
    reader = sr.SpanReader(path)
    figures = {
        "data": "realtimeqa_train (2020-2022, 2024; 2023 dropped); "
        "held out: 1/5 of 2024 by id hash",
        "examples": len(data),
        "epochs": args.epochs,
        "train_seconds": round(seconds),
        "held_out": held_out_figures(reader, held),
        "weights_bytes": path.stat().st_size,
        "saved": str(path.relative_to(REPO)) if args.write else None,
    }
    print(json.dumps(figures, indent=2))
    (RESULTS / "span_reader.json").write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
