import math

import pytest
import torch

from dyngraph.data.particles import KINEMATIC, Particles
from dyngraph.metrics import rollout_mse
from dyngraph.models.operators import KernelIntegral, SparseGraphOperator
from dyngraph.models.operators.evaluate import evaluate
from dyngraph.models.operators.gno import moving_least_squares, nearest_interpolation
from dyngraph.systems.particles import jelly

TINY = {"hidden": 16, "layers": 2, "mlp_layers": 1, "decoder_hidden": 16}


def _jelly(n: int = 1, frames: int = 16, seed: int = 0) -> Particles:
    return jelly(n, frames, side=6, seed=seed)


def test_the_kernel_integral_is_the_mean_over_the_neighbourhood():
    gen = torch.Generator().manual_seed(0)
    y, x = torch.rand(30, 2, generator=gen), torch.rand(50, 2, generator=gen)
    f = torch.rand(30, 3, generator=gen)
    layer = KernelIntegral(3, 4, 2, radius=0.2, hidden=8, min_neighbours=2)
    torch.nn.init.normal_(layer.kernel[-1].weight)  # not the zero start
    out = layer(y, f, x)
    d = torch.cdist(x, y)
    for q in range(50):
        near = set(torch.nonzero(d[q] <= 0.2).flatten().tolist())
        near |= set(d[q].argsort()[:2].tolist())
        rows = sorted(near)
        terms = layer.skip(f[rows]) + layer.kernel(
            torch.cat([(x[q] - y[rows]) / 0.2, f[rows]], 1)
        )
        assert torch.allclose(out[q], terms.mean(0), atol=1e-6)
    # frames share the neighbourhoods
    both = layer(y, torch.stack([f, 2 * f]), x)
    assert torch.allclose(both[0], out, atol=1e-6)


def test_the_decoder_reproduces_a_smooth_field_at_unseen_points():
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1)

    def field(p):
        return torch.stack(
            [torch.sin(2 * p[:, 0]) * p[:, 1], torch.cos(3 * p[:, 1]) * p[:, 0]], 1
        )

    y = torch.rand(150, 2, generator=gen)
    layer = KernelIntegral(2, 2, 2, radius=0.15, hidden=32)
    opt = torch.optim.Adam(layer.parameters(), lr=3e-3)
    train = torch.rand(400, 2, generator=gen)
    edges = layer.neighbourhoods(y, train)
    for _ in range(300):
        loss = ((layer(y, field(y), train, edges) - field(train)) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    unseen = torch.rand(300, 2, generator=gen) * 0.9 + 0.05
    with torch.no_grad():
        pred = layer(y, field(y), unseen)
    truth = field(unseen)
    rel = ((pred - truth).norm() / truth.norm()).item()
    nearest = nearest_interpolation(y, field(y), unseen)
    assert rel < 0.03
    assert rel < 0.5 * ((nearest - truth).norm() / truth.norm()).item()


def test_a_tiny_model_overfits_one_trajectory():
    data = _jelly(1, 20)
    model = SparseGraphOperator(ratio=1.0, decoder="nearest", noise_std=0.0, **TINY)
    model.fit(data, epochs=60, lr=1e-2, batch_size=14)
    losses = [h["loss"] for h in model.fit_result_.history]
    assert losses[-1] < 0.25 * losses[0]
    roll = model.rollout(data, steps=10)
    truth = data.positions[0, 6:16]
    velocity = data.positions[0, 5] - data.positions[0, 4]
    constant_velocity = data.positions[0, 5] + velocity * torch.arange(1, 11).view(
        -1, 1, 1
    )
    assert rollout_mse(truth, roll.dense) < 0.05 * rollout_mse(truth, constant_velocity)


@pytest.mark.parametrize("decoder", ["flow", "gno"])
def test_rollout_shapes_queries_anywhere_and_full_ratio_is_plain_gns(decoder):
    data = _jelly(2, 14)
    model = SparseGraphOperator(ratio=0.25, decoder=decoder, **TINY)
    model.fit(data, epochs=1)
    roll = model.rollout(data, trajectory=1, steps=3)
    m = math.ceil(0.25 * 36)
    assert roll.sparse.shape == (3, m, 2) and roll.dense.shape == (3, 36, 2)
    query = torch.rand(100 * m, 2) * 0.3 + 0.3
    many = model.rollout(data, 1, 3, query=query)
    assert many.dense.shape == (3, 100 * m, 2)
    assert torch.equal(many.sparse, roll.sparse)
    full = SparseGraphOperator(ratio=1.0, decoder="nearest", **TINY).fit(data, epochs=1)
    plain = full.rollout(data, steps=3)
    assert torch.equal(plain.dense, plain.sparse)
    assert torch.equal(plain.sparse_index, torch.arange(36))


def test_kinematic_particles_follow_the_truth_and_get_no_noise():
    data = _jelly(1, 14)
    types = torch.zeros(36, dtype=torch.long)
    types[:6] = KINEMATIC
    data = Particles(data.positions, types=types, box=data.box)
    model = SparseGraphOperator(ratio=1.0, decoder="nearest", **TINY)
    model.fit(data, epochs=1)
    roll = model.rollout(data, steps=4)
    assert torch.equal(roll.sparse[:, :6], data.positions[0, 6:10, :6])
    model.noise_std = 0.1
    noise = model._noise(torch.Size([36, 2]), seed=5)
    assert noise.shape == (6, 36, 2) and bool((noise[0] == 0).all())


def test_the_training_noise_is_a_random_walk_with_the_given_last_velocity_std():
    model = SparseGraphOperator(noise_std=0.01, **TINY)
    noise = model._noise(torch.Size([20000, 2]), seed=0).double()
    last_velocity = noise[-1] - noise[-2]
    assert last_velocity.std().item() == pytest.approx(0.01, rel=0.03)
    first_velocity = noise[1] - noise[0]
    assert first_velocity.std().item() == pytest.approx(0.01 / math.sqrt(5), rel=0.03)


def test_the_sparse_radius_grows_as_the_sample_thins():
    assert SparseGraphOperator(ratio=0.25, radius=0.04).graph_radius == pytest.approx(
        0.08
    )
    assert (
        SparseGraphOperator(ratio=0.25, radius=0.04, scale_radius=False).graph_radius
        == 0.04
    )


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"ratio": 0.0}, "ratio"),
        ({"sampling": "grid"}, "sampling"),
        ({"decoder": "fno"}, "decoder"),
        ({"radius": -1.0}, "radius"),
        ({"history": 1}, "history"),
    ],
)
def test_bad_settings_are_named(kwargs, name):
    with pytest.raises(ValueError, match=name):
        SparseGraphOperator(**kwargs)


