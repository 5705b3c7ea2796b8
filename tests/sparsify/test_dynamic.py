"""DynamicSparsifier: insert/delete semantics, repair, save and reload."""

from __future__ import annotations

import contextlib
import signal

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from scipy.sparse import csgraph

from dyngraph.data import delaunay_graph, read_matrix_market
from dyngraph.sparsify import (
    DynamicSparsifier,
    condition_number,
    initial_sparsifier,
    local_edge_stream,
)
from dyngraph.sparsify.walks import have_numba


@pytest.fixture(scope="module")
def mesh():
    return delaunay_graph(600, seed=5)[0]


def same_partition(a, b):
    """Whether two labelings group the vertices identically."""
    pairs = np.unique(np.stack([a, b]), axis=1).shape[1]
    return pairs == np.unique(a).size == np.unique(b).size


def edge_set(matrix):
    upper = sp.triu(matrix, 1).tocoo()
    return {
        (int(a), int(b)): float(w)
        for a, b, w in zip(upper.row, upper.col, upper.data, strict=True)
    }


def test_insert_keeps_only_critical_edges(mesh):
    ds = DynamicSparsifier(mesh, budget=6.0, seed=0)
    h0 = edge_set(ds.sparsifier)
    # an edge parallel to a sparsifier edge path of length 1-2 is not critical;
    # an edge to a far vertex (many tree hops) with a big weight is
    far = sp.csgraph.shortest_path(ds.sparsifier, unweighted=True, indices=[0])[0]
    target = int(np.argmax(far))
    report = ds.insert(np.array([[0], [target]]), np.array([10.0]))
    assert report.added == 1 and (0, target) in edge_set(ds.sparsifier)
    a, b = next(iter(h0))
    neighbour = int(ds.sparsifier[b].indices[ds.sparsifier[b].indices != a][0])
    if (min(a, neighbour), max(a, neighbour)) not in edge_set(ds.graph):
        report = ds.insert(np.array([[a], [neighbour]]), np.array([0.5]))
        assert report.added == 0  # two hops of unit resistance: 0.5 * 2 < 6
        assert (min(a, neighbour), max(a, neighbour)) in edge_set(ds.graph)
        assert (min(a, neighbour), max(a, neighbour)) not in edge_set(ds.sparsifier)


def test_duplicate_insertions_add_weight(mesh):
    ds = DynamicSparsifier(mesh, seed=0)
    (a, b), w = next(iter(edge_set(ds.sparsifier).items()))
    report = ds.insert(torch.tensor([[b, a], [a, b]]), torch.tensor([2.0, 3.0]))
    assert report.num_updates == 1 and report.walker_steps == 0
    assert edge_set(ds.graph)[(a, b)] == w + 5.0
    assert edge_set(ds.sparsifier)[(a, b)] == w + 5.0


def test_delete_repairs_connectivity(mesh):
    ds = DynamicSparsifier(mesh, repair_walkers=64, seed=1)
    tree_edges = list(edge_set(ds.sparsifier))[:30]
    edges = np.array(tree_edges).T
    report = ds.delete(edges)
    assert report.removed == 30 and report.added >= 1
    g, h = ds.graph, ds.sparsifier
    for edge in tree_edges:
        assert edge not in edge_set(g) and edge not in edge_set(h)
    assert set(edge_set(h)) <= set(edge_set(g))
    assert (
        csgraph.connected_components(h, directed=False)[0]
        == csgraph.connected_components(g, directed=False)[0]
    )
    with pytest.raises(ValueError, match="not in the graph"):
        ds.delete(edges[:, :1])


