import dataclasses
import gzip
import hashlib
import os
import shutil
import socket
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse
import torch

from dyngraph.data import datasets
from dyngraph.data.datasets import (
    PARSERS,
    ChecksumError,
    DatasetError,
    DownloadError,
    StatsMismatchError,
    data_root,
    dataset_stats,
    download,
    info,
    is_downloaded,
    list_datasets,
    load,
    parse,
)
from dyngraph.data.events import EventStream

# figures from the SNAP / SuiteSparse pages and ../shared/data/*/PROVENANCE.md,
# written out here so that the registry is checked against them, not itself
SHARED_STREAMS = {
    "bitcoin-otc": (
        "bitcoin-otc/soc-sign-bitcoinotc.csv.gz",
        "soc-sign-bitcoinotc.csv.gz",
        {
            "num_nodes": 5881,
            "num_events": 35592,
            "start_time": 1289241911.72836,
            "end_time": 1453684323.75728,
            "num_positive": 32029,
            "num_negative": 3563,
            "weight_min": -10.0,
            "weight_max": 10.0,
        },
    ),
    "college-msg": (
        "college-msg/CollegeMsg.txt",
        "CollegeMsg.txt",
        {
            "num_nodes": 1899,
            "num_events": 59835,
            "start_time": 1082040961,
            "end_time": 1098777142,
        },
    ),
    "email-eu-core-temporal-dept3": (
        "email-eu-core-temporal-dept3/out.email-Eu-core-temporal-Dept3",
        "email-Eu-core-temporal-Dept3.txt",
        {"num_nodes": 89, "num_events": 12216, "num_static_edges": 1506},
    ),
}
DELAUNAY = {10: (1024, 3056), 12: (4096, 12264), 14: (16384, 49122)}


def closed_port_url(path: str) -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/{path}"


def files_under(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.is_file())


def count_parses(monkeypatch, parser_name: str, bump: int = 0) -> list[Path]:
    calls: list[Path] = []
    parser = PARSERS[parser_name]

    def read(path):
        calls.append(path)
        return parser.read(path)

    replaced = dataclasses.replace(parser, version=parser.version + bump, read=read)
    monkeypatch.setitem(PARSERS, parser_name, replaced)
    return calls


def assert_same(a, b) -> None:
    if isinstance(a, EventStream):
        assert a.fields().keys() == b.fields().keys()
        for key, value in a.fields().items():
            assert getattr(b, key).dtype == value.dtype, key
            assert torch.equal(getattr(b, key), value), key
        assert (a.num_nodes, a.name) == (b.num_nodes, b.name)
        assert np.array_equal(a.node_ids, b.node_ids)
    else:
        assert a.shape == b.shape and (a != b).nnz == 0


# --------------------------------------------------------------------------
# the real download path, against a local server


@pytest.mark.parametrize("name", sorted(SHARED_STREAMS))
def test_download_and_load_shared_streams(name, data_server, tmp_path):
    served, stored, expected = SHARED_STREAMS[name]
    stream = load(name, root=tmp_path, url=f"{data_server}/{served}")
    summary = stream.summary()
    for key, value in expected.items():
        assert summary[key] == value, key
    assert stream.name == name
    assert files_under(tmp_path / name) == sorted([stored, "cache.bin"])
    assert (tmp_path / name / "raw" / stored).is_file()


def test_email_dept3_time_span(data_server, tmp_path):
    served = SHARED_STREAMS["email-eu-core-temporal-dept3"][0]
    stream = load(
        "email-eu-core-temporal-dept3", root=tmp_path, url=f"{data_server}/{served}"
    )
    span_days = (stream.end_time - stream.start_time) / 86400
    assert stream.start_time == 0 and round(span_days, 1) == 802.3
    assert not stream.is_signed


