"""Data-parallel fits on two CPU processes (gloo) against one process.

The workers are started by :func:`tests.distributed.run_on_processes` with
the environment torchrun would set; each runs :func:`dyngraph.training.fit` on a
small float64 regression whose loss is a global mean over sharded batches,
with per-rank noise so that per-rank generators matter.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch import nn

from dyngraph.training import NonFiniteLossError, fit
from dyngraph.training import distributed as dist
from tests.distributed import run_on_processes

N, D, BATCH, EPOCHS = 96, 5, 32, 4


class Regression(nn.Module):
    """Least squares, optionally with multiplicative noise drawn per rank."""

    def __init__(self, nan_on_rank: int | None = None, noisy: bool = False) -> None:
        super().__init__()
        gen = torch.Generator().manual_seed(0)
        self.x = torch.randn(N, D, generator=gen, dtype=torch.float64)
        self.y = self.x @ torch.arange(1.0, D + 1, dtype=torch.float64)
        self.w = nn.Parameter(torch.zeros(D, dtype=torch.float64))
        self.nan_on_rank = nan_on_rank
        self.noisy = noisy
        self.calls = 0

    def forward(self, batch: torch.Tensor) -> torch.Tensor:
        part = batch[dist.shard(len(batch))]
        residual = self.x[part] @ self.w - self.y[part]
        if self.noisy:  # drawn from this rank's own generator
            residual = residual * (1 + 0.1 * torch.rand(len(part), dtype=torch.float64))
        loss = dist.global_mean((residual**2).sum(), len(batch))
        self.calls += 1
        if self.nan_on_rank == dist.context().rank and self.calls == 5:
            loss = loss * float("nan")
        return loss


def batches(epoch: int) -> list[torch.Tensor]:
    """The same global batches on every rank (seeded by the epoch only)."""
    order = torch.randperm(N, generator=torch.Generator().manual_seed(epoch))
    return list(order.split(BATCH))


def run_fit(
    out: Path,
    epochs: int,
    checkpoint: Path | None,
    nan_on_rank: int | None = None,
    noisy: bool = False,
) -> None:
    """Fit and write losses and weights (rank 0) or the error (every rank)."""
    model = Regression(nan_on_rank, noisy)
    wrapped = dist.wrap(model)
    optimizer = torch.optim.Adam(wrapped.parameters(), lr=0.2)
    rank = dist.context().rank
    try:
        result = fit(
            wrapped,
            epochs=epochs,
            optimizer=optimizer,
            batches=batches,
            checkpoint=checkpoint,
            seed=3,
            progress=False,
        )
    except NonFiniteLossError as exc:
        (out / f"error{rank}.txt").write_text(str(exc))
        return
    if dist.is_main():
        record = {
            "loss": [h["loss"] for h in result.history],
            "w": model.w.detach().tolist(),
        }
        (out / "result.json").write_text(json.dumps(record))


def scenarios(root: Path) -> None:
    """Every two-process case, in one process group (one spawn, for speed)."""
    for name in ("two", "nan", "straight", "resumed"):
        (root / name).mkdir(exist_ok=True)
    run_fit(root / "two", EPOCHS, None)
    run_fit(root / "nan", EPOCHS, None, nan_on_rank=1)
    run_fit(root / "straight", EPOCHS, root / "straight" / "fit.pt", noisy=True)
    # a run stopped after 2 epochs, then started again from its checkpoint
    run_fit(root / "resumed", 2, root / "resumed" / "fit.pt", noisy=True)
    run_fit(root / "resumed", EPOCHS, root / "resumed" / "fit.pt", noisy=True)


@pytest.fixture(scope="module")
def two_processes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Run :func:`scenarios` on two gloo processes; return their folder."""
    root = tmp_path_factory.mktemp("ddp")
    run_on_processes(scenarios, root)
    return root


def read(out: Path) -> dict:
    return json.loads((out / "result.json").read_text())


def test_shards_cover_the_batch_in_order() -> None:
    for count in (0, 1, 7, 10):
        for world in (1, 2, 3, 4):
            parts = [
                list(range(count))[dist.shard(count, dist.Context(r, world))]
                for r in range(world)
            ]
            assert sum(parts, []) == list(range(count))
            assert max(map(len, parts)) - min(map(len, parts)) <= 1


def test_single_process_is_unchanged(tmp_path: Path) -> None:
    assert not dist.context().distributed
    assert dist.setup() == dist.Context()
    model = Regression()
    assert dist.wrap(model) is model and dist.unwrap(model) is model
    run_fit(tmp_path, EPOCHS, None)
    assert len(read(tmp_path)["loss"]) == EPOCHS


def test_two_processes_take_the_steps_of_one(
    two_processes: Path, tmp_path: Path
) -> None:
    """Same losses and final weights as one process on the same global batch.

    Float64, to 1e-10: not bit-equal, since the ranks' partial gradients are
    summed in another order than one process sums the whole batch.
    """
    run_fit(tmp_path, EPOCHS, None)
    a, b = read(tmp_path), read(two_processes / "two")
    assert len(a["loss"]) == len(b["loss"]) == EPOCHS
    assert a["loss"][-1] < 0.5 * a["loss"][0]  # it does learn
    assert torch.allclose(
        torch.tensor(a["loss"]), torch.tensor(b["loss"]), rtol=1e-10, atol=0
    )
    assert torch.allclose(
        torch.tensor(a["w"]), torch.tensor(b["w"]), rtol=0, atol=1e-10
    )


def test_a_non_finite_loss_on_one_rank_stops_both(two_processes: Path) -> None:
    out = two_processes / "nan"
    errors = [(out / f"error{r}.txt").read_text() for r in (0, 1)]
    assert errors[0] == errors[1]
    assert "nan on rank 1 of 2" in errors[0] and "epoch 1, batch 1" in errors[0]
    assert not (out / "result.json").exists()


def test_an_interrupted_two_process_fit_resumes_to_the_same_result(
    two_processes: Path,
) -> None:
    """Stopped after 2 epochs, resumed to 4: the same as 4 epochs at once.

    With per-rank noise, so every rank must get its own generator states
    back from the one checkpoint that rank 0 wrote.
    """
    a, b = read(two_processes / "straight"), read(two_processes / "resumed")
    assert a == b
    state = torch.load(two_processes / "straight" / "fit.pt", weights_only=True)
    assert state["state"]["world_size"] == 2
    assert len(state["state"]["rng_ranks"]) == 2
    assert a["loss"][0] != read(two_processes / "two")["loss"][0]  # noise is on
