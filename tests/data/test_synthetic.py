import numpy as np
import pytest
import scipy.sparse as sp
import torch
from scipy import integrate, stats
from scipy.sparse.csgraph import connected_components
from scipy.spatial import ConvexHull, Delaunay

from dyngraph.data.snapshots import to_static
from dyngraph.data.synthetic import (
    LatentSpaceTruth,
    delaunay_graph,
    latent_space_network,
    signed_faction_network,
)


@pytest.fixture(scope="module")
def default_network():
    return latent_space_network(seed=7)


def quad(truth, i, j, t0, t1):
    edges = truth.bin_edges.numpy()
    inside = [e for e in edges if t0 < e < t1]
    value, _ = integrate.quad(
        lambda t: float(truth.intensity(i, j, t)),
        t0,
        t1,
        points=inside or None,
        epsabs=0.0,
        epsrel=1e-12,
        limit=200,
    )
    return value


def test_integrated_intensity_matches_quadrature():
    _, truth = latent_space_network(10, 5, seed=1)
    intervals = [(0.0, 1.0), (0.13, 0.61), (0.41, 0.45), (0.3, 0.3), (0.8, 1.0)]
    for i, j in [(0, 1), (2, 9), (4, 7)]:
        for t0, t1 in intervals:
            got = float(truth.integrated_intensity(i, j, t0, t1))
            assert got == pytest.approx(quad(truth, i, j, t0, t1), rel=1e-9, abs=0)


def test_integrated_intensity_broadcasts():
    _, truth = latent_space_network(10, 5, seed=1)
    i = torch.tensor([0, 2, 4])
    j = torch.tensor([1, 9, 7])
    t1 = torch.tensor([[0.5], [1.0]])
    out = truth.integrated_intensity(i, j, 0.1, t1)
    assert out.shape == (2, 3)
    assert float(out[0, 1]) == pytest.approx(
        float(truth.integrated_intensity(2, 9, 0.1, 0.5))
    )
    # additivity over a split of the interval
    whole = truth.integrated_intensity(i, j)
    parts = truth.integrated_intensity(i, j, 0.0, 0.37) + truth.integrated_intensity(
        i, j, 0.37, 1.0
    )
    torch.testing.assert_close(whole, parts, rtol=1e-12, atol=0)
    with pytest.raises(ValueError, match="t0 <= t1"):
        truth.integrated_intensity(0, 1, 0.5, 0.2)
    with pytest.raises(ValueError, match="t0 <= t1"):
        truth.integrated_intensity(0, 1, 0.0, 1.5)


def two_node_truth(x1, dv, beta=(0.3, -0.2)):
    x0 = torch.tensor([[0.0, 0.0], x1], dtype=torch.float64)
    # both nodes share a velocity that changes between the two bins; node 1
    # moves with an extra `dv` relative to node 0
    common = torch.tensor([[0.4, -0.7], [1.1, 0.2]], dtype=torch.float64)
    v = common[:, None, :].repeat(1, 2, 1)  # [B=2, N=2, D=2]
    v[:, 1] += torch.tensor(dv, dtype=torch.float64)
    return LatentSpaceTruth(
        x0=x0,
        v=v,
        beta=torch.tensor(beta, dtype=torch.float64),
        communities=torch.zeros(2, dtype=torch.long),
        bin_edges=torch.linspace(0, 1, 3, dtype=torch.float64),
    )


@pytest.mark.parametrize("eps", [1.0, 1e-1, 1e-2, 1e-3, 1e-4, 1e-6, 1e-9, 0.0])
def test_integral_is_stable_for_small_relative_velocity(eps):
    truth = two_node_truth([0.5, 0.3], [eps * 0.6, -eps * 0.8])
    for t0, t1 in [(0.0, 1.0), (0.61, 0.62), (0.2, 0.7)]:
        got = float(truth.integrated_intensity(0, 1, t0, t1))
        assert got == pytest.approx(quad(truth, 0, 1, t0, t1), rel=1e-9, abs=0)


@pytest.mark.parametrize(
    ("x1", "dv"),
    [
        ([6.0, 0.0], [-12.0, 0.0]),  # far apart, passes through 0 in bin 0
        ([6.0, 0.0], [3.0, 1.0]),  # far and moving away: tiny integral
        ([6.0, 0.0], [-3.0, 0.5]),  # approaching, same-sign erf arguments
        ([-2.0, 1.0], [40.0, -20.0]),  # fast crossing
    ],
)
def test_integral_far_and_fast_pairs(x1, dv):
    truth = two_node_truth(x1, dv)
    for t0, t1 in [(0.0, 1.0), (0.1, 0.3), (0.55, 0.95)]:
        got = float(truth.integrated_intensity(0, 1, t0, t1))
        assert got == pytest.approx(quad(truth, 0, 1, t0, t1), rel=1e-8, abs=0)


