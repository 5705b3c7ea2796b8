import json

import pytest

from dyngraph.cli import main
from dyngraph.models.graphode import GraphODE
from dyngraph.training import checkpoint as ckpt

RECIPE = """
[data]
per_environment = 1
num_frames = 10
frame_dt = 2.0
[model]
history = 3
num_probes = 8
hidden = 8
heads = 2
[fit]
epochs = 1
horizon = 1
stride = 3
[rollout]
start = 4
steps = 5
reencode = "interval"
every = 2
"""


def test_fit_graphode_writes_model_report_plots_and_resumes(tmp_path, capsys):
    recipe = tmp_path / "g.toml"
    recipe.write_text(RECIPE)
    out = tmp_path / "out"
    args = ["fit", "graphode", "--recipe", str(recipe), "--output", str(out)]
    assert main(args) == 0
    assert "saved" in capsys.readouterr().out
    model = GraphODE.load(out / "graphode.pt")
    assert model.num_probes == 8 and model.history == 3
    report = json.loads((out / "rollout.json").read_text())
    assert len(report["graphode"]["rmse"]) == len(report["persistence"]["ssim"]) == 5
    assert report["graphode"]["reencode_rate"] == pytest.approx(2 / 5)
    assert report["probe_fraction"] == pytest.approx(8 / 1024)
    for name in ("forecast.png", "probe_graph.png", "error_vs_horizon.png"):
        assert (out / name).stat().st_size > 1000
    assert main([*args, "--resume", "--epochs", "2"]) == 0
    state = ckpt.load(out / "checkpoints" / "fit.pt", kind="fit-state").state
    assert state["epoch"] == 2 and len(state["history"]) == 2


def test_bad_recipe_values_are_refused_before_fitting(tmp_path, capsys):
    recipe = tmp_path / "g.toml"
    recipe.write_text(RECIPE.replace('reencode = "interval"', 'reencode = "often"'))
    args = ["fit", "graphode", "--recipe", str(recipe), "--output", str(tmp_path)]
    assert main(args) != 0
    assert "reencode" in capsys.readouterr().err
    assert not (tmp_path / "graphode.pt").exists()
