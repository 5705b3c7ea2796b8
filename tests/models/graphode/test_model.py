import math

import pytest
import torch
from torchdiffeq import odeint

from dyngraph.data import Field
from dyngraph.models.graphode import GraphODE, ReencodeRule
from dyngraph.models.graphode.evaluate import pixel_autoregression
from dyngraph.models.graphode.model import (
    AUTOREGRESSION_RIDGES,
    CALIBRATION_RIDGES,
    _choose_ridge,
    _ridge_solve,
    selection_split,
)
from dyngraph.training import CheckpointError

TINY = {"history": 3, "num_probes": 4, "hidden": 8, "heads": 2}


def _field(b=2, t=9, size=8, seed=0):
    gen = torch.Generator().manual_seed(seed)
    x = torch.linspace(0, 6.283, size)
    wave = torch.sin(x[None, :] + x[:, None])
    phase = torch.rand(b, 1, 1, 1, 1, generator=gen) * 6
    times = torch.arange(t, dtype=torch.float32).view(1, t, 1, 1, 1)
    values = torch.cat(
        [
            wave * torch.cos(0.3 * times + phase),
            (wave * 0.5 + 0.1 * times).expand(b, -1, -1, -1, -1),
        ],
        2,
    )
    return Field(
        values + 0.01 * torch.randn(values.shape, generator=gen),
        torch.arange(t * 1.0),
        ("a", "b"),
    )


def _state(model, b=2):
    field = _field(b)
    model.mean.copy_(field.values.mean((0, 1, 3, 4)))
    history = model.normalise(field.values[:, :3])
    graph = model.encode(history)
    z0 = torch.randn(
        b, model.num_probes, model.hidden, generator=torch.Generator().manual_seed(3)
    )
    return graph, z0


@pytest.mark.parametrize("coupling", ["attention", "adjacency"])
def test_coupling_is_row_stochastic(coupling):
    model = GraphODE(2, coupling=coupling, **TINY)
    graph, z0 = _state(model)
    a = model.coupling_matrix(z0, graph)
    assert a.shape == (2, 4, 4) and bool((a >= 0).all())
    assert torch.allclose(a.sum(2), torch.ones(2, 4), atol=1e-6)


def test_the_ode_step_advances_and_matches_a_fine_reference_solve():
    model = GraphODE(2, dt=0.5, **TINY).double()
    graph, z0 = _state(model)
    z0 = z0.double()
    graph.positions, graph.weights = graph.positions.double(), graph.weights.double()
    a = model.coupling_matrix(z0, graph)
    with torch.no_grad():
        out = model.integrate(z0, torch.tensor([0.0, 0.5]), a)
        assert out.shape == (2, *z0.shape)
        assert (out[-1] - z0).abs().max() > 1e-2  # it really moved
        model.func.set_coupling(a)
        fine = odeint(
            model.func,
            z0,
            torch.tensor([0.0, 0.5], dtype=torch.float64),
            method="dopri5",
            rtol=1e-11,
            atol=1e-12,
        )[-1]
    assert torch.allclose(out[-1], fine, atol=1e-4)
    assert (out[-1] - fine).abs().max() < 1e-3 * (out[-1] - z0).abs().max()


def test_integrate_refuses_a_single_time_point():
    model = GraphODE(2, **TINY)
    graph, z0 = _state(model)
    a = model.coupling_matrix(z0, graph)
    with pytest.raises(ValueError, match="at least two times"):
        model.integrate(z0, torch.tensor([1.0]), a)
    with pytest.raises(ValueError, match="increasing"):
        model.integrate(z0, torch.tensor([1.0, 0.0]), a)