@pytest.mark.parametrize("n", sorted(DELAUNAY))
def test_download_and_load_delaunay(n, data_server, tmp_path):
    name = f"suitesparse:DIMACS10/delaunay_n{n}"
    url = f"{data_server}/suitesparse-graphs/delaunay_n{n}.mtx"
    matrix = load(name, root=tmp_path, url=url)
    nodes, edges = DELAUNAY[n]
    assert isinstance(matrix, scipy.sparse.csr_matrix)
    assert matrix.shape == (nodes, nodes)
    assert matrix.nnz == 2 * edges and (matrix != matrix.T).nnz == 0
    assert set(np.unique(matrix.data)) == {1.0}
    raw = tmp_path / "suitesparse" / "DIMACS10" / f"delaunay_n{n}" / "raw"
    assert files_under(raw) == [f"delaunay_n{n}.mtx"]  # served plain, named so
    stats = dataset_stats(name, root=tmp_path)
    assert stats["num_edges"] == edges and stats["expected"]["num_edges"] == edges


def test_mirror_variable_tries_compressed_then_plain_name(
    data_server, tmp_path, monkeypatch
):
    monkeypatch.setenv("DYNGRAPH_MIRROR", data_server + "/")
    otc = load("bitcoin-otc", root=tmp_path)  # served as .csv.gz
    college = load("college-msg", root=tmp_path)  # only CollegeMsg.txt is served
    assert otc.num_events == 35592 and college.num_events == 59835
    assert files_under(tmp_path / "college-msg" / "raw") == ["CollegeMsg.txt"]


def test_download_returns_the_verified_file(shared_data, data_server, tmp_path):
    served = SHARED_STREAMS["bitcoin-otc"][0]
    path = download(
        "bitcoin-otc", root=tmp_path, url=f"{data_server}/{served}", progress=False
    )
    assert path == tmp_path / "bitcoin-otc" / "raw" / "soc-sign-bitcoinotc.csv.gz"
    assert path.read_bytes() == (shared_data / served).read_bytes()
    again = download("bitcoin-otc", root=tmp_path, url=closed_port_url("x.gz"))
    assert again == path  # present: verified, not downloaded


# --------------------------------------------------------------------------
# integrity


def test_content_checksum_mismatch_leaves_no_file(shared_data, tmp_path, serve_dir):
    served = tmp_path / "served"
    served.mkdir()
    text = (shared_data / "college-msg" / "CollegeMsg.txt").read_text()
    (served / "CollegeMsg.txt").write_text(text.replace("1082040961", "1082040962"))
    url = serve_dir(served) + "/CollegeMsg.txt"
    root = tmp_path / "root"
    with pytest.raises(ChecksumError, match="sha256") as caught:
        download("college-msg", root=root, url=url, progress=False)
    assert "deleted" in str(caught.value)
    assert files_under(root) == []
    with pytest.raises(ChecksumError):
        load("college-msg", root=root, url=url)
    assert files_under(root) == []


