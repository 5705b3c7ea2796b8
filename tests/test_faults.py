"""Faults at the command line: every one ends in one line, never a traceback.

Interrupts, closed pipes, unexpected errors and ``--debug``, on commands of
no model family; each family's fit faults (Ctrl-C in a fit, non-finite
losses, hostile checkpoints, out-of-range values) are tested in
``tests/models/<family>/test_faults.py``.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import dyngraph.data.datasets
from dyngraph.cli import main
from tests.faults import one_line


def test_ctrl_c_in_another_command_says_to_rerun(tmp_path, capsys, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(dyngraph.data.datasets, "download", interrupted)
    assert main(["datasets", "download", "bitcoin-otc", "--root", str(tmp_path)]) == 130
    err = one_line(capsys.readouterr().err)
    assert err == "dyngraph: interrupted; rerun the command to start it again\n"


# -- closed pipes ---------------------------------------------------------------


def test_a_closed_pipe_ends_quietly(tmp_path):
    # `dyngraph datasets list | head -0`: the reader is gone before the output
    child = subprocess.Popen(
        [sys.executable, "-m", "dyngraph", "datasets", "list"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        # buffered, as usual: the write fails in the flush, not in print()
        env={
            **{k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"},
            "DYNGRAPH_DATA": str(tmp_path),
        },
    )
    child.stdout.close()
    err = child.stderr.read().decode()
    assert child.wait(timeout=60) == 141
    assert err == ""


def test_a_broken_pipe_inside_a_command_is_quiet(capsys, monkeypatch):
    def closed():
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(dyngraph.data.datasets, "list_datasets", closed)
    assert main(["datasets", "list"]) == 141
    assert capsys.readouterr().err == ""


def test_an_unexpected_error_is_an_internal_error_line(capsys, monkeypatch):
    def bug(*args, **kwargs):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(dyngraph.data.datasets, "list_datasets", bug)
    assert main(["datasets", "list"]) == 1
    err = one_line(capsys.readouterr().err)
    assert err.startswith("dyngraph: internal error: ZeroDivisionError: division")
    assert "--debug" in err and "report it" in err


@pytest.mark.parametrize(
    ("argv", "env"),
    [
        (["--debug", "datasets", "list"], None),
        (["datasets", "list", "--debug"], None),
        (["datasets", "list"], "1"),
    ],
)
def test_debug_shows_the_traceback(argv, env, capsys, monkeypatch):
    def bug(*args, **kwargs):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(dyngraph.data.datasets, "list_datasets", bug)
    if env is None:
        monkeypatch.delenv("DYNGRAPH_DEBUG", raising=False)
    else:
        monkeypatch.setenv("DYNGRAPH_DEBUG", env)
    with pytest.raises(ZeroDivisionError):
        main(argv)
    monkeypatch.setattr(dyngraph.data.datasets, "list_datasets", _interrupt)
    with pytest.raises(KeyboardInterrupt):
        main(argv)


def test_debug_off_in_the_environment_keeps_one_line(capsys, monkeypatch):
    monkeypatch.setenv("DYNGRAPH_DEBUG", "0")
    monkeypatch.setattr(dyngraph.data.datasets, "list_datasets", _interrupt)
    assert main(["datasets", "list"]) == 130


def _interrupt(*args, **kwargs):
    raise KeyboardInterrupt
