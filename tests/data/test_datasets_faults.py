"""Fault cases of the dataset registry: corrupted caches, hostile servers, locks.

Everything is served from 127.0.0.1 by small HTTP servers; every test runs in
well under a second or two.
"""

from __future__ import annotations

import dataclasses
import fcntl
import http.server
import json
import os
import struct
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from dyngraph.data import datasets
from dyngraph.data.datasets import (
    ChecksumError,
    DatasetError,
    DownloadError,
    StatsMismatchError,
    download,
    load,
)
from dyngraph.data.io import MalformedFileError
from tests.data.test_datasets import assert_same, count_parses, files_under

TOY = b"1 2 10\n2 3 20\n3 1 30\n"


class _Handler(http.server.BaseHTTPRequestHandler):
    """Serves ``TOY`` at any path; subclasses misbehave."""

    gets: list[str]

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        type(self).gets.append(self.path)
        self.send_response(200)
        self.send_header("Content-Length", str(len(TOY)))
        self.end_headers()
        self.wfile.write(TOY)


@pytest.fixture
def serve() -> Iterator[Callable[[type[_Handler]], str]]:
    """Start a server with a handler class; returns the URL of ``/toy.txt``."""
    servers = []

    def start(handler: type[_Handler]) -> str:
        handler.gets = []
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/toy.txt"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def toy(serve, tmp_path, monkeypatch) -> tuple[Path, Path]:
    """Register ``toy`` (no hashes, no statistics), served by ``_Handler``."""
    entry = datasets.DatasetInfo(
        name="toy",
        description="three events",
        url=serve(_Handler),
        filename="toy.txt",
        parser="snap-temporal",
    )
    monkeypatch.setitem(datasets._REGISTRY, "toy", entry)
    root = tmp_path / "root"
    return root, root / "toy" / "raw"


def cache_layout(cache: Path) -> tuple[int, dict]:
    """Offset of the array region and the JSON header of a cache file."""
    data = cache.read_bytes()
    (length,) = struct.unpack_from("<Q", data, len(datasets._CACHE_MAGIC))
    return datasets._PREFIX + length, json.loads(data[datasets._PREFIX :][:length])


# --------------------------------------------------------------------------
# the processed cache


def test_flipped_array_bytes_are_detected_and_rebuilt(toy, monkeypatch):
    root, _ = toy
    first = load("toy", root=root)
    cache = root / "toy" / "processed" / "cache.bin"
    start, header = cache_layout(cache)
    offset = {key: at for key, _, _, at in header["arrays"]}["t"]
    data = bytearray(cache.read_bytes())
    data[start + offset] ^= 0xFF  # the first time, same file size
    cache.write_bytes(bytes(data))
    calls = count_parses(monkeypatch, "snap-temporal")
    assert_same(first, load("toy", root=root))
    assert len(calls) == 1  # rebuilt from the raw file ...
    assert_same(first, load("toy", root=root))
    assert len(calls) == 1  # ... and the rebuilt cache is used again


def test_edited_header_metadata_is_detected(toy, monkeypatch):
    root, _ = toy
    first = load("toy", root=root)
    cache = root / "toy" / "processed" / "cache.bin"
    data = cache.read_bytes()
    nodes = f'"num_nodes": {first.num_nodes}'.encode()
    assert data.count(nodes) == 1
    cache.write_bytes(data.replace(nodes, nodes[:-1] + b"7"))  # same size
    calls = count_parses(monkeypatch, "snap-temporal")
    assert load("toy", root=root).num_nodes == first.num_nodes
    assert len(calls) == 1


@pytest.mark.parametrize("length", [2**62, 2**64 - 1, "file size"])
def test_corrupt_header_length_is_rebuilt_without_allocating(length, toy, monkeypatch):
    root, _ = toy
    first = load("toy", root=root)
    cache = root / "toy" / "processed" / "cache.bin"
    data = bytearray(cache.read_bytes())
    value = len(data) if length == "file size" else length
    struct.pack_into("<Q", data, len(datasets._CACHE_MAGIC), value)
    cache.write_bytes(bytes(data))
    calls = count_parses(monkeypatch, "snap-temporal")
    assert_same(first, load("toy", root=root))  # no MemoryError
    assert len(calls) == 1


