import itertools
import math

import numpy as np
import pytest
import torch
from scipy.integrate import quad

from dyngraph.data import EventStream
from dyngraph.models import PiVeM
from dyngraph.models.pivem import (
    FORECAST_RULES,
    bin_statistics,
    segment_integral,
    to_unit_interval,
)
from dyngraph.models.pivem import model as pivem_model
from dyngraph.models.pivem.model import worker_threads

F64 = torch.float64


def _quad(dx, dv, s, tau, length):
    def rate(t):
        return math.exp(s - float(np.sum((dx + t * dv) ** 2)))

    # split at the closest approach so quad sees the peak
    speed = float(np.dot(dv, dv))
    star = -float(np.dot(dx, dv)) / speed if speed > 0 else tau
    points = [min(max(star, tau), tau + length)]
    value, _ = quad(
        rate, tau, tau + length, epsabs=0, epsrel=1e-13, limit=500, points=points
    )
    return value


@pytest.mark.parametrize("speed", [0.0, 1e-8, 1e-5, 1e-3, 1e-1, 1.0, 10.0, 300.0])
@pytest.mark.parametrize("dist", [0.01, 0.7, 3.0, 12.0])
def test_closed_form_matches_quadrature(speed, dist):
    rng = np.random.default_rng(int(speed * 1e3 + dist * 7))
    for _ in range(4):
        dx = dist * rng.normal(size=2)
        dv = speed * rng.normal(size=2)
        s, tau, length = float(rng.normal()), 0.013, 0.04
        expected = _quad(dx, dv, s, tau, length)
        got = segment_integral(
            torch.tensor(dx), torch.tensor(dv), torch.tensor(s, dtype=F64), tau, length
        ).item()
        if expected < 1e-290:
            assert 0 <= got < 1e-280
        else:
            assert got == pytest.approx(expected, rel=1e-10, abs=0)


def test_float32_stays_accurate_at_small_relative_velocity():
    # the erf-difference form with |dv| + 1e-6 loses up to 3 % here in float32
    gen = torch.Generator().manual_seed(5)
    dx = torch.randn(64, 2, generator=gen, dtype=F64)
    bias = torch.randn(64, generator=gen, dtype=F64)
    for speed in (0.0, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0):
        dv = speed * torch.randn(64, 2, generator=gen, dtype=F64)
        got = segment_integral(dx.float(), dv.float(), bias.float(), 0.0, 0.01)
        expected = torch.tensor(
            [
                _quad(a.numpy(), b.numpy(), float(c), 0.0, 0.01)
                for a, b, c in zip(dx, dv, bias, strict=True)
            ],
            dtype=F64,
        )
        assert got.dtype == torch.float32
        rel = ((got.double() - expected) / expected).abs().max().item()
        assert rel < 1e-5, (speed, rel)


def test_erf_tail_keeps_tiny_values_and_gradients():
    # far, fast pair moving apart: erf(b) - erf(a) underflows naively
    dx = torch.tensor([6.0, 0.0], dtype=F64, requires_grad=True)
    dv = torch.tensor([50.0, 0.0], dtype=F64, requires_grad=True)
    value = segment_integral(dx, dv, torch.zeros((), dtype=F64), 0.0, 0.01)
    assert value.item() == pytest.approx(
        _quad(dx.detach().numpy(), dv.detach().numpy(), 0.0, 0.0, 0.01),
        rel=1e-10,
        abs=0,
    )
    assert value.item() > 0
    # float32 keeps a positive value where erf(6.5) - erf(6) rounds to 0
    assert torch.erf(torch.tensor(6.5)) - torch.erf(torch.tensor(6.0)) == 0
    small = segment_integral(dx.float(), dv.float(), torch.zeros(()), 0.0, 0.01)
    assert small.item() == pytest.approx(value.item(), rel=1e-5)
    value.backward()
    assert torch.isfinite(dx.grad).all() and dx.grad[0] < 0