def test_truncated_download_leaves_no_file(shared_data, tmp_path, serve_dir):
    served = tmp_path / "served"
    served.mkdir()
    data = (shared_data / SHARED_STREAMS["bitcoin-otc"][0]).read_bytes()
    (served / "otc.csv.gz").write_bytes(data[: len(data) // 2])
    root = tmp_path / "root"
    with pytest.raises(ChecksumError, match="corrupt"):
        load("bitcoin-otc", root=root, url=serve_dir(served) + "/otc.csv.gz")
    assert files_under(root) == []


def test_served_file_checksum_goes_through_pooch(
    shared_data, data_server, tmp_path, monkeypatch
):
    original = shared_data / "college-msg" / "CollegeMsg.txt"
    entry = dataclasses.replace(
        info("college-msg"),
        url=f"{data_server}/college-msg/CollegeMsg.txt",
        filename="CollegeMsg.txt",
        alt_filenames=(),
        content_sha256=None,
        sha256="0" * 64,
    )
    monkeypatch.setitem(datasets._REGISTRY, "college-msg", entry)
    with pytest.raises(ChecksumError, match="discarded"):
        download("college-msg", root=tmp_path, progress=False)
    assert files_under(tmp_path) == []

    good = hashlib.sha256(original.read_bytes()).hexdigest()
    monkeypatch.setitem(
        datasets._REGISTRY, "college-msg", dataclasses.replace(entry, sha256=good)
    )
    assert load("college-msg", root=tmp_path).num_events == 59835


def test_offline_error_names_url_and_manual_path(tmp_path, monkeypatch):
    url = closed_port_url("CollegeMsg.txt.gz")
    with pytest.raises(DownloadError) as caught:
        load("college-msg", root=tmp_path, url=url)
    message = str(caught.value)
    raw = tmp_path / "college-msg" / "raw"
    assert url in message
    assert str(raw / "CollegeMsg.txt.gz") in message
    assert str(raw / "CollegeMsg.txt") in message
    assert files_under(tmp_path) == []

    mirror = closed_port_url("").rstrip("/")
    monkeypatch.setenv("DYNGRAPH_MIRROR", mirror)
    with pytest.raises(DownloadError) as caught:
        download("college-msg", root=tmp_path, progress=False)
    assert f"{mirror}/college-msg/CollegeMsg.txt.gz" in str(caught.value)
    assert f"{mirror}/college-msg/CollegeMsg.txt " in str(caught.value)


def test_http_error_is_a_download_error(data_server, tmp_path):
    with pytest.raises(DownloadError, match="404"):
        download("bitcoin-alpha", root=tmp_path, url=f"{data_server}/nope.gz")


def test_file_placed_by_hand_is_verified_not_downloaded(shared_data, tmp_path):
    raw = tmp_path / "college-msg" / "raw"
    raw.mkdir(parents=True)
    shutil.copy(shared_data / "college-msg" / "CollegeMsg.txt", raw)
    offline = closed_port_url("CollegeMsg.txt.gz")
    assert load("college-msg", root=tmp_path, url=offline).num_events == 59835

    (raw / "CollegeMsg.txt").write_text("1 2 3\n")
    with pytest.raises(ChecksumError):
        load("college-msg", root=tmp_path, url=offline, force_reload=True)
    assert not (raw / "CollegeMsg.txt").exists()


def test_unvouched_file_with_wrong_statistics_is_deleted(
    shared_data, tmp_path, serve_dir
):
    served = tmp_path / "served"
    served.mkdir()
    source = shared_data / "email-eu-core-temporal-dept3"
    lines = (source / "out.email-Eu-core-temporal-Dept3").read_text().splitlines()
    (served / "dept3.txt").write_text("\n".join(lines[:-10]) + "\n")
    root = tmp_path / "root"
    with pytest.raises(StatsMismatchError, match="num_events is 12206, expected 12216"):
        load(
            "email-eu-core-temporal-dept3",
            root=root,
            url=serve_dir(served) + "/dept3.txt",
        )
    assert files_under(root) == []


def test_unvouched_unreadable_file_is_deleted(tmp_path, serve_dir):
    served = tmp_path / "served"
    served.mkdir()
    (served / "page.html").write_text("<html>\n<body>moved</body>\n</html>\n")
    root = tmp_path / "root"
    with pytest.raises(ChecksumError, match=r"email-Eu-core-temporal-Dept3.txt:1: "):
        load(
            "email-eu-core-temporal-dept3",
            root=root,
            url=serve_dir(served) + "/page.html",
        )
    assert files_under(root) == []


# --------------------------------------------------------------------------
# processed cache


@pytest.mark.parametrize(
    "name, served, parser",
    [
        ("college-msg", "college-msg/CollegeMsg.txt", "snap-temporal"),
        ("bitcoin-otc", "bitcoin-otc/soc-sign-bitcoinotc.csv.gz", "snap-signed"),
        (
            "suitesparse:DIMACS10/delaunay_n10",
            "suitesparse-graphs/delaunay_n10.mtx",
            "matrix-market",
        ),
    ],
)
def test_cache_equals_fresh_parse(
    name, served, parser, data_server, tmp_path, monkeypatch
):
    calls = count_parses(monkeypatch, parser)
    fresh = load(name, root=tmp_path, url=f"{data_server}/{served}")
    cached = load(name, root=tmp_path)
    assert len(calls) == 1
    assert_same(fresh, cached)
    forced = load(name, root=tmp_path, force_reload=True)
    assert len(calls) == 2
    assert_same(fresh, forced)


@pytest.fixture
def toy(tmp_path, serve_dir, monkeypatch):
    """A registry entry without hashes or statistics, served from tmp_path."""
    served = tmp_path / "served"
    served.mkdir()
    (served / "toy.txt").write_text("1 2 10\n2 3 20\n")
    entry = datasets.DatasetInfo(
        name="toy",
        description="two events",
        url=serve_dir(served) + "/toy.txt",
        filename="toy.txt",
        parser="snap-temporal",
    )
    monkeypatch.setitem(datasets._REGISTRY, "toy", entry)
    return tmp_path / "root", tmp_path / "root" / "toy" / "raw" / "toy.txt"


def test_cache_invalidated_by_changed_raw_file(toy, monkeypatch):
    root, raw = toy
    calls = count_parses(monkeypatch, "snap-temporal")
    assert load("toy", root=root).num_events == 2
    raw.write_text("1 2 10\n2 3 20\n3 1 30\n")  # new size
    assert load("toy", root=root).num_events == 3
    raw.write_text("1 2 10\n2 3 20\n3 1 31\n")  # same size, new content
    later(raw)
    assert load("toy", root=root).end_time == 31
    assert len(calls) == 3
    later(raw)  # same content, new time: re-hashed, the cache still holds
    assert load("toy", root=root).end_time == 31
    assert len(calls) == 3


def later(path: Path) -> None:
    """Move the modification time on (file systems may keep coarse times)."""
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))


