import calendar
import gzip
import io
import tarfile
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from dyngraph.data import io as dio
from dyngraph.data.io import (
    MalformedFileError,
    read_events,
    read_jodie,
    read_matrix_market,
    read_snap_signed,
    read_snap_temporal,
    read_wiki_rfa,
)

SETTINGS = settings(max_examples=60, deadline=None)


def write(path: Path, text: str | bytes, *, gz: bool = False) -> Path:
    data = text.encode() if isinstance(text, str) else text
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def expect_error(path: Path, line: int | None, fragment: str, **kwargs) -> None:
    with pytest.raises(MalformedFileError) as caught:
        read_events(path, **kwargs)
    err = caught.value
    assert err.path == path
    assert err.line == line
    where = f"{path}:{line}: " if line is not None else f"{path}: "
    assert str(err).startswith(where), str(err)
    assert fragment in str(err)
    assert "(expected " in str(err)


# --------------------------------------------------------------------------
# round trip

node_id = st.one_of(
    st.integers(0, 40), st.integers(2**31, 2**62), st.integers(-(2**40), -1)
)
int_time = st.integers(-(2**62), 2**62)
float_time = st.floats(-1e15, 1e15, allow_nan=False, allow_infinity=False)


@st.composite
def event_lists(draw, times=None):
    n = draw(st.integers(1, 30))
    src = draw(st.lists(node_id, min_size=n, max_size=n))
    dst = draw(st.lists(node_id, min_size=n, max_size=n))
    if times is None:
        times = draw(st.sampled_from([int_time, float_time]))
    t = draw(st.lists(times, min_size=n, max_size=n))
    return src, dst, t


@SETTINGS
@given(
    events=event_lists(),
    layout=st.sampled_from([None, " ", "\t", ",", ";", "mixed"]),
    comments=st.lists(st.integers(0, 30), max_size=3),
    header=st.booleans(),
    gz=st.booleans(),
    crlf=st.booleans(),
)
def test_round_trip(tmp_path_factory, events, layout, comments, header, gz, crlf):
    src, dst, t = events
    rows = []
    for i, (s, d, time) in enumerate(zip(src, dst, t, strict=True)):
        fields = [str(s), str(d), repr(time)]
        if layout == "mixed":
            gaps = [" ", "\t", "   ", " \t "]
            line = fields[0] + gaps[i % 4] + fields[1] + gaps[(i + 1) % 4] + fields[2]
            rows.append(("  " if i % 3 == 0 else "") + line)
        else:
            rows.append((layout or " ").join(fields))
    for position in sorted(comments, reverse=True):
        rows.insert(min(position, len(rows)), "% a comment line")
    if header:
        rows.insert(0, (layout if layout not in (None, "mixed") else " ").join("abc"))
    text = ("\r\n" if crlf else "\n").join(rows) + "\n"
    path = write(tmp_path_factory.mktemp("rt") / "events.txt", text, gz=gz)

    delimiter = None if layout in (None, "mixed") else layout
    stream = read_events(path, delimiter=delimiter, header=header)

    order = np.argsort(np.asarray(t), kind="stable")
    assert stream.num_events == len(src)
    assert (
        stream.node_ids[stream.src.numpy()].tolist() == np.asarray(src)[order].tolist()
    )
    assert (
        stream.node_ids[stream.dst.numpy()].tolist() == np.asarray(dst)[order].tolist()
    )
    assert stream.t.tolist() == np.asarray(t, dtype=object)[order].tolist()
    expected_dtype = torch.long if isinstance(t[0], int) else torch.float64
    assert stream.t.dtype == expected_dtype
    assert stream.num_nodes == len(set(src) | set(dst))