def test_adjoint_gives_the_same_gradients():
    grads = []
    for adjoint in (False, True):
        model = GraphODE(2, adjoint=adjoint, **TINY).double()
        graph, z0 = _state(model)
        graph.positions, graph.weights = (
            graph.positions.double(),
            graph.weights.double(),
        )
        z0 = z0.double()
        a = model.coupling_matrix(z0, graph).detach()
        model.integrate(z0, torch.tensor([0.0, 1.0]), a)[-1].sum().backward()
        grads.append(model.func.reaction[0].weight.grad.clone())
    # the adjoint solves a backward ODE with the same fixed-step RK4: equal to
    # its discretisation error
    assert torch.allclose(grads[0], grads[1], rtol=1e-3, atol=1e-4)


def test_fit_lowers_the_loss_and_rollout_reports_reencoding():
    field = _field(2, 10)
    model = GraphODE(2, **TINY).fit(field, epochs=4, batch_size=4, horizon=2, lr=1e-2)
    losses = [r["loss"] for r in model.fit_result_.history]
    assert losses[-1] < losses[0]
    with torch.no_grad():
        out = model.rollout(field.values[:, :5], 4, ReencodeRule("interval", every=2))
    assert out.frames.shape == (2, 4, 2, 8, 8)
    assert out.reencoded[0].tolist() == [False, False, True, False]
    assert out.reencode_rate == pytest.approx(0.25)
    assert [s for s, _ in out.graphs] == [0, 2]
    never = model.rollout(field.values[:, :5], 4, ReencodeRule("never"))
    assert never.reencode_rate == 0.0 and len(never.graphs) == 1


def test_observed_frames_steer_the_graph_but_not_the_state():
    field = _field(2, 12)
    model = GraphODE(2, **TINY).fit(field, epochs=2, batch_size=4, horizon=2, lr=1e-2)
    model.double()
    model.gain.fill_(1.0)  # the ODE's increments in use: the graph matters
    values = field.values.double()
    # observations whose pattern has moved: the graph must follow them
    history, truth = values[:, :3], values[:, 3:].roll(3, dims=-1)
    every = ReencodeRule("interval", every=1)
    with torch.no_grad():
        plain = model.rollout(history, 5, every)
        # observing its own forecast is the plain rollout
        own = model.rollout(history, 5, every, observed=plain.frames)
        oracle = model.rollout(history, 5, every, observed=truth)
    assert torch.allclose(own.frames, plain.frames, atol=1e-10)
    assert oracle.reencoded[:, 1:].all()
    # the first step is taken before anything is observed
    assert torch.equal(oracle.frames[:, 0], plain.frames[:, 0])
    assert not torch.equal(
        oracle.graphs[1][1].assignment, plain.graphs[1][1].assignment
    )
    assert not torch.allclose(oracle.frames, plain.frames)
    # each graph is the encoding of the true last T frames
    window = torch.cat([history, truth], 1)
    previous = oracle.graphs[0][1]
    for s, graph in oracle.graphs[1:]:
        expect = model.encode(
            model.normalise(window[:, s : s + 3]), prefer=previous.probes
        )
        assert torch.equal(graph.assignment, expect.assignment)
        assert torch.equal(graph.probes, expect.probes)
        previous = graph
    with pytest.raises(ValueError, match="observed"):
        model.rollout(history, 5, every, observed=truth[:, :2])


