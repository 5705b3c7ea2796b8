"""Spanning tree, tree stretch and the initial sparsifier."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse import csgraph

from dyngraph.data import delaunay_graph, read_matrix_market
from dyngraph.sparsify import (
    condition_number,
    initial_sparsifier,
    spanning_tree,
    tree_stretch,
)


@pytest.fixture(scope="module")
def mesh():
    a, _ = delaunay_graph(800, seed=2)
    rng = np.random.default_rng(1)
    upper = sp.triu(a, 1).tocoo()
    upper.data = rng.uniform(0.5, 2.0, upper.nnz)
    return (upper + upper.T).tocsr()


def is_subgraph_with_weights(h, g):
    diff = (g - h).tocoo()
    inside = h.multiply(g != 0)
    return (abs(inside - h).max() == 0) and diff.data.min(initial=0) >= 0


def test_spanning_tree_spans_each_component(mesh):
    two = sp.block_diag([mesh, mesh]).tocsr()
    tree = spanning_tree(two)
    assert tree.nnz // 2 == two.shape[0] - 2
    assert csgraph.connected_components(tree, directed=False)[0] == 2
    assert is_subgraph_with_weights(tree, two)


def test_tree_stretch_matches_path_sums(mesh):
    tree = spanning_tree(mesh)
    t = nx.from_scipy_sparse_array(tree)
    for _, _, data in t.edges(data=True):
        data["r"] = 1.0 / data["weight"]
    rng = np.random.default_rng(0)
    pairs = rng.integers(0, 800, (40, 2))
    ours = tree_stretch(tree, pairs)
    for (a, b), value in zip(pairs, ours, strict=True):
        expected = nx.shortest_path_length(t, int(a), int(b), weight="r")
        assert value == pytest.approx(expected, rel=1e-9, abs=1e-12)
    with pytest.raises(ValueError, match="cycle"):
        tree_stretch(mesh, pairs)


def test_sizes_and_quality(mesh):
    n = mesh.shape[0]
    tree_kappa = condition_number(mesh, spanning_tree(mesh))
    h = initial_sparsifier(mesh)
    assert h.nnz // 2 == n - 1 + round(0.1 * n)
    assert is_subgraph_with_weights(h, mesh)
    kappa = condition_number(mesh, h)
    assert kappa < tree_kappa / 3
    stretch = initial_sparsifier(mesh, method="stretch")
    assert stretch.nnz == h.nnz and is_subgraph_with_weights(stretch, mesh)
    # the spectral rounds beat stretch alone at the same size
    assert kappa < 0.7 * condition_number(mesh, stretch)
    unfiltered = initial_sparsifier(mesh, method="stretch", similarity_filter=False)
    assert condition_number(mesh, stretch) < condition_number(mesh, unfiltered)
    assert initial_sparsifier(mesh, num_edges=n + 50).nnz // 2 == n + 50
    for method in ("spectral", "stretch"):
        target = initial_sparsifier(mesh, target_condition=40.0, method=method)
        assert condition_number(mesh, target) <= 40.0
    with pytest.raises(ValueError, match="method"):
        initial_sparsifier(mesh, method="grass")
    with pytest.raises(ValueError, match="num_edges"):
        initial_sparsifier(mesh, num_edges=10)
    with pytest.raises(ValueError, match="at most one"):
        initial_sparsifier(mesh, num_edges=900, target_condition=10.0)


def test_real_delaunay_files(shared_data):
    folder = shared_data / "suitesparse-graphs"
    for name in ("delaunay_n10", "delaunay_n12"):
        g = read_matrix_market(folder / f"{name}.mtx")
        n = g.shape[0]
        h = initial_sparsifier(g)
        assert h.nnz / 2 / n == pytest.approx(1.1, abs=0.002)
        # the reference's initial sparsifiers: kappa ~100 at 1.09-1.14 edges/node
        assert condition_number(g, h) < 200


def test_forest_and_disconnected_input():
    # a path plus an isolated vertex: no off-tree edges at all
    a = sp.csr_matrix((np.ones(4), ([0, 1, 1, 2], [1, 0, 2, 1])), (5, 5))
    for method in ("spectral", "stretch"):
        h = initial_sparsifier(a, method=method)
        assert (h != a).nnz == 0
    two = sp.block_diag([a, a]).tocsr()
    assert (initial_sparsifier(two, target_condition=2.0) != two).nnz == 0