def test_valid_files_never_need_the_line_scan(tmp_path, monkeypatch):
    def no_scan(*args, **kwargs):
        raise AssertionError("the fast path failed on a valid file")

    monkeypatch.setattr(dio, "_scan", no_scan)
    cases = {
        "single.txt": ("1 2 3\n4 5 6\n", [3, 6]),
        "double.txt": ("1 2 3\n4  5 6\n7\t8 9\n", [3, 6, 9]),  # not single-spaced
        "comments.txt": ("% c\n1 2 3 % trailing\n% d\n4 5 6\n", [3, 6]),
        "floats.txt": ("1 2 3.5\n4 5 1e3\n", [3.5, 1000.0]),
    }
    for name, (text, times) in cases.items():
        assert read_events(write(tmp_path / name, text)).t.tolist() == times


# --------------------------------------------------------------------------
# malformed input: first offending line, named with the file

CORRUPTIONS = {
    "extra_field": (lambda f: [*f, "7"], "found 4 field(s)"),
    "missing_field": (lambda f: f[:2], "found 2 field(s)"),
    "word_id": (lambda f: ["node", *f[1:]], "src 'node' is not an integer node id"),
    "fractional_id": (lambda f: [f[0], "1.5", f[2]], "dst '1.5' is not an integer"),
    "nan_time": (lambda f: [*f[:2], "nan"], "t is 'nan', which is not finite"),
    "inf_time": (lambda f: [*f[:2], "-inf"], "t is '-inf', which is not finite"),
    "word_time": (lambda f: [*f[:2], "yesterday"], "t 'yesterday' is not a number"),
    "huge_time": (lambda f: [*f[:2], "9" * 25], "does not fit in 64 bits"),
    "wrong_delimiter": (lambda f: [",".join(f)], "found 1 field(s)"),
}


@SETTINGS
@given(
    events=event_lists(times=st.integers(0, 10**9)),
    data=st.data(),
    kind=st.sampled_from(sorted(CORRUPTIONS)),
    leading_comments=st.integers(0, 2),
    gz=st.booleans(),
)
def test_first_bad_line_is_reported(
    tmp_path_factory, events, data, kind, leading_comments, gz
):
    src, dst, t = events
    rows = [[str(s), str(d), str(time)] for s, d, time in zip(src, dst, t, strict=True)]
    bad = data.draw(st.integers(0, len(rows) - 1))
    corrupt, fragment = CORRUPTIONS[kind]
    rows[bad] = corrupt(rows[bad])
    lines = ["% header comment"] * leading_comments + [" ".join(r) for r in rows]
    path = write(tmp_path_factory.mktemp("bad") / "e.txt", "\n".join(lines), gz=gz)
    expect_error(path, leading_comments + bad + 1, fragment)


def test_comma_file_read_as_whitespace_names_the_delimiter(tmp_path):
    path = write(tmp_path / "e.csv", "1,2,3\n")
    expect_error(path, 1, "found 1 field(s)")
    with pytest.raises(MalformedFileError, match="separated by whitespace"):
        read_events(path)
    assert read_events(path, delimiter=",").num_events == 1


@pytest.mark.parametrize(
    "text, header",
    [("", False), ("% only\n%comments\n\n", False), ("src dst t\n", True)],
)
def test_file_without_events(tmp_path, text, header):
    path = write(tmp_path / "empty.txt", text)
    expect_error(path, None, "holds no events", header=header)


def test_sign_and_weight_errors(tmp_path):
    signed = write(tmp_path / "s.csv", "a,b,1,3\nb,c,0,2\n")
    expect_error(
        signed,
        2,
        "sign '0' is neither -1 nor +1",
        columns=("src", "dst", "sign", "t"),
        delimiter=",",
        id_type="str",
    )
    weighted = write(tmp_path / "w.csv", "1,2,4,3\n2,3,0,2\n")
    expect_error(
        weighted,
        2,
        "weight 0 has no sign",
        columns=("src", "dst", "weight", "t"),
        delimiter=",",
        sign_from_weight=True,
    )
    stream = read_events(
        weighted, columns=("src", "dst", "weight", "t"), delimiter=","
    )  # without sign_from_weight a zero weight is fine
    assert stream.weight.tolist() == [0.0, 4.0]