def test_save_load_and_resume_are_exact(tmp_path):
    field = _field(2, 8)
    model = GraphODE(2, refiner=True, **TINY)
    model.fit(field, epochs=1, batch_size=8, horizon=1)
    path = model.save(tmp_path / "g.pt", system="demo")
    again = GraphODE.load(path)
    assert again.refine is not None
    with torch.no_grad():
        a = model.rollout(field.values[:, :5], 3).frames
        b = again.rollout(field.values[:, :5], 3).frames
    assert torch.equal(a, b)
    # a fit resumed from its checkpoint ends where an uninterrupted one does
    whole = GraphODE(2, **TINY).fit(field, epochs=3, batch_size=4, horizon=1)
    ckpt = tmp_path / "fit.pt"
    GraphODE(2, **TINY).fit(field, epochs=2, batch_size=4, horizon=1, checkpoint=ckpt)
    resumed = GraphODE(2, **TINY).fit(
        field, epochs=3, batch_size=4, horizon=1, checkpoint=ckpt
    )
    assert resumed.fit_result_.resumed_from == 2
    for key, value in whole.state_dict().items():
        assert torch.equal(value, resumed.state_dict()[key]), key
    with pytest.raises(CheckpointError):
        GraphODE(2, **{**TINY, "hidden": 4}).fit(
            field, epochs=3, horizon=1, checkpoint=ckpt
        )


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="num_probes"):
        GraphODE(2, num_probes=0)
    with pytest.raises(ValueError, match="coupling"):
        GraphODE(2, coupling="full")
    model = GraphODE(2, **TINY)
    with pytest.raises(ValueError, match="frames"):
        model.rollout(_field().values[:, :2], 3)
    with pytest.raises(ValueError, match="2-D grid"):
        model.fit(Field(torch.zeros(1, 8, 2, 16), torch.arange(8.0), ("a", "b")))
    with pytest.raises(ValueError, match="channels"):
        GraphODE(3, **TINY).fit(_field())


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_fit_and_rollout_on_cuda():
    field = _field(2, 8).to("cuda")
    model = GraphODE(2, **TINY).cuda().fit(field, epochs=1, horizon=2)
    out = model.rollout(field.values[:, :4], 2)
    assert out.frames.is_cuda and torch.isfinite(out.frames).all()


def test_default_decoder_is_exact_at_the_encoding_time():
    # without the autoregressive skip the default is fill/kNN plus residuals
    model = GraphODE(2, autoregressive=False, **TINY)
    field = _field()
    history = model.normalise(field.values[:, :3])
    graph = model.encode(history)
    start = model._start(history, graph)
    b, _, c, h, w = history.shape
    last = history[:, -1].reshape(b, c, h * w)
    probes = torch.gather(last, 2, graph.probes.unsqueeze(1).expand(-1, c, -1))
    out = model.decode(probes, graph, start)
    assert torch.allclose(out, history[:, -1], atol=1e-5)


def test_default_decoder_carries_pixels_by_the_skip_and_spreads_probe_increments():
    values = _field(t=9).values.double()
    model = GraphODE(2, **TINY).double()
    model.init_autoregression(values)  # normalisation: mean 0, std 1
    assert model.ar.weight.abs().max() > 0.1  # a skip that does something
    # without the ODE's increment (gain 0) the rollout is L at every pixel
    model.gain.fill_(0.0)
    roll = model.rollout(values[:, :3], 5, ReencodeRule("never"))
    ref = pixel_autoregression(model, values[:, :3], 5)
    assert torch.allclose(roll.frames, ref, atol=1e-12)
    assert not torch.allclose(ref[:, 0], values[:, 2])  # it does move
    # an increment at the probes spreads by the kNN weights: a + K (p - a_p)
    history = values[:, :3]
    graph = model.encode(history)
    start = model._start(history, graph)
    a = model.pixel_forecast(history)
    index = graph.probes.unsqueeze(1).expand(-1, 2, -1)
    bump = torch.randn(a.shape[0], 2, graph.num_probes, dtype=a.dtype)
    out = model.decode(torch.gather(a, 2, index) + bump, graph, start, a)
    expect = a + bump @ start["knn"].transpose(1, 2)
    assert torch.allclose(out.reshape(expect.shape), expect, atol=1e-12)


