import numpy as np
import pytest
import torch

from dyngraph.data import EventStream


def small_stream(**kwargs):
    return EventStream(
        [0, 1, 2, 3, 1],
        [1, 2, 3, 0, 0],
        [5.0, 1.0, 3.0, 3.0, 2.0],
        **kwargs,
    )


def test_sorted_stably_by_time():
    s = EventStream([0, 1, 2, 3], [9, 9, 9, 9], [2, 1, 2, 1], num_nodes=10)
    assert s.t.tolist() == [1, 1, 2, 2]
    # equal times keep their input order
    assert s.src.tolist() == [1, 3, 0, 2]
    assert s.t.dtype == torch.long


def test_every_field_follows_the_sort():
    s = small_stream(
        sign=[1, -1, 1, -1, 1],
        weight=[1.0, 2.0, 3.0, 4.0, 5.0],
        msg=np.arange(10.0).reshape(5, 2),
        y=[0, 1, 2, 3, 4],
    )
    assert s.t.tolist() == [1.0, 2.0, 3.0, 3.0, 5.0]
    assert s.y.tolist() == [1, 4, 2, 3, 0]
    assert s.weight.tolist() == [2.0, 5.0, 3.0, 4.0, 1.0]
    assert s.sign.tolist() == [-1, 1, 1, -1, 1]
    assert s.msg[:, 0].tolist() == [2.0, 8.0, 4.0, 6.0, 0.0]
    assert s.sign.dtype == torch.int8


def test_num_nodes_is_stored_not_recomputed():
    s = EventStream([0], [1], [0.0], num_nodes=7)
    assert s.num_nodes == 7
    assert s[0:1].num_nodes == 7
    assert s.degree().shape == (7,)


def test_slices_and_windows_are_views():
    s = small_stream(weight=[1.0, 2.0, 3.0, 4.0, 5.0])
    view = s[1:4]
    assert view.src.data_ptr() == s.src[1:].data_ptr()
    assert view.weight.data_ptr() == s.weight[1:].data_ptr()
    w = s.window(2.0, 5.0)
    assert w.t.tolist() == [2.0, 3.0, 3.0]
    assert w.t.data_ptr() == s.t[1:].data_ptr()
    assert s.window(None, 2.0).t.tolist() == [1.0]
    assert s.window(3.0).t.tolist() == [3.0, 3.0, 5.0]
    assert s.window(10.0, 20.0).num_events == 0


def test_window_with_integer_times_and_fractional_bounds():
    s = EventStream([0, 0, 0], [1, 1, 1], [1, 2, 3])
    assert s.window(1.5, 2.5).t.tolist() == [2]
    assert s.window(1, 3).t.tolist() == [1, 2]


def test_index_by_positions_and_mask():
    s = small_stream()
    assert s[[3, 0]].t.tolist() == [1.0, 3.0]
    mask = s.t > 2.5
    assert s[mask].t.tolist() == [3.0, 3.0, 5.0]
    assert s[-1].t.tolist() == [5.0]
    with pytest.raises(IndexError):
        s[5]
    with pytest.raises(IndexError, match="boolean mask"):
        s[torch.tensor([True, False])]


def test_from_raw_ids_compacts_and_maps_back():
    big = 2**40
    s = EventStream.from_raw_ids(
        np.array([big, 7, big + 3]), np.array([7, big + 3, 7]), [0, 1, 2]
    )
    assert s.num_nodes == 3
    assert s.node_ids[s.src.numpy()].tolist() == [big, 7, big + 3]
    assert s.node_ids[s.dst.numpy()].tolist() == [7, big + 3, 7]
    named = EventStream.from_raw_ids(["bob", "al"], ["al", "cy"], [1.0, 0.0])
    assert named.node_ids[named.src.numpy()].tolist() == ["al", "bob"]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"src": [0, 1], "dst": [1], "t": [0, 1]}, "`dst` has 1 entries"),
        ({"src": [], "dst": [], "t": []}, "empty"),
        (
            {"src": [0, -1], "dst": [1, 1], "t": [0, 1]},
            "negative node id -1 at event 1",
        ),
        ({"src": [0, 1.5], "dst": [1, 1], "t": [0, 1]}, "event 1 has 1.5"),
        ({"src": [0, 1], "dst": [1, 1], "t": [0, float("nan")]}, "non-finite"),
        ({"src": [0, 1], "dst": [1, 1], "t": [0, float("inf")]}, "non-finite"),
        (
            {"src": [0, 1], "dst": [1, 1], "t": [0, 1], "sign": [1, 0]},
            "`sign` must be -1 or \\+1",
        ),
        (
            {"src": [0, 1], "dst": [1, 1], "t": [0, 1], "weight": [1, np.nan]},
            "`weight` is not finite",
        ),
        (
            {"src": [0, 5], "dst": [1, 1], "t": [0, 1], "num_nodes": 3},
            "node id 5 but num_nodes=3",
        ),
        (
            {"src": [0, 1], "dst": [1, 1], "t": [0, 1], "y": [1, 2, 3]},
            "`y` has 3 entries",
        ),
        (
            {
                "src": [0, 1],
                "dst": [1, 1],
                "t": [0, 1],
                "node_ids": ["a"],
                "num_nodes": 2,
            },
            "one entry per node",
        ),
    ],
)
def test_validation_errors_name_the_problem(kwargs, match):
    src, dst, t = kwargs.pop("src"), kwargs.pop("dst"), kwargs.pop("t")
    with pytest.raises(ValueError, match=match):
        EventStream(src, dst, t, **kwargs)


