r"""Spectral sparsification of dynamic graphs (dyGRASS).

A sparse subgraph :math:`H` of a weighted undirected graph :math:`G` whose
Laplacian approximates :math:`L_G`, kept up to date under edge insertions and
deletions by non-backtracking random walks that run on CPU or CUDA:

- :func:`nonbacktracking_walks`: the seeded walk kernel, vectorised in torch
  (CPU and CUDA) and compiled with numba for CPU tensors, with identical draws;
- :func:`initial_sparsifier`: spanning tree plus off-tree edges chosen by
  stretch and by spectral perturbation analysis (Joule heat);
- :class:`DynamicSparsifier`: batched ``insert`` / ``delete``, save and load;
- :func:`stream_experiment`: the stream experiment of ``dyngraph sparsify``,
  returning a :class:`StreamReport`;
- :func:`condition_number`, :func:`pcg_iterations`,
  :func:`effective_resistance`, :func:`spielman_srivastava`: spectral checks
  and the sampling baseline.
"""

from dyngraph.sparsify.dynamic import DynamicSparsifier, UpdateReport, local_edge_stream
from dyngraph.sparsify.evaluate import StreamReport, stream_experiment
from dyngraph.sparsify.initial import initial_sparsifier, spanning_tree, tree_stretch
from dyngraph.sparsify.spectral import (
    condition_number,
    effective_resistance,
    generalized_eigenvalues,
    laplacian,
    pcg_iterations,
    spielman_srivastava,
)
from dyngraph.sparsify.walks import WalkResult, nonbacktracking_walks, walk_seed

__all__ = [
    "DynamicSparsifier",
    "StreamReport",
    "UpdateReport",
    "WalkResult",
    "condition_number",
    "effective_resistance",
    "generalized_eigenvalues",
    "initial_sparsifier",
    "laplacian",
    "local_edge_stream",
    "nonbacktracking_walks",
    "pcg_iterations",
    "spanning_tree",
    "spielman_srivastava",
    "stream_experiment",
    "tree_stretch",
    "walk_seed",
]