def test_gradients_finite_and_correct_at_zero_velocity():
    dx = torch.tensor([[0.3, -0.2], [2.0, 1.0]], dtype=F64, requires_grad=True)
    dv = torch.zeros(2, 2, dtype=F64, requires_grad=True)
    bias = torch.tensor([0.1, -0.4], dtype=F64, requires_grad=True)
    segment_integral(dx, dv, bias, 0.0, 0.05).sum().backward()
    assert all(torch.isfinite(g).all() for g in (dx.grad, dv.grad, bias.grad))
    # d/d dv of int exp(s - |dx + t dv|^2) at dv = 0 is -2 dx exp(.) L^2 / 2
    rate = torch.exp(bias - dx.detach().square().sum(-1))
    expected = -2 * dx.detach() * (rate * 0.05**2 / 2).unsqueeze(-1)
    torch.testing.assert_close(dv.grad, expected, rtol=1e-8, atol=0)


@pytest.mark.parametrize("speed", [0.0, 1e-4, 0.5, 40.0])
def test_gradcheck_across_regimes(speed):
    gen = torch.Generator().manual_seed(3)
    dx = torch.randn(6, 2, generator=gen, dtype=F64).requires_grad_()
    dv = (speed * torch.randn(6, 2, generator=gen, dtype=F64)).requires_grad_()
    bias = torch.randn(6, generator=gen, dtype=F64).requires_grad_()
    assert torch.autograd.gradcheck(
        lambda a, b, c: segment_integral(a, b, c, 0.01, 0.05),
        (dx, dv, bias),
        eps=1e-7,
        atol=1e-7,
    )


def _random_model(n=6, bins=4, seed=0, **kw):
    model = PiVeM(n, 2, bins, num_communities=3, seed=seed, **kw)
    with torch.no_grad():
        model.v.normal_(0, 2.0, generator=torch.Generator().manual_seed(seed + 1))
    return model


def _random_stream(n=6, num=300, seed=0, horizon=1.0):
    gen = torch.Generator().manual_seed(seed)
    src = torch.randint(n, (num,), generator=gen)
    dst = torch.randint(n, (num,), generator=gen)
    t = torch.rand(num, generator=gen, dtype=F64) * horizon
    t[:3] = torch.tensor([0.0, horizon, horizon / 4])  # bin edges and the end
    return EventStream(src, dst, t, num_nodes=n)


def test_event_term_from_statistics_equals_direct_sum():
    model = _random_model()
    stream = _random_stream()
    stats = bin_statistics(stream, model.num_bins)
    keep = stream.src != stream.dst
    direct = torch.log(
        model.intensity(stream.src[keep], stream.dst[keep], stream.t[keep])
    ).sum()
    torch.testing.assert_close(model.event_term(stats), direct, rtol=1e-12, atol=0)
    assert int(stats.count.sum()) == int(keep.sum())
    nodes = torch.tensor([0, 2, 3])
    inside = torch.isin(stream.src, nodes) & torch.isin(stream.dst, nodes) & keep
    direct = torch.log(
        model.intensity(stream.src[inside], stream.dst[inside], stream.t[inside])
    ).sum()
    torch.testing.assert_close(model.event_term(stats, nodes), direct)


def test_event_at_horizon_goes_to_last_bin_and_bad_times_raise():
    stream = EventStream([0, 0], [1, 1], [0.5, 1.0], num_nodes=2)
    stats = bin_statistics(stream, 4)
    assert stats.bin.tolist() == [2, 3]
    assert stats.s1.tolist() == pytest.approx([0.0, 0.25])
    with pytest.raises(ValueError, match="to_unit_interval"):
        bin_statistics(EventStream([0], [1], [2.0]), 4)


