"""MixER: the gate update against hand-solved cases, routing, batched solves, fits."""

from __future__ import annotations

import pytest
import torch

from dyngraph.models.mixer.model import MixER, _assign
from dyngraph.systems import make_environments
from dyngraph.training import CheckpointError

T = torch.linspace(0.0, 2.0, 5, dtype=torch.float64)


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def tiny(num_envs=4, **kw):
    kw = {"hidden": 8, "depth": 1, "num_experts": 2, "context_dim": 2, **kw}
    return MixER(num_envs, 2, dtype=torch.float64, **kw)


def toy_envs(t=T, num=2):
    """Two families: damped and undamped harmonic oscillators (duffing, beta=0)."""
    damped = [{"alpha": 1.0, "beta": 0.0, "gamma": 0.0, "delta": d} for d in (0.5, 0.7)]
    free = [{"alpha": a, "beta": 0.0, "gamma": 0.0, "delta": 0.0} for a in (1.0, 1.5)]
    from dyngraph.systems import concat_environments

    sets = [
        make_environments("duffing", p, t, num, x0_low=-1, x0_high=1, family=0)
        for p in (damped, free)
    ]
    return concat_environments(*sets)


# ----------------------------------------------------------------------
# the least-squares gate update


def test_least_squares_gate_matches_the_hand_solved_case():
    # contexts -1, -1, +1, +1 (C = 1); expert 1 fits the first pair, expert 0
    # the second. X = [xi, 1], X^T X = 4 I, so W = X^T Y / 4:
    # W = [[0.5, -0.5], [0.5, 0.5]] (rows: xi, bias; columns: experts)
    model = tiny(context_dim=1, ls_noise=0.0)
    contexts = torch.tensor([[-1.0], [-1.0], [1.0], [1.0]], dtype=torch.float64)
    losses = torch.tensor([[1.0, 0.1], [1.0, 0.1], [0.1, 1.0], [0.1, 1.0]])
    info = model.update_gate(contexts, losses)
    assert not info.skipped
    expected = torch.tensor([[0.5, -0.5], [0.5, 0.5]], dtype=torch.float64)
    torch.testing.assert_close(model.gate_weight, expected, rtol=0, atol=1e-12)
    assert model.route(contexts).tolist() == [1, 1, 0, 0]
    # the clusters are the two pairs; each maps to its best expert
    labels = info.cluster_of_env
    assert labels[0] == labels[1] != labels[2] == labels[3]
    assert info.expert_of_cluster[labels[0]] == 1
    assert model.gate_updates.item() == 1 and model.gate_skips.item() == 0


