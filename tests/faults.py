"""Helpers of the fault tests: one-line errors, tiny fits that download nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

import dyngraph.data
from dyngraph.data import latent_space_network, signed_faction_network


def one_line(err: str) -> str:
    """Return the one message line of ``err`` (after any progress bars)."""
    assert "Traceback" not in err
    lines = err.replace("\r", "\n").splitlines()
    messages = [line for line in lines if line.startswith("dyngraph:")]
    assert len(messages) == 1 and lines[-1] == messages[0] and err.endswith("\n")
    return messages[0] + "\n"


def fit_args(
    tmp_path: Path, family: str, dataset: str, recipe: str, *extra: str
) -> list[str]:
    """``dyngraph fit FAMILY`` on ``dataset`` with ``recipe`` (TOML text)."""
    path = tmp_path / f"{family}.toml"
    path.write_text(recipe)
    args = ["fit", family, "--dataset", dataset, "--recipe", str(path)]
    return [*args, "--output", str(tmp_path / "out"), *extra]


def serve_tiny_streams(monkeypatch: pytest.MonkeyPatch) -> dict:
    """Serve generated streams by name: ``signed``, ``latent10``, ``latent14``."""
    streams = {
        "signed": signed_faction_network(16, num_events=200, seed=1)[0],
        "latent10": latent_space_network(10, 4, seed=0)[0],
        "latent14": latent_space_network(14, 4, seed=1)[0],
    }

    def load(name, root=None, url=None, **kwargs):
        return streams[name]

    monkeypatch.setattr(dyngraph.data, "load", load)
    return streams
