r"""Initial spectral sparsifier: a spanning tree plus high-stretch off-tree edges.

A feGRASS-style construction, written from its published recipe:

1. Breadth-first layers :math:`\ell_v` from the highest-degree vertex of each
   connected component.
2. A maximum spanning tree :math:`T` (Kruskal, via SciPy) of the effective
   weights :math:`\tilde w_{ij} = w_{ij}\,\ln(1 + \max(d_i, d_j)) /
   (\ell_i + \ell_j)`, which favours heavy edges near the centre and gives
   shallow, low-stretch trees on meshes.
3. Tree resistances :math:`R_T(i, j) = r_i + r_j - 2 r_{\mathrm{lca}(i,j)}`
   with :math:`r_v` the resistance :math:`\sum 1/w` from the root (lowest
   common ancestors by binary lifting), and the stretch
   :math:`s_{ij} = w_{ij} R_T(i, j)` of every off-tree edge.
4. Off-tree edges in decreasing stretch, with a similarity filter: an edge
   :math:`(i, j)` is recovered only if both ends have been touched fewer than
   ``u`` times, where recovering an edge touches its ends and their current
   sparsifier neighbours; ``u`` starts at 1 and grows by one after each pass
   over the upper half of the ranking. This spreads the recovered edges over
   the graph instead of piling them in one badly stretched region.

The result is a subgraph of :math:`G` with the original weights, so
:math:`L_H \preceq L_G` and :math:`\kappa(L_G, L_H) = \lambda_{\max}`.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp
from scipy.sparse import csgraph

from dyngraph.sparsify.spectral import check_adjacency, condition_number

__all__ = ["initial_sparsifier", "spanning_tree", "tree_stretch"]


def spanning_tree(adjacency: sp.spmatrix) -> sp.csr_matrix:
    r"""Maximum spanning forest of the feGRASS effective weights.

    Parameters
    ----------
    adjacency : scipy.sparse matrix
        ``[V, V]`` symmetric weighted adjacency of :math:`G`.

    Returns
    -------
    scipy.sparse.csr_matrix
        ``[V, V]`` symmetric adjacency of the forest with :math:`G`'s weights
        (:math:`V - c` edges for :math:`c` components).
    """
    matrix = check_adjacency(adjacency)
    n = matrix.shape[0]
    if matrix.nnz == 0:
        return sp.csr_matrix((n, n))
    degree = np.diff(matrix.indptr)
    _, labels = csgraph.connected_components(matrix, directed=False)
    order = np.lexsort((-degree, labels))
    roots = order[np.r_[True, labels[order][1:] != labels[order][:-1]]]
    layer = csgraph.dijkstra(matrix, indices=roots, unweighted=True, min_only=True)
    upper = sp.triu(matrix, k=1).tocoo()
    i, j, w = upper.row, upper.col, upper.data
    effective = w * np.log1p(np.maximum(degree[i], degree[j])) / (layer[i] + layer[j])
    cost = sp.coo_matrix((1.0 / effective, (i, j)), shape=(n, n))
    tree = csgraph.minimum_spanning_tree(cost).tocoo()
    tree = sp.coo_matrix((matrix[tree.row, tree.col].A1, (tree.row, tree.col)), (n, n))
    return (tree + tree.T).tocsr()


def tree_stretch(tree: sp.spmatrix, pairs: np.ndarray) -> np.ndarray:
    r"""Tree resistance :math:`R_T(i, j)` between the ends of each pair.

    :math:`R_T(i, j) = r_i + r_j - 2 r_{\mathrm{lca}(i, j)}` with :math:`r`
    the resistance from the root of the tree's component; lowest common
    ancestors by binary lifting, :math:`O((V + B) \log V)`.

    Parameters
    ----------
    tree : scipy.sparse matrix
        ``[V, V]`` symmetric adjacency of a forest.
    pairs : numpy.ndarray
        ``[B, 2]`` vertex ids.

    Returns
    -------
    numpy.ndarray
        ``[B]`` resistances, ``inf`` for pairs in different trees.
    """
    forest = check_adjacency(tree, "tree")
    n = forest.shape[0]
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    ncomp, labels = csgraph.connected_components(forest, directed=False)
    if forest.nnz // 2 != n - ncomp:
        raise ValueError("`tree` has a cycle: pass a spanning forest")
    roots = np.unique(labels, return_index=True)[1]
    resistance_graph = forest.copy()
    resistance_graph.data = 1.0 / resistance_graph.data
    r, parent, _ = csgraph.dijkstra(
        resistance_graph, indices=roots, min_only=True, return_predecessors=True
    )
    depth = csgraph.dijkstra(forest, indices=roots, unweighted=True, min_only=True)
    depth = depth.astype(np.int64)
    parent = np.where(parent < 0, np.arange(n), parent)
    up = [parent]
    for _ in range(max(1, int(depth.max(initial=0)).bit_length())):
        up.append(up[-1][up[-1]])
    a, b = pairs[:, 0].copy(), pairs[:, 1].copy()
    swap = depth[a] < depth[b]
    a[swap], b[swap] = b[swap], a[swap]
    gap = depth[a] - depth[b]
    for level, ancestor in enumerate(up):
        move = (gap >> level) & 1 == 1
        a[move] = ancestor[a[move]]
    for ancestor in reversed(up):
        move = ancestor[a] != ancestor[b]
        a[move], b[move] = ancestor[a[move]], ancestor[b[move]]
    lca = np.where(a == b, a, parent[a])
    out = r[pairs[:, 0]] + r[pairs[:, 1]] - 2 * r[lca]
    out[labels[pairs[:, 0]] != labels[pairs[:, 1]]] = np.inf
    return out


def _filtered_order(
    n: int, tree: sp.csr_matrix, u: np.ndarray, v: np.ndarray, count: int
) -> np.ndarray:
    """Return the first ``count`` edges recovered by the similarity filter.

    ``u``, ``v`` are the off-tree edges in decreasing stretch; each pass scans
    the upper half (by count at the start) of the edges still waiting, in
    order, and then raises the touch limit.
    """
    neighbours = [row.tolist() for row in np.split(tree.indices, tree.indptr[1:-1])]
    touched = [0] * n
    chosen: list[int] = []
    waiting = list(range(len(u)))
    head = max(1, (len(u) + 1) // 2)
    uplink = 1
    u_list, v_list = u.tolist(), v.tolist()
    while len(chosen) < count:
        rejected: list[int] = []
        for edge in waiting[:head]:
            a, b = u_list[edge], v_list[edge]
            if touched[a] >= uplink or touched[b] >= uplink:
                rejected.append(edge)
                continue
            chosen.append(edge)
            if len(chosen) == count:
                break
            for end in (a, b):
                touched[end] += 1
                for other in neighbours[end]:
                    touched[other] += 1
            neighbours[a].append(b)
            neighbours[b].append(a)
        waiting = rejected + waiting[head:]
        uplink += 1
    return np.asarray(chosen, dtype=np.int64)


def _with_edges(
    tree: sp.csr_matrix, u: np.ndarray, v: np.ndarray, w: np.ndarray
) -> sp.csr_matrix:
    n = tree.shape[0]
    extra = sp.coo_matrix((w, (u, v)), shape=(n, n))
    result = (tree + extra + extra.T).tocsr()
    result.sort_indices()
    return result


def initial_sparsifier(
    adjacency: sp.spmatrix,
    *,
    off_tree: float = 0.10,
    num_edges: int | None = None,
    target_condition: float | None = None,
    similarity_filter: bool = True,
    delta: float = 1e-6,
) -> sp.csr_matrix:
    r"""Build a spanning tree plus off-tree edges chosen by stretch.

    The size of :math:`H` is set by one of: ``num_edges`` (total
    :math:`|E_H|`), ``target_condition`` (the fewest off-tree edges, found by
    doubling then bisection, with :math:`\kappa(L_G, L_H) \le` the target,
    each step costing one :func:`~dyngraph.sparsify.condition_number`), or
    ``off_tree`` (:math:`\mathrm{round}(\alpha V)` off-tree edges, the
    default). Deterministic; cost :math:`O(E \log E)` plus the filter's
    passes.

    Parameters
    ----------
    adjacency : scipy.sparse matrix
        ``[V, V]`` symmetric weighted adjacency of :math:`G`.
    off_tree : float
        Off-tree edges as a fraction :math:`\alpha` of :math:`V`
        (default: ``0.10``, the density of the reference's initial
        sparsifiers).
    num_edges : int, optional
        Total edges of :math:`H` (default: ``None``).
    target_condition : float, optional
        Target relative condition number (default: ``None``).
    similarity_filter : bool
        Spread the recovered edges with the touch filter; ``False`` takes the
        top-stretch edges as they come (default: ``True``).
    delta : float
        Regulariser of the condition number for ``target_condition``
        (default: ``1e-6``).

    Returns
    -------
    scipy.sparse.csr_matrix
        ``[V, V]`` symmetric adjacency of :math:`H \subseteq G` with
        :math:`G`'s weights.
    """
    if num_edges is not None and target_condition is not None:
        raise ValueError("give at most one of `num_edges` and `target_condition`")
    if not 0 <= off_tree:
        raise ValueError(f"`off_tree` must be non-negative, got {off_tree!r}")
    matrix = check_adjacency(adjacency)
    n = matrix.shape[0]
    tree = spanning_tree(matrix)
    off = sp.triu(matrix - tree, k=1).tocoo()
    off.eliminate_zeros()
    u, v = off.row, off.col
    w = matrix[u, v].A1
    stretch = w * tree_stretch(tree, np.stack([u, v], axis=1))
    order = np.argsort(-stretch, kind="stable")
    u, v, w = u[order], v[order], w[order]
    tree_edges = tree.nnz // 2

    def build(count: int) -> sp.csr_matrix:
        count = min(max(count, 0), len(u))
        if similarity_filter:
            pick = _filtered_order(n, tree, u, v, count)
        else:
            pick = np.arange(count)
        return _with_edges(tree, u[pick], v[pick], w[pick])

    if num_edges is not None:
        if isinstance(num_edges, bool) or not isinstance(num_edges, int):
            raise TypeError(f"`num_edges` must be an int, got {type(num_edges)}")
        if num_edges < tree_edges:
            raise ValueError(
                f"`num_edges` = {num_edges} is below the {tree_edges} edges of "
                "the spanning forest"
            )
        return build(num_edges - tree_edges)
    if target_condition is None:
        return build(round(off_tree * n))
    if not target_condition >= 1:
        raise ValueError(f"`target_condition` must be >= 1, got {target_condition!r}")
    low, high = 0, max(1, math.ceil(0.02 * n))
    candidate = build(0)
    if condition_number(matrix, candidate, delta=delta) <= target_condition:
        return candidate
    while True:
        candidate = build(high)
        if condition_number(matrix, candidate, delta=delta) <= target_condition:
            break
        if high >= len(u):
            return candidate
        low, high = high, min(2 * high, len(u))
    best = candidate
    while high - low > max(1, high // 50):
        middle = (low + high) // 2
        candidate = build(middle)
        if condition_number(matrix, candidate, delta=delta) <= target_condition:
            high, best = middle, candidate
        else:
            low = middle
    return best
