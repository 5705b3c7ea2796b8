"""PiVeM's faults at the command line: another dataset's checkpoint, bad ranges.

Each ends in one line, never a traceback (see :mod:`dyngraph.cli`); the fits
run on tiny generated streams, so nothing is downloaded.
"""

from __future__ import annotations

import pytest
import torch

from dyngraph.cli import main
from dyngraph.models.pivem import PiVeM
from tests.faults import fit_args, one_line, serve_tiny_streams

RECIPE = (
    "[model]\nnum_bins = 3\nnum_communities = 2\n[fit]\nepochs = 3\nbatch_size = 0\n"
)


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def tiny_data(monkeypatch):
    return serve_tiny_streams(monkeypatch)


def test_resuming_with_another_datasets_checkpoint_is_refused(
    tmp_path, tiny_data, capsys
):
    assert main(fit_args(tmp_path, "pivem", "latent10", RECIPE)) == 0
    phase0 = tmp_path / "out" / "checkpoints" / "phase0.pt"
    saved = phase0.read_bytes()
    capsys.readouterr()
    assert main(fit_args(tmp_path, "pivem", "latent14", RECIPE, "--resume")) == 1
    err = one_line(capsys.readouterr().err)
    assert err.startswith(f"dyngraph: error: {phase0}: cannot resume")
    assert "x0 is [10, 2] (float64) there and [14, 2] (float64) here" in err
    assert "--output" in err and "drop --resume" in err
    assert "size mismatch" not in err
    # the old run is kept; without --resume the new one starts afresh
    assert phase0.read_bytes() == saved
    assert PiVeM.load(tmp_path / "out" / "pivem.pt").num_nodes == 10
    assert main(fit_args(tmp_path, "pivem", "latent14", RECIPE)) == 0
    assert PiVeM.load(tmp_path / "out" / "pivem.pt").num_nodes == 14


@pytest.mark.parametrize("epochs", ["0", "-2"])
def test_epochs_below_one_are_refused_before_any_download(tmp_path, capsys, epochs):
    args = ["fit", "pivem", "--epochs", epochs, "--url", "http://127.0.0.1:9/x"]
    args += ["--root", str(tmp_path / "data"), "--output", str(tmp_path / "out")]
    with pytest.raises(SystemExit) as exc:
        main(args)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert f"argument --epochs: must be >= 1, got {epochs}" in err
    assert not (tmp_path / "data").exists() and not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[fit]\nepochs = 0\n", "[fit] epochs = 0 must be >= 1"),
        ("[fit]\nlr = nan\n", "[fit] lr = nan must be a finite number > 0"),
    ],
)
def test_out_of_range_recipe_values_are_refused_before_any_download(
    tmp_path, capsys, text, expected
):
    recipe = tmp_path / "bad.toml"
    recipe.write_text(text)
    args = ["fit", "pivem", "--recipe", str(recipe), "--url", "http://127.0.0.1:9/x"]
    args += ["--root", str(tmp_path / "data")]
    assert main(args) == 1
    err = one_line(capsys.readouterr().err)
    assert err == f"dyngraph: error: {recipe}: {expected}\n"
    assert not (tmp_path / "data").exists()
