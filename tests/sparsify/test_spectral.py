"""Condition numbers, PCG, exact resistances and the sampling baseline."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
from scipy.linalg import eigh

from dyngraph.data import delaunay_graph
from dyngraph.sparsify import (
    condition_number,
    effective_resistance,
    generalized_eigenvalues,
    laplacian,
    pcg_iterations,
    spanning_tree,
    spielman_srivastava,
)


@pytest.fixture(scope="module")
def graph():
    a, _ = delaunay_graph(150, seed=4)
    rng = np.random.default_rng(0)
    upper = sp.triu(a, 1).tocoo()
    upper.data = rng.uniform(0.5, 3.0, upper.nnz)
    return (upper + upper.T).tocsr()


def dense_pencil(g, h, delta=1e-6):
    return eigh(
        laplacian(g, delta).toarray(), laplacian(h, delta).toarray(), eigvals_only=True
    )


def test_condition_number_matches_dense_for_a_subgraph(graph):
    tree = spanning_tree(graph)
    extra = sp.triu(graph - tree, 1).tocoo()
    keep = np.arange(extra.nnz) % 5 == 0
    part = sp.coo_matrix(
        (extra.data[keep], (extra.row[keep], extra.col[keep])), graph.shape
    )
    h = (tree + part + part.T).tocsr()
    values = dense_pencil(graph, h)
    assert values[0] == pytest.approx(1.0, abs=1e-6)
    assert condition_number(graph, h) == pytest.approx(values[-1] / values[0], rel=1e-5)
    low, high = generalized_eigenvalues(graph, h)
    assert low == 1.0 and high == pytest.approx(values[-1], rel=1e-5)


def test_condition_number_of_a_reweighted_sparsifier(graph):
    h = spielman_srivastava(graph, 300, seed=0)
    values = dense_pencil(graph, h)
    assert values[0] < 1.0  # not dominated: both ends are needed
    low, high = generalized_eigenvalues(graph, h)
    assert low == pytest.approx(values[0], rel=1e-5)
    assert high == pytest.approx(values[-1], rel=1e-5)


def test_identical_graphs_have_kappa_one(graph):
    assert condition_number(graph, graph) == pytest.approx(1.0, abs=1e-6)


def test_pcg_iterations_fall_with_a_better_preconditioner(graph):
    tree = spanning_tree(graph)
    plain = pcg_iterations(graph)
    with_graph = pcg_iterations(graph, graph)
    with_tree = pcg_iterations(graph, tree)
    assert with_graph <= 2  # exact preconditioner
    assert with_graph < with_tree
    assert plain > with_graph
    with pytest.raises(RuntimeError, match="converge"):
        pcg_iterations(graph, maxiter=2)


def test_effective_resistance_against_networkx(graph):
    g = nx.from_scipy_sparse_array(graph)
    pairs = np.array([[0, 1], [3, 77], [10, 149], [5, 5]])
    ours = effective_resistance(graph, pairs)
    for (a, b), value in zip(pairs, ours, strict=True):
        expected = (
            0.0
            if a == b
            else nx.resistance_distance(
                g, int(a), int(b), weight="weight", invert_weight=False
            )
        )
        assert value == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_effective_resistance_across_components():
    a = sp.csr_matrix(([2.0, 2.0, 1.0, 1.0], ([0, 1, 2, 3], [1, 0, 3, 2])), (4, 4))
    r = effective_resistance(a, np.array([[0, 1], [2, 3], [0, 3]]))
    np.testing.assert_allclose(r, [0.5, 1.0, np.inf])


def test_spielman_srivastava_is_unbiased_and_sized(graph):
    n_edges = sp.triu(graph, 1).nnz
    h = spielman_srivastava(graph, 200, seed=1)
    assert sp.triu(h, 1).nnz == 200
    assert (h != h.T).nnz == 0
    # E[L_H] = L_G: the average over seeds approaches the graph
    mean = sum(spielman_srivastava(graph, n_edges - 5, seed=s) for s in range(20)) / 20
    assert abs(mean - graph).max() < 0.35 * graph.max()
    jl = spielman_srivastava(graph, 200, resistance="jl", seed=1)
    assert sp.triu(jl, 1).nnz == 200
    with pytest.raises(ValueError, match="num_edges"):
        spielman_srivastava(graph, n_edges + 1)
    with pytest.raises(ValueError, match="resistance"):
        spielman_srivastava(graph, 10, resistance="nope")


def test_bad_matrices_are_named():
    with pytest.raises(ValueError, match="symmetric"):
        laplacian(sp.csr_matrix(([1.0], ([0], [1])), (2, 2)))
    with pytest.raises(ValueError, match="square"):
        laplacian(sp.csr_matrix((2, 3)))
    with pytest.raises(ValueError, match="sparsifier"):
        condition_number(
            sp.csr_matrix((3, 3)),
            sp.csr_matrix(([-1.0, -1.0], ([0, 1], [1, 0])), (3, 3)),
        )
