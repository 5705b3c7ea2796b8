"""Shared fixtures: the real data folder and local HTTP servers."""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def _serve(directory: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def pytest_configure(config: pytest.Config) -> None:
    """Register the suite's markers, once."""
    for marker in (
        "slow: long-running tests (still run by default)",
        "gpu: needs a CUDA GPU (skipped without one)",
        "notebook: executes a tutorial notebook",
    ):
        config.addinivalue_line("markers", marker)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The project's real datasets (``../shared/data``); skips when absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(
            f"real datasets not available: {SHARED_DATA} does not exist "
            "(tests that need them are skipped outside the project workspace)"
        )
    return SHARED_DATA


@pytest.fixture(scope="session")
def data_server(shared_data: Path) -> Iterator[str]:
    """Base URL of an HTTP server on 127.0.0.1 serving ``shared_data``."""
    server, url = _serve(shared_data)
    yield url
    server.shutdown()
    server.server_close()


@pytest.fixture
def serve_dir() -> Iterator[Callable[[Path], str]]:
    """Start an HTTP server for any folder; returns its base URL."""
    servers = []

    def start(directory: Path) -> str:
        server, url = _serve(directory)
        servers.append(server)
        return url

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()
