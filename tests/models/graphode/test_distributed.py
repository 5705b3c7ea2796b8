"""The graph ODE's loss under two gloo processes gives the one-process step."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import torch
import torch.multiprocessing as mp

from dyngraph.models.graphode import GraphODE
from dyngraph.training import distributed as dist
from tests.models.graphode.test_model import TINY, _field


def _gradients(model: GraphODE) -> list[torch.Tensor]:
    n = model.set_training_windows(_field(2, 8), horizon=2, stride=1)
    model.zero_grad()
    model(torch.arange(n)).backward()  # the whole batch, sharded over the ranks
    return [p.grad.detach().clone() for p in model.parameters() if p.grad is not None]


def _worker(rank: int, port: int, root: Path) -> None:
    os.environ.update(
        RANK=str(rank),
        WORLD_SIZE="2",
        LOCAL_RANK=str(rank),
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        DYNGRAPH_DIST_TIMEOUT="60",
    )
    torch.set_num_threads(1)
    dist.setup(backend="gloo")
    try:
        grads = _gradients(GraphODE(2, **TINY).double())
        for g in grads:  # what DistributedDataParallel does: the mean over ranks
            dist.all_reduce_(g)
            g /= 2
        if dist.is_main():
            torch.save(grads, root / "grads.pt")
    finally:
        dist.teardown()


def test_two_processes_give_the_gradient_of_one(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    method = "fork" if "fork" in mp.get_all_start_methods() else "spawn"
    mp.start_processes(
        _worker, args=(port, tmp_path), nprocs=2, join=True, start_method=method
    )
    two = torch.load(tmp_path / "grads.pt", weights_only=True)
    one = _gradients(GraphODE(2, **TINY).double())
    assert len(one) == len(two) > 0
    for a, b in zip(one, two, strict=True):
        assert torch.allclose(a, b, rtol=1e-10, atol=1e-12)
