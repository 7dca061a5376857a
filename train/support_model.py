"""Train the support model (``train/support_net.py``, an experiment, not shipped): does this
span of a passage state this claim? One command, seeded, checkpointed and resumable:

    .venv/bin/python train/support_model.py     # trains, or resumes where it stopped
    .venv/bin/python bench/support.py --model train/.ckpt-support/support.npz

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
import os
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
from qa_data import SHARED, held_out_weeks  # noqa: E402
from support_data import all_pairs, week_pairs  # noqa: E402

from assistant.answering.span_reader import load_base, pack, unpack  # noqa: E402


def _train_module(name: str):  # type: ignore[no-untyped-def]
    """A module of ``train/`` by file (``bench/`` has one of the same name)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"train_{name}", REPO / "train" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


group_batches = _train_module("qa_reader").group_batches
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
    lengths = [len(c) + len(s) for c, s, _, _ in data]
    plan = [[g for g in b] for b in group_batches([[k] for k in range(len(data))], lengths, SEED)]
    steps = int(len(plan) * args.epochs)
    print(f"{len(data)} pairs, {steps} steps", flush=True)

    base, tokenizer = load_base()
    import support_net as sm

    model = sm.build(base)
    with np.load(REPO / "assistant" / "answering" / "qa_reader.npz", allow_pickle=False) as f:
        warm = unpack({k: f[k] for k in f.files})
    warm = {k: v for k, v in warm.items() if k.startswith("base.")}
    model.load_state_dict({k: torch.from_numpy(v) for k, v in warm.items()}, strict=False)
    for p in model.base.embeddings.parameters():
        p.requires_grad_(False)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=LR, weight_decay=0.01)
    warmup = max(1, int(0.06 * steps))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warmup) * max(0.0, (steps - s) / max(1, steps - warmup))
    )
    step = 0
    if (CKPT / "state.pt").exists():
        state = torch.load(CKPT / "state.pt", weights_only=False)
        model.load_state_dict(state["model"], strict=False)
        opt.load_state_dict(state["opt"])
        sched.load_state_dict(state["sched"])
        step = state["step"]
        print(f"resumed at step {step}", flush=True)

    def save() -> None:
        tmp = CKPT / "state.pt.tmp"
        torch.save(
            {
                "model": {
                    k: v for k, v in model.state_dict().items() if not k.startswith("base.embed")
                },
                "opt": opt.state_dict(),
                "sched": sched.state_dict(),
                "step": step,
            },
            tmp,
        )
        os.replace(tmp, CKPT / "state.pt")
        np.savez_compressed(CKPT / "support.tmp.npz", **pack(model.trained()))
        os.replace(CKPT / "support.tmp.npz", CKPT / "support.npz")

    model.train()
    started, losses, first = time.time(), [], step
    while step < steps:
        idx = plan[step % len(plan)]
        batch = [data[i] for i in idx]
        enc = encode(tokenizer, batch)
        logit = model(enc["input_ids"], enc["attention_mask"], enc["token_type_ids"])
        target = torch.tensor([float(y) for _, _, y, _ in batch])
        loss = F.binary_cross_entropy_with_logits(logit, target)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        opt.zero_grad()
        step += 1
        losses.append(loss.item())
        if step % 10 == 0:
            rate = (time.time() - started) / (step - first)
            print(
                f"step {step}/{steps} loss {np.mean(losses[-10:]):.3f} "
                f"{rate:.2f} s/step, {rate * (steps - step) / 60:.0f} min left",
                flush=True,
            )
        if step % args.checkpoint_every == 0:
            save()
    save()

    # held-out weeks: made the same way, never trained on
    rng = random.Random(SEED + 1)
    held = [p for w in held_out_weeks() for p in week_pairs(w, rng, 40)]
    model.eval()
    scores: list[float] = []
    with torch.inference_mode():
        for i in range(0, len(held), 64):
            batch = held[i : i + 64]
            enc = encode(tokenizer, batch)
            scores.extend(
                model(enc["input_ids"], enc["attention_mask"], enc["token_type_ids"]).tolist()
            )
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
