"""MixER: a sparse mixture of context-conditioned expert vector fields.

* :mod:`~dyngraph.models.mixer.model`: :class:`MixER`, its least-squares
  gate update, training, adaptation and evaluation;
* :mod:`~dyngraph.models.mixer.experts`: the expert banks (CoDA-style
  hypernetwork, NCF-style MLP), batched over environments;
* :mod:`~dyngraph.models.mixer.evaluate`: the benchmark protocol (MixER
  against a single expert, a naive MoE and a model per environment);
* :mod:`~dyngraph.models.mixer.plot`: trajectories, contexts and the loss
  matrix;
* :mod:`~dyngraph.models.mixer.recipe`: the defaults of ``dyngraph fit mixer``;
* :mod:`~dyngraph.models.mixer.cli`: the command.

The names of :mod:`~dyngraph.models.mixer.model` are imported on first use,
so that ``dyngraph --help`` stays light.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__all__ = ["GateUpdateInfo", "MixER", "MixERBatch"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(import_module("dyngraph.models.mixer.model"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
