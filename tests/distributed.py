"""Run a function on two CPU processes joined by gloo, as torchrun would."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from typing import Any

import torch
import torch.multiprocessing as mp

from dyngraph.training import distributed as dist


def _worker(rank: int, world: int, port: int, fn: Callable, args: tuple) -> None:
    os.environ.update(
        RANK=str(rank),
        WORLD_SIZE=str(world),
        LOCAL_RANK=str(rank),
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        DYNGRAPH_DIST_TIMEOUT="120",
    )
    torch.set_num_threads(1)
    ctx = dist.setup(backend="gloo")
    assert ctx.world_size == world and ctx.rank == rank
    try:
        fn(*args)
    finally:
        dist.teardown()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_on_processes(fn: Callable[..., Any], *args: Any, world: int = 2) -> None:
    """Call ``fn(*args)`` on ``world`` processes of one gloo process group.

    Forked where the platform allows it (fast: nothing is imported again),
    spawned elsewhere (``fn`` must then be importable).
    """
    method = "fork" if "fork" in mp.get_all_start_methods() else "spawn"
    mp.start_processes(
        _worker,
        args=(world, _free_port(), fn, args),
        nprocs=world,
        join=True,
        start_method=method,
    )
