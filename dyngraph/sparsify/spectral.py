r"""Spectral checks of a sparsifier and the Spielman–Srivastava baseline.

For a weighted undirected graph :math:`G` with adjacency :math:`A` the
Laplacian is :math:`L = D - A`. A sparsifier :math:`H` is judged by the
generalised eigenvalues of the pencil :math:`(L_G + \delta I, L_H + \delta I)`;
the regulariser :math:`\delta` (default :math:`10^{-6}`, as in the reference)
removes the common null space of constant vectors. The relative condition
number is

.. math:: \kappa(L_G, L_H) = \lambda_{\max} / \lambda_{\min}.

When :math:`H` is a subgraph of :math:`G` with unscaled weights
(:math:`A_G - A_H \ge 0` entry-wise), :math:`L_G - L_H` is itself a Laplacian,
so :math:`L_H \preceq L_G` and :math:`\lambda_{\min} = 1` exactly (the constant
vector gives :math:`\delta / \delta`); otherwise (a reweighted sparsifier)
both ends are computed.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp
from scipy.sparse import csgraph
from scipy.sparse.linalg import LinearOperator, cg, eigsh, splu

__all__ = [
    "condition_number",
    "effective_resistance",
    "generalized_eigenvalues",
    "laplacian",
    "pcg_iterations",
    "spielman_srivastava",
]


def check_adjacency(adjacency: sp.spmatrix, name: str = "adjacency") -> sp.csr_matrix:
    """Validate a symmetric non-negative adjacency matrix; return it as CSR.

    Parameters
    ----------
    adjacency : scipy.sparse matrix
        ``[V, V]`` weighted adjacency of an undirected graph.
    name : str
        Argument name used in error messages.

    Returns
    -------
    scipy.sparse.csr_matrix
        float64 copy with sorted indices, explicit zeros removed.
    """
    if not sp.issparse(adjacency):
        raise TypeError(
            f"`{name}` must be a scipy.sparse matrix, got {type(adjacency)}"
        )
    if adjacency.ndim != 2 or adjacency.shape[0] != adjacency.shape[1]:
        raise ValueError(f"`{name}` must be square, got shape {adjacency.shape}")
    matrix = sp.csr_matrix(adjacency, dtype=np.float64, copy=True)
    matrix.sum_duplicates()
    matrix.eliminate_zeros()
    bad = ~np.isfinite(matrix.data) | (matrix.data < 0)
    if bad.any():
        coo = matrix.tocoo()  # same entry order as the CSR data
        k = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"`{name}` must have finite non-negative weights: entry "
            f"({coo.row[k]}, {coo.col[k]}) is {coo.data[k]:g} and "
            f"{int(bad.sum())} of the entries are negative, NaN or infinite. An "
            "adjacency holds edge weights w_ij >= 0: for a Laplacian L pass "
            "-L with its diagonal removed (dyngraph.data.read_matrix_market "
            "does this for Matrix Market files), for signed weights pass "
            "abs(A) or A.maximum(0)"
        )
    if matrix.diagonal().any():
        raise ValueError(f"`{name}` has self-loops (non-zero diagonal)")
    if abs(matrix - matrix.T).max() > 1e-12 * max(1.0, abs(matrix).max()):
        raise ValueError(f"`{name}` must be symmetric (an undirected graph)")
    matrix.sort_indices()
    return matrix


def laplacian(adjacency: sp.spmatrix, delta: float = 0.0) -> sp.csc_matrix:
    r"""Regularised graph Laplacian :math:`L + \delta I = D - A + \delta I`.

    Parameters
    ----------
    adjacency : scipy.sparse matrix
        ``[V, V]`` symmetric weighted adjacency.
    delta : float
        Diagonal shift :math:`\delta \ge 0` (default: ``0.0``).

    Returns
    -------
    scipy.sparse.csc_matrix
        ``[V, V]`` float64.
    """
    if not delta >= 0:
        raise ValueError(f"`delta` must be non-negative, got {delta!r}")
    matrix = check_adjacency(adjacency)
    degree = np.asarray(matrix.sum(axis=1)).ravel()
    return sp.csc_matrix(sp.diags(degree + delta) - matrix)


def _solver(matrix: sp.csc_matrix) -> LinearOperator:
    lu = splu(matrix)
    return LinearOperator(matrix.shape, matvec=lu.solve, dtype=np.float64)


def _largest(
    a: sp.csc_matrix, b: sp.csc_matrix, tol: float, rng: np.random.Generator
) -> float:
    """Largest eigenvalue of the symmetric-definite pencil ``(a, b)``."""
    if a.shape[0] == 1:
        return float(a[0, 0] / b[0, 0])
    if a.shape[0] <= 64:
        from scipy.linalg import eigh

        return float(eigh(a.toarray(), b.toarray(), eigvals_only=True)[-1])
    v0 = rng.standard_normal(a.shape[0])
    value = eigsh(a, k=1, M=b, Minv=_solver(b), which="LA", tol=tol, v0=v0)[0]
    return float(value[0])


def _dominates(graph: sp.csr_matrix, sparsifier: sp.csr_matrix) -> bool:
    difference = graph - sparsifier
    return difference.nnz == 0 or difference.data.min() >= -1e-12 * max(
        1.0, graph.data.max(initial=0.0)
    )


def generalized_eigenvalues(
    graph: sp.spmatrix,
    sparsifier: sp.spmatrix,
    *,
    delta: float = 1e-6,
    tol: float = 1e-6,
    seed: int = 0,
) -> tuple[float, float]:
    r"""Extreme eigenvalues of :math:`(L_G + \delta I)x = \lambda(L_H + \delta I)x`.

    :math:`\lambda_{\max}` comes from Lanczos (``eigsh`` in generalised mode
    with a sparse LU of :math:`L_H + \delta I`); :math:`\lambda_{\min}` is
    exactly 1 when :math:`A_G \ge A_H` entry-wise, and otherwise
    :math:`1 / \lambda_{\max}(L_H, L_G)`, which factorises
    :math:`L_G + \delta I`.

    Parameters
    ----------
    graph, sparsifier : scipy.sparse matrix
        ``[V, V]`` symmetric adjacencies of :math:`G` and :math:`H`.
    delta : float
        Diagonal regulariser (default: ``1e-6``).
    tol : float
        Relative eigenvalue tolerance (default: ``1e-6``).
    seed : int
        Seed of the Lanczos start vector (default: ``0``).

    Returns
    -------
    tuple of float
        :math:`(\lambda_{\min}, \lambda_{\max})`.
    """
    if not delta > 0:
        raise ValueError(f"`delta` must be positive, got {delta!r}")
    g = check_adjacency(graph, "graph")
    h = check_adjacency(sparsifier, "sparsifier")
    if g.shape != h.shape:
        raise ValueError(
            f"`graph` is {g.shape} but `sparsifier` is {h.shape}: "
            "they need the same vertex set"
        )
    rng = np.random.default_rng(seed)
    lg, lh = laplacian(g, delta), laplacian(h, delta)
    high = _largest(lg, lh, tol, rng)
    low = 1.0 if _dominates(g, h) else 1.0 / _largest(lh, lg, tol, rng)
    return low, high


def condition_number(
    graph: sp.spmatrix,
    sparsifier: sp.spmatrix,
    *,
    delta: float = 1e-6,
    tol: float = 1e-6,
    seed: int = 0,
) -> float:
    r"""Compute the relative condition number :math:`\kappa(L_G, L_H)`.

    :math:`\kappa = \lambda_{\max} / \lambda_{\min}` of the regularised pencil.

    See :func:`generalized_eigenvalues` for the parameters. For a subgraph
    with unscaled weights this is :math:`\lambda_{\max}`, the reference's
    figure.
    """
    low, high = generalized_eigenvalues(
        graph, sparsifier, delta=delta, tol=tol, seed=seed
    )
    return high / low


def pcg_iterations(
    graph: sp.spmatrix,
    preconditioner: sp.spmatrix | None = None,
    *,
    rtol: float = 1e-8,
    delta: float = 1e-6,
    maxiter: int | None = None,
    seed: int = 0,
) -> int:
    r"""Count the (P)CG iterations to solve :math:`(L_G + \delta I)x = b`.

    The right-hand side is :math:`b \sim \mathcal N(0, I)` with its mean
    removed; the start is :math:`x_0 = 0`; the stop is
    :math:`\lVert r\rVert \le \text{rtol}\,\lVert b\rVert`. With a
    ``preconditioner`` :math:`H`, each iteration applies
    :math:`(L_H + \delta I)^{-1}` through a sparse LU.

    Parameters
    ----------
    graph : scipy.sparse matrix
        ``[V, V]`` adjacency of :math:`G`.
    preconditioner : scipy.sparse matrix, optional
        ``[V, V]`` adjacency of :math:`H` (default: ``None``, plain CG).
    rtol : float
        Relative residual tolerance (default: ``1e-8``).
    delta : float
        Diagonal regulariser (default: ``1e-6``).
    maxiter : int, optional
        Iteration cap (default: ``None``, :math:`10 V`).
    seed : int
        Seed of the right-hand side (default: ``0``).

    Returns
    -------
    int
        Iterations done; raises ``RuntimeError`` if CG did not converge.
    """
    lg = laplacian(check_adjacency(graph, "graph"), delta)
    n = lg.shape[0]
    m = None
    if preconditioner is not None:
        h = check_adjacency(preconditioner, "preconditioner")
        if h.shape != lg.shape:
            raise ValueError("`preconditioner` must have the shape of `graph`")
        m = _solver(laplacian(h, delta))
    b = np.random.default_rng(seed).standard_normal(n)
    b -= b.mean()
    count = 0

    def counter(_: np.ndarray) -> None:
        nonlocal count
        count += 1

    _, info = cg(lg, b, rtol=rtol, maxiter=maxiter or 10 * n, M=m, callback=counter)
    if info != 0:
        raise RuntimeError(f"CG did not converge in {count} iterations (info={info})")
    return count


def _grounded_solves(adjacency: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray, object]:
    """Components, a grounded-vertex mask and an LU of the grounded Laplacian."""
    _, labels = csgraph.connected_components(adjacency, directed=False)
    first = np.unique(labels, return_index=True)[1]
    keep = np.ones(adjacency.shape[0], dtype=bool)
    keep[first] = False
    lap = laplacian(adjacency)[keep][:, keep].tocsc()
    return labels, keep, splu(lap) if lap.shape[0] else None


def effective_resistance(
    adjacency: sp.spmatrix, pairs: np.ndarray, *, chunk: int = 256
) -> np.ndarray:
    r"""Exact effective resistances :math:`R(p, q) = (e_p - e_q)^\top L^+ (e_p - e_q)`.

    Each connected component is grounded at one vertex, which makes its
    Laplacian block non-singular; one sparse LU then serves all pairs
    (``chunk`` right-hand sides at a time). Pairs in different components
    get ``inf``. Meant for small and medium graphs (the LU fill grows
    faster than :math:`V` on meshes).

    Parameters
    ----------
    adjacency : scipy.sparse matrix
        ``[V, V]`` symmetric weighted adjacency (weights are conductances).
    pairs : numpy.ndarray
        ``[B, 2]`` vertex ids.
    chunk : int
        Right-hand sides per solve (default: ``256``).

    Returns
    -------
    numpy.ndarray
        ``[B]`` float64 resistances.
    """
    matrix = check_adjacency(adjacency)
    pairs = np.asarray(pairs)
    n = matrix.shape[0]
    if pairs.ndim != 2 or pairs.shape[1] != 2:
        raise ValueError(f"`pairs` must have shape [B, 2], got {list(pairs.shape)}")
    if pairs.size and (pairs.min() < 0 or pairs.max() >= n):
        raise ValueError(f"`pairs` has vertex ids outside [0, {n})")
    labels, keep, lu = _grounded_solves(matrix)
    position = np.cumsum(keep) - 1
    out = np.full(len(pairs), np.inf)
    same = labels[pairs[:, 0]] == labels[pairs[:, 1]]
    out[same & (pairs[:, 0] == pairs[:, 1])] = 0.0
    todo = np.flatnonzero(same & (pairs[:, 0] != pairs[:, 1]))
    for begin in range(0, len(todo), chunk):
        rows = todo[begin : begin + chunk]
        rhs = np.zeros((int(keep.sum()), len(rows)))
        for sign, column in ((1.0, 0), (-1.0, 1)):
            nodes = pairs[rows, column]
            grounded = keep[nodes]
            rhs[position[nodes[grounded]], np.flatnonzero(grounded)] += sign
        out[rows] = np.einsum("ij,ij->j", rhs, lu.solve(rhs))
    return out


def _jl_resistance(
    matrix: sp.csr_matrix, u: np.ndarray, v: np.ndarray, dim: int, seed: int
) -> np.ndarray:
    r"""Johnson–Lindenstrauss estimate of the edge resistances.

    :math:`R_e \approx \lVert Z(e_u - e_v)\rVert^2` with
    :math:`Z = Q W^{1/2} B L^+`, :math:`Q` a ``dim`` × :math:`m` random
    :math:`\pm 1/\sqrt{\text{dim}}` matrix (Spielman–Srivastava).
    """
    n = matrix.shape[0]
    rng = np.random.default_rng(seed)
    w = np.asarray(matrix[u, v]).ravel()
    q = rng.choice([-1.0, 1.0], size=(len(u), dim)) / math.sqrt(dim)
    incidence = sp.csr_matrix(
        (
            np.concatenate([np.sqrt(w), -np.sqrt(w)]),
            (np.tile(np.arange(len(u)), 2), np.concatenate([u, v])),
        ),
        shape=(len(u), n),
    )
    y = np.asarray(incidence.T @ q)
    labels, keep, lu = _grounded_solves(matrix)
    z = np.zeros((n, dim))
    if lu is not None:
        z[keep] = lu.solve(y[keep])
    return ((z[u] - z[v]) ** 2).sum(axis=1)


def spielman_srivastava(
    adjacency: sp.spmatrix,
    num_edges: int,
    *,
    resistance: str = "exact",
    jl_dim: int | None = None,
    seed: int = 0,
) -> sp.csr_matrix:
    r"""Spielman–Srivastava sparsifier by effective-resistance sampling.

    Edges are drawn with replacement with probability
    :math:`p_e = w_e R_e / \sum_f w_f R_f` until ``num_edges`` distinct
    edges are held after :math:`q` draws; an edge drawn :math:`c_e` times
    gets weight :math:`c_e\, w_e / (q\, p_e)`, so
    :math:`\mathbb E[L_H] = L_G`. The sparsifier is not a subgraph with
    unscaled weights, so its :func:`condition_number` computes both ends.

    Parameters
    ----------
    adjacency : scipy.sparse matrix
        ``[V, V]`` symmetric weighted adjacency of :math:`G`.
    num_edges : int
        Number of distinct edges of :math:`H`, at most :math:`|E_G|`.
    resistance : {"exact", "jl"}
        Exact resistances (one LU solve per edge, small graphs) or the
        Johnson–Lindenstrauss estimate (``jl_dim`` solves) (default:
        ``"exact"``).
    jl_dim : int, optional
        Random projections for ``"jl"`` (default: :math:`\lceil 8 \ln V\rceil`).
    seed : int
        Seed of the projections and the sampling (default: ``0``).

    Returns
    -------
    scipy.sparse.csr_matrix
        ``[V, V]`` symmetric adjacency of :math:`H`.
    """
    matrix = check_adjacency(adjacency)
    upper = sp.triu(matrix, k=1).tocoo()
    u, v, w = upper.row, upper.col, upper.data
    if isinstance(num_edges, bool) or not isinstance(num_edges, int):
        raise TypeError(f"`num_edges` must be an int, got {type(num_edges)}")
    if not 1 <= num_edges <= len(w):
        raise ValueError(f"`num_edges` must be in [1, {len(w)}], got {num_edges}")
    n = matrix.shape[0]
    if resistance == "exact":
        r = effective_resistance(matrix, np.stack([u, v], axis=1))
    elif resistance == "jl":
        dim = jl_dim or math.ceil(8 * math.log(max(n, 2)))
        r = _jl_resistance(matrix, u, v, dim, seed)
    else:
        raise ValueError(f"`resistance` must be 'exact' or 'jl', got {resistance!r}")
    p = w * r
    p /= p.sum()
    rng = np.random.default_rng(seed + 1)
    counts = np.zeros(len(w), dtype=np.int64)
    draws = 0
    while np.count_nonzero(counts) < num_edges:
        sample = rng.choice(len(w), size=max(num_edges, 1024), p=p)
        first_seen = np.full(len(w), len(sample))
        np.minimum.at(first_seen, sample, np.arange(len(sample)))
        order = np.sort(first_seen[(counts == 0) & (first_seen < len(sample))])
        missing = num_edges - np.count_nonzero(counts)
        used = len(sample) if len(order) < missing else int(order[missing - 1]) + 1
        np.add.at(counts, sample[:used], 1)
        draws += used
    kept = counts > 0
    weight = counts[kept] * w[kept] / (draws * p[kept])
    h = sp.coo_matrix((weight, (u[kept], v[kept])), shape=(n, n))
    return (h + h.T).tocsr()
