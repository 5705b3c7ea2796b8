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

With ``method="spectral"`` (the default) only part of the off-tree budget
is spent this way; the rest is recovered GRASS-style, by spectral perturbation
analysis, in a few rounds:

5. :math:`t` generalised power steps :math:`x \leftarrow (L_H + \delta I)^{-1}
   (L_G + \delta I)\,x` on a few random mean-free vectors amplify the
   dominant generalised eigenvectors of :math:`(L_G, L_H)`; each vector is
   scaled to :math:`x^\top L_H x = 1`.
6. Each off-subgraph edge gets the Joule heat
   :math:`h_{pq} = w_{pq} \sum_k (x_{k,p} - x_{k,q})^2`. For a generalised
   eigenvector :math:`u` with :math:`u^\top L_H u = 1` the heats of the edges
   of :math:`G` outside :math:`H` sum to :math:`\lambda - 1`, so the hottest
   edges are those that most reduce the largest eigenvalues when recovered.
7. The hottest edges are recovered in decreasing heat, skipping an edge when
   one of its ends lies within ``radius`` hops (in :math:`H`) of an edge
   already recovered in this round (such edges fix the same eigenvector);
   then :math:`H` is refactorised and the next round starts.

The result is a subgraph of :math:`G` with the original weights, so
:math:`L_H \preceq L_G` and :math:`\kappa(L_G, L_H) = \lambda_{\max}`.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp
from scipy.sparse import csgraph
from scipy.sparse.linalg import splu

from dyngraph.sparsify.spectral import check_adjacency, condition_number, laplacian

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


def _spread(
    h: sp.csr_matrix,
    u: np.ndarray,
    v: np.ndarray,
    order: np.ndarray,
    count: int,
    radius: int,
) -> np.ndarray:
    """Take up to ``count`` edges of ``order`` with ends far from those taken.

    An edge is skipped when one of its ends lies within ``radius`` hops of
    :math:`H` from an end of an edge taken before it.
    """
    indptr, indices = h.indptr, h.indices
    marked = np.zeros(h.shape[0], dtype=bool)
    chosen: list[int] = []
    for edge in order.tolist():
        a, b = int(u[edge]), int(v[edge])
        if marked[a] or marked[b]:
            continue
        chosen.append(edge)
        if len(chosen) == count:
            break
        marked[a] = marked[b] = True
        front = [a, b]
        for _ in range(radius):
            reached = indices[
                np.concatenate([np.arange(indptr[x], indptr[x + 1]) for x in front])
            ]
            reached = np.unique(reached[~marked[reached]])
            marked[reached] = True
            front = reached.tolist()
            if not front:
                break
    return np.asarray(chosen, dtype=np.int64)


def _joule_heat(
    lg: sp.csc_matrix,
    h: sp.csr_matrix,
    u: np.ndarray,
    v: np.ndarray,
    w: np.ndarray,
    num_vectors: int,
    power_steps: int,
    delta: float,
    rng: np.random.Generator,
) -> np.ndarray:
    r"""Joule heat :math:`w_{pq} \sum_k (x_{k,p} - x_{k,q})^2` after power steps."""
    lh = laplacian(h, delta)
    lu = splu(lh)
    x = rng.standard_normal((lg.shape[0], num_vectors))
    for _ in range(power_steps):
        x -= x.mean(axis=0)
        x = lu.solve(np.asarray(lg @ x))
    x -= x.mean(axis=0)
    energy = np.einsum("ij,ij->j", x, np.asarray(lh @ x))
    x /= np.sqrt(np.maximum(energy, np.finfo(float).tiny))
    return w * ((x[u] - x[v]) ** 2).sum(axis=1)


def _spectral_rounds(
    lg: sp.csc_matrix,
    h: sp.csr_matrix,
    u: np.ndarray,
    v: np.ndarray,
    w: np.ndarray,
    taken: np.ndarray,
    count: int,
    rounds: int,
    radius: int,
    num_vectors: int,
    power_steps: int,
    delta: float,
    rng: np.random.Generator,
) -> sp.csr_matrix:
    """Recover ``count`` more candidate edges by heat, ``rounds`` refactorisations.

    ``taken`` (updated in place) marks the candidates already in :math:`H`.
    Rounds past ``rounds`` (when the spread filter left the round short)
    recover the rest by heat alone.
    """
    done = 0
    step = 0
    while done < count:
        free = np.flatnonzero(~taken)
        if free.size == 0:
            break
        heat = _joule_heat(
            lg, h, u[free], v[free], w[free], num_vectors, power_steps, delta, rng
        )
        order = free[np.argsort(-heat, kind="stable")]
        wanted = math.ceil((count - done) / max(1, rounds - step))
        if step < rounds:
            pick = _spread(h, u, v, order, wanted, radius)
        else:
            pick = order[:wanted]
        taken[pick] = True
        h = _with_edges(h, u[pick], v[pick], w[pick])
        done += pick.size
        step += 1
    return h