def test_bad_fit_input_is_named():
    model = SparseGraphOperator(**TINY)
    with pytest.raises(TypeError, match="particles"):
        model.fit(torch.zeros(1, 10, 4, 2))
    with pytest.raises(ValueError, match="history"):
        model.fit(_jelly(1, 5))
    with pytest.raises(ValueError, match="steps"):
        model.rollout(_jelly(1, 8), steps=5)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_rollout_on_cuda_matches_cpu():
    data = _jelly(1, 12)
    model = SparseGraphOperator(ratio=0.5, **TINY).double().fit(data, epochs=1)
    cpu = model.rollout(data, steps=3).dense
    gpu = model.cuda().rollout(data, steps=3).dense.cpu()
    assert torch.allclose(cpu, gpu, atol=1e-8)


def test_moving_least_squares_reproduces_affine_fields_at_unseen_points():
    gen = torch.Generator().manual_seed(1)
    y = torch.rand(60, 2, generator=gen, dtype=torch.float64)
    x = 0.1 + 0.8 * torch.rand(40, 2, generator=gen, dtype=torch.float64)
    a = torch.tensor([[0.3, -1.2], [0.7, 0.4]], dtype=torch.float64)
    field = lambda p: p @ a.T + torch.tensor([0.5, -0.2], dtype=torch.float64)  # noqa: E731
    out = moving_least_squares(y, field(y), x, 0.2)
    assert torch.allclose(out, field(x), atol=1e-6)
    constant = moving_least_squares(y, torch.ones(60, 1, dtype=torch.float64), x, 0.2)
    assert torch.allclose(constant, torch.ones(40, 1, dtype=torch.float64), atol=1e-12)
    # the nearest source is not exact: the test can fail
    near = nearest_interpolation(y, field(y), x)
    assert (near - field(x)).abs().max() > 1e-2
    with pytest.raises(ValueError, match="`f`"):
        moving_least_squares(y, field(y)[:5], x, 0.2)


def _rotating_drift(points: torch.Tensor, frames: int) -> torch.Tensor:
    """``[T, N, 2]`` x_t = c + t u + A^t (x_0 - c): a rotation plus a drift."""
    angle = 0.05
    rot = torch.tensor(
        [[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]],
        dtype=points.dtype,
    )
    centre = torch.tensor([0.5, 0.5], dtype=points.dtype)
    drift = torch.tensor([0.004, -0.002], dtype=points.dtype)
    out, rel = [], points - centre
    for t in range(frames):
        out.append(centre + t * drift + rel)
        rel = rel @ rot.T
    return torch.stack(out)


def test_flow_decoding_carries_the_dense_set_through_a_rotating_drifting_flow():
    gen = torch.Generator().manual_seed(2)
    points = 0.3 + 0.4 * torch.rand(200, 2, generator=gen, dtype=torch.float64)
    dense = _rotating_drift(points, 20)
    model = SparseGraphOperator(ratio=0.25, decoder="flow", **TINY).double()
    index = model.sample(dense[0])
    h = model.history
    start, vel = dense[h - 1], dense[h - 1] - dense[h - 2]
    out = model.advect_rollout(dense[:h, index], dense[h:, index], start, vel)
    assert torch.allclose(out, dense[h:], atol=1e-8)
    # velocities interpolated at the start (queries without a history)
    out = model.advect_rollout(dense[:h, index], dense[h:, index], start)
    assert torch.allclose(out, dense[h:], atol=1e-8)
    # nearest-neighbour accelerations are not exact here
    near = model.advect_rollout(
        dense[:h, index], dense[h:, index], start, vel, nearest=True
    )
    assert (near - dense[h:]).abs().max() > 1e-4