def test_cache_of_the_old_format_is_rebuilt(toy, monkeypatch):
    root, _ = toy
    load("toy", root=root)
    cache = root / "toy" / "processed" / "cache.bin"
    data = cache.read_bytes()
    cache.write_bytes(b"DYNGRAPH-CACHE-1" + data[len(datasets._CACHE_MAGIC) :])
    calls = count_parses(monkeypatch, "snap-temporal")
    assert load("toy", root=root).num_events == 3
    assert len(calls) == 1
    assert cache.read_bytes().startswith(datasets._CACHE_MAGIC)


def read_only(folder: Path, monkeypatch) -> None:
    """Make ``folder`` read-only; as root, also make writing the cache fail."""
    for path in [folder, *folder.rglob("*")]:
        path.chmod(0o555 if path.is_dir() else 0o444)
    if os.geteuid() == 0:  # root ignores the modes

        def refuse(*args, **kwargs):
            raise PermissionError(30, "Read-only file system", kwargs.get("dir"))

        monkeypatch.setattr(datasets.tempfile, "NamedTemporaryFile", refuse)


def test_read_only_root_with_the_raw_file_still_loads(toy, monkeypatch):
    root, raw = toy
    raw.mkdir(parents=True)
    (raw / "toy.txt").write_bytes(TOY)
    read_only(root, monkeypatch)
    try:
        with pytest.warns(RuntimeWarning, match="could not write the cache"):
            first = load("toy", root=root)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # warned once, not on every load
            again = load("toy", root=root)
    finally:
        for path in [root, *root.rglob("*")]:
            path.chmod(0o755)
    assert first.num_events == again.num_events == 3
    assert _Handler.gets == []  # nothing downloaded
    assert files_under(root) == ["toy.txt"]


# --------------------------------------------------------------------------
# bad files that cannot be deleted


def refuse_unlink(monkeypatch, target: Path) -> None:
    original = Path.unlink

    def unlink(self, missing_ok=False):
        if self == target:
            raise PermissionError(13, "Permission denied", str(self))
        original(self, missing_ok=missing_ok)

    monkeypatch.setattr(Path, "unlink", unlink)


def test_failed_delete_does_not_hide_a_checksum_error(tmp_path, monkeypatch):
    raw = tmp_path / "college-msg" / "raw"
    raw.mkdir(parents=True)
    bad = raw / "CollegeMsg.txt"
    bad.write_text("1 2 3\n")
    refuse_unlink(monkeypatch, bad)
    with pytest.raises(ChecksumError, match="sha256") as caught:
        load("college-msg", root=tmp_path)
    message = str(caught.value)
    assert "could not be deleted" in message and "Permission denied" in message
    assert isinstance(caught.value.__cause__, PermissionError)
    assert bad.exists()


@pytest.mark.parametrize(
    "content, error, cause",
    [
        (b"<html>\n</html>\n", ChecksumError, MalformedFileError),
        (TOY, StatsMismatchError, PermissionError),
    ],
    ids=["unreadable", "wrong-statistics"],
)
def test_failed_delete_of_an_unvouched_file_names_both(
    content, error, cause, toy, monkeypatch
):
    root, raw = toy
    entry = datasets._REGISTRY["toy"]
    monkeypatch.setitem(
        datasets._REGISTRY,
        "toy",
        dataclasses.replace(entry, num_events=99),
    )
    raw.mkdir(parents=True)
    (raw / "toy.txt").write_bytes(content)
    refuse_unlink(monkeypatch, raw / "toy.txt")
    with pytest.raises(error) as caught:
        load("toy", root=root)
    message = str(caught.value)
    assert "could not be deleted" in message and "Permission denied" in message
    assert "num_events is 3, expected 99" in message or "toy.txt:1" in message
    assert isinstance(caught.value.__cause__, cause)


# --------------------------------------------------------------------------
# downloads


def test_orphans_of_a_killed_download_are_removed_not_used(toy):
    root, raw = toy
    staging = root / "toy" / ".download"
    raw.mkdir(parents=True)
    staging.mkdir()
    (staging / "toy.txt").write_text("9 9 99\n")  # complete-looking leftover
    (staging / "tmpq1w2e3r4").write_text("9 9 9")
    orphans = [raw / "tmpa1b2c3d4", raw / "toy.txt.tmp"]
    for orphan in orphans:
        orphan.write_text("9 9 9")
        os.utime(orphan, (time.time() - 3600,) * 2)
    fresh = raw / "tmpz9y8x7w6"  # newer than this process: maybe in use
    fresh.write_text("9")
    stream = load("toy", root=root)
    assert stream.num_events == 3 and stream.end_time == 30
    assert len(_Handler.gets) == 1
    assert not any(orphan.exists() for orphan in orphans)
    assert not staging.exists()
    assert sorted(p.name for p in raw.iterdir()) == ["tmpz9y8x7w6", "toy.txt"]


