"""A training run stopped at a checkpoint and resumed ends with the same weights, to the bit, as
one that never stopped (``train/trainer.py``; issue 23: training is resumable and reproducible).
A small network with dropout stands in for the reader: dropout is what draws random numbers
at every step, as the reader's does."""

from __future__ import annotations

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "train"))
import trainer  # train/ is a folder of scripts, not a package


class _Base(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embeddings = torch.nn.Embedding(10, 8)  # frozen by trainer.optimiser
        self.layer = torch.nn.Linear(8, 8)


class _Net(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.base = _Base()
        self.drop = torch.nn.Dropout(0.3)
        self.head = torch.nn.Linear(8, 1)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        x = self.base.embeddings(ids).mean(1)
        return self.head(self.drop(torch.relu(self.base.layer(x)))).squeeze(-1)

    def trained(self) -> dict[str, torch.Tensor]:
        return {k: v for k, v in self.state_dict().items() if not k.startswith("base.embed")}


STEPS = 8


def _run(ckpt: Path, stop: int) -> dict[str, torch.Tensor]:
    """A fresh process's run as the trainers make it: seed, model, resume if a checkpoint is
    there, then steps until ``stop`` with a checkpoint at the end."""
    torch.manual_seed(0)
    model = _Net()
    params, opt, sched, step = trainer.optimiser(model, STEPS, 0.05, 0.25, ckpt)
    data = torch.Generator().manual_seed(1)
    ids = torch.randint(0, 10, (STEPS, 4, 3), generator=data)
    target = torch.rand((STEPS, 4), generator=data)
    model.train()
    while step < stop:
        loss = torch.nn.functional.mse_loss(model(ids[step]), target[step])
        trainer.update(loss, params, opt, sched)
        step += 1
    trainer.save(ckpt, model, opt, sched, step)
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_a_resumed_run_ends_where_an_unbroken_one_does(tmp_path: Path) -> None:
    whole = _run(tmp_path / "whole", STEPS)
    _run(tmp_path / "broken", 3)  # stopped at step 3 (the session ended) ...
    resumed = _run(tmp_path / "broken", STEPS)  # ... and the same command run again
    assert whole.keys() == resumed.keys()
    for name, value in whole.items():
        assert torch.equal(value, resumed[name]), name
    assert (tmp_path / "broken" / "reader.npz").exists()


def test_without_the_random_state_the_resumed_run_would_differ(tmp_path: Path) -> None:
    """The check above is not vacuous: dropout's draws after a resume start from the seed
    again unless the checkpoint carries where they had got to."""
    whole = _run(tmp_path / "whole", STEPS)
    _run(tmp_path / "broken", 3)
    state = torch.load(tmp_path / "broken" / "state.pt", weights_only=False)
    del state["torch_rng"]
    torch.save(state, tmp_path / "broken" / "state.pt")
    resumed = _run(tmp_path / "broken", STEPS)
    assert any(not torch.equal(v, resumed[k]) for k, v in whole.items())
