"""Sparse graph neural operator for particle dynamics (GIOROM-style).

* :mod:`~dyngraph.models.operators.sampling`: farthest-point and random
  subsampling (:func:`subsample`);
* :mod:`~dyngraph.models.operators.gns`: the GNS encode-process-decode
  processor (:class:`GNS`, :class:`InteractionNetwork`);
* :mod:`~dyngraph.models.operators.gno`: the kernel-integral decoder
  (:class:`KernelIntegral`), moving least squares (the default ``"flow"``
  decoder's interpolant) and nearest-neighbour interpolation;
* :mod:`~dyngraph.models.operators.model`: :class:`SparseGraphOperator`
  (query points anywhere: ``rollout(..., query=...)``, with ``"flow"`` as
  tracers, :meth:`SparseGraphOperator.trace`) and :class:`Rollout`;
* :mod:`~dyngraph.models.operators.evaluate`: dense-set rollout metrics and
  the sparse-versus-full comparison;
* :mod:`~dyngraph.models.operators.plot`: particles, errors, an animation;
* :mod:`~dyngraph.models.operators.recipe`: the defaults of
  ``dyngraph fit operators``;
* :mod:`~dyngraph.models.operators.cli`: the command.

The names are imported on first use, so that ``dyngraph --help`` stays light.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_WHERE = {
    "GNS": "gns",
    "InteractionNetwork": "gns",
    "KernelIntegral": "gno",
    "Rollout": "model",
    "SparseGraphOperator": "model",
    "farthest_point_sampling": "sampling",
    "nearest_interpolation": "gno",
    "moving_least_squares": "gno",
    "random_sampling": "sampling",
    "subsample": "sampling",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(import_module(f"dyngraph.models.operators.{_WHERE[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