def test_cache_invalidated_by_parser_version(toy, monkeypatch):
    root, _ = toy
    load("toy", root=root)
    calls = count_parses(monkeypatch, "snap-temporal", bump=1)
    load("toy", root=root)
    load("toy", root=root)
    assert len(calls) == 1


def test_corrupt_cache_is_rebuilt(toy, monkeypatch):
    root, _ = toy
    first = load("toy", root=root)
    cache = root / "toy" / "processed" / "cache.bin"
    cache.write_bytes(cache.read_bytes()[:100])
    calls = count_parses(monkeypatch, "snap-temporal")
    assert_same(first, load("toy", root=root))
    assert len(calls) == 1
    assert files_under(root / "toy" / "processed") == ["cache.bin"]


# --------------------------------------------------------------------------
# registry and data root


def test_data_root(tmp_path, monkeypatch, data_server):
    monkeypatch.setenv("DYNGRAPH_DATA", str(tmp_path))
    assert data_root() == tmp_path
    served = SHARED_STREAMS["college-msg"][0]
    path = download("college-msg", url=f"{data_server}/{served}", progress=False)
    assert path == tmp_path / "college-msg" / "raw" / "CollegeMsg.txt"
    monkeypatch.delenv("DYNGRAPH_DATA")
    checkout = Path(datasets.__file__).resolve().parents[2]
    assert data_root() == checkout / "data"  # the tests run from a checkout


def test_unknown_name_lists_known_names_and_close_matches():
    with pytest.raises(ValueError, match="Did you mean 'college-msg'") as caught:
        info("colege-msg")
    for name in list_datasets():
        assert name in str(caught.value)
    assert info("College_Msg").name == "college-msg"