def test_failed_walks_fall_back_to_shortest_path():
    # G is a 40-cycle, H the path without (0, 39); repairing the deletion of
    # (10, 11) needs the 39-hop way round, beyond 5-step walks
    n = 40
    rows = np.arange(n - 1)
    path = sp.coo_matrix((np.ones(n - 1), (rows, rows + 1)), (n, n))
    path = (path + path.T).tocsr()
    cycle = path + sp.csr_matrix(([1.0, 1.0], ([0, n - 1], [n - 1, 0])), (n, n))
    ds = DynamicSparsifier(cycle, path, repair_steps=5, seed=0)
    report = ds.delete(np.array([[10], [11]]))
    assert report.added == 1 and (0, n - 1) in edge_set(ds.sparsifier)
    assert csgraph.connected_components(ds.sparsifier, directed=False)[0] == 1


def test_state_roundtrip_continues_identically(mesh, tmp_path):
    stream = local_edge_stream(mesh, insert_fraction=0.2, batches=4, seed=3)
    one = DynamicSparsifier(mesh, budget=10.0, seed=4)
    for kind, edges in stream[:3]:
        getattr(one, kind)(edges)
    one.save(tmp_path / "state.pt")
    two = DynamicSparsifier.load(tmp_path / "state.pt")
    for kind, edges in stream[3:]:
        a, b = getattr(one, kind)(edges), getattr(two, kind)(edges)
        assert a == b
    assert (one.sparsifier != two.sparsifier).nnz == 0
    with pytest.raises(KeyError, match="missing"):
        two.load_state_dict({"num_nodes": 3})


def test_empty_start_and_bad_input():
    ds = DynamicSparsifier(5)
    ds.insert(np.array([[0, 1, 2], [1, 2, 0]]))
    assert ds.num_graph_edges == 3 and ds.num_sparsifier_edges == 3  # H was empty
    with pytest.raises(ValueError, match="self-loops"):
        ds.insert(np.array([[1], [1]]))
    with pytest.raises(ValueError, match="outside"):
        ds.insert(np.array([[1], [9]]))
    with pytest.raises(ValueError, match="shape"):
        ds.insert(np.array([1, 2]))
    with pytest.raises(ValueError, match="weights"):
        ds.insert(np.array([[3], [4]]), np.array([-1.0]))
    with pytest.raises(ValueError, match="budget"):
        DynamicSparsifier(5, budget=0)
    with pytest.raises(ValueError, match="not in `graph`"):
        DynamicSparsifier(
            sp.csr_matrix((3, 3)), sp.csr_matrix(([1.0, 1.0], ([0, 1], [1, 0])), (3, 3))
        )


def test_local_stream_shape(mesh):
    stream = local_edge_stream(mesh, seed=0)
    ins = np.concatenate([e for k, e in stream if k == "insert"], axis=1)
    dele = np.concatenate([e for k, e in stream if k == "delete"], axis=1)
    assert [k for k, _ in stream] == ["insert"] * 10 + ["delete"] * 6
    assert ins.shape[1] == 150 and dele.shape[1] == 6
    assert all(mesh[a, b] == 0 for a, b in ins.T)
    hops = csgraph.shortest_path(mesh, unweighted=True, indices=ins[0])[
        np.arange(150), ins[1]
    ]
    assert hops.min() >= 2 and hops.max() <= 3


def test_reference_protocol_on_delaunay_n12(shared_data):
    g = read_matrix_market(shared_data / "suitesparse-graphs" / "delaunay_n12.mtx")
    n = g.shape[0]
    ds = DynamicSparsifier(g, budget=35.0, num_walkers=128, repair_walkers=128, seed=0)
    for kind, edges in local_edge_stream(g, seed=0):
        getattr(ds, kind)(edges)
    final = ds.graph
    kappa = condition_number(final, ds.sparsifier)
    rebuilt = initial_sparsifier(final, num_edges=ds.num_sparsifier_edges)
    stretch = initial_sparsifier(
        final, num_edges=ds.num_sparsifier_edges, method="stretch"
    )
    # kept sparse, better than a stretch-only rebuild from scratch of that size
    # and close to a spectral one
    assert 1.10 < ds.density < 1.16
    assert kappa <= condition_number(final, stretch)
    assert kappa <= 1.3 * condition_number(final, rebuilt)
    assert csgraph.connected_components(ds.sparsifier, directed=False)[0] == 1
    assert ds.num_graph_edges > 1.2 * n


