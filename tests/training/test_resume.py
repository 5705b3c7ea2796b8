"""Resuming a fit: hostile checkpoints and optimizer settings given anew."""

import pytest
import torch
from torch import nn

from dyngraph.training import (
    CheckpointError,
    NonFiniteLossError,
    check_resumable,
    fit,
    prepare_checkpoints,
)


class Scalar(nn.Module):
    """One weight ``w`` with loss ``(w - 1)^2``, NaN once ``|w| > 100``."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.zeros(()))

    def forward(self, batch: object) -> torch.Tensor:
        # like a log of a negative number in a real loss: NaN past the edge
        return (self.w - 1) ** 2 + 0 * torch.log(1e4 - self.w**2)


def test_another_models_checkpoint_is_refused_before_loading(tmp_path):
    path = tmp_path / "fit.pt"
    small = nn.Linear(3, 1)
    opt = torch.optim.SGD(small.parameters(), lr=0.1)
    fit(
        small,
        lambda _: small(torch.ones(3)).sum(),
        epochs=1,
        optimizer=opt,
        checkpoint=path,
        progress=False,
    )
    saved = path.read_bytes()
    big = nn.Linear(5, 1)
    before = big.weight.detach().clone()
    opt = torch.optim.SGD(big.parameters(), lr=0.1)
    with pytest.raises(CheckpointError) as exc:
        fit(
            big,
            lambda _: big(torch.ones(5)).sum(),
            epochs=2,
            optimizer=opt,
            checkpoint=path,
            progress=False,
        )
    message = str(exc.value)
    assert str(path) in message
    assert "weight is [1, 3] (float32) there and [1, 5] (float32) here" in message
    assert "start afresh" in message and "size mismatch" not in message
    # nothing was loaded into the model, nothing written to the file
    assert torch.equal(big.weight.detach(), before)
    assert path.read_bytes() == saved


def test_check_resumable_lists_missing_keys_and_optimizer_groups(tmp_path):
    path = tmp_path / "fit.pt"
    model = nn.Linear(2, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    fit(
        model,
        lambda _: model(torch.ones(2)).sum(),
        epochs=1,
        optimizer=opt,
        checkpoint=path,
        progress=False,
    )
    with pytest.raises(CheckpointError, match="bias is only in the checkpoint"):
        check_resumable(path, nn.Linear(2, 1, bias=False))
    fewer = torch.optim.SGD([model.weight], lr=0.1)
    with pytest.raises(CheckpointError, match=r"hold \[2\] tensors there and \[1\]"):
        check_resumable(path, model, fewer)
    with pytest.raises(CheckpointError, match="To go on, do this"):
        check_resumable(path, nn.Linear(4, 1), advice="do this")
    assert set(check_resumable(path, model, opt)) >= {"model", "optimizer", "epoch"}


def test_a_new_learning_rate_wins_when_resuming_after_a_non_finite_stop(tmp_path):
    path = tmp_path / "fit.pt"

    def run(lr: float, epochs: int) -> Scalar:
        model = Scalar()
        opt = torch.optim.SGD(model.parameters(), lr=lr)
        fit(
            model,
            epochs=epochs,
            optimizer=opt,
            batches=lambda e: [0, 1],
            checkpoint=path,
            progress=False,
        )
        assert opt.param_groups[0]["lr"] == lr
        return model

    # lr 1.5 doubles the error every step: NaN in the 4th epoch's 2nd batch
    with pytest.raises(NonFiniteLossError, match="epoch 3, batch 1"):
        run(1.5, 40)
    # resuming with the same rate fails the same way ...
    with pytest.raises(NonFiniteLossError, match="epoch 3, batch 1"):
        run(1.5, 40)
    # ... a smaller one goes on from the checkpoint of epoch 3 and converges
    model = run(0.1, 40)
    assert model.w.item() == pytest.approx(1.0, abs=1e-3)


def test_unchanged_settings_keep_the_scheduled_rate_for_a_bit_exact_resume(
    tmp_path,
):
    def setup():
        torch.manual_seed(0)
        model = nn.Linear(2, 1)
        opt = torch.optim.SGD(model.parameters(), lr=0.2, momentum=0.5)
        sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
        x = torch.tensor([[1.0, 2.0], [3.0, -1.0]])

        def step(_):
            return ((model(x).squeeze(-1) - torch.tensor([1.0, 0.0])) ** 2).mean()

        return model, opt, sched, step

    model, opt, sched, step = setup()
    fit(model, step, epochs=6, optimizer=opt, scheduler=sched, progress=False)
    expected = model.weight.detach().clone()
    path = tmp_path / "fit.pt"
    model, opt, sched, step = setup()
    fit(
        model,
        step,
        epochs=3,
        optimizer=opt,
        scheduler=sched,
        checkpoint=path,
        progress=False,
    )
    model, opt, sched, step = setup()
    fit(
        model,
        step,
        epochs=6,
        optimizer=opt,
        scheduler=sched,
        checkpoint=path,
        progress=False,
    )
    assert opt.param_groups[0]["lr"] == pytest.approx(0.2 * 0.5**6)
    torch.testing.assert_close(model.weight.detach(), expected, rtol=0, atol=0)


def test_a_new_rate_becomes_the_schedulers_base_rate(tmp_path):
    path = tmp_path / "fit.pt"

    def run(lr: float, epochs: int) -> torch.optim.Optimizer:
        model = nn.Linear(1, 1)
        opt = torch.optim.SGD(model.parameters(), lr=lr)
        sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
        fit(
            model,
            lambda _: model.weight.sum() ** 2,
            epochs=epochs,
            optimizer=opt,
            scheduler=sched,
            checkpoint=path,
            progress=False,
        )
        assert sched.base_lrs == [lr]
        return opt

    run(0.4, 2)
    opt = run(0.01, 3)  # one more epoch at the new rate, then halved
    assert opt.param_groups[0]["lr"] == pytest.approx(0.005)
    assert opt.param_groups[0]["initial_lr"] == 0.01


def _fit_once(model: nn.Module, path) -> None:
    fit(
        model,
        lambda _: model(torch.ones(model.in_features)).sum(),
        epochs=1,
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
        checkpoint=path,
        progress=False,
    )


def test_prepare_checkpoints_deletes_only_its_files_or_checks_them(tmp_path):
    folder = tmp_path / "out[1]"  # glob characters in the folder are literal
    folder.mkdir()
    for name in ("phase1.pt", "phase2.pt"):
        _fit_once(nn.Linear(3, 1), folder / name)
    (folder / "metrics.json").write_text("{}")
    # resuming keeps and checks every matching file, sorted
    found = prepare_checkpoints(folder, "phase*.pt", nn.Linear(3, 1), resume=True)
    assert [p.name for p in found] == ["phase1.pt", "phase2.pt"]
    with pytest.raises(CheckpointError, match="phase1.pt.*drop it"):
        prepare_checkpoints(
            folder, "phase*.pt", nn.Linear(5, 1), resume=True, advice="drop it"
        )
    # a fresh start deletes the matching files and nothing else
    assert prepare_checkpoints(folder, "phase*.pt", nn.Linear(5, 1), resume=False) == []
    assert sorted(p.name for p in folder.iterdir()) == ["metrics.json"]
    # a missing folder is created
    assert (
        prepare_checkpoints(tmp_path / "new", "fit.pt", nn.Linear(1, 1), resume=True)
        == []
    )
    assert (tmp_path / "new").is_dir()


def test_prepare_checkpoints_refuses_another_dataset_of_the_same_shapes(tmp_path):
    def prepare(data, resume=True):
        return prepare_checkpoints(
            tmp_path, "fit.pt", nn.Linear(3, 1), resume=resume, data=data
        )

    # a fresh start records what is fitted; the same data resumes
    assert prepare({"dataset": "a", "events": 10}, resume=False) == []
    _fit_once(nn.Linear(3, 1), tmp_path / "fit.pt")
    assert len(prepare({"dataset": "a", "events": 10})) == 1
    # another dataset whose weights have the same shapes is refused
    with pytest.raises(CheckpointError, match=r"fit\.pt.*fitted to.*'a'.*'b'"):
        prepare({"dataset": "b", "events": 10})
    assert (tmp_path / "fit.pt").exists()  # nothing was deleted
    # checkpoints without a record (older runs) resume by shape only
    (tmp_path / "fitted-data.json").unlink()
    assert len(prepare({"dataset": "b", "events": 10})) == 1
    # ... and are recorded from then on
    with pytest.raises(CheckpointError, match="fitted to"):
        prepare({"dataset": "a", "events": 10})
    # a fresh start replaces the record
    assert prepare({"dataset": "a", "events": 10}, resume=False) == []
    _fit_once(nn.Linear(3, 1), tmp_path / "fit.pt")
    assert len(prepare({"dataset": "a", "events": 10})) == 1
    # records of other patterns in the same folder are kept apart
    prepare_checkpoints(
        tmp_path, "other.pt", nn.Linear(3, 1), resume=False, data={"dataset": "z"}
    )
    assert len(prepare({"dataset": "a", "events": 10})) == 1


def test_fit_checkpoint_starts_afresh_or_names_the_target_when_refusing(tmp_path):
    from dyngraph.training import fit_checkpoint

    path = fit_checkpoint(tmp_path, Scalar(), resume=False)
    assert path == tmp_path / "checkpoints" / "fit.pt" and path.parent.is_dir()
    model = Scalar()
    fit(
        model,
        epochs=1,
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
        checkpoint=path,
    )
    assert fit_checkpoint(tmp_path, Scalar(), resume=True) == path
    with pytest.raises(CheckpointError, match="fit 'toy' into another --output"):
        fit_checkpoint(tmp_path, nn.Linear(2, 2), resume=True, name="toy")
    fit_checkpoint(tmp_path, nn.Linear(2, 2), resume=False)
    assert not path.exists()
