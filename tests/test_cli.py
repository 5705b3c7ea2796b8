import json

import pytest
import torch

from dyngraph.cli import main
from dyngraph.data import EventStream
from dyngraph.quickstart import history_link_scores


def test_datasets_list_names_every_registered_dataset(capsys, tmp_path):
    assert main(["datasets", "list", "--root", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for name in (
        "bitcoin-otc",
        "bitcoin-alpha",
        "wiki-rfa",
        "college-msg",
        "wikipedia",
    ):
        assert name in out
    assert str(tmp_path) in out


def test_datasets_info_prints_citation(capsys):
    assert main(["datasets", "info", "college-msg"]) == 0
    out = capsys.readouterr().out
    assert "Panzarasa" in out
    assert "snap.stanford.edu" in out


def test_unknown_dataset_is_a_clean_error(capsys):
    assert main(["datasets", "info", "college-mgs"]) == 1
    err = capsys.readouterr().err
    assert "college-mgs" in err
    assert "college-msg" in err  # the close match is suggested


def test_download_and_stats_through_a_mirror(capsys, tmp_path, data_server):
    url = f"{data_server}/college-msg/CollegeMsg.txt"
    root = str(tmp_path)
    assert (
        main(["datasets", "download", "college-msg", "--root", root, "--url", url]) == 0
    )
    assert main(["datasets", "stats", "college-msg", "--root", root]) == 0
    out = capsys.readouterr().out
    assert "59,835" in out
    assert "1,899" in out


def test_quickstart_writes_plots_and_summary(tmp_path, capsys):
    out = tmp_path / "qs"
    assert (
        main(["quickstart", "--output", str(out), "--root", str(tmp_path / "empty")])
        == 0
    )
    summary = json.loads((out / "summary.json").read_text())
    assert len(summary["streams"]) == 2
    for stats in summary["streams"].values():
        assert (out / f"{stats['name']}.png").stat().st_size > 10_000
        # the generated streams repeat pairs, so history beats chance
        assert stats["history_auc"] > 0.6
    signed = [s for s in summary["streams"].values() if "positive_fraction" in s]
    assert len(signed) == 1
    # the small models are fitted and shown
    pivem = summary["models"]["pivem"]
    for task in ("reconstruction", "completion"):
        assert pivem[task]["pivem"]["roc_auc"] > pivem[task]["static_ldm"]["roc_auc"]
    gif = out / "pivem_embedding.gif"
    assert gif.read_bytes()[:6] in (b"GIF87a", b"GIF89a")
    assert (out / "pivem_trajectories.png").exists()
    semba = summary["models"]["semba"]
    heuristics = ("pair_previous_sign", "target_positive_share")
    assert semba["semba"]["macro_f1"] > max(semba[h]["macro_f1"] for h in heuristics)


def test_history_link_scores_counts_both_directions():
    history = EventStream([0, 1, 0, 2], [1, 0, 2, 3], [0, 1, 2, 3], num_nodes=5)
    scores = history_link_scores(
        history, torch.tensor([1, 0, 3, 4]), torch.tensor([0, 2, 2, 0])
    )
    assert scores.tolist() == [2.0, 1.0, 1.0, 0.0]
    empty = history.window(10, 20)
    assert history_link_scores(
        empty, torch.tensor([0]), torch.tensor([1])
    ).tolist() == [0.0]


def test_sign_balance_plot_needs_signs():
    from dyngraph.plot import plot_sign_balance

    with pytest.raises(ValueError, match="signed stream"):
        plot_sign_balance(EventStream([0], [1], [0.0]))


def test_quickstart_includes_a_downloaded_real_dataset(tmp_path, data_server):
    root = str(tmp_path / "data")
    url = f"{data_server}/college-msg/CollegeMsg.txt"
    assert (
        main(["datasets", "download", "college-msg", "--root", root, "--url", url]) == 0
    )
    out = tmp_path / "qs"
    args = ["quickstart", "--output", str(out), "--root", root, "--no-models"]
    assert main(args) == 0
    summary = json.loads((out / "summary.json").read_text())
    college = summary["streams"]["college-msg"]
    assert college["num_events"] == 59835
    assert (out / "college-msg.png").exists()
    assert summary["models"] == {}


def test_fit_pivem_command_saves_a_model_that_reloads_and_resumes(
    tmp_path, data_server, capsys
):
    from dyngraph.models import PiVeM

    recipe = tmp_path / "pivem.toml"
    recipe.write_text(
        "[model]\ndim = 2\nnum_bins = 4\nnum_communities = 2\n"
        "[fit]\nepochs = 6\nbatch_size = 40\n"
    )
    url = f"{data_server}/email-eu-core-temporal-dept3/out.email-Eu-core-temporal-Dept3"
    args = ["fit", "pivem", "--dataset", "email-eu-core-temporal-dept3"]
    args += ["--recipe", str(recipe), "--epochs", "3", "--url", url]
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


def test_fit_semba_command_writes_model_and_test_metrics(tmp_path, data_server):
    from dyngraph.models import SEMBA

    recipe = tmp_path / "semba.toml"
    recipe.write_text(
        "[model]\nmemory_dim = 8\ntime_dim = 4\nembedding_dim = 8\n"
        "num_neighbors = 3\nheads = 1\n[data]\nbatch_size = 1000\n"
        "[train]\nepochs = 3\n"
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


def test_fit_rejects_a_broken_recipe_naming_the_file(tmp_path, capsys):
    recipe = tmp_path / "bad.toml"
    recipe.write_text("[model\ndim = 2\n")
    assert main(["fit", "pivem", "--recipe", str(recipe)]) == 1
    err = capsys.readouterr().err
    assert str(recipe) in err and "invalid TOML" in err


def test_sparsify_command_reports_kappa_and_density(tmp_path, capsys):
    out = tmp_path / "plots"
    args = ["sparsify", "delaunay:400", "--stream", "local:0.25", "--quiet"]
    assert main([*args, "--plot", str(out), "--save", str(tmp_path / "h.pt")]) == 0
    text = capsys.readouterr().out
    for stage in ("initial", "after stream", "rebuild, same size"):
        assert stage in text
    assert (out / "sparsify_history.png").exists()
    assert (out / "sparsify_graph.png").exists()
    assert (tmp_path / "h.pt").exists()
    assert main(["sparsify", "delaunay:400", "--stream", "bogus:1"]) == 1
    assert "--stream" in capsys.readouterr().err
    missing = tmp_path / "nowhere.mtx"
    assert main(["sparsify", str(missing)]) == 1
    assert f"GRAPH {missing}: no such file" in capsys.readouterr().err


def test_fit_semba_offers_exactly_the_model_tasks():
    from dyngraph.models.semba import TASKS
    from dyngraph.models.semba_cli import TASK_NAMES

    assert tuple(TASK_NAMES) == tuple(TASKS)