def test_deletions_that_cut_g_keep_h_spanning_its_components():
    # triangle 0-1-2 plus a pendant 3 on 2; H is the path 0-1-2-3. Deleting
    # (0, 1) and (1, 2) isolates 1, so neither repair path exists, yet 0 must
    # stay linked to 2 through the surviving edge (0, 2) of G
    g = sp.csr_matrix(
        (np.ones(8), ([0, 1, 1, 2, 0, 2, 2, 3], [1, 0, 2, 1, 2, 0, 3, 2])), (4, 4)
    )
    h = sp.csr_matrix((np.ones(6), ([0, 1, 1, 2, 2, 3], [1, 0, 2, 1, 3, 2])), (4, 4))
    ds = DynamicSparsifier(g, h, repair_walkers=8, seed=0)
    report = ds.delete(np.array([[0, 1], [1, 2]]))
    assert report.removed == 2 and report.added == 1
    assert set(edge_set(ds.sparsifier)) == {(0, 2), (2, 3)}
    assert (
        csgraph.connected_components(ds.sparsifier, directed=False)[0]
        == csgraph.connected_components(ds.graph, directed=False)[0]
    )


def test_incremental_csr_matches_a_fresh_build(mesh):
    ds = DynamicSparsifier(mesh, budget=4.0, num_walkers=64, seed=2)
    stream = local_edge_stream(mesh, insert_fraction=0.3, delete_fraction=0.05, seed=1)
    for kind, edges in stream:
        getattr(ds, kind)(edges)
        for edges_of in (ds._g, ds._h):
            rowptr, col, weight = edges_of.csr()
            fresh = sp.csr_matrix(
                (weight.numpy(), col.numpy(), rowptr.numpy()), shape=mesh.shape
            )
            expected = edges_of.scipy()
            assert (fresh != expected).nnz == 0
            assert np.array_equal(fresh.indices, expected.indices)