def test_integral_term_matches_pairwise_quadrature_and_sum_of_bins():
    model = _random_model(n=4, bins=3)
    row, col = model._pairs(None)
    total = model.integral_term(row, col)
    expected = 0.0
    for i, j in zip(row.tolist(), col.tolist(), strict=True):

        def rate(t, i=i, j=j):
            return model.intensity(torch.tensor(i), torch.tensor(j), t).item()

        edges = [b * model.bin_width for b in range(model.num_bins + 1)]
        expected += sum(
            quad(rate, a, b, epsabs=0, epsrel=1e-12)[0]
            for a, b in itertools.pairwise(edges)
        )
    assert total.item() == pytest.approx(expected, rel=1e-9)
    # blocks of two pairs give the same value
    blocked = model.integral_term(row, col, memory_budget=1)
    torch.testing.assert_close(blocked, total)
    # an arbitrary interval across bins (and past the horizon, static)
    a, b = 0.2, 1.3
    got = model.integrated_intensity(torch.tensor(0), torch.tensor(3), a, b).item()
    ref = quad(
        lambda t: model.intensity(torch.tensor(0), torch.tensor(3), t).item(),
        a,
        b,
        epsabs=0,
        epsrel=1e-12,
        points=[1 / 3, 2 / 3, 1.0],
        limit=200,
    )[0]
    assert got == pytest.approx(ref, rel=1e-9)


def test_integral_at_rest_uses_one_term_per_pair_and_keeps_velocity_gradients():
    model = PiVeM(5, 2, 4, num_communities=2, seed=0)
    row, col = model._pairs(None)
    binned = model._pair_integral(row, col).sum()
    model.v.requires_grad_(False)
    assert model.at_rest()
    at_rest = model.integral_term(row, col)
    torch.testing.assert_close(at_rest, binned, rtol=1e-12, atol=0)
    dist = (model.x0[row] - model.x0[col]).square().sum(-1)
    direct = torch.exp(model.beta[row] + model.beta[col] - dist).sum()
    torch.testing.assert_close(at_rest, direct, rtol=1e-12, atol=0)
    # trained velocities at zero still get their (non-zero) gradient
    model.v.requires_grad_(True)
    assert not model.at_rest()
    stats = bin_statistics(_random_stream(n=5), 4)
    model.loss(stats).backward()
    assert model.v.grad.abs().sum() > 0
    with torch.no_grad():
        model.v.add_(0.1)  # a common velocity is removed by the centring
        assert model.at_rest()
        model.v[0, 0, 0] += 1.0
        assert not model.at_rest()
    assert PiVeM(3, num_bins=2, static=True).at_rest()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_fit_and_scores_follow_the_model_device():
    stream = _random_stream(n=6, num=200)
    cpu = PiVeM(6, num_bins=4, num_communities=2, seed=0)
    gpu = PiVeM(6, num_bins=4, num_communities=2, seed=0, device="cuda")
    torch.testing.assert_close(gpu.x0.cpu(), cpu.x0)
    kw = {"epochs": 6, "batch_size": 4, "progress": False, "seed": 1}
    cpu.fit(stream, **kw)
    gpu.fit(stream, **kw)
    assert gpu.x0.device.type == "cuda"
    i, j = torch.tensor([0, 1]), torch.tensor([3, 5])
    torch.testing.assert_close(
        gpu.integrated_intensity(i, j, 0.1, 1.2).cpu(),
        cpu.integrated_intensity(i, j, 0.1, 1.2),
    )


def test_positions_are_continuous_and_extrapolate():
    model = _random_model(n=3, bins=5)
    edges = torch.arange(1, 5, dtype=F64) * model.bin_width
    left = model.positions(edges - 1e-12)
    right = model.positions(edges)
    torch.testing.assert_close(left, right, atol=1e-9, rtol=0)
    end = model.positions(1.0)
    torch.testing.assert_close(model.positions(1.7), end)
    moved = model.positions(1.1, extrapolate="last_velocity") - end
    torch.testing.assert_close(moved[0], 0.1 * model.velocities()[-1])
    with pytest.raises(ValueError, match="extrapolate"):
        model.positions(1.1, extrapolate="gp")


