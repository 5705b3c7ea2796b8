"""PiVeM: continuous-time dynamic node embeddings (piecewise-velocity model).

* :mod:`~dyngraph.models.pivem.model`: :class:`PiVeM`, its closed-form
  likelihood and :func:`to_unit_interval`;
* :mod:`~dyngraph.models.pivem.evaluate`: the paper's reconstruction,
  completion and future-prediction protocol;
* :mod:`~dyngraph.models.pivem.plot`: trajectories and animations;
* :mod:`~dyngraph.models.pivem.recipe`: the defaults of ``dyngraph fit pivem``;
* :mod:`~dyngraph.models.pivem.cli`: the command and the quick-start part.

The names of :mod:`~dyngraph.models.pivem.model` are imported on first use,
so that ``dyngraph --help`` stays light.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__all__ = [
    "FORECAST_RULES",
    "BinStatistics",
    "NodeBatch",
    "PiVeM",
    "bin_statistics",
    "segment_integral",
    "to_unit_interval",
]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(import_module("dyngraph.models.pivem.model"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
