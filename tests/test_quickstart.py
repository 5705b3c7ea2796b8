import json

from dyngraph.cli import main
from dyngraph.registry import command_modules


def _parts():
    return {
        m.__name__.split(".")[-2]: m
        for m in command_modules()
        if hasattr(m, "quickstart")
    }


def test_quickstart_writes_plots_and_summary_for_every_family(tmp_path, monkeypatch):
    # each family's part is tested in its own tests; here: that the tour runs
    # every registered part on its own generated stream and records it
    seen = {}
    for name, part in _parts().items():

        def fake(stream, output, seed, name=name):
            seen[name] = (stream.name, seed)
            path = output / f"{name}.txt"
            path.write_text(name)
            return {"metrics": {"auc": 0.5}, "files": [str(path)]}

        monkeypatch.setattr(part, "quickstart", fake)
    out = tmp_path / "qs"
    args = ["quickstart", "--output", str(out), "--root", str(tmp_path / "empty")]
    assert main([*args, "--seed", "3"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert set(seen) == set(_parts()) and len(seen) >= 1
    assert summary["models"] == {name: {"auc": 0.5} for name in seen}
    assert len(summary["streams"]) == len(seen)
    for stream_name, seed in seen.values():
        stats = summary["streams"][stream_name]
        assert seed == 3
        assert (out / f"{stats['name']}.png").stat().st_size > 10_000
        # the generated streams repeat pairs, so history beats chance
        assert stats["history_auc"] > 0.6
    for name in seen:
        assert (out / f"{name}.txt").read_text() == name


def test_quickstart_includes_a_downloaded_real_dataset(tmp_path, data_server):
    root = str(tmp_path / "data")
    url = f"{data_server}/college-msg/CollegeMsg.txt"
    assert (
        main(["datasets", "download", "college-msg", "--root", root, "--url", url]) == 0
    )
    out = tmp_path / "qs"
    args = ["quickstart", "--output", str(out), "--root", root, "--no-models"]
    assert main(args) == 0
    summary = json.loads((out / "summary.json").read_text())
    college = summary["streams"]["college-msg"]
    assert college["num_events"] == 59835
    assert (out / "college-msg.png").exists()
    assert summary["models"] == {}
