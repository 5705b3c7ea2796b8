r"""Sparse equation discovery.

* :mod:`~dyngraph.discovery.sindy`: single systems, a thin layer over pysindy
  (:func:`fit_sindy`, seeded weak form chosen by :func:`choose_form`) and the
  recovery metrics (:func:`coefficient_error`,
  :func:`support_f1`, :func:`true_coefficients`);
* :mod:`~dyngraph.discovery.selection`: automatic sparsity
  (:class:`PathSTLSQ`);
* :mod:`~dyngraph.discovery.polynomial`: polynomial systems with exact truth
  (:func:`polynomial_system`) and the polynomial flows of ``dysts``;
* :mod:`~dyngraph.discovery.network`: shared node and coupling laws
  :math:`\dot x_i = F(x_i) + \sum_j A_{ij} G(x_i, x_j)` on a known or inferred
  graph (:class:`NetworkSINDy`, :class:`GraphLibrary`, :func:`edge_auc`);
* :mod:`~dyngraph.discovery.model_error`: the sparse term an imperfect model
  misses (:class:`ModelErrorSINDy`);
* :mod:`~dyngraph.discovery.evaluate`: :func:`discover`, what the
  ``dyngraph discover`` command (:mod:`~dyngraph.discovery.cli`) runs and
  prints, returning a :class:`DiscoveryReport`; for observed series it
  compares candidate libraries by rollout error (:func:`compare_models`).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_WHERE = {
    "DiscoveryReport": "evaluate",
    "compare_models": "evaluate",
    "discover": "evaluate",
    "rollout_error": "evaluate",
    "PathSTLSQ": "selection",
    "polynomial_system": "polynomial",
    "choose_form": "sindy",
    "ModelErrorSINDy": "model_error",
    "GraphLibrary": "network",
    "NetworkSINDy": "network",
    "edge_auc": "network",
    "format_equations": "network",
    "as_trajectories": "sindy",
    "coefficient_error": "sindy",
    "fit_sindy": "sindy",
    "support_f1": "sindy",
    "true_coefficients": "sindy",
}

__all__ = [
    "DiscoveryReport",
    "PathSTLSQ",
    "choose_form",
    "compare_models",
    "polynomial_system",
    "rollout_error",
    "GraphLibrary",
    "ModelErrorSINDy",
    "NetworkSINDy",
    "as_trajectories",
    "coefficient_error",
    "discover",
    "edge_auc",
    "fit_sindy",
    "format_equations",
    "support_f1",
    "true_coefficients",
]


def __getattr__(name: str) -> Any:
    # imported on first use, so that the ``dyngraph`` command starts quickly
    if name in _WHERE:
        return getattr(import_module(f"dyngraph.discovery.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'dyngraph.discovery' has no attribute {name!r}")