def test_flow_nearest_at_ratio_one_is_the_full_gns_rollout():
    data = _jelly(1, 14)
    full = SparseGraphOperator(ratio=1.0, decoder="nearest", **TINY)
    flow = SparseGraphOperator(ratio=1.0, decoder="flow_nearest", **TINY)
    flow.load_state_dict(full.state_dict())
    a, b = full.rollout(data, steps=6), flow.rollout(data, steps=6)
    assert torch.allclose(a.sparse, b.sparse)
    assert torch.allclose(a.dense, b.dense, atol=1e-5)
    assert torch.equal(b.query, data.positions[0, 0])
    pos = data.positions[0]
    with pytest.raises(ValueError, match="current configuration"):
        flow.decode(pos[0, :3], pos[1, :3], pos[0])
    report = evaluate(flow, data, 6)
    assert report["nearest"]["mse5"] == pytest.approx(report["model"]["mse5"])
    assert "nearest_reference" in report


def test_tracers_at_the_particles_reproduce_the_particle_rollouts():
    data = _jelly(1, 14)
    full = SparseGraphOperator(ratio=1.0, decoder="flow_nearest", **TINY).double()
    pos = data.positions[0].double()
    # at ratio 1, tracers seeded at every particle's reference position ride
    # exactly on the particles: the dense flow rollout from the true state
    dense = full.rollout(data, steps=6)
    traced = full.rollout(data, steps=6, query=pos[0])
    assert torch.allclose(traced.dense, dense.dense, rtol=0, atol=1e-12)
    assert torch.equal(traced.sparse, dense.sparse)
    # at ratio 0.25, tracers seeded at the sample ride on the sparse rollout
    sparse = SparseGraphOperator(ratio=0.25, decoder="flow_nearest", **TINY).double()
    roll = sparse.rollout(data, steps=6)
    traced = sparse.rollout(data, steps=6, query=pos[0, roll.sparse_index])
    assert torch.allclose(traced.dense, roll.sparse, rtol=0, atol=1e-12)
    assert torch.equal(traced.query, pos[0, roll.sparse_index])
    # the default "flow" decoder evaluates anywhere, smoothly
    flow = SparseGraphOperator(ratio=0.25, **TINY).double()
    flow.load_state_dict(sparse.state_dict())
    query = 0.3 + 0.1 * torch.rand(50, 2, generator=torch.Generator().manual_seed(1))
    out = flow.rollout(data, steps=6, query=query.double())
    assert out.dense.shape == (6, 50, 2) and torch.isfinite(out.dense).all()


def test_tracers_ride_a_rotating_drifting_flow_from_the_reference_frame():
    gen = torch.Generator().manual_seed(3)
    points = 0.3 + 0.4 * torch.rand(260, 2, generator=gen, dtype=torch.float64)
    moving = _rotating_drift(points, 20)  # the first 200 are the particles
    model = SparseGraphOperator(ratio=0.25, **TINY).double()
    index = model.sample(moving[0, :200])
    out = model.trace(moving[:, index], moving[0, 200:])
    assert out.shape == (19, 60, 2)
    # exact for affine motion up to the ridge of the least squares, whose
    # ~3e-9 bias of the first velocity is carried along (19 steps)
    error = (out - moving[1:, 200:]).abs().amax((1, 2))
    assert error[0] < 1e-8 and error.max() < 5e-8
    near = model.trace(moving[:, index], moving[0, 200:], nearest=True)
    assert (near - moving[1:, 200:]).abs().max() > 1e-4


@pytest.mark.parametrize(
    ("query", "error", "match"),
    [
        (torch.rand(5, 3), ValueError, r"\[Q, 2\]"),
        (torch.rand(5), ValueError, r"\[Q, 2\]"),
        (torch.rand(0, 2), ValueError, "Q >= 1"),
        (torch.full((2, 2), float("nan")), ValueError, "finite"),
        ([[0.5, 0.5]], TypeError, "Tensor"),
    ],
)
def test_bad_query_points_are_named(query, error, match):
    data = _jelly(1, 10)
    for decoder in ("flow", "gno"):
        model = SparseGraphOperator(ratio=0.5, decoder=decoder, **TINY)
        with pytest.raises(error, match=match) as info:
            model.rollout(data, steps=2, query=query)
        assert "`query`" in str(info.value)
    frames = data.positions[0, :4, :5]
    with pytest.raises(error, match="`query`"):
        model.trace(frames, query)
    with pytest.raises(ValueError, match="`frames`"):
        model.trace(frames[:1], torch.rand(3, 2))
