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

from dyngraph.data import chronological_split, signed_faction_network
from dyngraph.models.semba import SEMBA
from dyngraph.training import distributed as dist
from tests.distributed import run_on_processes

TASKS = ("sign", "existence")


def fit_tiny(out: Path, task: str) -> None:
    """Fit a tiny SEMBA; rank 0 writes its parameters and loss history."""
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
    model.fit(stream, split, epochs=2, batch_size=50, seed=5)
    if dist.is_main():
        record = {
            "weights": {k: v.tolist() for k, v in model.named_parameters()},
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
