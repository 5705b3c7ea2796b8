"""SEMBA faults at the command line: interrupts, NaN losses, hostile checkpoints.

Each ends in one line, never a traceback (see :mod:`dyngraph.cli`); the fits
run on a tiny generated signed stream, so nothing is downloaded.
"""

from __future__ import annotations

import json
import math
import signal
import subprocess
import sys
import textwrap

import pytest
import torch

from dyngraph.cli import main
from dyngraph.models.semba import SEMBA
from tests.faults import fit_args, one_line, serve_tiny_streams

RECIPE = (
    "[model]\nmemory_dim = 4\ntime_dim = 2\nembedding_dim = 4\nnum_neighbors = 2\n"
    "heads = 1\n[data]\nbatch_size = 50\n[fit]\nepochs = 2\n"
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


def test_ctrl_c_in_a_fit_says_how_to_resume_and_loses_nothing(
    tmp_path, tiny_data, capsys, monkeypatch
):
    args = fit_args(tmp_path, "semba", "signed", RECIPE)
    assert main([*args[:-1], str(tmp_path / "straight")]) == 0
    expected = SEMBA.load(tmp_path / "straight" / "semba-signed-sign.pt")
    capsys.readouterr()

    original, calls = SEMBA.training_step, []

    def interrupted(self, batch):
        calls.append(1)
        if len(calls) == 6:  # in the second epoch (4 batches per epoch)
            raise KeyboardInterrupt
        return original(self, batch)

    monkeypatch.setattr(SEMBA, "training_step", interrupted)
    assert main(args) == 130
    err = one_line(capsys.readouterr().err)
    assert err.startswith("dyngraph: interrupted")
    assert f"{tmp_path / 'out'}/" in err and "--resume" in err
    monkeypatch.setattr(SEMBA, "training_step", original)
    assert main([*args, "--resume"]) == 0
    report = json.loads((tmp_path / "out" / "semba-signed-sign.json").read_text())
    assert len(report["history"]) == 2
    resumed = SEMBA.load(tmp_path / "out" / "semba-signed-sign.pt")
    torch.testing.assert_close(resumed.state_dict(), expected.state_dict())


def test_a_real_sigint_exits_130_with_one_line(tmp_path):
    script = textwrap.dedent(
        """
        import sys, time
        import dyngraph.models.semba.cli as family

        def slow(*args, **kwargs):
            print("ready", flush=True)
            time.sleep(60)

        family.fit_from_recipe = slow
        from dyngraph.cli import main
        sys.exit(main(["fit", "semba", "--output", sys.argv[1]]))
        """
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script, str(tmp_path / "run")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout.readline() == "ready\n"
        child.send_signal(signal.SIGINT)
        _, err = child.communicate(timeout=30)
    finally:
        child.kill()
    assert child.returncode == 130
    assert one_line(err).startswith("dyngraph: interrupted")
    assert "--resume" in err and str(tmp_path / "run") in err


def test_a_non_finite_loss_is_one_line_saying_what_to_do(
    tmp_path, tiny_data, capsys, monkeypatch
):
    original = SEMBA.forward
    monkeypatch.setattr(SEMBA, "forward", lambda self, b: original(self, b) * math.nan)
    assert main(fit_args(tmp_path, "semba", "signed", RECIPE)) == 1
    err = one_line(capsys.readouterr().err)
    assert err.startswith("dyngraph: error: SEMBA sign: the loss is nan at epoch 0")
    assert "[fit] lr" in err and "--resume" in err


def test_resuming_with_other_model_settings_is_refused(tmp_path, tiny_data, capsys):
    args = fit_args(tmp_path, "semba", "signed", RECIPE, "--epochs", "1")
    assert main(args) == 0
    (tmp_path / "semba.toml").write_text(
        RECIPE.replace("memory_dim = 4", "memory_dim = 6")
    )
    capsys.readouterr()
    assert main([*args, "--resume"]) == 1
    err = one_line(capsys.readouterr().err)
    checkpoint = tmp_path / "out" / "semba-signed-sign.ckpt"
    assert err.startswith(f"dyngraph: error: {checkpoint}: cannot resume")
    assert "there and" in err and "(and " in err and "drop --resume" in err


@pytest.mark.parametrize("epochs", ["0", "-2"])
def test_epochs_below_one_are_refused_before_any_download(tmp_path, capsys, epochs):
    args = ["fit", "semba", "--epochs", epochs, "--url", "http://127.0.0.1:9/x"]
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
        ("[fit]\nepochs = -1\n", "[fit] epochs = -1 must be >= 1"),
        ("[fit]\nlr = -0.1\n", "[fit] lr = -0.1 must be a finite number > 0"),
        ("[fit]\npatience = -1\n", "[fit] patience = -1 must be >= 0"),
    ],
)
def test_out_of_range_recipe_values_are_refused_before_any_download(
    tmp_path, capsys, text, expected
):
    recipe = tmp_path / "bad.toml"
    recipe.write_text(text)
    args = ["fit", "semba", "--recipe", str(recipe), "--url", "http://127.0.0.1:9/x"]
    args += ["--root", str(tmp_path / "data")]
    assert main(args) == 1
    err = one_line(capsys.readouterr().err)
    assert err == f"dyngraph: error: {recipe}: {expected}\n"
    assert not (tmp_path / "data").exists()
