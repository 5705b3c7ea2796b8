"""MixER on two processes (gloo) takes the steps of one process.

Each rank integrates its share of every environment's trajectories; the gate
update reads the whole loss matrix on every rank, so the routing is the same
everywhere. Float64, to 1e-8 (sums in another order).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from dyngraph.models.mixer import MixER
from dyngraph.systems import concat_environments, make_environments
from dyngraph.training import distributed as dist
from tests.distributed import run_on_processes


def fit_tiny(out: Path) -> None:
    """Fit a tiny MixER on two planted families; rank 0 writes the result."""
    t = torch.linspace(0, 2, 9, dtype=torch.float64)
    damped = [{"alpha": 1.0, "beta": 0.0, "gamma": 0.0, "delta": d} for d in (0.5, 0.7)]
    free = [{"alpha": a, "beta": 0.0, "gamma": 0.0, "delta": 0.0} for a in (1.0, 1.5)]
    data = concat_environments(
        *(
            make_environments("duffing", p, t, 4, x0_low=-1, x0_high=1, family=0)
            for p in (damped, free)
        )
    )
    model = MixER(
        4,
        2,
        hidden=8,
        depth=1,
        num_experts=2,
        context_dim=2,
        seed=0,
        dtype=torch.float64,
    )
    model.fit(
        data,
        outer_steps=2,
        inner_steps=(2, 2),
        lr=1e-2,
        lr_context=1e-2,
        gate_update_every=2,
        progress=False,
    )
    if dist.is_main():
        record = {
            "weights": {k: v.tolist() for k, v in model.named_parameters()},
            "loss": [h["loss"] for h in model.history_.history],
            "route": model.route(model.contexts).tolist(),
        }
        (out / "mixer.json").write_text(json.dumps(record))


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, dict]:
    one, two = tmp_path_factory.mktemp("one"), tmp_path_factory.mktemp("two")
    threads = torch.get_num_threads()
    try:
        fit_tiny(one)
    finally:
        torch.set_num_threads(threads)
    run_on_processes(fit_tiny, two)
    return tuple(json.loads((f / "mixer.json").read_text()) for f in (one, two))


def test_two_processes_fit_mixer_like_one(runs) -> None:
    one, two = runs
    assert len(one["loss"]) == 2
    assert one["loss"] == pytest.approx(two["loss"], rel=1e-8, abs=0)
    assert one["route"] == two["route"]
    for key, value in one["weights"].items():
        a = torch.tensor(value, dtype=torch.float64)
        b = torch.tensor(two["weights"][key], dtype=torch.float64)
        assert (a - b).abs().max() <= 1e-8, (key, float((a - b).abs().max()))
