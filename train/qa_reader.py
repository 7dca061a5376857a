"""Train the reader (``assistant/answering/span_reader.py``): given a question and a window of
text, the words that answer it, or "no answer here" ([CLS]).

One command, seeded, checkpointed and resumable:

    .venv/bin/python train/qa_reader.py            # trains, or resumes where it stopped
    .venv/bin/python train/qa_reader.py --write    # ... and saves the shipped weights

The examples come from ``train/qa_data.py`` (SQuAD 2.0 train part, QED, RealTime QA quiz
evidence and news weeks before the held-out block; never the sets the benchmarks report on).
The network starts from the span reader shipped before it (the packaged MiniLM already
fine-tuned for spans on quiz evidence; ``WARM_START``) and trains all six layers and the head;
the word-piece embeddings stay the packaged model's own, so only the layers and the head ship
(int8 with a scale per row, about 10 MB).
Loss: cross-entropy of the start and of the end word piece over the window's pieces and [CLS],
which stands for "no answer", so the best span's margin over [CLS] is one score that compares
across windows and one threshold decides.

Every ``--checkpoint-every`` steps the state (weights, optimiser, schedule, step) goes to
``train/.ckpt/`` with the packed weights beside it; a rerun continues from there. About 100
minutes on 2 cores for the default run in float32; bfloat16 (autocast; the weights and the
optimiser stay float32) where the CPU runs it clearly faster (``--dtype auto``, the embedder's
``fastest_dtype`` test: about 1.6 times faster per step on an EPYC with ``avx512_bf16``).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "train"))
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO))
from common import RESULTS, need_shared  # noqa: E402 - offline settings first
from qa_cloze import cloze_groups  # noqa: E402
from qa_contrast import Thesaurus, contrast_groups  # noqa: E402
from qa_data import SHARED, all_examples, all_groups  # noqa: E402
from qa_synonyms import synonym_groups  # noqa: E402
from trainer import (  # noqa: E402
    BATCH,
    batches,
    forward_dtype,
    group_batches,
    optimiser,
    progress,
    save,
    update,
    warm_start,
)

from assistant.answering import qa_reader as sr  # noqa: E402
from assistant.answering.span_reader import pack  # noqa: E402

SEED = 23
LR = 6e-5
EPOCHS = 1.0
CKPT = REPO / "train" / ".ckpt"
#: Questions keep their last this many word pieces (a news quiz may tell a story first).
QUESTION_TOKENS = 64


def encode(tokenizer, batch):
    """Tokenised pairs and their start/end word pieces (0, 0: no answer; -100: the answer was
    cut off by truncation, so the example teaches nothing about spans)."""
    import torch

    questions = []
    for q, _, _, _ in batch:
        ids = tokenizer(q, add_special_tokens=False, return_offsets_mapping=True)
        offs = ids["offset_mapping"]
        questions.append(q if len(offs) <= QUESTION_TOKENS else q[offs[-QUESTION_TOKENS][0] :])
    enc = tokenizer(
        questions,
        [t for _, t, _, _ in batch],
        truncation="only_second",
        max_length=sr.MAX_TOKENS,
        padding=True,
        return_offsets_mapping=True,
        return_tensors="pt",
    )
    offsets = enc.pop("offset_mapping").numpy()
    starts, ends = [], []
    for k, (_, _, at, _) in enumerate(batch):
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
            if first < 0 or last < first:
                first = last = -100
        starts.append(first)
        ends.append(last)
    allowed = torch.tensor(
        [
            [sid == 1 or t == 0 for t, sid in enumerate(enc.sequence_ids(k))]
            for k in range(len(batch))
        ]
    )
    return enc, allowed, torch.tensor(starts), torch.tensor(ends)


#: The span reader shipped before this reader (trained by the earlier ``train/span_reader.py``
#: on RealTime QA quiz evidence): the starting point, read from the repository's history so
#: that a rerun starts where the shipped reader did, not from the reader it produced.
WARM_START = ("81c9ee9", "assistant/answering/span_reader.npz")


def shared_loss(start, end, starts, ends, gids):  # type: ignore[no-untyped-def]
    """Cross-entropy of the answer over *all* the windows of its question at once (shared
    normalisation): the start (and end) logits of every window of a group, their [CLS] pieces
    included, form one distribution; its target is the answer's pieces where a window holds it,
    else every window's [CLS] ("none of these answers"). So a span's score compares across
    windows, which a softmax per window does not teach. Groups whose answer was cut off by
    truncation teach nothing and are skipped."""
    import torch

    total, n = start.sum() * 0.0, 0  # a zero that keeps the graph, should no group count
    for g in torch.unique(gids):
        rows = (gids == g).nonzero().squeeze(1)
        s_at, e_at = starts[rows], ends[rows]
        if (s_at == -100).any() and not (s_at > 0).any():
            continue
        answered = s_at > 0
        s, e = start[rows], end[rows]
        target_s = torch.zeros_like(s, dtype=torch.bool)
        target_e = torch.zeros_like(e, dtype=torch.bool)
        if answered.any():
            for r in answered.nonzero().squeeze(1).tolist():
                target_s[r, s_at[r]] = True
                target_e[r, e_at[r]] = True
        else:
            target_s[:, 0] = True
            target_e[:, 0] = True
        total = total + (s.logsumexp((0, 1)) - s[target_s].logsumexp(0))
        total = total + (e.logsumexp((0, 1)) - e[target_e].logsumexp(0))
        n += 1
    return total / max(1, 2 * n)


def with_distractors(groups: list[list[Any]], k: int, seed: int) -> list[list[Any]]:
    """Each group with ``k`` windows of other groups added as "no answer" (seeded), never one
    that holds the group's answer. Trained so, a span must stand out against the "no answer"
    of many windows that say nothing of the question, as it must when the product reads a
    dozen windows of a collection; the groups of the data hold one to six windows."""
    rng = random.Random(seed + 1)
    pool = [(g, x[1]) for g, group in enumerate(groups) for x in group]
    out = []
    for g, group in enumerate(groups):
        answers = {x[1][x[2][0] : x[2][1]].lower() for x in group if x[2]}
        added: list[Any] = []
        while len(added) < k:
            other, text = pool[rng.randrange(len(pool))]
            if other != g and not any(a and a in text.lower() for a in answers):
                added.append([group[0][0], text, None, group[0][3]])
        out.append([*group, *added])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="save the shipped weights at the end")
    parser.add_argument("--epochs", type=float, default=EPOCHS)
    parser.add_argument("--checkpoint-every", type=int, default=100)
    parser.add_argument("--max-steps", type=int, default=0, help="stop (resumably) after this")
    parser.add_argument(
        "--shared",
        action="store_true",
        help="one softmax over all the windows of a question (qa_data.all_groups); "
        "checkpoints in train/.ckpt-shared",
    )
    parser.add_argument(
        "--warm-start",
        metavar="REVISION:PATH",
        help="weights of the repository's history to start from (default: WARM_START)",
    )
    parser.add_argument(
        "--distractors",
        type=int,
        default=0,
        help="with --shared: add this many windows of other questions to each question's "
        "windows, as the product reads a dozen windows of which most say nothing of the "
        "question; checkpoints in train/.ckpt-shared-d<N>",
    )
    parser.add_argument(
        "--hard",
        type=int,
        default=0,
        help="with --shared: this many near-miss windows of the week for each news question "
        "(qa_data.all_groups week_negatives; default 4), as many as the product reads; "
        "checkpoints in train/.ckpt-shared-h<N>",
    )
    parser.add_argument(
        "--dtype",
        choices=("auto", "float32", "bfloat16"),
        default="auto",
        help="precision of the forward pass (autocast); auto: bfloat16 where the CPU runs it "
        "clearly faster (assistant.index.embeddings.fastest_dtype)",
    )
    parser.add_argument(
        "--thesaurus",
        action="store_true",
        help="with --contrast: no swap WordNet says may keep the question's meaning "
        "(qa_contrast.Thesaurus); checkpoints in ...-c<N>t",
    )
    parser.add_argument(
        "--cloze",
        type=int,
        default=0,
        help="with --shared: add this many questions made from a news sentence and answered "
        "by another outlet's sentence of the same fact (qa_cloze.cloze_groups); checkpoints "
        "in ...-z<N>",
    )
    parser.add_argument(
        "--contrast",
        type=int,
        default=0,
        help="with --shared: add this many questions made unanswerable by one word "
        "(qa_contrast.contrast_groups); checkpoints in train/.ckpt-shared[-h<N>]-c<N>",
    )
    parser.add_argument(
        "--synonyms",
        type=int,
        default=0,
        help="with --shared: add this many questions with one or two of the words they share "
        "with their answer's window put in WordNet's other words, answered as before "
        "(qa_synonyms.synonym_groups); checkpoints in ...-s<N>",
    )
    parser.add_argument(
        "--sources",
        help="train on the groups of these sources only (comma-separated: squad, qed, quiz, "
        "weeks; default all)",
    )
    parser.add_argument(
        "--product",
        type=int,
        default=0,
        metavar="N",
        help="add the windows the product reads for 2025-01..06 questions "
        "(train/product_windows.py), N times over",
    )
    parser.add_argument(
        "--checkpoints",
        type=Path,
        help="the checkpoint folder (default: named after the options, as above); a run of "
        "other epochs or another warm start needs its own",
    )
    args = parser.parse_args()
    ckpt = CKPT.with_name(".ckpt-shared") if args.shared else CKPT
    if args.shared and args.distractors:
        ckpt = CKPT.with_name(f".ckpt-shared-d{args.distractors}")
    if args.shared and args.hard:
        ckpt = CKPT.with_name(f".ckpt-shared-h{args.hard}")
    if args.shared and args.contrast:
        ckpt = ckpt.with_name(f"{ckpt.name}-c{args.contrast}{'t' if args.thesaurus else ''}")
    if args.shared and args.cloze:
        ckpt = ckpt.with_name(f"{ckpt.name}-z{args.cloze}")
    if args.shared and args.synonyms:
        ckpt = ckpt.with_name(f"{ckpt.name}-s{args.synonyms}")
    if args.checkpoints:
        ckpt = args.checkpoints
    need_shared(SHARED / "train")
    import torch
    import torch.nn.functional as F

    torch.manual_seed(SEED)
    torch.set_num_threads(2)
    cache = ckpt / "examples.json"
    if cache.exists():
        stored = json.loads(cache.read_text())
    else:
        if not args.shared:
            stored = all_examples(SEED)
        else:  # --hard: as many near misses for an absent question as for an answerable one
            stored = all_groups(SEED, args.hard, args.hard) if args.hard else all_groups(SEED)
        ckpt.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps(stored))
    if args.sources:
        keep = set(args.sources.split(","))
        stored = [g for g in stored if (g[0][3] if args.shared else g[3]) in keep]
    if args.shared and args.product:
        from product_windows import product_groups

        stored = stored + product_groups() * args.product
    if args.shared and args.distractors:
        stored = with_distractors(stored, args.distractors, SEED)
    if args.shared and args.cloze:
        stored = stored + cloze_groups(args.cloze, SEED)
    if args.shared and args.synonyms:
        made = synonym_groups(stored, args.synonyms, SEED)
        for group in made[:12]:
            print("synonyms:", group[0][0], flush=True)
        print(f"{len(made)} questions asked in other words", flush=True)
        stored = stored + made
    if args.shared and args.contrast:
        thesaurus = Thesaurus() if args.thesaurus else None
        made = contrast_groups(stored, args.contrast, SEED, thesaurus)
        for group in made[:12]:
            print("contrast:", group[0][0], flush=True)
        stored = stored + made
    if args.shared:
        groups: list[list[int]] = []
        data = []
        for group in stored:
            groups.append(list(range(len(data), len(data) + len(group))))
            data.extend(tuple(x) for x in group)
    else:
        data = [tuple(x) for x in stored]
    data = [(q, t, tuple(a) if a else None, s) for q, t, a, s in data]
    if args.shared:
        lengths = [len(q) + len(t) for q, t, _, _ in data]
        plan = [
            [k for g in batch for k in groups[g]] for batch in group_batches(groups, lengths, SEED)
        ]
        group_id = {k: g for g, members in enumerate(groups) for k in members}
    else:
        plan = batches(data, SEED)
    steps = int(len(plan) * args.epochs)
    print(f"{len(data)} examples, {steps} steps of {BATCH}", flush=True)

    # Making the contrast or synonym questions loads the product's embedder, which keeps torch
    # to one thread and, in float32, turns oneDNN off (embeddings.py); training wants both
    # cores, and without oneDNN a bfloat16 step is several times slower.
    torch.set_num_threads(2)
    torch.backends.mkldnn.enabled = True  # type: ignore[assignment]  # a module flag
    base, tokenizer = sr.load_base()
    model = sr.build(base)
    warm = warm_start(args.warm_start, WARM_START)
    if warm:
        model.load_state_dict({k: torch.from_numpy(v) for k, v in warm.items()}, strict=False)
    params, opt, sched, step = optimiser(model, steps, LR, 0.05, ckpt)
    dtype = forward_dtype(args.dtype)
    print(f"forward pass in {dtype}", flush=True)
    model.train()
    started, losses = time.time(), []
    first = step
    while step < steps and (not args.max_steps or step < args.max_steps):
        idx = plan[step % len(plan)]
        enc, allowed, starts, ends = encode(tokenizer, [data[i] for i in idx])
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=dtype == "bfloat16"):
            start, end = model(enc["input_ids"], enc["attention_mask"], enc["token_type_ids"])
        start, end = start.float(), end.float()
        start = start.masked_fill(~allowed, -1e4)
        end = end.masked_fill(~allowed, -1e4)
        if args.shared:
            gids = torch.tensor([group_id[i] for i in idx])
            loss = shared_loss(start, end, starts, ends, gids)
        else:
            loss = (
                F.cross_entropy(start, starts, ignore_index=-100)
                + F.cross_entropy(end, ends, ignore_index=-100)
            ) / 2
        losses.append(update(loss, params, opt, sched))
        step += 1
        progress(step, steps, first, started, losses, 20)
        if step % args.checkpoint_every == 0:
            save(ckpt, model, opt, sched, step)
    save(ckpt, model, opt, sched, step)
    record = json.dumps(
        {
            "examples": len(data),
            "steps": step,
            "of": steps,
            "batch": BATCH,
            "lr": LR,
            "shared": args.shared,
            "argv": sys.argv[1:],
        },
        indent=2,
    )
    # each run's record beside its checkpoints; the shipped weights' in bench/results only
    # when the run writes them, so that an experiment leaves the shipped run's record alone
    (ckpt / "train.json").write_text(record + "\n")
    if step >= steps and args.write:
        np.savez_compressed(sr.WEIGHTS, **pack(model.trained()))
        print(f"wrote {sr.WEIGHTS}")
        (RESULTS / "qa_reader_train.json").write_text(record + "\n")


if __name__ == "__main__":
    main()
