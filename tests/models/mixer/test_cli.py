"""``dyngraph fit mixer``: recipe, outputs, plots, resume and its refusals."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pytest
import torch

import dyngraph.models.mixer.cli as mixer_cli
from dyngraph.cli import main
from dyngraph.models.mixer import MixER
from dyngraph.models.mixer.recipe import MixERRecipe
from dyngraph.recipes import load_recipe
from dyngraph.systems import lotka_volterra_split, mixed_split
from tests.faults import one_line

TINY = (
    "[model]\nhidden = 8\ndepth = 1\n"
    "[fit]\nepochs = 2\ninner_context = 2\ninner_model = 2\ngate_update_every = 1\n"
    "adapt_steps = 3\n"
)


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@functools.cache
def small_split(name: str, seed: int = 0):
    """Short versions of the splits (6 samples), so that nothing takes long."""
    if name == "mixed":
        return mixed_split(num_selkov=3, num_test=2, horizon=3.0)
    return lotka_volterra_split(num_test=2, num_adapt_test=2, horizon=3.0)


@pytest.fixture
def small_splits(monkeypatch):
    monkeypatch.setattr(mixer_cli, "make_split", small_split)


def args_for(tmp_path: Path, recipe: str, *extra: str) -> list[str]:
    path = tmp_path / "mixer.toml"
    path.write_text(recipe)
    return [
        "fit",
        "mixer",
        "--recipe",
        str(path),
        "--output",
        str(tmp_path / "out"),
        *extra,
    ]


def test_fit_mixer_writes_model_metrics_plots_and_resumes_exactly(
    tmp_path, small_splits, capsys
):
    assert main(args_for(tmp_path, TINY, "--split", "mixed")) == 0
    out = tmp_path / "out"
    printed = capsys.readouterr().out
    assert f"saved {out / 'mixer.pt'}" in printed and "routing ARI" in printed
    for name in ("trajectories.png", "contexts.png", "loss_matrix.png"):
        assert (out / name).read_bytes()[:4] == b"\x89PNG", name
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["split"] == "mixed" and len(metrics["routing"]) == 12
    assert 0 <= metrics["test"]["mse"] < float("inf")
    model = MixER.load(out / "mixer.pt")
    assert model.num_envs == 12 and model.metadata_["split"] == "mixed"
    assert model.hidden == 8 and model.num_experts == 3
    # resuming the finished checkpoint reproduces the model without training
    assert main(args_for(tmp_path, TINY, "--split", "mixed", "--resume")) == 0
    again = MixER.load(out / "mixer.pt")
    for key, value in model.state_dict().items():
        assert torch.equal(value, again.state_dict()[key]), key
    # another [model] cannot resume it: one line, the file named, the way out
    capsys.readouterr()
    other = TINY.replace("depth = 1", "depth = 1\nnum_experts = 2")
    assert main(args_for(tmp_path, other, "--split", "mixed", "--resume")) == 1
    err = one_line(capsys.readouterr().err)
    assert f"{out / 'checkpoints' / 'fit.pt'}: cannot resume" in err
    assert "drop --resume" in err


def test_fit_mixer_adapts_on_a_split_with_adaptation_environments(
    tmp_path, small_splits
):
    assert main(args_for(tmp_path, TINY, "--epochs", "1")) == 0
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert metrics["split"] == "lotka_volterra" and "adapt" in metrics
    assert "routing_ari" not in metrics  # one family


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[data]\nsplit = 'lorenz'\n", "[data] split = 'lorenz' must be one of"),
        ("[model]\nexperts = 2\n", "unknown key 'experts' in [model]"),
        ("[fit]\nepochs = 0\n", "[fit] epochs = 0 must be >= 1"),
        ("[fit]\nadapt_lr = 0.0\n", "[fit] adapt_lr = 0.0 must be > 0"),
        ("[fit]\ninner_context = 0\ninner_model = 0\n", "inner_model must be >= 1"),
    ],
)
def test_a_bad_recipe_is_refused_in_one_line(tmp_path, capsys, text, expected):
    assert main(args_for(tmp_path, text)) == 1
    err = one_line(capsys.readouterr().err)
    assert expected in err
    assert not (tmp_path / "out").exists()


def test_the_recipe_example_in_models_is_a_valid_override():
    example = Path(__file__).resolve().parents[3] / "models" / "mixer.toml"
    recipe = load_recipe(MixERRecipe, example)
    assert recipe != MixERRecipe() and recipe.data.split == "mixed"


def test_fit_help_lists_mixer(capsys):
    with pytest.raises(SystemExit):
        main(["fit", "--help"])
    assert "mixer" in capsys.readouterr().out