def test_calibration_is_the_ridge_toward_the_default_at_every_age():
    model = GraphODE(2, calibration_horizon=3, **TINY).double()
    values = _field(t=8).values.double()
    model.init_autoregression(values)  # the pixel forecast features use it
    errors = model.calibrate(values, stride=2)
    assert errors.shape == (3, 2) and len(model.calibration_ridge_) == 3
    default = model.default_mix().double()
    # slow reference: rebuild the features of every window and age, solve;
    # the history of the pixel forecast is the frames decoded so far
    wins = torch.stack([values[b, s : s + 6] for b in range(2) for s in (0, 2)])
    buffer = wins[:, :3]
    graph = model.encode(buffer)
    start = model._start(buffer, graph)
    index = graph.probes.unsqueeze(1).expand(-1, 2, -1)
    for age in range(3):
        frame = wins[:, 3 + age].reshape(4, 2, -1)
        probes = torch.gather(frame, 2, index)
        forecast = model.pixel_forecast(buffer)
        feats = model.features(probes, graph, start, forecast).flatten(1, 2)
        f = feats.shape[1]
        assert f == 12  # six features per channel with the skip
        x = feats.permute(0, 2, 1).reshape(-1, f)
        y = frame.permute(0, 2, 1).reshape(-1, 2)
        ridge = model.calibration_ridge_[age]
        if math.isinf(ridge):
            ref = default
        else:
            lam = ridge * (x * x).sum(0).mean()
            ref = torch.linalg.solve(
                x.T @ x + lam * torch.eye(f, dtype=x.dtype), x.T @ y + lam * default.T
            ).T
        assert torch.allclose(model.mix[age], ref, atol=1e-8)
        decoded = (x @ ref.T).reshape(4, -1, 2).permute(0, 2, 1)
        decoded = decoded.scatter(2, index, probes)
        buffer = torch.cat([buffer[:, 1:], decoded.view(4, 1, 2, 8, 8)], 1)

        def loss(mix, x=x, y=y):
            return (y - x @ mix.T).pow(2).mean(0)

        assert torch.allclose(errors[age].double(), loss(model.mix[age]).sqrt())
        # a ridge toward the default never fits worse than the default
        assert float(loss(model.mix[age]).sum()) <= float(loss(default).sum()) + 1e-12


def _normal_equations(x, y):
    return x.T @ x, x.T @ y


def test_ridge_choice_shrinks_to_the_prior_without_signal_and_fits_with_it():
    gen = torch.Generator().manual_seed(0)
    prior = torch.tensor([[0.5, 0.5, 0.5, 0.5]], dtype=torch.float64)
    x_fit, x_held = (
        torch.randn(n, 4, generator=gen, dtype=torch.float64) for n in (6, 400)
    )
    # no signal beyond the prior: the targets are the prior's fit plus noise,
    # so a least-squares map fitted on few samples only fits the noise
    noise = [torch.randn(n, 1, generator=gen, dtype=torch.float64) for n in (6, 400)]
    fit = _normal_equations(x_fit, x_fit @ prior.T + noise[0])
    held = _normal_equations(x_held, x_held @ prior.T + noise[1])
    ridge = _choose_ridge(fit, held, prior, CALIBRATION_RIDGES)
    mix = _ridge_solve(*fit, prior, ridge)
    plain = _ridge_solve(*fit, prior, CALIBRATION_RIDGES[0])
    assert ridge >= 1.0
    assert (mix - prior).norm() < 0.5 * (plain - prior).norm()
    # a strong planted map is recovered with the smallest ridge
    planted = torch.tensor([[1.0, -2.0, 0.3, 0.0]], dtype=torch.float64)
    fit = _normal_equations(x_fit, x_fit @ planted.T)
    held = _normal_equations(x_held, x_held @ planted.T)
    ridge = _choose_ridge(fit, held, prior, CALIBRATION_RIDGES)
    assert ridge == CALIBRATION_RIDGES[0]
    assert torch.allclose(_ridge_solve(*fit, prior, ridge), planted, atol=1e-4)
    # no held-out data: keep the prior
    empty = (
        torch.zeros(4, 4, dtype=torch.float64),
        torch.zeros(4, 1, dtype=torch.float64),
    )
    assert math.isinf(_choose_ridge(fit, empty, prior, CALIBRATION_RIDGES))


def test_calibration_keeps_the_default_when_it_cannot_be_beaten():
    # a frozen field: the default decoder (exact at the encoding time) is
    # exact at every age, so calibration must not move away from it
    model = GraphODE(2, calibration_horizon=3, **TINY).double()
    frame = _field(b=2, t=1).values.double()
    values = frame.expand(-1, 8, -1, -1, -1).contiguous()
    errors = model.calibrate(values, stride=2)
    assert float(errors.max()) < 1e-6
    default = model.default_mix().double()
    for age in range(3):
        probes_fit = model.mix[age]
        assert math.isinf(model.calibration_ridge_[age]) or torch.allclose(
            probes_fit, default, atol=1e-3
        )


