"""SEMBA on two processes (gloo) takes the steps of one process.

Each rank scores its shard of every batch's pairs; every rank observes the
whole batch, so the memory (a buffer, not synchronised by DDP) stays the
same everywhere and the leakage-free order (predict, step, then observe) is
kept on each rank.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch import Tensor
from torch.optim.optimizer import register_optimizer_step_post_hook

from dyngraph.data import (
    TemporalBatchLoader,
    chronological_split,
    signed_faction_network,
)
from dyngraph.models.semba import SEMBA
from dyngraph.models.semba.model import _sampler
from dyngraph.training import distributed as dist
from tests.distributed import run_on_processes

TASKS = ("sign", "existence")


def tiny(task: str) -> tuple[SEMBA, object]:
    """The tiny float64 SEMBA and split of these tests."""
    stream, _ = signed_faction_network(24, num_events=300, seed=2)
    split = chronological_split(stream, 0.15, 0.15)
    torch.manual_seed(0)
    model = SEMBA(
        stream.num_nodes,
        task=task,
        memory_dim=8,
        time_dim=4,
        embedding_dim=8,
        num_neighbors=3,
        heads=1,
        dropout=0.0,  # masks come from each rank's own stream
    ).double()
    return model, (stream, split)


def fit_tiny(out: Path, task: str) -> None:
    """Fit a tiny SEMBA; rank 0 writes its parameters and loss history.

    ``last`` holds the parameters after the last optimizer step (before the
    best epoch's weights are restored).
    """
    model, (stream, split) = tiny(task)
    last: dict[str, list] = {}

    def record_step(*_: object) -> None:
        last.update({k: v.tolist() for k, v in model.named_parameters()})

    hook = register_optimizer_step_post_hook(record_step)
    try:
        model.fit(stream, split, epochs=2, batch_size=50, seed=5)
    finally:
        hook.remove()
    if dist.is_main():
        record = {
            "weights": {k: v.tolist() for k, v in model.named_parameters()},
            "last": last,
            "loss": [h["loss"] for h in model.history_.history],
        }
        (out / f"{task}.json").write_text(json.dumps(record))


def fit_all(out: Path) -> None:
    for task in TASKS:
        fit_tiny(out, task)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    one, two = tmp_path_factory.mktemp("one"), tmp_path_factory.mktemp("two")
    threads = torch.get_num_threads()
    try:
        fit_all(one)
    finally:
        torch.set_num_threads(threads)
    run_on_processes(fit_all, two)
    return one, two


@pytest.mark.parametrize("task", TASKS)
def test_two_processes_fit_semba_like_one(runs, task) -> None:
    """Same losses (to 1e-6) and parameters (to 1e-8) after two epochs.

    Not bit-equal: the shards' gradients are summed in another order. The
    parameters are float64, but the recorded loss goes through float32
    targets, hence its looser tolerance.

    Without dropout: with it, the ranks draw their masks from their own
    generators, so a run is reproducible for a world size but not equal to
    one process.
    """
    one, two = (json.loads((folder / f"{task}.json").read_text()) for folder in runs)
    assert one["loss"] == pytest.approx(two["loss"], rel=1e-6, abs=0)
    assert one["weights"].keys() == two["weights"].keys()
    for key, value in one["weights"].items():
        a = torch.tensor(value, dtype=torch.float64)
        b = torch.tensor(two["weights"][key], dtype=torch.float64)
        assert (b - a).abs().max() <= 1e-8, (key, float((b - a).abs().max()))


def fit_two_shards_in_one_process(task: str) -> dict[str, Tensor]:
    """One process doing what two ranks do: the parameters after the last step.

    Per batch: each shard's loss (:meth:`SEMBA._sharded_loss` as rank 0 and
    rank 1 of 2 would compute it), the whole batch observed, each shard's
    gradient on its own, then their mean (DDP's all-reduce; a parameter
    that no shard uses keeps no gradient, as under DDP) and Adam's step:
    :meth:`SEMBA.fit`'s order, without validation (which changes no weight).
    """
    model, (stream, split) = tiny(task)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    sampler = _sampler(stream, 5) if task == "existence" else None
    real = dist.context
    for _ in range(2):
        model.reset_state()
        model.train()
        for batch in TemporalBatchLoader(split.train, 50, neg_sampler=sampler):
            losses = []
            for rank in range(2):
                dist.context = lambda rank=rank: dist.Context(rank, 2, rank, "gloo")
                try:
                    losses.append(model(batch))
                finally:
                    dist.context = real
            model.observe(batch.events)
            grads = [torch.autograd.grad(x, params, allow_unused=True) for x in losses]
            for p, (a, b) in zip(params, zip(*grads, strict=True), strict=True):
                if a is None and b is None:
                    p.grad = None
                    continue
                a = torch.zeros_like(p) if a is None else a
                b = torch.zeros_like(p) if b is None else b
                p.grad = a / 2 + b / 2
            optimizer.step()
    return {k: v.detach() for k, v in model.named_parameters()}


@pytest.mark.parametrize("task", TASKS)
def test_two_processes_are_one_process_summing_shard_gradients(runs, task) -> None:
    """Bit for bit: nothing but the gradient's summation order differs.

    The two-process run equals, to the last bit, one process that computes
    each rank's shard gradient separately and averages them. So no state
    differs between the ranks (memory, neighbours, negatives, optimizer,
    unused-parameter handling); the only difference from one process is the
    order in which the batch gradient is summed, whose round-off training
    then amplifies (benchmarks/distributed.py ``--semba-drift`` measures it
    against a single process with perturbed initial weights).
    """
    two = json.loads((runs[1] / f"{task}.json").read_text())["last"]
    emulated = fit_two_shards_in_one_process(task)
    assert emulated.keys() == two.keys()
    for key, value in emulated.items():
        b = torch.tensor(two[key], dtype=torch.float64)
        assert torch.equal(value, b), (key, float((value - b).abs().max()))
