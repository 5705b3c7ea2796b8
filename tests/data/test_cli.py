from dyngraph.cli import main


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