class _Slow(_Handler):
    def do_GET(self) -> None:
        time.sleep(0.4)
        super().do_GET()


def test_concurrent_downloads_fetch_the_file_once(serve, toy, monkeypatch):
    root, raw = toy
    entry = datasets._REGISTRY["toy"]
    url = serve(_Slow)
    monkeypatch.setitem(datasets._REGISTRY, "toy", dataclasses.replace(entry, url=url))
    results: list[Path] = []

    def fetch() -> None:
        results.append(download("toy", root=root, progress=False))

    threads = [threading.Thread(target=fetch) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert results == [raw / "toy.txt"] * 2
    assert _Slow.gets == ["/toy.txt"]  # the second waited and reused it
    assert files_under(root) == ["toy.txt"]  # no lock file, no staging left


def test_lock_held_too_long_gives_a_clear_error(toy, monkeypatch):
    root, raw = toy
    raw.mkdir(parents=True)
    lock = raw / datasets._LOCK_NAME
    monkeypatch.setenv("DYNGRAPH_LOCK_TIMEOUT", "0.3")
    fd = os.open(lock, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        started = time.monotonic()
        with pytest.raises(DownloadError, match="another process") as caught:
            download("toy", root=root, progress=False)
        assert time.monotonic() - started < 5
    finally:
        os.close(fd)
    assert str(lock) in str(caught.value)
    assert "DYNGRAPH_LOCK_TIMEOUT" in str(caught.value)
    assert _Handler.gets == []
    assert download("toy", root=root, progress=False) == raw / "toy.txt"


class _RedirectElsewhere(_Handler):
    def do_GET(self) -> None:
        self.send_response(302)
        self.send_header("Location", "file:///etc/passwd")
        self.end_headers()


class _RedirectHere(_Handler):
    def do_GET(self) -> None:
        if self.path != "/moved.txt":
            self.send_response(301)
            self.send_header("Location", "/moved.txt")
            self.end_headers()
            return
        super().do_GET()


def test_redirect_to_another_scheme_is_reported_as_such(serve, toy):
    root, _ = toy
    url = serve(_RedirectElsewhere)
    with pytest.raises(DownloadError) as caught:
        load("toy", root=root, url=url)
    assert not isinstance(caught.value, ChecksumError)
    assert f"{url} redirects to 'file:///etc/passwd'" in str(caught.value)
    assert "not an http(s) URL" in str(caught.value)
    assert files_under(root) == []
    assert load("toy", root=root, url=serve(_RedirectHere)).num_events == 3


class _Trickle(_Handler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "100000")
        self.end_headers()
        try:
            for _ in range(500):  # ends by itself after 10 s at most
                self.wfile.write(b"1")
                self.wfile.flush()
                time.sleep(0.02)
        except OSError:  # the client gave up
            pass


def test_trickling_server_stops_at_the_deadline(serve, toy, monkeypatch):
    root, _ = toy
    url = serve(_Trickle)
    monkeypatch.setenv("DYNGRAPH_DOWNLOAD_TIMEOUT", "0.5")
    started = time.monotonic()
    with pytest.raises(DownloadError, match="DYNGRAPH_DOWNLOAD_TIMEOUT") as caught:
        load("toy", root=root, url=url)
    assert time.monotonic() - started < 4
    assert url in str(caught.value) and "0.5 s" in str(caught.value)
    assert files_under(root) == []


class _CutShort(_Handler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "1000")
        self.end_headers()
        self.wfile.write(TOY)  # then the connection closes


def test_transfer_cut_short_is_a_download_error(serve, toy):
    root, _ = toy
    url = serve(_CutShort)
    with pytest.raises(DownloadError, match="broke off") as caught:
        load("toy", root=root, url=url)
    assert url in str(caught.value)
    assert files_under(root) == []


@pytest.mark.parametrize("value", ["soon", "0", "-5", "nan"])
def test_bad_deadline_setting_is_named(value, toy, monkeypatch):
    root, _ = toy
    monkeypatch.setenv("DYNGRAPH_DOWNLOAD_TIMEOUT", value)
    with pytest.raises(DatasetError, match=f"DYNGRAPH_DOWNLOAD_TIMEOUT={value!r}"):
        download("toy", root=root, progress=False)