def test_gate_is_the_minimum_norm_least_squares_with_the_drawn_noise():
    model = tiny(num_envs=6, num_experts=3, context_dim=2, ls_noise=1e-2)
    centres = torch.tensor([[3.0, 0.0], [-3.0, 0.0], [0.0, 3.0]], dtype=torch.float64)
    contexts = centres.repeat_interleave(2, dim=0) + 0.01 * torch.randn(
        6, 2, dtype=torch.float64
    )
    losses = torch.rand(6, 3, dtype=torch.float64)
    # warm start from the centres: the generator then draws only the noise
    with torch.no_grad():
        model.centroids.copy_(centres)
        model.centroids_set.fill_(True)
    gen = torch.Generator().manual_seed(5)
    info = model.update_gate(contexts, losses, generator=gen)
    assert not info.skipped
    replay = torch.Generator().manual_seed(5)
    noise = torch.randn(6, 2, generator=replay, dtype=torch.float64)
    x = torch.cat([contexts + 1e-2 * noise, torch.ones(6, 1, dtype=torch.float64)], 1)
    y = torch.nn.functional.one_hot(
        info.expert_of_cluster[info.cluster_of_env], 3
    ).double()
    reference = torch.linalg.lstsq(x, y).solution
    torch.testing.assert_close(model.gate_weight, reference, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("assignment", ["greedy", "hungarian"])
def test_planted_clusters_route_to_their_best_expert(assignment):
    # M = 3 well-separated families of 4 environments; the best expert of
    # family k is perm[k]: after one update every environment routes there
    gen = torch.Generator().manual_seed(0)
    perm = [2, 0, 1]
    centres = torch.tensor([[2.0, 2.0], [-2.0, 1.0], [0.5, -3.0]], dtype=torch.float64)
    family = torch.arange(3).repeat_interleave(4)
    contexts = centres[family] + 0.05 * torch.randn(
        12, 2, generator=gen, dtype=torch.float64
    )
    losses = 1.0 + torch.rand(12, 3, generator=gen, dtype=torch.float64)
    losses[torch.arange(12), torch.tensor(perm)[family]] = 0.1
    model = tiny(num_envs=12, num_experts=3, assignment=assignment)
    # from a cold start (centroids near 0) a draw may leave a cluster empty;
    # a skipped update keeps no centroids, so the next one draws afresh
    infos = [model.update_gate(contexts, losses, generator=gen) for _ in range(10)]
    first = next(i for i, info in enumerate(infos) if not info.skipped)
    assert all("empty cluster" in info.reason for info in infos[:first])
    assert not any(info.skipped for info in infos[first:])
    assert model.route(contexts).tolist() == torch.tensor(perm)[family].tolist()


def test_an_empty_cluster_skips_the_update_and_leaves_the_gate():
    # zero contexts (the start of training) all fall in one cluster
    model = tiny()
    before = model.gate_weight.clone()
    info = model.update_gate(torch.zeros(4, 2, dtype=torch.float64), torch.rand(4, 2))
    assert info.skipped and "empty cluster" in info.reason
    assert torch.equal(model.gate_weight, before) and not model.centroids_set
    assert model.gate_skips.item() == 1


def test_kmeans_that_does_not_converge_skips_the_update():
    model = tiny(kmeans_iters=1)
    contexts = torch.tensor(
        [[-1.0, 0], [-0.9, 0], [1.0, 0], [1.1, 0]], dtype=torch.float64
    )
    before = model.gate_weight.clone()
    info = model.update_gate(contexts, torch.rand(4, 2), generator=torch.Generator())
    assert info.skipped and "did not converge in 1" in info.reason
    assert torch.equal(model.gate_weight, before)


def test_greedy_follows_cluster_order_and_hungarian_is_optimal():
    cost = torch.tensor([[1.0, 2.0], [0.0, 10.0]])
    assert _assign(cost, "greedy").tolist() == [0, 1]  # total 11
    assert _assign(cost, "hungarian").tolist() == [1, 0]  # total 2
    diagonal = torch.tensor([[0.1, 5.0, 4.0], [6.0, 0.2, 5.0], [7.0, 8.0, 0.3]])
    assert (
        _assign(diagonal, "greedy").tolist() == _assign(diagonal, "hungarian").tolist()
    )


# ----------------------------------------------------------------------
# routing and batched solves


def test_routing_is_exactly_top_1_and_unscaled():
    model = tiny(num_envs=5, num_experts=3)
    ctx = torch.randn(
        5, 2, generator=torch.Generator().manual_seed(1), dtype=torch.float64
    )
    with torch.no_grad():
        model.contexts.copy_(ctx)
        model.gate_weight.copy_(
            torch.randn(3, 3, generator=torch.Generator().manual_seed(2))
        )
    experts = model.route(ctx)
    assert torch.equal(experts, model.gate(ctx).argmax(1))
    x0 = torch.rand(5, 3, 2, dtype=torch.float64)
    with torch.no_grad():
        routed = model.predict(x0, T)
        for e in range(5):
            alone = model.solve(x0[e : e + 1], T, experts[e : e + 1], ctx[e : e + 1])
            torch.testing.assert_close(routed[e : e + 1], alone, rtol=1e-12, atol=1e-12)
            others = [m for m in range(3) if m != experts[e]]
            other = model.solve(
                x0[e : e + 1], T, torch.tensor(others[:1]), ctx[e : e + 1]
            )
            assert not torch.allclose(routed[e : e + 1], other)
    # ties go to the lowest index
    with torch.no_grad():
        model.gate_weight.zero_()
    assert model.route(ctx).tolist() == [0] * 5


@pytest.mark.parametrize("expert", ["hyper", "mlp"])
@pytest.mark.parametrize(("method", "tol"), [("rk4", 1e-12), ("dopri5", 1e-6)])
def test_the_batched_solve_equals_a_loop_over_environments(expert, method, tol):
    model = tiny(
        num_envs=6, num_experts=3, expert=expert, method=method, rtol=1e-9, atol=1e-11
    )
    gen = torch.Generator().manual_seed(3)
    ctx = torch.randn(6, 2, generator=gen, dtype=torch.float64)
    experts = torch.tensor([0, 2, 1, 1, 0, 2])
    x0 = torch.rand(6, 4, 2, generator=gen, dtype=torch.float64)
    with torch.no_grad():
        batched = model.solve(x0, T, experts, ctx)
        loop = torch.cat(
            [
                model.solve(x0[e : e + 1], T, experts[e : e + 1], ctx[e : e + 1])
                for e in range(6)
            ]
        )
    assert batched.shape == (6, 4, 5, 2)
    torch.testing.assert_close(batched, loop, rtol=tol, atol=tol)


def test_the_loss_matrix_is_every_expert_alone_on_every_environment():
    data = toy_envs()
    model = tiny(num_envs=4, num_experts=3)
    with torch.no_grad():
        model.contexts.copy_(torch.randn(4, 2, dtype=torch.float64))
    matrix = model.loss_matrix(data.x, data.t)
    for e in range(4):
        for m in range(3):
            pred = model.solve(
                data.x[e : e + 1, :, 0],
                data.t,
                torch.tensor([m]),
                model.contexts[e : e + 1],
            )
            want = (pred - data.x[e : e + 1]).pow(2).mean()
            torch.testing.assert_close(
                matrix[e, m], want.detach(), rtol=1e-10, atol=1e-12
            )


def test_the_naive_moe_scales_by_the_gate_and_trains_it():
    model = tiny(gate_update="gradient_descent")
    assert isinstance(model.gate_weight, torch.nn.Parameter)
    data = toy_envs()
    loss = model.env_losses(data.x, data.t).mean()
    loss.backward()
    assert model.gate_weight.grad is not None and model.gate_weight.grad.abs().sum() > 0
    ctx = model.contexts.detach()
    experts = model.route(ctx)
    g = model.gate(ctx).gather(1, experts[:, None]).squeeze(1)
    with torch.no_grad():
        unscaled = model.solve(data.x[:, :, 0], data.t, experts, ctx)
        scaled = model.solve(data.x[:, :, 0], data.t, experts, ctx, g)
        torch.testing.assert_close(model.predict(data.x[:, :, 0], data.t), scaled)
    assert not torch.allclose(scaled, unscaled)
    with pytest.raises(ValueError, match="not least squares"):
        model.update_gate(ctx, torch.rand(4, 2))


def test_fixed_routing_is_one_model_per_environment():
    model = tiny(num_envs=4, num_experts=4, gate_update="fixed")
    assert model.route(model.contexts).tolist() == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="no expert to adapt"):
        model.adapt(toy_envs(), steps=1, progress=False)


