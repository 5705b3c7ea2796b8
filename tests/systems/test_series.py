import shutil

import numpy as np
import pytest

from dyngraph.systems import load_lynx_hare
from dyngraph.systems.datasets import read_series


def test_lynx_hare_from_the_mirror(data_server, tmp_path, monkeypatch):
    monkeypatch.setenv("DYNGRAPH_MIRROR", data_server)
    series = load_lynx_hare(root=tmp_path)
    assert series.names == ("Hare", "Lynx")
    assert series.x.shape == (91, 2) and series.t[0] == 1845 and series.t[-1] == 1935
    np.testing.assert_allclose(series.x[0], [19.58, 30.09])
    assert (tmp_path / "lynx-hare" / "raw" / "lynxhare.csv").is_file()


def test_lynx_hare_checksum_rejects_a_changed_file(shared_data, tmp_path, serve_dir):
    mirror = tmp_path / "mirror" / "lynx-hare"
    mirror.mkdir(parents=True)
    shutil.copy(shared_data / "lynx-hare" / "lynxhare.csv", mirror / "lynxhare.csv")
    with open(mirror / "lynxhare.csv", "a") as handle:
        handle.write("1936,1.0,1.0\n")
    url = serve_dir(tmp_path / "mirror") + "/lynx-hare/lynxhare.csv"
    with pytest.raises(ValueError, match="SHA256"):
        load_lynx_hare(url, root=tmp_path / "data")
    assert not (tmp_path / "data" / "lynx-hare" / "raw" / "lynxhare.csv").exists()


def test_read_series_reports_the_bad_line(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("time,a,b\n0,1,2\n1,x,3\n")
    with pytest.raises(ValueError, match="line 3: column 'a'"):
        read_series(path)
    path.write_text("t,a\n0,1\n0,2\n")
    with pytest.raises(ValueError, match="increase strictly"):
        read_series(path)
    path.write_text("a,b\n1,2\n3,4\n")
    series = read_series(path)
    np.testing.assert_array_equal(series.t, [0.0, 1.0])
