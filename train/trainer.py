"""What the trainers under ``train/`` share (``qa_reader.py``, ``support_model.py``): batches
of similar length in a seeded order, a warm start, the optimiser with its schedule and resume,
one update, progress lines, checkpoints, and the forward pass's precision.
"""

from __future__ import annotations

import os
import random
import time
from pathlib import Path

import numpy as np

from assistant.answering.span_reader import pack, unpack

REPO = Path(__file__).resolve().parents[1]
BATCH = 32


def batches(data: list, seed: int) -> list[list[int]]:
    """Batches of ``BATCH`` examples of similar length (less padding), in a seeded order:
    ``group_batches`` with every example a group of its own."""
    lengths = [len(q) + len(t) for q, t, *_ in data]
    return group_batches([[k] for k in range(len(data))], lengths, seed)


def group_batches(groups: list[list[int]], lengths: list[int], seed: int) -> list[list[int]]:
    """Batches of whole groups (a question's windows stay together), about ``BATCH`` windows
    each, in a seeded order: blocks of 50 batches' worth are sorted by length inside (less
    padding), then the batches shuffled."""
    rng = random.Random(seed)
    order = list(range(len(groups)))
    rng.shuffle(order)
    out: list[list[int]] = []
    block = 50 * BATCH
    for i in range(0, len(order), block):
        chunk = sorted(order[i : i + block], key=lambda g: max(lengths[k] for k in groups[g]))
        batch: list[int] = []
        for g in chunk:
            if batch and sum(len(groups[h]) for h in batch) + len(groups[g]) > BATCH:
                out.append(batch)
                batch = []
            batch.append(g)
        if batch:
            out.append(batch)
    rng.shuffle(out)
    return out


def warm_start(
    spec: str | None = None, default: tuple[str, str] | None = None
) -> dict[str, np.ndarray] | None:
    """The warm-start weights (``REVISION:PATH`` of the repository's history, a file's path,
    or ``default``, a (revision, path)), or None (then the packaged MiniLM with a fresh
    head)."""
    import io
    import subprocess

    if spec and Path(spec).is_file():  # weights on disk (a checkpoint's reader.npz)
        blob = Path(spec).read_bytes()
    else:
        where = spec.split(":", 1) if spec else default
        if where is None:
            return None
        revision, path = where
        shown = subprocess.run(
            ["git", "-C", str(REPO), "show", f"{revision}:{path}"], capture_output=True
        )
        if shown.returncode != 0:
            print(f"no warm start ({revision}:{path} not in this clone's history)", flush=True)
            return None
        blob = shown.stdout
    with np.load(io.BytesIO(blob), allow_pickle=False) as f:
        return unpack({k: f[k] for k in f.files})


def optimiser(model, steps: int, lr: float, warmup_share: float, ckpt: Path):  # type: ignore[no-untyped-def]
    """The embeddings frozen, AdamW over the rest with linear warm-up and decay, and the step
    to start at: all as ``ckpt/state.pt`` left them where it exists (a resumed run)."""
    import torch

    for p in model.base.embeddings.parameters():
        p.requires_grad_(False)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.01)
    warmup = max(1, int(warmup_share * steps))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warmup) * max(0.0, (steps - s) / max(1, steps - warmup))
    )
    step = 0
    if (ckpt / "state.pt").exists():
        state = torch.load(ckpt / "state.pt", weights_only=False)
        model.load_state_dict(state["model"], strict=False)
        opt.load_state_dict(state["opt"])
        sched.load_state_dict(state["sched"])
        step = state["step"]
        if "torch_rng" in state:  # dropout's draws go on as if the run had not stopped
            torch.set_rng_state(state["torch_rng"])
        print(f"resumed at step {step}", flush=True)
    return params, opt, sched, step


def update(loss, params, opt, sched) -> float:  # type: ignore[no-untyped-def]
    """One optimiser step on ``loss`` (gradients clipped to norm 1); its value."""
    import torch

    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    opt.step()
    sched.step()
    opt.zero_grad()
    return float(loss.item())


def progress(step: int, steps: int, first: int, started: float, losses: list, every: int) -> None:
    """Every ``every`` steps: the mean loss of the last ones and the time left."""
    if step % every == 0:
        rate = (time.time() - started) / (step - first)
        print(
            f"step {step}/{steps} loss {np.mean(losses[-every:]):.3f} "
            f"{rate:.2f} s/step, {rate * (steps - step) / 60:.0f} min left",
            flush=True,
        )


def save(ckpt: Path, model, opt, sched, step: int) -> None:
    """The training state (resumable: a run resumed here ends with the same weights, to the
    bit, as one that never stopped) and the packed weights (``reader.npz``) in ``ckpt``."""
    import torch

    ckpt.mkdir(parents=True, exist_ok=True)
    tmp = ckpt / "state.pt.tmp"
    torch.save(
        {
            "model": {
                k: v for k, v in model.state_dict().items() if not k.startswith("base.embed")
            },
            "opt": opt.state_dict(),
            "sched": sched.state_dict(),
            "step": step,
            "torch_rng": torch.get_rng_state(),
        },
        tmp,
    )
    os.replace(tmp, ckpt / "state.pt")
    np.savez_compressed(ckpt / "reader.tmp.npz", **pack(model.trained()))
    os.replace(ckpt / "reader.tmp.npz", ckpt / "reader.npz")


def forward_dtype(choice: str) -> str:
    """The forward pass's precision: ``choice``, or for "auto" bfloat16 where the CPU runs it
    clearly faster (``assistant.index.embeddings.fastest_dtype``, the embedder's own test)."""
    if choice != "auto":
        return choice
    from assistant.index.embeddings import fastest_dtype

    return fastest_dtype()