def test_prior_equals_dense_multivariate_normal():
    model = PiVeM(5, dim=2, num_bins=5, num_communities=3, prior_lambda=0.7, seed=1)
    gen = torch.Generator().manual_seed(2)
    with torch.no_grad():
        model.v.normal_(generator=gen)
        model.q.normal_(generator=gen)
        model.log_lengthscale.fill_(math.log(0.3))
        model.log_c.fill_(math.log(1.7))
    sigma, gram, memberships = model.prior_factors()
    kernel = torch.kron(
        gram, torch.kron(memberships @ memberships.T, torch.eye(2, dtype=F64))
    )
    cov = 0.7**2 * (sigma**2 * torch.eye(kernel.shape[0], dtype=F64) + kernel)
    u = model.prior_vector().reshape(-1)
    dense = torch.distributions.MultivariateNormal(torch.zeros_like(u), cov)
    torch.testing.assert_close(model.neg_log_prior(), -dense.log_prob(u))
    # with more communities than time slots and nodes as well
    wide = PiVeM(3, dim=1, num_bins=2, num_communities=4, prior_lambda=2.0, seed=0)
    sigma, gram, c = wide.prior_factors()
    cov = 4.0 * (sigma**2 * torch.eye(9, dtype=F64) + torch.kron(gram, c @ c.T))
    u = wide.prior_vector().reshape(-1)
    dense = torch.distributions.MultivariateNormal(torch.zeros(9, dtype=F64), cov)
    torch.testing.assert_close(wide.neg_log_prior(), -dense.log_prob(u))


@pytest.mark.parametrize("masked", [False, True])
def test_scaled_batch_likelihood_is_unbiased(masked):
    model = _random_model(n=6, bins=3, prior_lambda=None)
    stream = _random_stream(n=6)
    masked_pairs = torch.tensor([0 * 6 + 1, 2 * 6 + 5]) if masked else None
    if masked:
        drop = torch.minimum(stream.src, stream.dst) * 6 + torch.maximum(
            stream.src, stream.dst
        )
        stream = stream[torch.nonzero(~torch.isin(drop, masked_pairs)).view(-1)]
    stats = bin_statistics(stream, 3)
    full = model.loss(stats, None, masked_pairs)
    for size in (2, 4):
        losses = [
            model.loss(stats, torch.tensor(nodes), masked_pairs)
            for nodes in itertools.combinations(range(6), size)
        ]
        torch.testing.assert_close(torch.stack(losses).mean(), full)


def test_prior_weight_does_not_depend_on_batch_size():
    model = _random_model(n=6, bins=3, prior_lambda=1.0)
    stats = bin_statistics(_random_stream(n=6), 3)
    prior = model.neg_log_prior()
    for size in (2, 3, 5):
        losses = [
            model.loss(stats, torch.tensor(nodes))
            for nodes in itertools.combinations(range(6), size)
        ]
        torch.testing.assert_close(
            torch.stack(losses).mean(), model.loss(stats), msg=f"size {size}"
        )
    torch.testing.assert_close(model.loss(stats), -model.log_likelihood(stats) + prior)


def test_phases_follow_the_paper_schedule():
    assert PiVeM(4, num_bins=3).phases() == [
        ["x0", "beta"],
        ["x0", "beta", "v"],
        ["x0", "beta", "v", "log_sigma", "log_lengthscale", "log_c", "q"],
    ]
    assert PiVeM(4, num_bins=3, static=True, prior_lambda=None).phases() == [
        ["x0", "beta"]
    ]


def test_save_and_load_give_identical_predictions(tmp_path):
    model = _random_model(n=5, bins=4)
    path = model.save(tmp_path / "m.pt", time_range=(3.0, 7.0))
    loaded = PiVeM.load(path)
    assert loaded.metadata_ == {"time_range": (3.0, 7.0)}
    i, j = torch.tensor([0, 1, 2]), torch.tensor([4, 3, 0])
    t0, t1 = torch.tensor([0.0, 0.3, 0.9]), torch.tensor([0.2, 0.7, 1.2])
    torch.testing.assert_close(
        loaded.integrated_intensity(i, j, t0, t1),
        model.integrated_intensity(i, j, t0, t1),
        rtol=0,
        atol=0,
    )
    assert loaded.config() == model.config()


