import json

import pytest
import torch

from dyngraph.cli import main
from dyngraph.models.operators import SparseGraphOperator
from dyngraph.training import CheckpointError
from dyngraph.training import checkpoint as ckpt
from tests.models.operators.test_model import TINY, _jelly

RECIPE = """
[data]
num_trajectories = 1
num_frames = 14
[model]
ratio = 0.5
hidden = 8
layers = 1
mlp_layers = 1
decoder_hidden = 8
[fit]
epochs = 1
batch_size = 4
[rollout]
steps = 6
"""


def test_fit_operators_writes_model_report_plots_animation_and_resumes(
    tmp_path, capsys, monkeypatch
):
    # a smaller jelly than the recipe's default block keeps the test fast
    import dyngraph.systems.particles as particles

    small = particles.jelly
    monkeypatch.setattr(particles, "jelly", lambda *a, **k: small(*a, side=8, **k))
    recipe = tmp_path / "o.toml"
    recipe.write_text(RECIPE)
    out = tmp_path / "out"
    args = ["fit", "operators", "--recipe", str(recipe), "--output", str(out)]
    assert main(args) == 0
    assert "saved" in capsys.readouterr().out
    model = SparseGraphOperator.load(out / "operators.pt")
    assert model.ratio == 0.5 and model.decoder_kind == "flow"
    report = json.loads((out / "rollout.json").read_text())
    assert report["sparse_nodes"] == 32 and report["dense_particles"] == 64
    for name in ("model", "nearest"):
        assert len(report[name]["mse_per_step"]) == 6
        assert {"mse1", "mse5", "mse", "rel_l2", "chamfer", "e_kin"} <= set(
            report[name]
        )
    for name in ("rollout.png", "error_vs_step.png", "rollout.gif"):
        assert (out / name).stat().st_size > 1000
    assert main([*args, "--resume", "--epochs", "2"]) == 0
    state = ckpt.load(out / "checkpoints" / "fit.pt", kind="fit-state").state
    assert state["epoch"] == 2 and len(state["history"]) == 2


def test_bad_recipe_values_are_refused_before_fitting(tmp_path, capsys):
    recipe = tmp_path / "o.toml"
    recipe.write_text(RECIPE.replace("ratio = 0.5", "ratio = 1.5"))
    args = ["fit", "operators", "--recipe", str(recipe), "--output", str(tmp_path)]
    assert main(args) != 0
    assert "ratio" in capsys.readouterr().err
    recipe.write_text(RECIPE.replace("steps = 6", "steps = 60"))
    assert main(args) != 0
    assert "steps" in capsys.readouterr().err
    assert not (tmp_path / "operators.pt").exists()


def test_save_and_load_are_exact(tmp_path):
    data = _jelly(1, 12)
    model = SparseGraphOperator(ratio=0.5, **TINY).double().fit(data, epochs=1)
    path = model.save(tmp_path / "m.pt", system="jelly")
    again = SparseGraphOperator.load(path)
    assert again.dtype == torch.float64
    for key, value in model.state_dict().items():
        assert torch.equal(value, again.state_dict()[key]), key
    assert torch.equal(
        model.rollout(data, steps=3).dense, again.rollout(data, steps=3).dense
    )
    with pytest.raises(CheckpointError):
        SparseGraphOperator.load(
            ckpt.save(tmp_path / "x.pt", kind="GraphODE", state={})
        )


def test_an_interrupted_fit_resumes_to_the_uninterrupted_weights(tmp_path):
    data = _jelly(1, 12)
    whole = SparseGraphOperator(ratio=0.5, **TINY).double()
    whole.fit(data, epochs=3, batch_size=3, checkpoint=tmp_path / "a.pt")
    part = SparseGraphOperator(ratio=0.5, **TINY).double()
    part.fit(data, epochs=1, batch_size=3, checkpoint=tmp_path / "b.pt")
    rest = SparseGraphOperator(ratio=0.5, **TINY).double()
    rest.fit(data, epochs=3, batch_size=3, checkpoint=tmp_path / "b.pt")
    assert rest.fit_result_.resumed_from == 1
    for key, value in whole.state_dict().items():
        assert torch.equal(value, rest.state_dict()[key]), key
    # a checkpoint of another model is refused before anything is loaded
    other = SparseGraphOperator(ratio=0.5, **{**TINY, "hidden": 12}).double()
    with pytest.raises(CheckpointError, match="another model"):
        other.fit(data, epochs=3, checkpoint=tmp_path / "b.pt")
