from dyngraph.cli import main


def test_sparsify_command_reports_kappa_and_density(tmp_path, capsys):
    out = tmp_path / "plots"
    args = ["sparsify", "delaunay:400", "--stream", "local:0.25", "--quiet"]
    assert main([*args, "--plot", str(out), "--save", str(tmp_path / "h.pt")]) == 0
    text = capsys.readouterr().out
    for stage in ("initial", "after stream", "rebuild, same size"):
        assert stage in text
    assert (out / "sparsify_history.png").exists()
    assert (out / "sparsify_graph.png").exists()
    assert (tmp_path / "h.pt").exists()
    assert main(["sparsify", "delaunay:400", "--stream", "bogus:1"]) == 1
    assert "--stream" in capsys.readouterr().err
    missing = tmp_path / "nowhere.mtx"
    assert main(["sparsify", str(missing)]) == 1
    assert f"GRAPH {missing}: no such file" in capsys.readouterr().err