def test_decoded_frame_passes_through_the_predicted_probes():
    model = GraphODE(2, autoregressive=False, **TINY)
    field = _field()
    history = model.normalise(field.values[:, :3])
    graph = model.encode(history)
    start = model._start(history, graph)
    model.mix.mul_(0.5)  # a decoder that does not reproduce the probes
    with torch.no_grad():
        frame = model.step(history, graph, start)
    b, _, c, h, w = history.shape
    index = graph.probes.unsqueeze(1).expand(-1, c, -1)
    got = torch.gather(frame.reshape(b, c, h * w), 2, index)
    last = torch.gather(history[:, -1].reshape(b, c, h * w), 2, index)
    # the read-out starts at zero, so with no skip the probes persist
    assert torch.allclose(got, last, atol=1e-6)


def test_choose_gain_drops_what_degrades_rollouts():
    model = GraphODE(2, **TINY)
    values = model.normalise(_field(t=9).values)
    with torch.no_grad():
        scores = model.choose_gain(values)
    # a zero read-out and the default decoder: every gain ties, the first wins
    assert float(model.gain) == 1.0 and len(set(scores.values())) == 1
    assert {d for d, _ in scores} == {"default"} and model.decoder_ == "default"
    with torch.no_grad():
        gen = torch.Generator().manual_seed(0)
        model.readout.weight.normal_(0.0, 3.0, generator=gen)
        model.mix.mul_(3.0)  # a "calibrated" decoder far off the default
        scores = model.choose_gain(values)
    best = min(scores, key=scores.get)
    assert (model.decoder_, float(model.gain)) == best
    assert scores[best] < scores[("calibrated", 1.0)]
    assert model.decoder_ == "default"
    assert torch.equal(model.mix[0], model.default_mix())


def test_selection_split_holds_out_the_same_share_for_every_system():
    fit_b, fit_t, held_b, held_t = selection_split(8, 40, 10)
    assert held_b.tolist() == [3, 7] and fit_b.tolist() == [0, 1, 2, 4, 5, 6]
    assert fit_t == held_t == slice(0, 40)
    fit_b, _, held_b, _ = selection_split(3, 40, 10)
    assert fit_b.tolist() == [0, 1] and held_b.tolist() == [2]
    fit_b, fit_t, held_b, held_t = selection_split(1, 40, 10)
    assert fit_b.tolist() == held_b.tolist() == [0]
    assert (fit_t, held_t) == (slice(0, 29), slice(29, 40))  # history + 1 frames
    assert selection_split(1, 40, 3)[3] == slice(30, 40)  # a quarter


def _planted_field(b=4, t=12, size=8):
    # travelling waves, and a held-out trajectory (index 3) that is static noise
    gen = torch.Generator().manual_seed(0)
    x = torch.linspace(0, 6.283, size)
    times = torch.arange(t, dtype=torch.float32).view(1, t, 1, 1, 1)
    phase = torch.rand(b, 1, 1, 1, 1, generator=gen) * 6
    values = torch.sin(x[None, :] + x[:, None] - 0.5 * times + phase)
    values = values.expand(b, t, 1, size, size).clone()
    noise = torch.randn(1, 1, size, size, generator=gen)
    values[3] = noise.expand(t, 1, size, size)
    return Field(values, torch.arange(t * 1.0), ("a",))


