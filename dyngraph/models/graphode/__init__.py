"""Graph neural ODE predictor of fields on an adaptive probe graph (SparseDiff-style).

* :mod:`~dyngraph.models.graphode.coarsen`: codebook coarsening into probe
  graphs (:func:`encode`, :func:`kmeans`, :class:`ProbeGraph`) and the
  re-encoding rule (:class:`ReencodeRule`, :func:`latent_consistency`);
* :mod:`~dyngraph.models.graphode.model`: :class:`GraphODE`, its right-hand
  side :class:`GraphODEFunc` and :class:`Rollout`;
* :mod:`~dyngraph.models.graphode.evaluate`: rollout RMSE and SSIM per step
  against persistence and a full-grid convolutional forecaster;
* :mod:`~dyngraph.models.graphode.plot`: truth vs forecast, the probe graph,
  error vs horizon;
* :mod:`~dyngraph.models.graphode.recipe`: the defaults of
  ``dyngraph fit graphode``;
* :mod:`~dyngraph.models.graphode.cli`: the command.

The names are imported on first use, so that ``dyngraph --help`` stays light.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_WHERE = {
    "GraphODE": "model",
    "GraphODEFunc": "model",
    "Rollout": "model",
    "periodic_distance": "model",
    "ProbeGraph": "coarsen",
    "ReencodeRule": "coarsen",
    "encode": "coarsen",
    "kmeans": "coarsen",
    "latent_consistency": "coarsen",
    "region_adjacency": "coarsen",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(import_module(f"dyngraph.models.graphode.{_WHERE[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