# ----------------------------------------------------------------------
# fitting, adaptation, persistence


def test_one_outer_step_lowers_the_loss_on_two_families():
    data = toy_envs()
    model = tiny()
    before = model.env_losses(data.x, data.t).mean().item()
    model.fit(
        data,
        outer_steps=1,
        inner_steps=(4, 4),
        lr=1e-2,
        lr_context=1e-2,
        gate_update_every=2,
        progress=False,
    )
    after = model.env_losses(data.x, data.t).mean().item()
    assert after < before
    # four gate updates (after steps 2, 4, 6, 8), each counted
    assert model.gate_updates.item() == 4 == len(model.gate_history_)
    assert model.gate_skips.item() == sum(model.gate_history_)
    assert model.contexts.abs().sum() > 0


def test_adaptation_moves_only_the_new_contexts():
    data = toy_envs()
    model = tiny()
    model.fit(data, outer_steps=1, inner_steps=(2, 2), progress=False)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    new = data.select([1, 3])
    zero = torch.zeros(2, 2, dtype=torch.float64)
    start = model.evaluate(new, zero)["mse"]
    ctx = model.adapt(new, steps=15, lr=5e-2, progress=False)
    assert ctx.shape == (2, 2) and ctx.abs().sum() > 0
    for key, value in model.state_dict().items():
        assert torch.equal(value, state[key]), key
    assert all(p.requires_grad for p in model.parameters())
    assert model.evaluate(new, ctx)["mse"] < start