def _random_stream(n: int, batches: int, seed: int):
    """Random inserts and deletes on ``n`` vertices; H starts empty."""
    rng = np.random.default_rng(seed)
    present: set[tuple[int, int]] = set()
    stream = []
    for _ in range(batches):
        a = rng.integers(0, n, 3 * n // 4)
        b = rng.integers(0, n, a.size)
        new = {(min(x, y), max(x, y)) for x, y in zip(a, b, strict=True) if x != y}
        new -= present
        if new:
            present |= new
            stream.append(("insert", np.array(sorted(new)).T))
        gone = sorted(present)[:: max(3, len(present) // 20)]
        present -= set(gone)
        if gone:
            stream.append(("delete", np.array(gone).T))
    return stream


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_component_prechecks_change_no_decision(monkeypatch, seed):
    # the same stream with and without `skip`: identical G and H after every
    # batch, while the prechecks do skip walks (H starts empty, so many new
    # edges join different components of H or vertices it has not reached)
    import dyngraph.sparsify.dynamic as dynamic

    stream = _random_stream(120, 6, seed)
    kw = dict(budget=5.0, num_walkers=64, repair_walkers=32, repair_steps=30)
    fast = DynamicSparsifier(120, seed=seed, **kw)
    states, work_fast = [], 0
    for kind, edges in stream:
        work_fast += getattr(fast, kind)(edges).walker_steps
        states.append((edge_set(fast.graph), edge_set(fast.sparsifier)))
        if fast._labels is not None:  # kept up to date, not recomputed
            _, fresh = csgraph.connected_components(fast.sparsifier, directed=False)
            assert same_partition(fast._labels.numpy(), fresh)
    skipped = []
    walks = dynamic.nonbacktracking_walks

    def without_skip(*args, skip=None, **kwargs):
        skipped.append(0 if skip is None else int(skip.sum()))
        return walks(*args, **kwargs)

    monkeypatch.setattr(dynamic, "nonbacktracking_walks", without_skip)
    slow = DynamicSparsifier(120, seed=seed, **kw)
    work_slow = 0
    for (kind, edges), (graph, sparsifier) in zip(stream, states, strict=True):
        work_slow += getattr(slow, kind)(edges).walker_steps
        assert edge_set(slow.graph) == graph
        assert edge_set(slow.sparsifier) == sparsifier
    assert sum(skipped) > 0
    assert work_fast < work_slow


def test_cached_components_follow_insertions_and_deletions():
    # two triangles; an insertion joins them, a deletion splits them again
    g = sp.csr_matrix(
        (
            np.ones(12),
            (
                [0, 1, 1, 2, 2, 0, 3, 4, 4, 5, 5, 3],
                [1, 0, 2, 1, 0, 2, 4, 3, 5, 4, 3, 5],
            ),
        ),
        (7, 7),
    )
    ds = DynamicSparsifier(g, g, budget=3.0, num_walkers=16, seed=0)
    labels = ds._components()
    assert labels[0] == labels[2] != labels[3] == labels[5] != labels[6]
    # ends in different components of H: critical without a single move
    report = ds.insert(np.array([[2, 5], [3, 6]]))
    assert report.added == 2 and report.walker_steps == 0
    labels = ds._components()
    assert len(set(labels.tolist())) == 1
    assert torch.equal(labels, ds._h.components())
    fresh = ds._h.components()
    assert len(set(fresh.tolist())) == 1
    ds.delete(np.array([[2], [3]]))  # cuts G: H must follow G's components
    assert ds._labels is None
    labels = ds._components()
    assert labels[0] != labels[3] and labels[5] == labels[6]


@pytest.mark.skipif(not have_numba(), reason="numba is not installed")
def test_compiled_and_torch_paths_make_the_same_sparsifier(monkeypatch):
    # the compiled CPU kernels (walks, merges, CSR) against the torch code
    # that also runs on CUDA: the same G and H after every batch
    import dyngraph.sparsify.dynamic as dynamic
    import dyngraph.sparsify.walks as walks

    stream = _random_stream(150, 6, 4)
    kw = dict(budget=5.0, num_walkers=64, repair_walkers=32, repair_steps=30, seed=4)
    fast = DynamicSparsifier(150, **kw)
    states = []
    for kind, edges in stream:
        getattr(fast, kind)(edges)
        states.append((edge_set(fast.graph), edge_set(fast.sparsifier)))
    monkeypatch.setattr(dynamic, "have_numba", lambda: False)
    monkeypatch.setattr(walks, "have_numba", lambda: False)
    slow = DynamicSparsifier(150, **kw)
    for (kind, edges), (graph, sparsifier) in zip(stream, states, strict=True):
        getattr(slow, kind)(edges)
        assert edge_set(slow.graph) == graph
        assert edge_set(slow.sparsifier) == sparsifier


def test_erase_loops_leaves_a_simple_path_on_the_walks_edges(mesh):
    from dyngraph.sparsify import nonbacktracking_walks
    from dyngraph.sparsify.dynamic import erase_loops

    paths = torch.tensor(
        [
            [0, 1, 2, 3, 1, 4, -1, -1, -1],  # loop 1-2-3-1
            [5, 6, 5, 7, 8, 7, 9, -1, -1],  # back through the source, then 7-8-7
            [0, 2, -1, -1, -1, -1, -1, -1, -1],  # one edge
            [3, 4, 5, 6, 3, 4, 5, 6, 7],  # twice round a cycle
        ]
    )
    a, b = erase_loops(paths)
    assert list(zip(a.tolist(), b.tolist(), strict=True)) == [
        (0, 1),
        (5, 7),
        (0, 2),
        (3, 4),
        (1, 4),
        (7, 9),
        (4, 5),
        (5, 6),
        (6, 7),
    ]
    # long walks on a mesh (many loops), erased in several chunks: each
    # pair's kept edges form a simple path between its ends on its walk's
    # edges, never longer than the walk
    rowptr, col, w = (
        torch.from_numpy(x) for x in (mesh.indptr, mesh.indices, mesh.data)
    )
    src = torch.arange(0, 200)
    dst = col[rowptr[col[rowptr[col[rowptr[src]]]]]].long()
    src, dst = src[src != dst], dst[src != dst]
    walks = nonbacktracking_walks(
        rowptr.long(),
        col.long(),
        w,
        src,
        dst,
        num_walkers=4,
        max_steps=60,
        return_paths=True,
        seed=1,
    )
    assert walks.found.sum() > 50
    found = walks.paths[walks.found]
    looped, single = 0, []
    for k, row in enumerate(found.tolist()):
        row = [v for v in row if v >= 0]
        a, b = (x.tolist() for x in erase_loops(found[k : k + 1]))
        single += zip(a, b, strict=True)
        vertices = a + b[-1:]
        assert a[1:] == b[:-1]  # consecutive edges
        assert vertices[0] == row[0] and vertices[-1] == row[-1]
        assert len(set(vertices)) == len(vertices)  # simple
        walk_edges = {frozenset(e) for e in zip(row[:-1], row[1:], strict=True)}
        assert {frozenset(e) for e in zip(a, b, strict=True)} <= walk_edges
        looped += len(vertices) < len(row)
    assert looped > 10
    a, b = erase_loops(found, chunk=16)  # all at once, in chunks
    assert sorted(zip(a.tolist(), b.tolist(), strict=True)) == sorted(single)


def test_load_refuses_a_plain_torch_file(mesh, tmp_path):
    from dyngraph.training import CheckpointError

    plain = tmp_path / "plain.pt"
    torch.save(DynamicSparsifier(mesh, seed=0).state_dict(), plain)
    with pytest.raises(CheckpointError, match=str(plain)):
        DynamicSparsifier.load(plain)


@contextlib.contextmanager
def _deadline(seconds: int):
    def hang(signum, frame):
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, hang)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def test_local_stream_ends_when_no_new_edge_can_be_drawn():
    complete = sp.csr_matrix(np.ones((6, 6)) - np.eye(6))
    with _deadline(20):
        with pytest.raises(ValueError, match="no edges, so no vertex pair"):
            local_edge_stream(sp.csr_matrix((6, 6)), insert_fraction=0.5)
        with pytest.raises(ValueError, match="only 0 vertex pairs.*clique"):
            local_edge_stream(complete, insert_fraction=0.5)
        star = sp.csr_matrix(([1.0] * 5, ([0] * 5, [1, 2, 3, 4, 5])), (6, 6))
        star = star + star.T
        with pytest.raises(ValueError, match="only 10 vertex pairs"):
            local_edge_stream(star, insert_fraction=2.0)
        stream = local_edge_stream(star, insert_fraction=10 / 6, batches=1)
        with pytest.raises(ValueError, match="cannot draw 6 deletions.*only 0"):
            local_edge_stream(
                sp.csr_matrix((6, 6)), insert_fraction=0, delete_fraction=1
            )
    inserted = stream[0][1]
    assert stream[0][0] == "insert" and inserted.shape == (2, 10)
    assert {tuple(p) for p in inserted.T} == {
        (a, b) for a in range(1, 6) for b in range(a + 1, 6)
    }
    empty = local_edge_stream(sp.csr_matrix((6, 6)), insert_fraction=0)
    assert empty == []


def test_negative_weights_are_named_with_what_to_do():
    signed = sp.csr_matrix(([1.0, -2.0, 1.0, -2.0], ([0, 1, 1, 2], [1, 0, 2, 1])))
    with pytest.raises(ValueError, match=r"entry \(1, 0\) is -2.*Laplacian"):
        DynamicSparsifier(signed)
    with pytest.raises(ValueError, match="abs"):
        local_edge_stream(signed)
