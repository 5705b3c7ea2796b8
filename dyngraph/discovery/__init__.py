r"""Sparse equation discovery.

* :mod:`~dyngraph.discovery.sindy`: single systems, a thin layer over pysindy
  (:func:`fit_sindy`) and the recovery metrics (:func:`coefficient_error`,
  :func:`support_f1`, :func:`true_coefficients`);
* :mod:`~dyngraph.discovery.network`: shared node and coupling laws
  :math:`\dot x_i = F(x_i) + \sum_j A_{ij} G(x_i, x_j)` on a known or inferred
  graph (:class:`NetworkSINDy`, :class:`GraphLibrary`, :func:`edge_auc`);
* :mod:`~dyngraph.discovery.model_error`: the sparse term an imperfect model
  misses (:class:`ModelErrorSINDy`);
* :mod:`~dyngraph.discovery.cli`: the ``dyngraph discover`` command.
"""

from dyngraph.discovery.model_error import ModelErrorSINDy
from dyngraph.discovery.network import (
    GraphLibrary,
    NetworkSINDy,
    edge_auc,
    format_equations,
)
from dyngraph.discovery.sindy import (
    as_trajectories,
    coefficient_error,
    fit_sindy,
    support_f1,
    true_coefficients,
)

__all__ = [
    "GraphLibrary",
    "ModelErrorSINDy",
    "NetworkSINDy",
    "as_trajectories",
    "coefficient_error",
    "edge_auc",
    "fit_sindy",
    "format_equations",
    "support_f1",
    "true_coefficients",
]
