"""The sparse operator on two processes (gloo) takes the steps of one process.

Each rank takes its contiguous shard of every batch of (example, noise
seed) pairs; the training noise is drawn from the pair's seed, not from the
rank's generators, so both runs see the same noisy inputs. Float64, to 1e-8
(DDP sums the two shards' gradients in another order than one process).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from dyngraph.models.operators import SparseGraphOperator
from dyngraph.training import distributed as dist
from tests.distributed import run_on_processes
from tests.models.operators.test_model import TINY, _jelly


def fit_tiny(out: Path) -> None:
    """Fit a tiny operator on a small jelly; rank 0 writes the result."""
    model = SparseGraphOperator(ratio=0.5, **TINY).double()
    # batches of 5: the last one holds 1 example, so rank 1 gets none there
    model.fit(_jelly(1, 17), epochs=2, batch_size=5, lr=1e-2)  # 11 examples
    if dist.is_main():
        record = {
            "weights": {k: v.tolist() for k, v in model.named_parameters()},
            "loss": [h["loss"] for h in model.fit_result_.history],
        }
        (out / "operators.json").write_text(json.dumps(record))


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, dict]:
    one, two = tmp_path_factory.mktemp("one"), tmp_path_factory.mktemp("two")
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        fit_tiny(one)
    finally:
        torch.set_num_threads(threads)
    run_on_processes(fit_tiny, two)
    return tuple(json.loads((f / "operators.json").read_text()) for f in (one, two))


def test_two_processes_fit_the_operator_like_one(runs) -> None:
    one, two = runs
    assert len(one["loss"]) == 2
    assert one["loss"] == pytest.approx(two["loss"], rel=1e-8, abs=0)
    for key, value in one["weights"].items():
        a = torch.tensor(value, dtype=torch.float64)
        b = torch.tensor(two["weights"][key], dtype=torch.float64)
        assert (a - b).abs().max() <= 1e-8, (key, float((a - b).abs().max()))