def test_gain_and_decoder_are_chosen_on_held_out_trajectories(monkeypatch):
    field = _planted_field()
    seen = {}
    choose = GraphODE.choose_gain

    def spy(self, values, *args, **kwargs):
        seen["values"], seen["mean"] = values.clone(), self.mean.clone()
        seen["std"] = self.std.clone()
        seen["mix"] = self.mix.clone()
        state = {k: v.clone() for k, v in self.state_dict().items()}
        seen["on_training"] = choose(self, self.normalise(field.values[:3]))
        self.load_state_dict(state)
        return choose(self, values, *args, **kwargs)

    monkeypatch.setattr(GraphODE, "choose_gain", spy)
    # without the skip, whose pixel forecast would carry the travelling
    # waves exactly and leave the calibration nothing to fit
    plain = {**TINY, "autoregressive": False}
    model = GraphODE(1, **plain).fit(
        field, epochs=1, batch_size=4, horizon=2, select_on="held_out", calibrate=True
    )
    # the selection fit (normalisation, calibration, training) saw
    # trajectories 0-2 only, and the choice was scored on trajectory 3
    assert torch.allclose(seen["mean"], field.values[:3].mean((0, 1, 3, 4)))
    mean, std = (seen[k].view(1, 1, -1, 1, 1) for k in ("mean", "std"))
    assert torch.allclose(seen["values"], (field.values[3:] - mean) / std)
    # the calibration fitted on travelling waves helps there and hurts on the
    # held-out static field: the held-out choice wins
    assert not torch.equal(seen["mix"][0], model.default_mix())
    assert min(seen["on_training"], key=seen["on_training"].get)[0] == "calibrated"
    assert min(model.gain_scores_, key=model.gain_scores_.get)[0] == "default"
    assert model.decoder_ == "default"
    # then refitted on every trajectory, with the default decoder
    assert torch.allclose(model.mean, field.values.mean((0, 1, 3, 4)))
    assert torch.equal(model.mix[0], model.default_mix())
    kept = GraphODE(1, **plain).fit(
        field,
        epochs=1,
        batch_size=4,
        horizon=2,
        select_on="held_out",
        refit=False,
        calibrate=True,
    )
    assert torch.allclose(kept.mean, seen["mean"]) and kept.decoder_ == "default"
    one = field.trajectories(0).frames(slice(0, 6))
    with pytest.raises(ValueError, match="choose_gain"):
        GraphODE(1, **TINY).fit(one, epochs=1, horizon=2, select_on="held_out")
    with pytest.raises(ValueError, match="select_on"):
        GraphODE(1, **TINY).fit(field, epochs=1, horizon=2, select_on="test")


def test_autoregression_recovers_a_planted_linear_recurrence():
    # x_t = cos(omega t + phi) obeys x_{t+1} = 2 cos(omega) x_t - x_{t-1}
    omega, t = 0.4, 12
    phi = torch.rand(1, 1, 1, 6, 6, generator=torch.Generator().manual_seed(0)) * 6
    times = torch.arange(t, dtype=torch.float64).view(1, t, 1, 1, 1)
    field = Field(torch.cos(omega * times + phi), torch.arange(t * 1.0), ("x",))
    model = GraphODE(1, history=2, num_probes=4, hidden=8, heads=2).double()
    resid = model.init_autoregression(field.values, ridge=0.0)
    assert float(resid.max()) < 1e-8
    # the step is p_{t+1} - p_t = (2 cos omega - 1) p_t - p_{t-1}
    expect = torch.tensor([[-1.0, 2 * torch.cos(torch.tensor(omega)) - 1]])
    assert torch.allclose(model.ar.weight, expect.double(), atol=1e-6)
    assert abs(float(model.ar.bias.detach())) < 1e-6
    # chosen by held-out rollouts, the ridge is the smallest on clean data
    model.init_autoregression(field.values)
    assert model.autoregression_ridge_ == min(AUTOREGRESSION_RIDGES)
    assert torch.allclose(model.ar.weight, expect.double(), atol=1e-3)
    assert not model.ar.weight.requires_grad  # least squares, not the optimiser
    with pytest.raises(RuntimeError, match="autoregressive"):
        GraphODE(
            1, history=2, num_probes=4, hidden=8, heads=2, autoregressive=False
        ).init_autoregression(field.values)
