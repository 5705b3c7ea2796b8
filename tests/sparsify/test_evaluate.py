import numpy as np
import pytest
import scipy.sparse as sp

from dyngraph.data import EventStream, delaunay_graph, sliding_window_updates
from dyngraph.sparsify import (
    StreamReport,
    condition_number,
    local_edge_stream,
    stream_experiment,
)
from dyngraph.sparsify.evaluate import STAGE_COLUMNS, load_source

SMALL = {"num_walkers": 64, "max_steps": 30}


def _edges(adjacency) -> int:
    return (adjacency.nnz + int(np.count_nonzero(adjacency.diagonal()))) // 2


def test_the_report_adds_up_on_a_local_stream():
    graph, points = delaunay_graph(300, seed=1)
    report = stream_experiment((graph, points), "local:0.25", seed=3, **SMALL)
    assert isinstance(report, StreamReport)
    assert [row["stage"] for row in report.stages] == [
        "initial",
        "after stream",
        "rebuild, same size",
    ]
    assert all(list(row) == list(STAGE_COLUMNS) for row in report.stages)
    first, after, rebuilt = report.stages
    # G follows the stream exactly: the same generator, the same seed
    batches = local_edge_stream(graph, seed=3)
    inserted = sum(e.shape[1] for kind, e in batches if kind == "insert")
    deleted = sum(e.shape[1] for kind, e in batches if kind == "delete")
    assert first["|E_G|"] == _edges(graph)
    assert after["|E_G|"] == _edges(graph) + inserted - deleted
    # H's count moves only by the edges the report says were added and removed
    assert after["|E_H|"] == first["|E_H|"] + report.added - report.removed
    assert after["edges/node"] == pytest.approx(after["|E_H|"] / 300)
    final = report.sparsifier
    kappa = condition_number(final.graph, final.sparsifier)
    assert after["kappa"] == pytest.approx(kappa)
    assert rebuilt["|E_H|"] >= after["|E_H|"] and rebuilt["|E_G|"] == after["|E_G|"]
    assert report.history[0]["kappa"] == first["kappa"]
    assert report.history[-1] == {
        "update": "end",
        "kappa": after["kappa"],
        "density": after["edges/node"],
    }
    assert report.walker_steps > 0 and report.budget == 35.0
    assert report.points is points
    with pytest.raises(KeyError, match="the stages are"):
        report.stage("final")


def test_same_seed_same_report_and_a_bare_matrix_works():
    graph, _ = delaunay_graph(200, seed=2)
    a = stream_experiment(graph, "local:0.1", seed=5, kappa_every=4, **SMALL)
    b = stream_experiment(graph, "local:0.1", seed=5, kappa_every=4, **SMALL)
    assert a.stages == b.stages and a.history == b.history
    batches = local_edge_stream(graph, insert_fraction=0.1, seed=5)
    every_fourth = [i for i in range(4, len(batches) + 1, 4) if batches[i - 1][1].size]
    assert [h["update"] for h in a.history] == [0, *every_fourth, "end"]
    assert len(every_fourth) >= 3
    assert a.points is None


def test_a_window_stream_over_events_tracks_the_last_window():
    rng = np.random.default_rng(0)
    n, m = 40, 600
    src = rng.integers(0, n, m)
    dst = (src + rng.integers(1, 4, m)) % n
    stream = EventStream(src, dst, np.sort(rng.uniform(0, 100, m)), num_nodes=n)
    report = stream_experiment(stream, "window:30:10", **SMALL)
    edges: set[tuple[int, int]] = set()
    for update in sliding_window_updates(stream, 30.0, 10.0):
        edges -= {tuple(e) for e in update.delete.T.tolist()}
        edges |= {tuple(e) for e in update.insert.T.tolist()}
    upper = sp.triu(report.sparsifier.graph, k=1).tocoo()
    assert set(zip(upper.row.tolist(), upper.col.tolist(), strict=True)) == edges
    h = sp.triu(report.sparsifier.sparsifier, k=1).tocoo()
    assert set(zip(h.row.tolist(), h.col.tolist(), strict=True)) <= edges


def test_bad_streams_and_sources_are_refused():
    graph, points = delaunay_graph(50, seed=0)
    with pytest.raises(ValueError, match="use local:FRACTION or window"):
        stream_experiment((graph, points), "bogus:1")
    with pytest.raises(ValueError, match="needs a temporal GRAPH"):
        stream_experiment((graph, points), "window:1:1")
    with pytest.raises(ValueError, match="expected delaunay:N"):
        load_source("delaunay:many")
    with pytest.raises(ValueError, match="no such file"):
        load_source("nowhere.mtx")