def initial_sparsifier(
    adjacency: sp.spmatrix,
    *,
    off_tree: float = 0.10,
    num_edges: int | None = None,
    target_condition: float | None = None,
    method: str = "spectral",
    similarity_filter: bool = True,
    stretch_share: float = 0.25,
    rounds: int = 6,
    radius: int = 4,
    num_vectors: int = 4,
    power_steps: int = 2,
    delta: float = 1e-6,
    seed: int = 0,
) -> sp.csr_matrix:
    r"""Build a spanning tree plus off-tree edges chosen by stretch and heat.

    The size of :math:`H` is set by one of: ``num_edges`` (total
    :math:`|E_H|`), ``target_condition`` (grow :math:`H` until
    :math:`\kappa(L_G, L_H) \le` the target, checking with
    :func:`~dyngraph.sparsify.condition_number`), or ``off_tree``
    (:math:`\mathrm{round}(\alpha V)` off-tree edges, the default).

    ``method="stretch"`` is the feGRASS recipe alone: the off-tree edges of
    largest stretch, spread by the similarity filter; with a target the
    fewest such edges are found by doubling then bisection.
    ``method="spectral"`` (GRASS-style) takes the first ``stretch_share`` of
    the off-tree budget by stretch and the rest in ``rounds`` rounds of
    spectral perturbation analysis (module docstring); with a target it
    starts from the tree and adds :math:`\lceil V / 100\rceil` edges per
    round until the target is met. Each round costs one sparse LU of
    :math:`L_H + \delta I` and ``num_vectors`` × ``power_steps`` solves;
    on meshes this reaches a given :math:`\kappa` with far fewer edges than
    stretch alone.

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
    method : {"spectral", "stretch"}
        How off-tree edges are chosen (default: ``"spectral"``).
    similarity_filter : bool
        Spread the stretch-chosen edges with the touch filter; ``False``
        takes the top-stretch edges as they come (default: ``True``).
    stretch_share : float
        Share of the off-tree budget chosen by stretch in the spectral method
        (default: ``0.25``).
    rounds : int
        Spectral rounds (refactorisations) for the rest (default: ``6``).
    radius : int
        Hops of :math:`H` around each edge recovered in a round within which
        no other edge is recovered in that round (default: ``4``).
    num_vectors : int
        Random start vectors of the power steps (default: ``4``).
    power_steps : int
        Generalised power steps :math:`t` (default: ``2``).
    delta : float
        Diagonal regulariser of the Laplacians (default: ``1e-6``).
    seed : int
        Seed of the random start vectors (default: ``0``).

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
    if method not in ("spectral", "stretch"):
        raise ValueError(f"`method` must be 'spectral' or 'stretch', got {method!r}")
    if not 0 <= stretch_share <= 1:
        raise ValueError(f"`stretch_share` must be in [0, 1], got {stretch_share!r}")
    for name, value, least in (
        ("rounds", rounds, 1),
        ("radius", radius, 0),
        ("num_vectors", num_vectors, 1),
        ("power_steps", power_steps, 1),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise ValueError(f"`{name}` must be an int >= {least}, got {value!r}")
    if not delta > 0:
        raise ValueError(f"`delta` must be positive, got {delta!r}")
    matrix = check_adjacency(adjacency)
    n = matrix.shape[0]
    tree = spanning_tree(matrix)
    off = sp.triu(matrix - tree, k=1).tocoo()
    off.eliminate_zeros()
    u, v = off.row, off.col
    w = off.data
    stretch = w * tree_stretch(tree, np.stack([u, v], axis=1))
    order = np.argsort(-stretch, kind="stable")
    u, v, w = u[order], v[order], w[order]
    tree_edges = tree.nnz // 2
    lg = laplacian(matrix, delta) if method == "spectral" else None

    def by_stretch(count: int) -> tuple[sp.csr_matrix, np.ndarray]:
        count = min(max(count, 0), len(u))
        if similarity_filter:
            pick = _filtered_order(n, tree, u, v, count)
        else:
            pick = np.arange(count)
        taken = np.zeros(len(u), dtype=bool)
        taken[pick] = True
        return _with_edges(tree, u[pick], v[pick], w[pick]), taken

    def build(count: int) -> sp.csr_matrix:
        count = min(max(count, 0), len(u))
        if method == "stretch":
            return by_stretch(count)[0]
        seeded = round(stretch_share * count)
        h, taken = by_stretch(seeded)
        rng = np.random.default_rng(seed)
        return _spectral_rounds(
            lg,
            h,
            u,
            v,
            w,
            taken,
            count - seeded,
            rounds,
            radius,
            num_vectors,
            power_steps,
            delta,
            rng,
        )

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

    def meets(h: sp.csr_matrix) -> bool:
        return condition_number(matrix, h, delta=delta) <= target_condition

    if method == "spectral":
        h, taken = tree, np.zeros(len(u), dtype=bool)
        rng = np.random.default_rng(seed)
        step = max(1, math.ceil(0.01 * n))
        while not meets(h) and not taken.all():
            h = _spectral_rounds(
                lg,
                h,
                u,
                v,
                w,
                taken,
                step,
                1,
                radius,
                num_vectors,
                power_steps,
                delta,
                rng,
            )
        return h
    low, high = 0, max(1, math.ceil(0.02 * n))
    candidate = build(0)
    if meets(candidate):
        return candidate
    while True:
        candidate = build(high)
        if meets(candidate):
            break
        if high >= len(u):
            return candidate
        low, high = high, min(2 * high, len(u))
    best = candidate
    while high - low > max(1, high // 50):
        middle = (low + high) // 2
        candidate = build(middle)
        if meets(candidate):
            high, best = middle, candidate
        else:
            low = middle
    return best