def test_save_and_load_are_exact(tmp_path):
    data = toy_envs()
    model = tiny(expert="mlp", assignment="hungarian")
    model.fit(
        data, outer_steps=1, inner_steps=(2, 2), gate_update_every=1, progress=False
    )
    path = model.save(tmp_path / "m.pt", split="toy")
    again = MixER.load(path)
    assert again.config() == model.config() and again.metadata_ == {"split": "toy"}
    for key, value in model.state_dict().items():
        assert torch.equal(value, again.state_dict()[key]), key
    with torch.no_grad():
        assert torch.equal(
            again.predict(data.x[:, :, 0], data.t),
            model.predict(data.x[:, :, 0], data.t),
        )
    with pytest.raises(CheckpointError, match="not 'MixER'"):
        from dyngraph.training import checkpoint

        checkpoint.save(tmp_path / "other.pt", kind="PiVeM", state={})
        MixER.load(tmp_path / "other.pt")


def test_resume_ends_where_an_uninterrupted_fit_ends(tmp_path):
    data = toy_envs()
    kw = {"inner_steps": (2, 2), "gate_update_every": 1, "lr": 1e-2, "progress": False}
    straight = tiny().fit(data, outer_steps=3, checkpoint=tmp_path / "a.pt", **kw)
    first = tiny().fit(data, outer_steps=2, checkpoint=tmp_path / "b.pt", **kw)
    assert first.history_.resumed_from is None
    resumed = tiny().fit(data, outer_steps=3, checkpoint=tmp_path / "b.pt", **kw)
    assert resumed.history_.resumed_from == 2
    for key, value in straight.state_dict().items():
        assert torch.equal(value, resumed.state_dict()[key]), key
    assert [h["loss"] for h in straight.history_.history] == [
        h["loss"] for h in resumed.history_.history
    ]
    # another model's checkpoint is refused before loading
    with pytest.raises(CheckpointError, match="cannot resume"):
        tiny(num_experts=3).fit(data, outer_steps=3, checkpoint=tmp_path / "b.pt", **kw)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="unknown expert 'cavia'.*'hyper', 'mlp'"):
        tiny(expert="cavia")
    with pytest.raises(ValueError, match="unknown gate_update 'sgd'"):
        tiny(gate_update="sgd")
    with pytest.raises(ValueError, match="`num_experts` must be an int >= 1"):
        tiny(num_experts=0)
    model = tiny()
    data = toy_envs()
    with pytest.raises(ValueError, match="the data have 4 environments, the model 3"):
        tiny(num_envs=3).fit(data, progress=False)
    with pytest.raises(ValueError, match="`outer_steps` must be >= 1"):
        model.fit(data, outer_steps=0, progress=False)
    with pytest.raises(ValueError, match=r"`loss_matrix` must have shape \[4, 2\]"):
        model.update_gate(model.contexts, torch.rand(4, 3))


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_fit_and_solve_match_the_cpu():
    data = toy_envs()
    cpu = tiny()
    gpu = tiny(device="cuda")
    ctx = torch.randn(4, 2, dtype=torch.float64)
    experts = torch.tensor([0, 1, 1, 0])
    x0 = data.x[:, :, 0]
    with torch.no_grad():
        a = cpu.solve(x0, data.t, experts, ctx)
        b = gpu.solve(x0.cuda(), data.t.cuda(), experts.cuda(), ctx.cuda())
    torch.testing.assert_close(b.cpu(), a, rtol=1e-9, atol=1e-9)
    gpu.fit(
        data, outer_steps=1, inner_steps=(2, 2), gate_update_every=1, progress=False
    )
    assert gpu.contexts.device.type == "cuda" and gpu.gate_weight.device.type == "cuda"
    assert gpu.evaluate(data)["mse"] < float("inf")
