import pytest
import torch

from dyngraph.data.neighbours import knn, radius, radius_graph


def _brute(x, y, r):
    d = torch.cdist(y, x)  # [Q, M]
    dst, src = torch.nonzero(d <= r, as_tuple=True)
    return {(int(s), int(t)) for s, t in zip(src, dst, strict=True)}


@pytest.mark.parametrize(("dim", "r"), [(2, 0.25), (3, 0.4)])
def test_radius_graph_equals_brute_force(dim, r):
    pos = torch.rand(300, dim, generator=torch.Generator().manual_seed(dim))
    edges = radius_graph(pos, r)
    got = {(int(s), int(t)) for s, t in edges.T}
    want = {(s, t) for s, t in _brute(pos, pos, r) if s != t}
    assert got == want and len(got) == edges.shape[1]
    # dense clouds have more than PyG's default cap of 32 neighbours: no cap here
    assert torch.bincount(edges[1]).max() > 32
    looped = {(int(s), int(t)) for s, t in radius_graph(pos, r, loop=True).T}
    assert looped == want | {(i, i) for i in range(300)}
    # sorted by target: a layout that does not depend on the tree
    assert bool((edges[1][1:] >= edges[1][:-1]).all())


def test_bipartite_radius_equals_brute_force_and_fills_empty_targets():
    gen = torch.Generator().manual_seed(0)
    x, y = torch.rand(40, 2, generator=gen), torch.rand(200, 2, generator=gen)
    edges = radius(x, y, 0.1)
    assert {(int(s), int(t)) for s, t in edges.T} == _brute(x, y, 0.1)
    empty = set(range(200)) - set(edges[1].tolist())
    assert empty  # some queries have no source within 0.1
    filled = radius(x, y, 0.1, min_neighbours=2)
    assert set(filled[1].tolist()) == set(range(200))
    pairs = {(int(s), int(t)) for s, t in filled.T}
    assert _brute(x, y, 0.1) <= pairs and len(pairs) == filled.shape[1]
    near = knn(x, y, 2)
    assert all((int(near[q, k]), q) in pairs for q in range(200) for k in range(2))
    assert torch.equal(near[:, 0], torch.cdist(y, x).argmin(1))


def test_bad_radius_is_named():
    with pytest.raises(ValueError, match="`r`"):
        radius_graph(torch.rand(4, 2), 0.0)
    with pytest.raises(ValueError, match="pos"):
        radius_graph(torch.rand(4), 0.1)
