import math

import pytest
import torch
from torch import nn

from dyngraph.training import NonFiniteLossError, fit


def regression(seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(256, 3, generator=g)
    w = torch.tensor([[1.5], [-2.0], [0.5]])
    return x, x @ w + 0.3


def minibatch_setup(x, y):
    model = nn.Linear(3, 1)
    opt = torch.optim.Adam(model.parameters(), lr=0.05)

    def batches(epoch):
        order = torch.randperm(x.shape[0])  # global RNG: must be restored on resume
        return order.split(32)

    def step(index):
        return ((model(x[index]) - y[index]) ** 2).mean()

    return model, opt, batches, step


def test_fit_recovers_known_weights():
    x, y = regression()
    torch.manual_seed(0)
    model, opt, batches, step = minibatch_setup(x, y)
    result = fit(model, step, epochs=60, optimizer=opt, batches=batches, progress=False)
    assert result.history[-1]["loss"] < 1e-4 < result.history[0]["loss"]
    torch.testing.assert_close(
        model.weight.detach(), torch.tensor([[1.5, -2.0, 0.5]]), atol=1e-2, rtol=0
    )
    assert model.bias.item() == pytest.approx(0.3, abs=1e-2)


def test_resumed_fit_matches_an_uninterrupted_one(tmp_path):
    x, y = regression()
    torch.manual_seed(1)
    model, opt, batches, step = minibatch_setup(x, y)
    full = fit(
        model, step, epochs=8, optimizer=opt, batches=batches, seed=5, progress=False
    )
    expected = model.weight.detach().clone()

    ckpt = tmp_path / "fit.pt"
    torch.manual_seed(1)
    model, opt, batches, step = minibatch_setup(x, y)
    fit(
        model,
        step,
        epochs=3,
        optimizer=opt,
        batches=batches,
        seed=5,
        checkpoint=ckpt,
        progress=False,
    )
    # a new process: fresh model and optimizer, then resume from the file
    torch.manual_seed(123)
    model, opt, batches, step = minibatch_setup(x, y)
    resumed = fit(
        model,
        step,
        epochs=8,
        optimizer=opt,
        batches=batches,
        seed=5,
        checkpoint=ckpt,
        progress=False,
    )
    assert resumed.resumed_from == 3
    assert [r["loss"] for r in resumed.history] == [r["loss"] for r in full.history]
    torch.testing.assert_close(model.weight.detach(), expected, rtol=0, atol=0)
    assert not list(tmp_path.glob("*.tmp"))


def test_non_finite_loss_stops_without_stepping(tmp_path):
    model = nn.Linear(1, 1)
    before = model.weight.detach().clone()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(NonFiniteLossError, match="epoch 0, batch 0"):
        fit(
            model,
            lambda _: model.weight.sum() * math.inf,
            epochs=3,
            optimizer=opt,
            progress=False,
        )
    assert torch.equal(model.weight.detach(), before)


def test_early_stopping_restores_the_best_weights(tmp_path):
    model = nn.Linear(1, 1, bias=False)
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    scores = iter([0.1, 0.5, 0.4, 0.3, 0.2, 0.9])
    weights = []

    def step(_):
        return -model.weight.sum()  # the weight grows by 1 per epoch

    def validate():
        weights.append(model.weight.item())
        return {"auc": next(scores)}

    result = fit(
        model,
        step,
        epochs=6,
        optimizer=opt,
        validate=validate,
        patience=2,
        checkpoint=tmp_path / "c.pt",
        progress=False,
    )
    assert result.stopped_early
    assert result.best_epoch == 1 and result.best_score == 0.5
    assert len(result.history) == 4
    assert model.weight.item() == pytest.approx(weights[1])
    # resuming a fit that stopped early does not train further
    again = fit(
        model,
        step,
        epochs=6,
        optimizer=opt,
        validate=validate,
        patience=2,
        checkpoint=tmp_path / "c.pt",
        progress=False,
    )
    assert len(again.history) == 4


def test_bad_arguments_are_named():
    model = nn.Linear(1, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="`mode`"):
        fit(model, lambda _: model.weight.sum(), epochs=1, optimizer=opt, mode="up")
    with pytest.raises(KeyError, match="monitor='ap'"):
        fit(
            model,
            lambda _: model.weight.sum(),
            epochs=1,
            optimizer=opt,
            validate=lambda: {"auc": 1.0},
            monitor="ap",
            progress=False,
        )


def test_shuffled_batches_are_seeded_permutations_with_optional_noise_seeds():
    from dyngraph.training import shuffled_batches

    plain = shuffled_batches(10, 4, seed=3)
    first = plain(0)
    assert [len(b) for b in first] == [4, 4, 2]
    assert sorted(torch.cat(first).tolist()) == list(range(10))
    assert all(torch.equal(a, b) for a, b in zip(first, plain(0), strict=True))
    assert not torch.equal(torch.cat(first), torch.cat(plain(1)))
    noisy = shuffled_batches(10, 4, seed=3, noise=True)(0)
    # the same order, then one seed per example drawn from the same generator
    assert torch.equal(torch.cat(noisy)[:, 0], torch.cat(first))
    gen = torch.Generator().manual_seed(3 * 100_003)
    torch.randperm(10, generator=gen)
    assert torch.equal(
        torch.cat(noisy)[:, 1], torch.randint(2**62, (10,), generator=gen)
    )
