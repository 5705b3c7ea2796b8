import subprocess
import sys

import pytest

from dyngraph.cli import build_parser, main
from dyngraph.registry import COMMANDS, command_modules


def test_python_dash_m_dyngraph_runs_the_command():
    done = subprocess.run(
        [sys.executable, "-m", "dyngraph", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    for command in ("quickstart", "fit", "datasets", "sparsify", "discover"):
        assert command in done.stdout


def test_every_registered_package_adds_its_commands():
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices
    fit = commands["fit"]._subparsers._group_actions[0].choices
    modules = list(command_modules())
    assert [m.__name__ for m in modules] == [f"{p}.cli" for p in COMMANDS]
    # every model family of the registry is a `dyngraph fit` sub-command
    families = [p.rsplit(".", 1)[1] for p in COMMANDS if ".models." in p]
    assert families and set(families) <= set(fit)
    assert {"quickstart", "fit"} < set(commands)


def test_fit_needs_a_family(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["fit"])
    assert exc.value.code == 2
    assert "FAMILY" in capsys.readouterr().err


def test_dyngraph_errors_are_one_line_without_traceback(tmp_path, capsys):
    missing = tmp_path / "none.toml"
    assert main(["fit", "pivem", "--recipe", str(missing)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("dyngraph: error: ") and "Traceback" not in err
    assert str(missing) in err and err.count("\n") == 1


@pytest.mark.parametrize(
    "argv",
    [
        ["--debug", "datasets", "list"],
        ["datasets", "--debug", "list"],
        ["datasets", "list", "--debug"],
        ["fit", "pivem", "--debug", "--help"],
    ],
)
def test_debug_is_accepted_anywhere_on_the_line(argv, tmp_path, capsys):
    if "--help" not in argv:
        argv = [*argv, "--root", str(tmp_path)]
    try:
        status = main(argv)
    except SystemExit as exit_:  # --help
        status = exit_.code
    assert status == 0
    assert "unrecognized arguments" not in capsys.readouterr().err