def test_integral_float_ids_are_accepted():
    s = EventStream(np.array([0.0, 2.0]), np.array([1.0, 1.0]), [0, 1])
    assert s.src.dtype == torch.long
    assert s.src.tolist() == [0, 2]


def test_summary_counts():
    s = EventStream(
        [0, 0, 1, 2], [1, 1, 1, 0], [0, 1, 2, 2], sign=[1, -1, 1, 1], num_nodes=4
    )
    info = s.summary()
    assert info["num_events"] == 4
    assert info["num_active_nodes"] == 3
    assert info["num_static_edges"] == 3
    assert info["num_self_loops"] == 1
    assert info["num_negative"] == 1
    assert info["positive_fraction"] == 0.75
    assert info["num_unique_times"] == 3


def test_degree_directed_and_total():
    s = EventStream([0, 0, 1], [1, 2, 2], [0, 1, 2])
    assert s.degree().tolist() == [2, 2, 2]
    assert s.degree(directed=True).tolist() == [[2, 1, 0], [0, 1, 2]]


def test_repr_lists_fields():
    s = small_stream(sign=[1, 1, 1, 1, -1], name="toy")
    assert repr(s) == (
        "EventStream[toy](num_nodes=4, src=[5], dst=[5], t=[5], sign=[5])"
    )


@pytest.mark.parametrize("high", [10, 10**6, 2**40])
def test_compaction_matches_numpy_unique(high):
    from dyngraph.data.events import _compact

    raw = np.random.default_rng(high % 97).integers(0, high, size=5000)
    ids, position = _compact(raw)
    expected_ids, expected_position = np.unique(raw, return_inverse=True)
    np.testing.assert_array_equal(ids, expected_ids)
    np.testing.assert_array_equal(position, expected_position)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"msg": [[1.0, 2.0], [3.0, float("nan")]]}, r"`msg` is not finite at event 1"),
        ({"msg": [1.0, float("inf")]}, r"`msg` is not finite at event 1 \(inf\)"),
        ({"y": [0.0, float("nan")]}, r"`y` is not finite at event 1 \(nan\)"),
        ({"weight": np.array([1.0, 1e300])}, r"`weight` overflows float32 at event 1"),
        ({"msg": np.array([[1.0], [-1e39]])}, r"`msg` overflows float32 at event 1"),
        ({"weight": [1.0, float("inf")]}, r"`weight` is not finite at event 1"),
    ],
)
def test_unchecked_values_are_refused_by_field_and_event(kwargs, match):
    with pytest.raises(ValueError, match=match):
        EventStream([0, 1], [1, 0], [0, 1], **kwargs)


def test_overflow_reports_the_value_not_inf():
    with pytest.raises(ValueError, match=r"1e\+300") as caught:
        EventStream([0, 1], [1, 0], [0, 1], weight=np.array([1.0, 1e300]))
    assert "(inf)" not in str(caught.value)


def test_uint64_ids_beyond_int64_are_refused_with_their_true_value():
    big = np.array([2**63 + 5, 1], dtype=np.uint64)
    with pytest.raises(ValueError, match=f"`src` has {2**63 + 5} at event 0"):
        EventStream(big, np.array([0, 1], dtype=np.uint64), [0, 1])
    with pytest.raises(ValueError, match=f"`t` has {2**63 + 5} at event 0"):
        EventStream([0, 1], [1, 0], big)
    stream = EventStream.from_raw_ids(big, np.array([0, 1], dtype=np.uint64), [0, 1])
    assert stream.node_ids[stream.src.numpy()].tolist() == [2**63 + 5, 1]


@pytest.mark.parametrize(
    "src", [np.array([1.0, np.nan]), np.array(["a", None], dtype=object)]
)
def test_from_raw_ids_refuses_missing_ids(src):
    with pytest.raises(ValueError, match=r"`src` has 1 missing .* at event 1"):
        EventStream.from_raw_ids(src, np.array([2.0, 3.0]), [0, 1])


def test_from_raw_ids_maps_mixed_str_and_int_ids_as_strings():
    src = np.array(["a", 1, 2], dtype=object)
    dst = np.array([1, "b", "1"], dtype=object)
    stream = EventStream.from_raw_ids(src, dst, [0, 1, 2])
    assert stream.node_ids.tolist() == ["1", "2", "a", "b"]
    assert stream.node_ids[stream.dst].tolist() == ["1", "b", "1"]
    assert stream.src[1] == stream.dst[2] == stream.dst[0]  # 1 and "1": one node
    ints = EventStream.from_raw_ids(np.array([5, 7], dtype=object), [7, 5], [0, 1])
    assert ints.node_ids.tolist() == [5, 7]