def test_checkpoint_resume_matches_uninterrupted_fit(tmp_path):
    stream = _random_stream(n=8, num=200, seed=4)
    kwargs = {"epochs": 9, "batch_size": 3, "lr": 0.05, "seed": 7, "progress": False}
    reference = PiVeM(8, num_bins=4, num_communities=2, prior_lambda=10.0, seed=0)
    reference.fit(stream, **kwargs)

    class Interrupt(Exception):
        pass

    model = PiVeM(8, num_bins=4, num_communities=2, prior_lambda=10.0, seed=0)
    calls = {"n": 0}
    original = model.loss

    def flaky(*args, **kw):
        calls["n"] += 1
        if calls["n"] == 14:  # second epoch of the second phase
            raise Interrupt
        return original(*args, **kw)

    model.loss = flaky
    with pytest.raises(Interrupt):
        model.fit(stream, checkpoint_dir=tmp_path, **kwargs)
    assert (tmp_path / "phase1.pt").exists()
    resumed = PiVeM(8, num_bins=4, num_communities=2, prior_lambda=10.0, seed=123)
    resumed.fit(stream, checkpoint_dir=tmp_path, **kwargs)
    for name, param in reference.named_parameters():
        torch.testing.assert_close(
            dict(resumed.named_parameters())[name], param, msg=name
        )


def test_fit_reduces_loss_full_graph_and_rejects_bad_input():
    stream = _random_stream(n=5, num=100)
    model = PiVeM(5, num_bins=3, num_communities=2, seed=0)
    stats = bin_statistics(stream, 3)
    before = float(model.loss(stats).detach())
    model.fit(stats, epochs=6, progress=False)
    assert float(model.loss(stats).detach()) < before
    assert [len(h.history) for h in model.history_] == [2, 2, 2]
    with pytest.raises(ValueError, match="nodes"):
        PiVeM(7, num_bins=3).fit(stats, epochs=1, progress=False)
    with pytest.raises(ValueError, match="num_bins"):
        PiVeM(5, num_bins=0)


def test_to_unit_interval_maps_times():
    stream = EventStream([0, 1, 2], [1, 2, 0], [10, 20, 30])
    unit, t0, t1 = to_unit_interval(stream)
    assert unit.t.tolist() == [0.0, 0.5, 1.0] and (t0, t1) == (10.0, 30.0)


def test_forward_of_a_node_batch_is_its_loss():
    from dyngraph.models.pivem import NodeBatch

    model = _random_model(n=6, bins=4)
    stats = bin_statistics(_random_stream(n=6, num=100), 4)
    nodes = torch.tensor([0, 2, 5])
    torch.testing.assert_close(
        model(NodeBatch(stats, nodes, scale_likelihood=False)),
        model.loss(stats, nodes, scale_likelihood=False),
        rtol=0,
        atol=0,
    )
    torch.testing.assert_close(model(NodeBatch(stats)), model.loss(stats))


def test_load_refuses_files_that_are_not_pivem_checkpoints(tmp_path):
    from dyngraph.training import CheckpointError

    plain = tmp_path / "plain.pt"
    torch.save({"config": {}, "state_dict": {}}, plain)
    with pytest.raises(CheckpointError, match=str(plain)):
        PiVeM.load(plain)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("moving", [True, False])