REQUIRED = [
    "bitcoin-otc",
    "bitcoin-alpha",
    "wiki-rfa",
    "college-msg",
    "email-eu-core-temporal",
    *[f"email-eu-core-temporal-dept{k}" for k in range(1, 5)],
    "wikipedia",
    "reddit",
    "mooc",
    "lastfm",
    *[f"suitesparse:DIMACS10/delaunay_n{n}" for n in (10, 12, 14)],
]
PUBLISHED = {
    "bitcoin-alpha": (3783, 24186),
    "college-msg": (1899, 59835),
    "email-eu-core-temporal": (986, 332334),
    "email-eu-core-temporal-dept1": (309, 61046),
    "email-eu-core-temporal-dept2": (162, 46772),
    "email-eu-core-temporal-dept4": (142, 48141),
    "wikipedia": (9227, 157474),
    "reddit": (10984, 672447),
    "mooc": (7144, 411749),
    "lastfm": (1980, 1293103),
}


def test_registry_entries():
    assert set(REQUIRED) <= set(list_datasets())
    for name in list_datasets():
        entry = info(name)
        assert entry.parser in PARSERS
        assert entry.url.startswith("https://") and entry.url.endswith(entry.filename)
        assert entry.citation and entry.licence and entry.homepage
        for digest in (entry.sha256, entry.content_sha256):
            assert digest is None or len(bytes.fromhex(digest)) == 32
    for name, (nodes, events) in PUBLISHED.items():
        assert (info(name).num_nodes, info(name).num_events) == (nodes, events)
        assert f"{nodes:,}" in info(name).description
    assert info("mooc").url == "https://snap.stanford.edu/jodie/mooc.csv"
    assert info("wiki-rfa").expected_stats() == {}  # SNAP's figures are not comparable
    generic = info("suitesparse:SNAP/wiki-Vote")
    assert generic.url == "https://sparse.tamu.edu/MM/SNAP/wiki-Vote.tar.gz"
    assert generic.folder == "suitesparse/SNAP/wiki-Vote"


def test_recorded_hashes_match_the_real_files(shared_data):
    otc = gzip.decompress(
        (shared_data / "bitcoin-otc" / "soc-sign-bitcoinotc.csv.gz").read_bytes()
    )
    college = (shared_data / "college-msg" / "CollegeMsg.txt").read_bytes()
    pelts = (shared_data / "lynx-hare" / "lynxhare.csv").read_bytes()
    assert info("bitcoin-otc").content_sha256 == hashlib.sha256(otc).hexdigest()
    assert info("college-msg").content_sha256 == hashlib.sha256(college).hexdigest()
    assert info("lynx-hare").sha256 == hashlib.sha256(pelts).hexdigest()
    recorded = [
        name
        for name in list_datasets()
        if info(name).sha256 or info(name).content_sha256
    ]
    assert recorded == ["bitcoin-otc", "college-msg", "lynx-hare"]  # nothing else


def test_describe_is_downloaded_and_parse(shared_data, tmp_path):
    text = " ".join(info("college-msg").describe().split())  # ignore wrapping
    for part in (
        "Panzarasa",
        "https://snap.stanford.edu/data/CollegeMsg.txt.gz",
        "num_events=59,835",
        "end_time=1,098,777,142 (verified on a real copy)",
        "CollegeMsg.txt",
    ):
        assert part in text
    assert "no statistics" in info("wiki-rfa").describe()
    assert not is_downloaded("college-msg", root=tmp_path)
    raw = tmp_path / "college-msg" / "raw"
    raw.mkdir(parents=True)
    shutil.copy(shared_data / "college-msg" / "CollegeMsg.txt", raw)
    assert is_downloaded("college-msg", root=tmp_path)
    stream = parse("college-msg", raw / "CollegeMsg.txt")
    assert stream.name == "college-msg" and stream.num_events == 59835
    assert not (tmp_path / "college-msg" / "processed").exists()  # parse caches nothing
    assert data_root(tmp_path) == tmp_path


def test_error_classes():
    assert issubclass(DownloadError, DatasetError) and issubclass(
        DownloadError, OSError
    )
    assert issubclass(ChecksumError, DatasetError) and issubclass(
        ChecksumError, ValueError
    )
    assert issubclass(StatsMismatchError, ChecksumError)
