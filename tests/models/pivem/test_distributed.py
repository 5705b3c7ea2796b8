"""PiVeM on two processes (gloo) takes the steps of one process.

Each rank sums a contiguous share of every step's events and pairs, scaled
by the number of ranks, plus the whole prior; DDP averages the gradients.
Float64: losses to 1e-8, weights to 3e-8 (the shares are summed in another
order than one process sums the whole likelihood, and Adam's normalised
steps amplify that round-off in coordinates with tiny gradients: 1.6e-10
relative in the loss was seen; full batch the weights agree to 4e-14, with
node batches they differed by 6.8e-9 with autograd's block gradients and
by 1.1e-8 with the closed-form ones, in another summation order).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from dyngraph.data import latent_space_network
from dyngraph.models.pivem import PiVeM
from dyngraph.models.pivem.model import to_unit_interval
from dyngraph.training import distributed as dist
from tests.distributed import run_on_processes

CASES = {"full": None, "batches": 7}


def fit_tiny(out: Path) -> None:
    """Fit full-batch and node-batch PiVeMs; rank 0 writes what they learnt."""
    stream, _ = latent_space_network(16, 4, seed=3)
    unit, _, _ = to_unit_interval(stream)
    for name, batch_size in CASES.items():
        model = PiVeM(unit.num_nodes, num_bins=5, num_communities=2, seed=0)
        model.fit(unit, epochs=6, lr=0.05, batch_size=batch_size, progress=False)
        if dist.is_main():
            record = {
                "weights": {k: v.tolist() for k, v in model.named_parameters()},
                "loss": [h["loss"] for r in model.history_ for h in r.history],
            }
            (out / f"{name}.json").write_text(json.dumps(record))


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    one, two = tmp_path_factory.mktemp("one"), tmp_path_factory.mktemp("two")
    fit_tiny(one)
    run_on_processes(fit_tiny, two)
    return one, two


@pytest.mark.parametrize("case", list(CASES))
def test_two_processes_fit_pivem_like_one(runs, case) -> None:
    one, two = (json.loads((folder / f"{case}.json").read_text()) for folder in runs)
    assert len(one["loss"]) == 6
    assert one["loss"] == pytest.approx(two["loss"], rel=1e-8, abs=0)
    for key, value in one["weights"].items():
        a = torch.tensor(value, dtype=torch.float64)
        b = torch.tensor(two["weights"][key], dtype=torch.float64)
        assert (a - b).abs().max() <= 3e-8, (key, float((a - b).abs().max()))