def test_blocked_likelihood_equals_unblocked_in_value_and_gradient(
    threads, moving, monkeypatch
):
    # a small graph whose N x B cells are cut into blocks of one pair each
    model = _random_model(n=9, bins=5)
    if not moving:
        model.v.requires_grad_(False)
        with torch.no_grad():
            model.v.zero_()
    gen = torch.Generator().manual_seed(3)
    src, dst = torch.randint(9, (2, 200), generator=gen)
    t = torch.sort(torch.rand(200, generator=gen, dtype=torch.float64)).values
    stats = bin_statistics(EventStream(src, dst, t, num_nodes=9), model.num_bins)
    masked = torch.tensor([0 * 9 + 3, 2 * 9 + 7])
    row, col = model._pairs(None)
    weight = (~torch.isin(row * 9 + col, masked)).double()

    def unblocked() -> torch.Tensor:
        if model.at_rest():
            parts = model._pair_integral_at_rest(row, col)
        else:
            parts = model._pair_integral(row, col)
        return model.event_term(stats) - (parts * weight).sum()

    def grads(value: torch.Tensor) -> list[torch.Tensor]:
        params = [p for p in model.parameters() if p.requires_grad]
        return list(torch.autograd.grad(value, params, allow_unused=True))

    # every block to the worker threads, however small the graph
    monkeypatch.setattr(pivem_model, "_CELLS_PER_WORKER", 1)
    with worker_threads(threads):
        model.memory_budget = 1  # one pair per block
        assert model.block_cells() == model.num_bins
        blocked = model.log_likelihood(stats, None, masked)
        blocked_grads = grads(blocked)
    reference = unblocked()
    torch.testing.assert_close(blocked, reference, rtol=1e-10, atol=0)
    for got, want in zip(blocked_grads, grads(reference), strict=True):
        if want is None:
            assert got is None or not got.any()
        else:
            torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-12)


def test_forecast_rules_inside_and_past_the_horizon():
    model = _random_model(n=5, bins=4, horizon=0.8)
    row, col = model._pairs(None)
    # inside the training period every rule is the exact integral
    exact = model.integrated_intensity(row, col, 0.1, 0.55)
    for rule in FORECAST_RULES:
        torch.testing.assert_close(model.forecast(row, col, 0.1, 0.55, rule), exact)
    # past it: static and last_velocity are the extrapolated integrals
    for rule in ("static", "last_velocity"):
        torch.testing.assert_close(
            model.forecast(row, col, 0.85, 0.9, rule),
            model.integrated_intensity(row, col, 0.85, 0.9, extrapolate=rule),
        )
    bins = model.bin_integrals(row, col)
    torch.testing.assert_close(bins.sum(-1), model._pair_integral(row, col))
    # integrated: the whole-period mean rate; recent: a weighted mean that
    # tends to the last bin's mean rate (h -> 0) and the whole period (h -> inf)
    length = 0.05
    whole = model.forecast(row, col, 0.85, 0.9, "integrated")
    torch.testing.assert_close(whole, length * bins.sum(-1) / 0.8)
    last = model.forecast(row, col, 0.85, 0.9, "recent", timescale=1e-4)
    torch.testing.assert_close(last, length * bins[:, -1] / model.bin_width)
    wide = model.forecast(row, col, 0.85, 0.9, "recent", timescale=1e6)
    torch.testing.assert_close(wide, whole)
    # a window across the horizon: the exact part plus the forecast part
    across = model.forecast(row, col, 0.75, 0.9, "recent")
    torch.testing.assert_close(
        across,
        model.integrated_intensity(row, col, 0.75, 0.8)
        + 2 * model.forecast(row, col, 0.85, 0.9, "recent"),
    )
    with pytest.raises(ValueError, match="rule"):
        model.forecast(row, col, 0.85, 0.9, "gp")
    with pytest.raises(ValueError, match="timescale"):
        model.forecast(row, col, 0.85, 0.9, "recent", timescale=0)


