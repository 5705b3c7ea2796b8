"""SEMBA: representation learning on continuous-time dynamic signed networks.

* :mod:`~dyngraph.models.semba.model`: :class:`SignedMemory`,
  :class:`FixedTimeEncoder`,
  :class:`SignedTemporalModel`, :class:`SEMBA` and :func:`stream_predictions`;
* :mod:`~dyngraph.models.semba.evaluate`: the protocol against the TGN
  baseline and two heuristics on the four tasks;
* :mod:`~dyngraph.models.semba.recipe`: the defaults of ``dyngraph fit semba``;
* :mod:`~dyngraph.models.semba.cli`: the command and the quick-start part.

The names of :mod:`~dyngraph.models.semba.model` are imported on first use,
so that ``dyngraph --help`` stays light.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__all__ = [
    "MONITOR",
    "SEMBA",
    "FixedTimeEncoder",
    "TASKS",
    "SignedMemory",
    "SignedTemporalModel",
    "StreamPredictions",
    "selection_metrics",
    "stream_predictions",
]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(import_module("dyngraph.models.semba.model"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
