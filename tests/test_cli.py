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
    assert main(["quickstart", "--output", str(out), "--root", root]) == 0
    summary = json.loads((out / "summary.json").read_text())
    college = summary["streams"]["college-msg"]
    assert college["num_events"] == 59835
    assert (out / "college-msg.png").exists()