def test_recent_forecast_stops_at_the_last_observed_bin(tmp_path):
    # events only in the first half: fit records the end of the last bin with
    # an event, and "recent" averages the bins up to it, none after
    gen = torch.Generator().manual_seed(5)
    src, dst = torch.randint(5, (2, 120), generator=gen)
    t = torch.sort(0.35 * torch.rand(120, generator=gen, dtype=F64)).values
    stream = EventStream(src, dst, t, num_nodes=5)
    model = PiVeM(5, num_bins=8, num_communities=2, horizon=0.8, seed=0)
    assert float(model.observed_end) == 0.8  # before a fit: all of [0, T]
    model.fit(stream, epochs=3, progress=False)
    last_bin = int(0.35 / 0.1)  # bin width 0.1: the events end in bin 3
    assert float(model.observed_end) == pytest.approx((last_bin + 1) * 0.1)
    row, col = model._pairs(None)
    bins = model.bin_integrals(row, col)[:, : last_bin + 1]
    centres = (torch.arange(last_bin + 1, dtype=F64) + 0.5) * 0.1
    h = 0.07
    weight = torch.exp(-(centres[-1] - centres) / h)
    expected = 0.05 * (bins @ weight) / (0.1 * weight.sum())
    got = model.forecast(row, col, 0.85, 0.9, "recent", timescale=h)
    torch.testing.assert_close(got, expected)
    # the default timescale is three bins
    torch.testing.assert_close(
        model.forecast(row, col, 0.85, 0.9, "recent"),
        model.forecast(row, col, 0.85, 0.9, "recent", timescale=0.3),
    )
    # saved and loaded with the model; files without the buffer load too
    loaded = PiVeM.load(model.save(tmp_path / "m.pt"))
    assert float(loaded.observed_end) == float(model.observed_end)
    saved = torch.load(tmp_path / "m.pt", weights_only=False)
    del saved["state"]["observed_end"]
    torch.save(saved, tmp_path / "old.pt")
    assert float(PiVeM.load(tmp_path / "old.pt").observed_end) == 0.8


def test_diffuse_forecast_is_the_expected_rate_under_the_trajectories_spread():
    # constant velocities: a node moves k * width * v_i in k bins, so the
    # displacement variance is (k * width)^2 * mean |v_i|^2 / D exactly
    model = PiVeM(6, num_bins=5, num_communities=2, horizon=0.5, seed=0)
    gen = torch.Generator().manual_seed(2)
    speed = torch.randn(6, 2, generator=gen, dtype=F64)
    with torch.no_grad():
        model.v.copy_(speed.expand(5, 6, 2))
    centred = speed - speed.mean(0)
    lags = torch.arange(6, dtype=F64) * 0.1
    expected = lags.square() * centred.square().sum(-1).mean() / 2
    torch.testing.assert_close(model.displacement_variance(), expected)
    # h -> 0: the last bin only; its expected rate under a Gaussian spread of
    # the relative position, against Monte Carlo
    i, j = torch.tensor([0, 2]), torch.tensor([3, 5])
    got = model.forecast(i, j, 0.6, 0.6 + 1e-6, "diffuse", timescale=1e-6) / 1e-6
    x = model.bin_start_positions()
    mid = 0.5 * (x[-2] + x[-1])
    s2 = expected[round((0.6 + 5e-7 - 0.45) / 0.1)]
    draws = torch.randn(400_000, 2, 2, generator=gen, dtype=F64)
    rel = (mid[i] - mid[j]) + (2 * s2).sqrt() * draws
    bias = model.beta[i] + model.beta[j]
    monte_carlo = torch.exp(bias - rel.square().sum(-1)).mean(0).detach()
    torch.testing.assert_close(got.detach(), monte_carlo, rtol=5e-3, atol=0)
    # nodes at rest do not spread: diffuse is the frozen positions' rate
    with torch.no_grad():
        model.v.zero_()
    torch.testing.assert_close(
        model.forecast(i, j, 0.6, 0.7, "diffuse"),
        model.forecast(i, j, 0.6, 0.7, "static"),
    )