def test_positions_and_intensity(default_network):
    _, truth = default_network
    edges = truth.bin_edges
    starts = truth.bin_start_positions()
    torch.testing.assert_close(truth.positions(edges), starts)  # continuity
    left = truth.positions(edges[1:-1] - 1e-9)
    torch.testing.assert_close(left, starts[1:-1], atol=1e-7, rtol=0)
    # inside a bin the motion is linear with the bin's velocity
    t = torch.tensor([0.31, 0.32], dtype=torch.float64)
    b = int(0.31 * truth.num_bins)
    velocity = (truth.positions(t)[1] - truth.positions(t)[0]) / 0.01
    torch.testing.assert_close(velocity, truth.v[b])
    assert truth.positions(0.5, nodes=[3, 1]).shape == (1, 2, 2)
    x = truth.positions(0.47)[0]
    expected = torch.exp(truth.beta[3] + truth.beta[8] - (x[3] - x[8]).square().sum())
    torch.testing.assert_close(truth.intensity(3, 8, 0.47), expected)
    assert truth.intensity(
        torch.tensor([3, 4]), 8, torch.tensor([[0.1], [0.9]])
    ).shape == (
        2,
        2,
    )


def test_stream_shape_and_communities(default_network):
    stream, truth = default_network
    assert stream.num_nodes == truth.num_nodes == 60
    assert truth.v.shape == (20, 60, 2)
    assert 1500 < stream.num_events < 6000
    assert bool((stream.src < stream.dst).all())
    assert float(stream.t.min()) >= 0.0 and float(stream.t.max()) < 1.0
    assert truth.communities.tolist() == [k // 15 for k in range(60)]
    c = truth.communities
    assert float((c[stream.src] == c[stream.dst]).float().mean()) > 0.6


def test_total_count_matches_integrated_intensity(default_network):
    stream, truth = default_network
    i, j = torch.triu_indices(60, 60, offset=1)
    expected = float(truth.integrated_intensity(i, j).sum())
    assert abs(stream.num_events - expected) < 4 * np.sqrt(expected)


def test_per_pair_and_bin_counts_are_poisson():
    # large rates: every (pair, bin) cell has hundreds of expected events
    stream, truth = latent_space_network(
        6, 4, num_communities=1, beta_mean=4.0, beta_std=0.0, spread=0.3, seed=3
    )
    i, j = torch.triu_indices(6, 6, offset=1)
    edges = truth.bin_edges
    expected = truth.integrated_intensity(
        i[:, None], j[:, None], edges[:-1], edges[1:]
    ).numpy()
    assert expected.min() > 20
    b = np.minimum((stream.t.numpy() * 4).astype(int), 3)
    pair = {(int(a), int(c)): k for k, (a, c) in enumerate(zip(i, j, strict=True))}
    observed = np.zeros_like(expected)
    for s, d, k in zip(stream.src.tolist(), stream.dst.tolist(), b, strict=True):
        observed[pair[s, d], k] += 1
    chi2 = float(((observed - expected) ** 2 / expected).sum())
    assert stats.chi2.sf(chi2, df=expected.size) > 1e-4


def test_time_rescaling_gives_uniform_times(default_network):
    # Lambda_ij(0, t_k) / Lambda_ij(0, 1) is uniform on [0, 1] for an exact
    # simulation of the inhomogeneous Poisson process (time-rescaling theorem)
    stream, truth = default_network
    partial = truth.integrated_intensity(stream.src, stream.dst, 0.0, stream.t)
    total = truth.integrated_intensity(stream.src, stream.dst)
    u = (partial / total).numpy()
    assert stats.kstest(u, "uniform").pvalue > 1e-3


def test_latent_space_seeds_and_dimensions():
    a, ta = latent_space_network(30, 10, seed=5)
    b, tb = latent_space_network(30, 10, seed=np.random.default_rng(5))
    c, _ = latent_space_network(30, 10, seed=6)
    assert torch.equal(a.src, b.src) and torch.equal(a.t, b.t)
    assert torch.equal(ta.v, tb.v)
    assert a.num_events != c.num_events or not torch.equal(a.t, c.t)
    s3, t3 = latent_space_network(20, 5, dim=3, seed=0)
    assert t3.x0.shape == (20, 3) and s3.num_events > 0
    with pytest.raises(TypeError, match="seed"):
        latent_space_network(seed=1.5)
    with pytest.raises(ValueError, match="num_bins"):
        latent_space_network(num_bins=0)


def balanced_fraction(stream):
    signs = np.sign(to_static(stream, "sign", directed=False).toarray())
    cube = np.trace(np.linalg.matrix_power(signs, 3))
    total = np.trace(np.linalg.matrix_power(np.abs(signs), 3))
    return 0.5 * (1 + cube / total)


def faction_agreement(stream, factions):
    same = factions[stream.src] == factions[stream.dst]
    return float(((stream.sign > 0) == same).float().mean())


def test_noise_free_network_is_balanced():
    stream, factions = signed_faction_network(60, 2, 4000, noise=0.0, seed=2)
    assert faction_agreement(stream, factions) == 1.0
    assert balanced_fraction(stream) == 1.0
    assert torch.bincount(factions).tolist() == [30, 30]


def test_more_factions_are_weakly_balanced():
    # with three factions all-negative triangles appear (weak balance), but
    # never a triangle with exactly one negative edge
    stream, factions = signed_faction_network(60, 3, 4000, noise=0.0, seed=2)
    assert torch.bincount(factions).tolist() == [20, 20, 20]
    signs = np.sign(to_static(stream, "sign", directed=False).toarray())
    pos, neg = (signs > 0).astype(float), (signs < 0).astype(float)
    assert np.trace(pos @ pos @ neg) == 0
    assert np.trace(neg @ neg @ neg) > 0
    assert balanced_fraction(stream) < 1.0


@pytest.mark.parametrize("noise", [0.1, 0.3])
def test_sign_agreement_is_one_minus_noise(noise):
    stream, factions = signed_faction_network(
        100, 2, 20000, noise=noise, seed=int(noise * 10)
    )
    assert faction_agreement(stream, factions) == pytest.approx(1 - noise, abs=0.02)
    assert balanced_fraction(stream) < 0.95


def test_random_signs_are_half_balanced():
    stream, _ = signed_faction_network(80, 2, 20000, noise=0.5, seed=4)
    assert balanced_fraction(stream) == pytest.approx(0.5, abs=0.05)


def test_recurring_pairs_carry_memory():
    stream, factions = signed_faction_network(100, 2, 20000, noise=0.2, seed=8)
    last = {}
    seen = same_as_last = 0
    for s, d, sign in zip(
        stream.src.tolist(), stream.dst.tolist(), stream.sign.tolist(), strict=True
    ):
        if (s, d) in last:
            seen += 1
            same_as_last += last[s, d] == sign
        last[s, d] = sign
    assert seen / stream.num_events > 0.5  # pairs recur
    # the previous sign of a pair predicts better than the factions do
    assert faction_agreement(stream, factions) == pytest.approx(0.8, abs=0.02)
    assert same_as_last / seen > faction_agreement(stream, factions) + 0.04


def test_signed_stream_fields_and_seeds():
    stream, factions = signed_faction_network(seed=0)
    again, factions2 = signed_faction_network(seed=0)
    assert torch.equal(stream.src, again.src) and torch.equal(stream.sign, again.sign)
    assert torch.equal(factions, factions2)
    assert stream.num_events == 5000 and stream.num_nodes == 100
    assert bool((stream.src != stream.dst).all())
    assert float(stream.t.min()) >= 0 and float(stream.t.max()) <= 1
    w = stream.weight
    assert bool(((w >= 1) & (w <= 10) & (w == w.round())).all())
    assert float(w[stream.sign < 0].mean()) > float(w[stream.sign > 0].mean())
    unweighted, _ = signed_faction_network(seed=0, weighted=False, horizon=10.0)
    assert unweighted.weight is None and float(unweighted.t.max()) > 1
    with pytest.raises(ValueError, match="noise"):
        signed_faction_network(noise=1.5)
    with pytest.raises(ValueError, match="two nodes per faction"):
        signed_faction_network(num_nodes=3, num_factions=2)


@pytest.mark.parametrize("n", [3, 10, 500])
def test_delaunay_graph(n):
    adjacency, points = delaunay_graph(n, seed=n)
    assert isinstance(adjacency, sp.csr_matrix)
    assert adjacency.shape == (n, n) and points.shape == (n, 2)
    assert (adjacency != adjacency.T).nnz == 0
    assert set(adjacency.data.tolist()) == {1.0}
    assert adjacency.diagonal().sum() == 0
    assert connected_components(adjacency)[0] == 1
    num_edges = adjacency.nnz // 2
    hull = len(ConvexHull(points).vertices)
    assert num_edges == 3 * n - 3 - hull  # Euler's formula for a triangulation
    assert num_edges <= max(3 * n - 6, 3)
    dense = adjacency.toarray()
    for a, b, c in Delaunay(points).simplices:
        assert dense[a, b] == dense[b, c] == dense[c, a] == 1
    again, points2 = delaunay_graph(n, seed=n)
    assert np.array_equal(points, points2) and (again != adjacency).nnz == 0
