"""Train the support model (``train/support_net.py``, an experiment, not shipped): does this
span of a passage state this claim? One command, seeded, checkpointed and resumable:

    .venv/bin/python train/support_model.py     # trains, or resumes where it stopped
    .venv/bin/python bench/support.py --model train/.ckpt-support/reader.npz

Pairs from ``train/support_data.py`` (news weeks before the held-out block and RealTime QA quiz
evidence; never our documents or ``bench/data``). The network is the packaged MiniLM reading
``[CLS] claim [SEP] span [SEP]`` with one logit on [CLS]; its layers start from the shipped
reader's (``assistant/answering/qa_reader.npz``: it already reads a question against a
window), the word-piece embeddings stay the packaged model's own. Binary cross-entropy, AdamW,
linear warm-up and decay, batches of similar length. Checkpoints in ``train/.ckpt-support``.
At the end it reports accuracy and AUC on pairs made the same way from the held-out weeks
(2025-07 on), which training never reads. About 25 minutes on 2 cores.
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
import trainer  # noqa: E402
from common import RESULTS, need_shared  # noqa: E402 - offline settings first
from qa_data import SHARED, held_out_weeks  # noqa: E402
from support_data import all_pairs, week_pairs  # noqa: E402

from assistant.answering.span_reader import load_base  # noqa: E402

SEED = 25
LR = 4e-5
EPOCHS = 1.0
CKPT = REPO / "train" / ".ckpt-support"


def encode(tokenizer, batch):  # type: ignore[no-untyped-def]
    import support_net as sm

    return sm.encode(tokenizer, [(c, s) for c, s, _, _ in batch], padding=True)


def auc(scores: list[float], labels: list[bool]) -> float:
    pos = [s for s, y in zip(scores, labels, strict=True) if y]
    neg = [s for s, y in zip(scores, labels, strict=True) if not y]
    if not pos or not neg:
        return float("nan")
    neg_sorted = np.sort(neg)
    wins = sum(np.searchsorted(neg_sorted, p, side="left") for p in pos)
    ties = sum(
        np.searchsorted(neg_sorted, p, side="right") - np.searchsorted(neg_sorted, p) for p in pos
    )
    return float((wins + 0.5 * ties) / (len(pos) * len(neg)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=float, default=EPOCHS)
    parser.add_argument("--checkpoint-every", type=int, default=50)
    parser.add_argument("--per-week", type=int, default=100)
    args = parser.parse_args()
    need_shared(SHARED / "train")
    import torch
    import torch.nn.functional as F

    torch.manual_seed(SEED)
    torch.set_num_threads(2)
    CKPT.mkdir(exist_ok=True)
    cache = CKPT / "pairs.json"
    if not cache.exists():
        cache.write_text(json.dumps(all_pairs(SEED, args.per_week)))
    data = [tuple(x) for x in json.loads(cache.read_text())]
    plan = trainer.batches(data, SEED)
    steps = int(len(plan) * args.epochs)
    print(f"{len(data)} pairs, {steps} steps", flush=True)

    base, tokenizer = load_base()
    import support_net as sm

    model = sm.build(base)
    warm = trainer.warm_start(str(REPO / "assistant" / "answering" / "qa_reader.npz")) or {}
    layers = {k: torch.from_numpy(v) for k, v in warm.items() if k.startswith("base.")}
    model.load_state_dict(layers, strict=False)
    params, opt, sched, step = trainer.optimiser(model, steps, LR, 0.06, CKPT)

    model.train()
    started, losses, first = time.time(), [], step
    while step < steps:
        idx = plan[step % len(plan)]
        batch = [data[i] for i in idx]
        enc = encode(tokenizer, batch)
        logit = sm.logit(model, enc)
        target = torch.tensor([float(y) for _, _, y, _ in batch])
        loss = F.binary_cross_entropy_with_logits(logit, target)
        losses.append(trainer.update(loss, params, opt, sched))
        step += 1
        trainer.progress(step, steps, first, started, losses, 10)
        if step % args.checkpoint_every == 0:
            trainer.save(CKPT, model, opt, sched, step)
    trainer.save(CKPT, model, opt, sched, step)

    # held-out weeks: made the same way, never trained on
    rng = random.Random(SEED + 1)
    held = [p for w in held_out_weeks() for p in week_pairs(w, rng, 40)]
    model.eval()
    scores: list[float] = []
    with torch.inference_mode():
        for i in range(0, len(held), 64):
            batch = held[i : i + 64]
            enc = encode(tokenizer, batch)
            scores.extend(sm.logit(model, enc).tolist())
    labels = [y for _, _, y, _ in held]
    by_kind: dict[str, list[float]] = {}
    for (_, _, y, kind), s in zip(held, scores, strict=True):
        by_kind.setdefault(kind, []).append(float((s > 0) == y))
    report = {
        "pairs": len(data),
        "steps": step,
        "lr": LR,
        "held_out": {
            "pairs": len(held),
            "auc": round(auc(scores, labels), 4),
            "accuracy_at_0": round(
                float(np.mean([(s > 0) == y for s, y in zip(scores, labels, strict=True)])), 4
            ),
            "accuracy_by_kind": {
                k: round(float(np.mean(v)), 3) for k, v in sorted(by_kind.items())
            },
        },
    }
    print(json.dumps(report, indent=1), flush=True)
    (RESULTS / "support_model_train.json").write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