def test_bad_utf8_and_corrupt_gzip(tmp_path):
    expect_error(write(tmp_path / "u.txt", b"1 2 3\n4 5 \xff\n"), 2, "not valid UTF-8")
    data = gzip.compress(b"".join(b"%d 2 3\n" % i for i in range(50000)))
    truncated = write(tmp_path / "cut.gz", data[: len(data) // 2])
    with pytest.raises(MalformedFileError, match="corrupt or truncated") as caught:
        read_events(truncated)
    assert caught.value.path == truncated
    assert caught.value.line is not None and caught.value.line > 1


def test_invalid_column_specification(tmp_path):
    path = write(tmp_path / "e.txt", "1 2 3\n")
    for columns in [
        ("src", "dst"),
        ("src", "dst", "t", "when"),
        ("src", "msg", "dst", "t"),
    ]:
        with pytest.raises(ValueError, match="read_events"):
            read_events(path, columns=columns)
    with pytest.raises(ValueError, match="sign_from_weight"):
        read_events(path, sign_from_weight=True)
    with pytest.raises(ValueError, match="self_loops"):
        read_events(path, self_loops="remove")
    with pytest.raises(ValueError, match="delimiter must be one character"):
        read_events(path, delimiter="::")
    with pytest.raises(ValueError, match="comment must be one character"):
        read_events(path, comment="//")


# --------------------------------------------------------------------------
# documented normalisations

small = st.lists(
    st.tuples(
        st.integers(0, 3),
        st.integers(0, 3),
        st.integers(0, 3),
        st.sampled_from([1.0, 2.0]),
    ),
    min_size=1,
    max_size=25,
)


@SETTINGS
@given(rows=small)
def test_duplicates_kept_or_dropped(tmp_path_factory, rows):
    text = "".join(f"{s} {d} {t} {w}\n" for s, d, t, w in rows)
    path = write(tmp_path_factory.mktemp("dup") / "e.txt", text)
    columns = ("src", "dst", "t", "weight")

    kept = read_events(path, columns=columns)
    assert kept.num_events == len(rows)

    dropped = read_events(path, columns=columns, duplicates="drop")
    first_seen = list(dict.fromkeys(rows))  # rows differing in weight both stay
    order = np.argsort([r[2] for r in first_seen], kind="stable")
    got = list(
        zip(
            dropped.node_ids[dropped.src.numpy()].tolist(),
            dropped.node_ids[dropped.dst.numpy()].tolist(),
            dropped.t.tolist(),
            dropped.weight.tolist(),
            strict=True,
        )
    )
    assert got == [first_seen[i] for i in order]


@SETTINGS
@given(rows=small)
def test_self_loops_keep_drop_error(tmp_path_factory, rows):
    text = "".join(f"{s} {d} {t}\n" for s, d, t, _ in rows)
    path = write(tmp_path_factory.mktemp("loops") / "e.txt", text)
    loops = [i for i, (s, d, _, _) in enumerate(rows) if s == d]

    kept = read_events(path)
    assert int((kept.src == kept.dst).sum()) == len(loops)
    if loops:
        expect_error(path, loops[0] + 1, "self-loop", self_loops="error")
    else:
        assert read_events(path, self_loops="error").num_events == len(rows)
    if len(loops) == len(rows):
        with pytest.raises(ValueError, match="self-loop"):
            read_events(path, self_loops="drop")
    else:
        dropped = read_events(path, self_loops="drop")
        assert dropped.num_events == len(rows) - len(loops)
        assert not bool((dropped.src == dropped.dst).any())


def test_unsorted_times_are_sorted_stably(tmp_path):
    path = write(tmp_path / "e.txt", "1 2 5\n3 4 1\n5 6 5\n7 8 1\n9 10 3\n")
    stream = read_events(path)
    assert stream.t.tolist() == [1, 1, 3, 5, 5]
    assert stream.node_ids[stream.src.numpy()].tolist() == [3, 7, 9, 1, 5]


def test_ids_beyond_int32_and_int53(tmp_path):
    big = [2**40, 2**62 + 1, 2**53 + 1]
    path = write(tmp_path / "e.txt", f"{big[0]} {big[1]} 1\n{big[2]} {big[0]} 2\n")
    stream = read_events(path)
    assert stream.node_ids.dtype == np.int64
    assert stream.node_ids.tolist() == sorted(big)
    assert stream.node_ids[stream.src.numpy()].tolist() == [big[0], big[2]]
    assert stream.node_ids[stream.dst.numpy()].tolist() == [big[1], big[0]]


def test_string_ids_need_id_type_str(tmp_path):
    path = write(tmp_path / "e.tsv", "alice\tbob\t3\nbob\tcarol\t1\n")
    expect_error(path, 1, "pass id_type='str'", delimiter="\t")
    stream = read_events(path, delimiter="\t", id_type="str")
    assert stream.node_ids.tolist() == ["alice", "bob", "carol"]
    assert stream.node_ids[stream.src.numpy()].tolist() == ["bob", "alice"]
    empty_id = write(tmp_path / "e.csv", "alice,,3\n")
    expect_error(empty_id, 1, "dst is empty", delimiter=",", id_type="str")


def test_gzip_detected_by_magic_bytes_not_suffix(tmp_path):
    text = "1 2 3\n2 1 4\n"
    hidden_gz = write(tmp_path / "plain-looking.txt", text, gz=True)
    plain_gz_name = write(tmp_path / "looks-compressed.txt.gz", text)
    assert read_events(hidden_gz).t.tolist() == [3, 4]
    assert read_events(plain_gz_name).t.tolist() == [3, 4]


def test_all_roles(tmp_path):
    text = "h\n1,2,x,0.5,1,-1,0.1,0.2,0.3\n2,1,y,1.5,0,1,0.4,0.5,0.6\n"
    path = write(tmp_path / "e.csv", text)
    stream = read_events(
        path,
        columns=("src", "dst", "skip", "t", "label", "sign", "msg"),
        delimiter=",",
        header=True,
    )
    assert stream.t.tolist() == [0.5, 1.5]
    assert stream.y.tolist() == [1, 0]
    assert stream.sign.tolist() == [-1, 1]
    assert stream.msg.shape == (2, 3)
    assert torch.allclose(stream.msg[1], torch.tensor([0.4, 0.5, 0.6]))
    ragged = write(tmp_path / "r.csv", text + "3,1,z,2.5,0,1,0.7\n")
    with pytest.raises(MalformedFileError, match="found 7 field") as caught:
        read_events(
            ragged,
            columns=("src", "dst", "skip", "t", "label", "sign", "msg"),
            delimiter=",",
            header=True,
        )
    assert caught.value.line == 4


# --------------------------------------------------------------------------
# registry formats


def test_snap_signed(tmp_path):
    path = write(
        tmp_path / "s.csv", "6,2,4,1289241911.72836\n6,5,-2,1289241941.5\n", gz=True
    )
    stream = read_snap_signed(path, name="otc")
    assert stream.name == "otc"
    assert stream.weight.tolist() == [4.0, -2.0]
    assert stream.sign.tolist() == [1, -1]
    assert stream.t.dtype == torch.float64
    assert stream.t[0].item() == 1289241911.72836


def test_jodie_is_bipartite(tmp_path):
    text = (
        "user_id,item_id,timestamp,state_label,comma_separated_list_of_features\n"
        "0,0,0.0,0,0.1,0.2\n"
        "7,0,1.0,1,0.3,0.4\n"
        "0,3,2.0,0,0.5,0.6\n"
    )
    stream = read_jodie(write(tmp_path / "wikipedia.csv", text))
    assert stream.num_nodes == 4  # users 0, 7; items 0, 3
    assert stream.src.tolist() == [0, 1, 0]
    assert stream.dst.tolist() == [2, 2, 3]
    assert stream.node_ids.tolist() == [0, 7, 0, 3]
    assert stream.y.tolist() == [0, 1, 0]
    assert stream.msg.shape == (3, 2)
    bad = write(tmp_path / "bad.csv", text + "1,2,3.0,0,0.7\n")
    with pytest.raises(MalformedFileError) as caught:
        read_jodie(bad)
    assert caught.value.line == 5


def rfa_record(src, tgt, vote, date, text="ok", result=1):
    fields = [src, tgt, vote, result, 2013, date, text]
    keys = ["SRC", "TGT", "VOT", "RES", "YEA", "DAT", "TXT"]
    return "".join(f"{k}:{v}\n" for k, v in zip(keys, fields, strict=True))


def test_wiki_rfa(tmp_path):
    records = [
        rfa_record("Alice", "Bob", 1, "19:53, 25 January 2013"),
        rfa_record("Carol", "Bob", -1, "01:00, 3 Feb 2005", result=-1),
        rfa_record("Dave", "Bob", 0, "02:00, 3 February 2005"),  # neutral
        rfa_record("", "Bob", 1, "02:00, 3 February 2005"),  # no voter
        rfa_record("Erin", "Bob", 1, ""),  # no date
        rfa_record("Bob", "Alice", -1, "23:13, 19 April 2013", text="a\nsecond line"),
    ]
    path = write(tmp_path / "wiki-RfA.txt.gz", "\n".join(records), gz=True)
    stream = read_wiki_rfa(path)

    def unix(*args):
        return calendar.timegm(args)

    assert stream.num_events == 3
    assert stream.t.tolist() == [
        unix(2005, 2, 3, 1, 0, 0),
        unix(2013, 1, 25, 19, 53, 0),
        unix(2013, 4, 19, 23, 13, 0),
    ]
    assert stream.node_ids[stream.src.numpy()].tolist() == ["Carol", "Alice", "Bob"]
    assert stream.sign.tolist() == [-1, 1, -1]
    assert stream.y.tolist() == [-1, 1, 1]


def test_wiki_rfa_malformed_records(tmp_path):
    good = rfa_record("A", "B", 1, "19:53, 25 January 2013")
    missing_tgt = good.replace("TGT:B\n", "")
    path = write(tmp_path / "a.txt", good + "\n" + missing_tgt)
    with pytest.raises(MalformedFileError, match="starting with TGT:") as caught:
        read_wiki_rfa(path)
    assert caught.value.line == 10
    bad_vote = write(tmp_path / "b.txt", good + "\n" + good.replace("VOT:1", "VOT:yes"))
    with pytest.raises(MalformedFileError, match="-1, 0 or 1") as caught:
        read_wiki_rfa(bad_vote)
    assert caught.value.line == 11
    with pytest.raises(MalformedFileError, match="holds no events"):
        read_wiki_rfa(write(tmp_path / "c.txt", ""))


MTX = (
    "%%MatrixMarket matrix coordinate pattern symmetric\n% a graph\n"
    "4 4 4\n2 1\n3 1\n4 3\n3 2\n"
)


def test_matrix_market_symmetric_pattern(tmp_path):
    dense = np.zeros((4, 4))
    for i, j in [(1, 0), (2, 0), (3, 2), (2, 1)]:
        dense[i, j] = dense[j, i] = 1.0
    for name, gz in [("g.mtx", False), ("g.mtx.gz", True), ("g.bin", True)]:
        matrix = read_matrix_market(write(tmp_path / name, MTX, gz=gz))
        assert isinstance(matrix, scipy.sparse.csr_matrix)
        assert np.array_equal(matrix.toarray(), dense)


def test_matrix_market_from_suitesparse_archive(tmp_path):
    archive = tmp_path / "g.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for member, text in [
            ("g/g_coord.mtx", "%%MatrixMarket matrix array real general\n1 1\n0.5\n"),
            ("g/g.mtx", MTX),
        ]:
            entry = tarfile.TarInfo(member)
            entry.size = len(text)
            tar.addfile(entry, io.BytesIO(text.encode()))
    assert read_matrix_market(archive).nnz == 8


def test_matrix_market_errors_name_the_file(tmp_path):
    rectangular = write(tmp_path / "r.mtx", MTX.replace("4 4 4", "4 5 4"))
    with pytest.raises(MalformedFileError, match="4 x 5, not square") as caught:
        read_matrix_market(rectangular)
    assert str(caught.value).startswith(str(rectangular))
    broken = write(tmp_path / "b.mtx", MTX.replace("4 3\n", "4 x\n"))
    with pytest.raises(MalformedFileError) as caught:
        read_matrix_market(broken)
    assert caught.value.line == 6
    assert str(caught.value).startswith(f"{broken}:6: ")
    with pytest.raises(MalformedFileError, match="Matrix Market"):
        read_matrix_market(write(tmp_path / "n.mtx", "hello\n"))


def test_matrix_market_keeps_weights_of_general_matrices(tmp_path):
    text = "%%MatrixMarket matrix coordinate real general\n2 2 2\n1 2 0.5\n2 1 3\n"
    matrix = read_matrix_market(write(tmp_path / "w.mtx", text))
    assert matrix.toarray().tolist() == [[0.0, 0.5], [3.0, 0.0]]


# --------------------------------------------------------------------------
# the real files, read directly


def test_real_files(shared_data):
    college = read_snap_temporal(shared_data / "college-msg" / "CollegeMsg.txt")
    assert (college.num_nodes, college.num_events) == (1899, 59835)
    otc = read_snap_signed(shared_data / "bitcoin-otc" / "soc-sign-bitcoinotc.csv.gz")
    assert (otc.num_nodes, otc.num_events) == (5881, 35592)
    assert int((otc.sign > 0).sum()) == 32029
    dept3 = read_snap_temporal(
        shared_data
        / "email-eu-core-temporal-dept3"
        / "out.email-Eu-core-temporal-Dept3"
    )
    assert (dept3.num_nodes, dept3.num_events) == (89, 12216)
    assert bool((dept3.t[1:] >= dept3.t[:-1]).all())  # the file has 4 inversions
    delaunay = read_matrix_market(
        shared_data / "suitesparse-graphs" / "delaunay_n10.mtx"
    )
    assert delaunay.shape == (1024, 1024) and delaunay.nnz == 2 * 3056
    assert (delaunay != delaunay.T).nnz == 0


# --------------------------------------------------------------------------
# files from the wild

BOM = b"\xef\xbb\xbf"


def test_a_leading_byte_order_mark_is_skipped_on_every_path(tmp_path):
    plain = read_events(write(tmp_path / "p.txt", b"1 2 3\n2 3 4\n"))
    for gz in (False, True):
        marked = write(tmp_path / f"m{gz}.txt", BOM + b"1 2 3\n2 3 4\n", gz=gz)
        assert read_events(marked).node_ids.tolist() == plain.node_ids.tolist()
    named = read_events(write(tmp_path / "s.txt", BOM + b"a b 3\n"), id_type="str")
    assert named.node_ids.tolist() == ["a", "b"]
    # a later error is blamed on its own line, not on the line with the mark
    expect_error(write(tmp_path / "bad.txt", BOM + b"1 2 3\n2 x 4\n"), 2, "'x'")


@pytest.mark.parametrize("id_type", ["int", "str"])
def test_a_byte_order_mark_inside_the_file_names_its_line(tmp_path, id_type):
    path = write(tmp_path / "cat.txt", b"1 2 3\n" + BOM + b"2 3 4\n")
    expect_error(path, 2, "byte-order mark", id_type=id_type)


def test_a_byte_order_mark_in_matrix_market_and_wiki_rfa_files(tmp_path):
    assert read_matrix_market(write(tmp_path / "g.mtx", BOM + MTX.encode())).nnz == 8
    inside = MTX.replace("4 3\n", "\ufeff4 3\n")
    with pytest.raises(MalformedFileError, match="byte-order mark") as caught:
        read_matrix_market(write(tmp_path / "h.mtx", inside))
    assert caught.value.line == 6
    record = rfa_record("A", "B", 1, "23:13, 19 April 2013")
    path = write(tmp_path / "rfa.txt", BOM + (record + "\n" + record).encode())
    assert read_wiki_rfa(path).num_events == 2  # the first record is not lost


@pytest.mark.parametrize(
    ("row", "columns", "fragment"),
    [
        ("{big} 2 3", ("src", "dst", "t"), "src '999"),
        ("1 2 {big}", ("src", "dst", "t"), "t '999"),
        ("1 2 3 {big}.5", ("src", "dst", "t", "weight"), "too large for a 64-bit"),
        ("1 2 3 1e300", ("src", "dst", "t", "weight"), "overflows float32"),
        ("1 2 3 1e300", ("src", "dst", "t", "msg"), "overflows float32"),
    ],
)
def test_huge_numbers_get_the_line_error(tmp_path, row, columns, fragment):
    text = "1 2 3" + " 1" * (len(columns) - 3) + "\n" + row.format(big="9" * 10_000)
    path = write(tmp_path / "big.txt", text + "\n")
    expect_error(path, 2, fragment, columns=columns)
    with pytest.raises(MalformedFileError) as caught:
        read_events(path, columns=columns)
    assert len(str(caught.value)) < 300  # the number is shortened


def test_huge_integer_in_matrix_market_names_the_line(tmp_path):
    text = MTX.replace("4 3\n", "4 " + "9" * 10_000 + "\n").replace(
        "pattern", "integer"
    )
    text = text.replace("2 1\n3 1\n", "2 1 1\n3 1 1\n").replace("3 2\n", "3 2 1\n")
    with pytest.raises(MalformedFileError, match="64 bits") as caught:
        read_matrix_market(write(tmp_path / "big.mtx", text))
    assert caught.value.line == 6


@pytest.mark.parametrize("rating", ["11", "-11", "2.5"])
def test_snap_signed_refuses_ratings_outside_minus_ten_to_ten(tmp_path, rating):
    path = write(tmp_path / "s.csv", f"6,2,4,100\n6,5,{rating},200\n")
    with pytest.raises(MalformedFileError, match=f"rating '{rating}'") as caught:
        read_snap_signed(path)
    assert caught.value.line == 2
    assert str(caught.value).startswith(f"{path}:2: ")


def mtx(header: str, size: str, *entries: str) -> str:
    return f"%%MatrixMarket matrix coordinate {header}\n{size}\n" + "".join(
        f"{e}\n" for e in entries
    )


def test_matrix_market_laplacians_become_their_adjacency(tmp_path):
    path = tmp_path / "lap.mtx"
    lap = mtx("real symmetric", "3 3 5", "1 1 2", "2 1 -2", "2 2 3", "3 2 -1", "3 3 1")
    adjacency = read_matrix_market(write(path, lap)).toarray()
    assert adjacency.tolist() == [[0, 2, 0], [2, 0, 1], [0, 1, 0]]
    grounded = lap.replace("1 1 2", "1 1 5")  # a regularised Laplacian
    assert np.array_equal(
        read_matrix_market(write(path, grounded)).toarray(), adjacency
    )
    general = mtx("real general", "2 2 4", "1 1 1", "1 2 -1", "2 1 -1", "2 2 1")
    assert read_matrix_market(write(path, general)).toarray().tolist() == [
        [0, 1],
        [1, 0],
    ]


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        (mtx("real general", "3 3 2", "2 1 1", "3 2 -2"), 4, "entry (3, 2) is -2"),
        (
            mtx("real symmetric", "2 2 3", "1 1 0.5", "2 1 -1", "2 2 1"),
            4,
            "not a Laplacian",
        ),
        (mtx("real skew-symmetric", "2 2 1", "2 1 1"), None, "skew-symmetric"),
        (mtx("complex general", "2 2 1", "2 1 1 2"), None, "complex"),
        (mtx("real general", "2 2 1", "2 1 nan"), 3, "not a finite number"),
    ],
)
def test_matrix_market_conventions_that_are_no_adjacency(
    tmp_path, text, line, fragment
):
    path = write(tmp_path / "x.mtx", text)
    with pytest.raises(MalformedFileError) as caught:
        read_matrix_market(path)
    assert caught.value.line == line and fragment in str(caught.value)
    assert str(caught.value).startswith(str(path))
    assert "(expected " in str(caught.value)
