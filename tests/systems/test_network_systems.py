import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
import torch
from scipy.linalg import expm

from dyngraph.data import EventStream
from dyngraph.systems import (
    as_adjacency,
    coupled_fitzhugh_nagumo,
    coupled_rossler,
    heat_diffusion,
    kuramoto,
    michaelis_menten,
    mutualistic,
    network_dynamics,
    simulate,
    sis,
)


def _weighted_digraph(n=7, seed=0):
    rng = np.random.default_rng(seed)
    a = (rng.uniform(size=(n, n)) < 0.4) * rng.uniform(0.5, 2.0, size=(n, n))
    np.fill_diagonal(a, 0.0)
    return a


def test_coupling_equals_naive_double_loop():
    a = _weighted_digraph()
    omega = np.linspace(0.5, 1.5, 7)
    system = kuramoto(sp.csr_matrix(a), omega=omega, coupling=0.7)
    x = torch.rand(3, 7, 1, dtype=torch.float64) * 6
    out = system.rhs(0.0, x).numpy()
    xs = x.numpy()[..., 0]
    expected = np.zeros_like(xs)
    for b in range(3):
        for i in range(7):
            expected[b, i] = omega[i] + sum(
                0.7 * a[i, j] * np.sin(xs[b, j] - xs[b, i]) for j in range(7)
            )
    np.testing.assert_allclose(out[..., 0], expected, atol=1e-12)


def test_heat_diffusion_matches_matrix_exponential():
    a = _weighted_digraph(seed=1)
    laplacian = np.diag(a.sum(axis=1)) - a
    x0 = np.random.default_rng(2).uniform(size=(7, 1))
    t = np.linspace(0.0, 1.5, 16)
    sim = simulate(heat_diffusion(a, rate=0.8), t, x0, rtol=1e-10, atol=1e-12)
    expected = np.stack([expm(-0.8 * laplacian * s) @ x0 for s in t])
    np.testing.assert_allclose(sim.x[0, 0].numpy(), expected, atol=1e-7)


def test_event_stream_direction_source_acts_on_destination():
    stream = EventStream(src=[0, 0, 1], dst=[1, 1, 2], t=[0.0, 1.0, 2.0])
    adj = as_adjacency(stream).toarray()
    np.testing.assert_array_equal(adj, [[0, 0, 0], [1, 0, 0], [0, 1, 0]])
    assert (as_adjacency(stream, directed=False).toarray() == adj + adj.T).all()
    system = heat_diffusion(stream)
    x = torch.tensor([[1.0], [0.0], [0.0]], dtype=torch.float64)
    dx = system.rhs(0.0, x)[:, 0]
    assert dx[1] > 0 and dx[0] == 0  # heat flows from 0 into 1, node 0 feels nothing


@pytest.mark.parametrize(
    "factory",
    [
        kuramoto,
        heat_diffusion,
        sis,
        michaelis_menten,
        mutualistic,
        coupled_rossler,
        coupled_fitzhugh_nagumo,
    ],
)
def test_every_family_simulates(factory):
    graph = nx.gnp_random_graph(8, 0.4, seed=3)
    system = factory(graph)
    sim = simulate(system, np.linspace(0.0, 1.0, 11))
    assert sim.x.shape == (1, 1, 11, 8, system.dim)
    assert torch.isfinite(sim.x).all()


def test_sis_stays_a_probability():
    graph = nx.barabasi_albert_graph(15, 2, seed=0)
    sim = simulate(sis(graph, infection=0.6), np.linspace(0.0, 5.0, 51))
    assert (sim.x >= 0).all() and (sim.x <= 1).all()


def test_general_form_and_environments():
    graph = nx.cycle_graph(5)
    system = network_dynamics(
        graph,
        lambda x, p: -p["a"] * x,
        lambda xi, xj, p: p["c"] * xj,
        params={"a": 1.0, "c": 0.1},
    )
    x0 = np.ones((5, 1))
    sim = simulate(system, [0.0, 1.0], x0, params={"a": torch.tensor([1.0, 2.0])})
    # on a 2-regular graph with equal states: x' = (-a + 2c) x
    expected = np.exp([-1.0 + 0.2, -2.0 + 0.2])
    np.testing.assert_allclose(sim.x[:, 0, -1, 0, 0].numpy(), expected, rtol=1e-6)


def test_per_node_parameters_with_batched_coupling():
    graph = nx.path_graph(4)
    omega = np.array([1.0, 2.0, 3.0, 4.0])
    sim = simulate(
        kuramoto(graph, omega=omega),
        [0.0, 0.5],
        np.zeros((4, 1)),
        params={"K": torch.tensor([0.0, 1.0])},
    )
    np.testing.assert_allclose(sim.x[0, 0, -1, :, 0].numpy(), 0.5 * omega, rtol=1e-7)
    assert not np.allclose(sim.x[1, 0, -1, :, 0].numpy(), 0.5 * omega)


def test_graph_size_must_match_the_state():
    system = kuramoto(nx.path_graph(4))
    with pytest.raises(ValueError, match="x0 must have shape"):
        simulate(system, [0.0, 1.0], np.zeros((5, 1)))
    with pytest.raises(ValueError, match="must end in"):
        system.rhs(0.0, torch.zeros(5, 1))


@pytest.mark.parametrize(
    ("graph", "match"),
    [(np.ones((3, 4)), "square"), (np.array([[0, np.nan], [1, 0]]), "non-finite")],
)
def test_bad_graphs(graph, match):
    with pytest.raises(ValueError, match=match):
        heat_diffusion(graph)


def test_per_node_parameter_length_checked():
    with pytest.raises(ValueError, match="one value per node"):
        kuramoto(nx.path_graph(4), omega=np.ones(3))
