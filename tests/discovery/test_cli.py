import argparse

import numpy as np
import pytest

from dyngraph.discovery.cli import add_parsers


def _run(argv):
    parser = argparse.ArgumentParser(prog="dyngraph")
    add_parsers(parser.add_subparsers(dest="command", required=True), None)
    args = parser.parse_args(["discover", *argv])
    return args.func(args)


def test_named_system(capsys):
    assert _run(["lorenz", "--t-end", "5"]) == 0
    out = capsys.readouterr().out
    assert "(x)' = -10.0000 x + 10.0000 y" in " ".join(out.split())
    assert "support F1 1.000" in out
    assert "derivatives: weak form: 100 test-function subdomains" in out
    assert "sparsity: automatic" in out


def test_csv_file(tmp_path, capsys):
    t = np.arange(0.0, 10.0, 0.01)
    path = tmp_path / "decay.csv"
    np.savetxt(
        path, np.c_[t, np.exp(-0.5 * t)], delimiter=",", header="time,u", comments=""
    )
    assert _run(["--file", str(path), "--degree", "1"]) == 0
    assert "(u)' = -0.5000 u" in " ".join(capsys.readouterr().out.split())


def test_lynx_hare_from_mirror(data_server, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DYNGRAPH_MIRROR", data_server)
    assert _run(["lynx-hare", "--root", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "91 samples" in out and "(Hare)' =" in out
    assert "derivatives: finite differences: 91 samples give 9 per" in out
    assert "candidates compared (smallest rollout error" in out
    assert out.count("<- chosen") == 1 and "chosen: degree 2" in out


def test_file_with_comments_compares_candidate_models(tmp_path, capsys):
    from dyngraph.systems import simulate

    t = np.arange(0.0, 20.0, 0.05)
    x = simulate("lotka_volterra", t).x[0, 0].numpy()
    path = tmp_path / "pelts.csv"
    rows = "\n".join(f"{a:g},{b:.8f},{c:.8f}" for a, b, c in zip(t, *x.T, strict=True))
    path.write_text(f"# synthetic pelts\n# two species\nyear,prey,predator\n{rows}\n")
    assert _run(["--file", str(path)]) == 0
    out = capsys.readouterr().out
    assert "time column 'year', states ['prey', 'predator']" in out
    assert "derivatives: weak form" in out
    assert out.count("<- chosen") == 1
    for shape in ("all monomials", "no cross terms", "cross terms, no powers"):
        assert (
            f"no constant, {shape}, efold" in out and f"constant, {shape}, aicc" in out
        )
    chosen = out.split("chosen: ")[1]
    # the Lotka-Volterra structure: x' = a x - b x y, y' = -c y + d x y
    lines = [" ".join(line.split()) for line in chosen.splitlines()[1:3]]
    assert lines[0].startswith("(prey)' = 0.6667 prey + -1.3333 prey predator")
    assert lines[1] == "(predator)' = -1.0000 predator + 1.0000 prey predator"


def test_name_or_file_required():
    with pytest.raises(ValueError, match="either a NAME or --file"):
        _run([])


def test_csv_without_time_column_says_dt_is_assumed(tmp_path, capsys):
    path = tmp_path / "bare.csv"
    path.write_text("# exported by hand\nu\n" + "\n".join(["1", "0.9", "0.81"] * 1))
    assert _run(["--file", str(path), "--degree", "1"]) == 0
    assert "dt = 1 assumed" in capsys.readouterr().out
    timed = tmp_path / "timed.csv"
    timed.write_text("time,u\n0,1\n1,0.9\n2,0.81\n")
    with pytest.raises(ValueError, match="conflicts with the time column 'time'"):
        _run(["--file", str(timed), "--dt", "0.1"])
