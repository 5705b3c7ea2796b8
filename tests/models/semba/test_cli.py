import json

import pytest
import torch

import dyngraph.data
from dyngraph.cli import main
from dyngraph.models import SEMBA
from dyngraph.models.semba.cli import (
    TASK_NAMES,
    fit_from_recipe,
    quickstart,
    quickstart_stream,
)
from dyngraph.models.semba.model import TASKS
from dyngraph.models.semba.recipe import SEMBARecipe
from dyngraph.recipes import load_recipe


def test_fit_semba_command_writes_model_and_test_metrics(tmp_path, data_server):
    recipe = tmp_path / "semba.toml"
    recipe.write_text(
        "[model]\nmemory_dim = 8\ntime_dim = 4\nembedding_dim = 8\n"
        "num_neighbors = 3\nheads = 1\n[data]\nbatch_size = 1000\n"
        "[fit]\nepochs = 3\n"
    )
    url = f"{data_server}/bitcoin-otc/soc-sign-bitcoinotc.csv.gz"
    args = ["fit", "semba", "--dataset", "bitcoin-otc", "--task", "sign"]
    args += ["--recipe", str(recipe), "--epochs", "1", "--url", url]
    args += ["--root", str(tmp_path / "data"), "--output", str(tmp_path / "out")]
    assert main(args) == 0
    report = json.loads((tmp_path / "out" / "semba-bitcoin-otc-sign.json").read_text())
    assert len(report["history"]) == 1
    assert 0.5 < report["test"]["auc"] <= 1.0
    model = SEMBA.load(tmp_path / "out" / "semba-bitcoin-otc-sign.pt")
    assert model.task == "sign"
    assert (tmp_path / "out" / "semba-bitcoin-otc-sign.ckpt").exists()
    # resuming the finished run trains no further and gives the same model
    assert main([*args, "--resume"]) == 0
    again = SEMBA.load(tmp_path / "out" / "semba-bitcoin-otc-sign.pt")
    torch.testing.assert_close(again.state_dict(), model.state_dict(), rtol=0, atol=0)
    resumed = json.loads((tmp_path / "out" / "semba-bitcoin-otc-sign.json").read_text())
    assert resumed["test"] == report["test"]


def test_fit_semba_offers_exactly_the_model_tasks():
    assert tuple(TASK_NAMES) == tuple(TASKS)


def test_the_recipe_example_in_models_is_a_valid_override():
    from pathlib import Path

    example = Path(__file__).resolve().parents[3] / "models" / "semba.toml"
    assert load_recipe(SEMBARecipe, example) != SEMBARecipe()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[train]\nepochs = 3\n", "unknown table [train]"),
        ("[fit]\nneg_weight = true\n", "must be str or float"),
        ("[fit]\nneg_weight = 'equal'\n", "must be a number or 'balanced'"),
        ("[model]\ntask = 'link'\n", "unknown task 'link'"),
        ("[fit]\nepochs = 0\n", "[fit] epochs = 0 must be >= 1"),
    ],
)
def test_a_bad_recipe_is_refused_before_any_download(tmp_path, capsys, text, expected):
    recipe = tmp_path / "bad.toml"
    recipe.write_text(text)
    args = ["fit", "semba", "--recipe", str(recipe), "--url", "http://127.0.0.1:9/x"]
    assert main([*args, "--root", str(tmp_path / "data")]) == 1
    assert expected in capsys.readouterr().err
    assert not (tmp_path / "data").exists()


def test_quickstart_part_beats_the_heuristics(tmp_path):
    result = quickstart(quickstart_stream(0), tmp_path, 0)
    rows = result["metrics"]
    heuristics = ("pair_previous_sign", "target_positive_share")
    assert rows["semba"]["macro_f1"] > max(rows[h]["macro_f1"] for h in heuristics)


def tiny_recipe(seed: int) -> SEMBARecipe:
    recipe = SEMBARecipe()
    recipe.model.memory_dim = recipe.model.embedding_dim = 4
    recipe.model.time_dim, recipe.model.num_neighbors, recipe.model.heads = 2, 2, 1
    recipe.data.batch_size, recipe.fit.epochs, recipe.fit.seed = 100, 1, seed
    return recipe


@pytest.mark.parametrize("task", ["sign", "existence"])
def test_a_fixed_seed_gives_the_same_weights_and_metrics(
    tmp_path, stream, monkeypatch, capsys, task
):
    monkeypatch.setattr(dyngraph.data, "load", lambda name, **kw: stream)

    def run(seed: int, folder: str) -> tuple[dict, dict]:
        torch.manual_seed(len(folder))  # whatever the global state was before
        path = fit_from_recipe(
            tiny_recipe(seed), "tiny", task, tmp_path / folder, progress=False
        )
        report = json.loads(path.with_suffix(".json").read_text())
        return SEMBA.load(path).state_dict(), report

    weights, report = run(3, "a")
    again, report_again = run(3, "bb")
    torch.testing.assert_close(again, weights, rtol=0, atol=0)
    assert report_again["test"] == report["test"]
    assert report_again["history"] == report["history"]
    other, _ = run(4, "ccc")  # the seed does matter
    with pytest.raises(AssertionError):
        torch.testing.assert_close(other, weights, rtol=0, atol=0)
