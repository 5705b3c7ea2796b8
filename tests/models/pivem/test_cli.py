import dataclasses
import json

import pytest
import torch

from dyngraph.cli import main
from dyngraph.models import PiVeM
from dyngraph.models.pivem.cli import fit_from_recipe, quickstart, quickstart_stream
from dyngraph.models.pivem.recipe import PiVeMRecipe
from dyngraph.recipes import load_recipe
from dyngraph.training import CheckpointError

DEPT3 = "email-eu-core-temporal-dept3"


@pytest.fixture
def dept3_url(data_server):
    return f"{data_server}/{DEPT3}/out.email-Eu-core-temporal-Dept3"


def test_fit_from_recipe_saves_and_resumes(tmp_path, dept3_url):
    recipe = PiVeMRecipe()
    assert recipe.model.num_bins == 100 and recipe.model.dim == 2
    recipe.model = dataclasses.replace(recipe.model, num_bins=4, num_communities=2)
    recipe.fit = dataclasses.replace(recipe.fit, epochs=3, batch_size=40)
    kw = {"root": tmp_path / "data", "url": dept3_url, "progress": False}
    path = fit_from_recipe(recipe, DEPT3, tmp_path / "out", False, **kw)
    first = PiVeM.load(path)
    assert first.num_nodes == 89 and first.metadata_["dataset"] == DEPT3
    assert (tmp_path / "out" / "trajectories.png").exists()
    # resuming finished checkpoints reproduces the model without training
    again = PiVeM.load(fit_from_recipe(recipe, DEPT3, tmp_path / "out", True, **kw))
    torch.testing.assert_close(again.state_dict(), first.state_dict())
    # the checkpoints record what they were fitted to: a folder fitted to
    # another network of 89 nodes (same weight shapes) is refused on resume
    record = tmp_path / "out" / "checkpoints" / "fitted-data.json"
    entry = json.loads(record.read_text())["phase*.pt"]
    assert entry["dataset"] == DEPT3 and entry["nodes"] == 89
    record.write_text(json.dumps({"phase*.pt": {**entry, "dataset": "other"}}))
    with pytest.raises(CheckpointError, match="fitted to.*'other'.*another --output"):
        fit_from_recipe(recipe, DEPT3, tmp_path / "out", True, **kw)


def test_fit_pivem_command_saves_a_model_that_reloads_and_resumes(
    tmp_path, dept3_url, capsys
):
    recipe = tmp_path / "pivem.toml"
    recipe.write_text(
        "[model]\ndim = 2\nnum_bins = 4\nnum_communities = 2\n"
        "[fit]\nepochs = 6\nbatch_size = 40\n"
    )
    args = ["fit", "pivem", "--dataset", DEPT3]
    args += ["--recipe", str(recipe), "--epochs", "3", "--url", dept3_url]
    args += ["--root", str(tmp_path / "data"), "--output", str(tmp_path / "out")]
    assert main(args) == 0
    saved = tmp_path / "out" / "pivem.pt"
    assert f"saved {saved}" in capsys.readouterr().out
    model = PiVeM.load(saved)
    assert model.num_nodes == 89 and model.num_bins == 4
    assert len(list((tmp_path / "out" / "checkpoints").glob("phase*.pt"))) == 3
    assert main([*args, "--resume"]) == 0
    again = PiVeM.load(saved)
    for key, value in model.state_dict().items():
        assert torch.equal(value, again.state_dict()[key]), key


def test_the_recipe_examples_in_models_are_valid_overrides():
    from pathlib import Path

    example = Path(__file__).resolve().parents[3] / "models" / "pivem.toml"
    recipe = load_recipe(PiVeMRecipe, example)
    assert recipe != PiVeMRecipe()  # it overrides something


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[model]\nnum_bin = 4\n", "unknown key 'num_bin' in [model]"),
        ("[modle]\ndim = 2\n", "unknown table [modle]"),
        ("[fit]\nepochs = 'ten'\n", "[fit] epochs = 'ten' must be int"),
        ("[train]\nepochs = 3\n", "allowed tables: [data], [model], [fit]"),
        ("[fit]\nepochs = 0\n", "[fit] epochs = 0 must be >= 1"),
        ("[fit]\nlr = 0.0\n", "[fit] lr = 0.0 must be a finite number > 0"),
    ],
)
def test_a_bad_recipe_is_refused_before_any_download(tmp_path, capsys, text, expected):
    recipe = tmp_path / "bad.toml"
    recipe.write_text(text)
    # the mirror does not exist: a download attempt would fail differently
    args = ["fit", "pivem", "--recipe", str(recipe), "--url", "http://127.0.0.1:9/x"]
    assert main([*args, "--root", str(tmp_path / "data")]) == 1
    err = capsys.readouterr().err
    assert str(recipe) in err and expected in err
    assert not (tmp_path / "data").exists()


def test_fit_rejects_a_broken_toml_naming_the_file(tmp_path, capsys):
    recipe = tmp_path / "bad.toml"
    recipe.write_text("[model\ndim = 2\n")
    assert main(["fit", "pivem", "--recipe", str(recipe)]) == 1
    err = capsys.readouterr().err
    assert str(recipe) in err and "invalid TOML" in err


def test_quickstart_part_beats_the_static_model_and_writes_plots(tmp_path):
    stream = quickstart_stream(0)
    result = quickstart(stream, tmp_path, 0)
    metrics = result["metrics"]
    for task in ("reconstruction", "completion"):
        assert (
            metrics[task]["pivem"]["roc_auc"] > metrics[task]["static_ldm"]["roc_auc"]
        )
    gif = tmp_path / "pivem_embedding.gif"
    assert gif.read_bytes()[:6] in (b"GIF87a", b"GIF89a")
    assert (tmp_path / "pivem_trajectories.png").exists()
    assert sorted(result["files"]) == sorted(
        str(tmp_path / f) for f in ("pivem_embedding.gif", "pivem_trajectories.png")
    )
    json.dumps(metrics)  # the summary of the quick start can hold it


def test_fit_from_recipe_refuses_zero_epochs_before_any_download(tmp_path):
    from dyngraph.recipes import RecipeError

    recipe = PiVeMRecipe()
    recipe.fit.epochs = 0
    with pytest.raises(RecipeError, match=r"\[fit\] epochs = 0 must be >= 1"):
        fit_from_recipe(
            recipe, DEPT3, tmp_path / "out", root=tmp_path / "data", url="http://x/"
        )
    assert not (tmp_path / "data").exists() and not (tmp_path / "out").exists()
