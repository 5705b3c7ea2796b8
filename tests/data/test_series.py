import shutil

import numpy as np
import pytest

from dyngraph.data import (
    ChecksumError,
    MalformedFileError,
    TimeSeries,
    UnknownDatasetError,
    info,
    list_datasets,
    load,
    read_series,
)
from dyngraph.data.cli import add_parsers
from dyngraph.systems import load_lynx_hare
from dyngraph.systems.datasets import load_series


def test_lynx_hare_is_a_registered_series():
    assert "lynx-hare" in list_datasets()
    assert list_datasets("series") == ["lynx-hare"]
    assert "lynx-hare" not in list_datasets("events")
    entry = info("lynx_hare")
    assert entry.kind == "series" and entry.sha256
    assert entry.expected_stats() == {
        "num_samples": 91,
        "num_states": 2,
        "start_time": 1845.0,
        "end_time": 1935.0,
    }
    with pytest.raises(ValueError, match="choose one of"):
        list_datasets("graphs")


def test_lynx_hare_loads_verifies_and_caches_like_the_rest(
    data_server, tmp_path, monkeypatch
):
    monkeypatch.setenv("DYNGRAPH_MIRROR", data_server)
    series = load("lynx-hare", root=tmp_path)
    assert isinstance(series, TimeSeries)
    assert series.names == ("Hare", "Lynx") and series.source == "lynx-hare"
    assert series.x.shape == (91, 2) and series.t[0] == 1845 and series.t[-1] == 1935
    np.testing.assert_allclose(series.x[0], [19.58, 30.09])
    assert (tmp_path / "lynx-hare" / "raw" / "lynxhare.csv").is_file()
    cache = tmp_path / "lynx-hare" / "processed" / "cache.bin"
    assert cache.is_file()
    monkeypatch.delenv("DYNGRAPH_MIRROR")
    (tmp_path / "lynx-hare" / "raw" / "lynxhare.csv").touch()  # re-hashed, cached
    again = load("lynx-hare", root=tmp_path)
    np.testing.assert_array_equal(again.x, series.x)
    np.testing.assert_array_equal(again.t, series.t)
    assert again.names == series.names
    shortcut = load_lynx_hare(root=tmp_path)
    np.testing.assert_array_equal(shortcut.x, series.x)


def test_a_changed_series_file_fails_its_checksum_and_is_deleted(
    shared_data, tmp_path, serve_dir
):
    mirror = tmp_path / "mirror" / "lynx-hare"
    mirror.mkdir(parents=True)
    shutil.copy(shared_data / "lynx-hare" / "lynxhare.csv", mirror / "lynxhare.csv")
    with open(mirror / "lynxhare.csv", "a") as handle:
        handle.write("1936,1.0,1.0\n")
    url = serve_dir(tmp_path / "mirror") + "/lynx-hare/lynxhare.csv"
    with pytest.raises(ChecksumError, match="not the expected file"):
        load_lynx_hare(url, root=tmp_path / "data")
    assert not (tmp_path / "data" / "lynx-hare" / "raw" / "lynxhare.csv").exists()


def test_load_series_refuses_other_kinds_and_unknown_names(tmp_path):
    with pytest.raises(UnknownDatasetError, match="not a time series.*lynx-hare"):
        load_series("college-msg", root=tmp_path)
    with pytest.raises(UnknownDatasetError, match="lynx-hare"):
        load_series("lynx-hair", root=tmp_path)
    assert not list(tmp_path.iterdir())  # refused before any download


def test_load_series_reads_a_local_file_as_is(tmp_path):
    path = tmp_path / "mine.csv"
    path.write_text("year,a\n1,2\n2,3\n")
    series = load_series("lynx-hare", path)
    np.testing.assert_array_equal(series.x[:, 0], [2.0, 3.0])
    assert series.source == str(path)


def test_read_series_names_the_file_and_line(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("time,a,b\n0,1,2\n1,x,3\n")
    with pytest.raises(MalformedFileError, match=r"bad.csv:3: column 'a' holds 'x'"):
        read_series(path)
    path.write_text("t,a\n0,1\n0,2\n")
    with pytest.raises(MalformedFileError, match=r"bad.csv:3: time 0 in 't' follows 0"):
        read_series(path)
    path.write_text("t\n0\n1\n")
    with pytest.raises(MalformedFileError, match="no state columns"):
        read_series(path)
    path.write_text("")
    with pytest.raises(MalformedFileError, match="not a CSV table"):
        read_series(path)
    path.write_text("a,b\n1,2\n3,4\n")
    with pytest.raises(ValueError, match="no column 'when'"):
        read_series(path, time_column="when")
    series = read_series(path)
    np.testing.assert_array_equal(series.t, [0.0, 1.0])
    assert series.summary()["num_samples"] == 2


def test_datasets_command_lists_and_summarises_the_series(
    data_server, tmp_path, monkeypatch, capsys
):
    import argparse

    parser = argparse.ArgumentParser()
    add_parsers(parser.add_subparsers(), None)
    args = parser.parse_args(["datasets", "list", "--root", str(tmp_path)])
    assert args.func(args) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if "lynx" in line)
    assert "series" in row and "91" in row
    monkeypatch.setenv("DYNGRAPH_MIRROR", data_server)
    root = str(tmp_path)
    args = parser.parse_args(["datasets", "stats", "lynx-hare", "--root", root])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "num_samples" in out and "Hare, Lynx" in out


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ('a,b\n1,2\n3,4,5,6\n4,"5\n', 3, "found 4 field(s) where the header has 2"),
        ('a,b\n1,2\n4,"5\n', 3, "not a CSV row"),
        ("0,1,2\n1,2,3\n", 1, "no header"),
        ("t,a\n0,1\n\ufeff1,2\n", 3, "byte-order mark"),
        ("t,a\n0,1\n1," + "9" * 10_000 + "\n", 3, "too large for float64"),
        ("# notes\n\nt,a\n# more\n0,1\n0,2\n", 6, "time 0 in 't' follows 0"),
        ("a,a\n1,2\n", 1, "appears twice"),
    ],
)
def test_read_series_files_from_the_wild(tmp_path, text, line, fragment):
    path = tmp_path / "w.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(MalformedFileError) as caught:
        read_series(path)
    assert caught.value.line == line and fragment in str(caught.value)
    assert str(caught.value).startswith(f"{path}:{line}: ")
    assert len(str(caught.value)) < 400


def test_read_series_skips_comments_and_a_leading_bom(tmp_path):
    path = tmp_path / "ok.csv"
    path.write_text("\ufeff# made by hand\nTime,a\n# mid\n0,1\n\n2,3\n")
    series = read_series(path)
    assert series.names == ("a",) and series.time_column == "Time"
    np.testing.assert_array_equal(series.t, [0.0, 2.0])
    path.write_text("# t,a\n0,1\n1,2\n")
    with pytest.raises(MalformedFileError, match="line 1 is a comment"):
        read_series(path)
    path.write_text("a\n1\n2\n")
    assert read_series(path).time_column is None