@pytest.mark.parametrize("speed", [0.0, 1e-4, 0.5, 40.0])
@pytest.mark.parametrize("moving", [True, False])
def test_closed_form_block_gradient_equals_autograd_of_the_reference(speed, moving):
    # the blocked path's hand-written gradient against autograd through
    # _moving_pairs / _resting_pairs, every regime of the bin integral
    gen = torch.Generator().manual_seed(7)
    n, dim, bins, width = 7, 2, 6, 0.05
    x = torch.randn(n, dim, bins, generator=gen, dtype=F64).requires_grad_()
    v = (speed * torch.randn(n, dim, bins, generator=gen, dtype=F64)).requires_grad_()
    beta = torch.randn(n, generator=gen, dtype=F64).requires_grad_()
    row, col = torch.triu_indices(n, n, 1)
    weight = (torch.rand(row.numel(), generator=gen) > 0.3).double()
    if moving:
        states, block = (x, v, beta), pivem_model._moving_block
        values = pivem_model._moving_pairs(x, v, beta, row, col, width)
    else:
        x0 = x[..., 0].detach().requires_grad_()
        states, block = (x0, beta), pivem_model._resting_block
        values = pivem_model._resting_pairs(x0, beta, row, col, 0.7)
        width = 0.7
    reference = (values * weight).sum()
    want = torch.autograd.grad(reference, states)
    grads = [torch.zeros_like(s) for s in states]
    with torch.no_grad():
        value = block(*states, row, col, width, weight, grads)
        value_only = block(*states, row, col, width, weight, None)
    torch.testing.assert_close(value_only, value, rtol=1e-13, atol=0)
    torch.testing.assert_close(value, reference.detach(), rtol=1e-13, atol=0)
    for got, ref in zip(grads, want, strict=True):
        torch.testing.assert_close(got, ref, rtol=1e-9, atol=1e-14)


def test_blocked_integral_passes_gradcheck():
    # finite differences through the custom backward (blocks of one pair,
    # a masked pair), from the raw parameters to the blocked integral
    model = _random_model(n=5, bins=3)
    row, col = model._pairs(None)
    weight = (row * 5 + col != 2).double()

    def pairs(start, stop):
        return row[start:stop], col[start:stop], weight[start:stop]

    def blocked(x0, v, beta):
        v = (v - v.mean(1, keepdim=True)).permute(1, 2, 0)
        x0 = (x0 - x0.mean(0)).unsqueeze(-1)
        x = torch.cat([x0, model.bin_width * v[..., :-1]], -1).cumsum(-1)
        return pivem_model._BlockedPairSum.apply(
            pivem_model._moving_block,
            model.bin_width,
            1,
            3,
            pairs,
            10,
            None,
            x,
            v,
            beta,
        )

    params = tuple(
        p.detach().clone().requires_grad_() for p in (model.x0, model.v, model.beta)
    )
    assert torch.autograd.gradcheck(blocked, params, eps=1e-6, atol=1e-8)


def test_worker_tuner_tries_both_counts_then_keeps_the_faster_and_rechecks():
    tuner = pivem_model._WorkerTuner(explore_every=4, max_every=16)
    assert tuner.choose(1) == 1  # one thread: nothing to choose

    def run(calls, two, one):
        picks = []
        for _ in range(calls):
            workers = tuner.choose(2)
            picks.append(workers)
            tuner.record(workers, two if workers == 2 else one, cells=100)
        return picks

    # two workers take twice as long as one (a busy machine)
    picks = run(48, 2.0, 1.0)
    assert picks[:2] == [2, 1]
    # afterwards one worker; re-checks of two come after 4 calls, and each
    # that confirms one worker doubles the wait, up to 16 calls
    assert [k for k, w in enumerate(picks) if w == 2][1:] == [3, 11, 27, 43]
    # the load changes: two workers become faster and take over at the next
    # re-check (within 16 calls), and the wait starts again from 4
    picks = run(20, 0.2, 1.0)
    switch = picks.index(2)
    assert switch < 16
    # two workers from then on, with a re-check of one after 4 calls (whose
    # confirmation doubles the wait to 8)
    assert picks[switch:] == [2, 2, 2, 2, 2, 1, 2, 2, 2]
    assert tuner.wait == 8
    # a tie (within the 10 % margin) goes back to one worker
    tie = pivem_model._WorkerTuner()
    for _ in range(3):
        workers = tie.choose(2)
        tie.record(workers, 0.95 if workers == 2 else 1.0, cells=100)
    assert tie.choose(2) == 1
