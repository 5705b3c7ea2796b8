"""Registry of real datasets: checksummed downloads, parsing, caching.

One registry serves every kind of data: event streams (``"events"``, an
:class:`EventStream`), graphs (``"matrix"``, a scipy CSR adjacency) and time
series of dynamical systems (``"series"``, a :class:`TimeSeries`).
:func:`load` returns a dataset by name: it downloads the upstream file (once),
checks it, parses it with the dataset's reader from :mod:`dyngraph.data.io`,
checks the result against the known statistics and caches the parsed arrays
in a binary file, so later calls only read that file (well over ten times
faster than parsing).

Layout on disk, under the data root (:func:`data_root`)::

    <root>/<folder>/raw/<file as served>       # e.g. college-msg/raw/CollegeMsg.txt.gz
    <root>/<folder>/processed/cache.bin        # parsed arrays + metadata
    <root>/<folder>/.download/                 # only while downloading

``<folder>`` is the dataset name, with ``suitesparse:<group>/<name>`` stored
under ``suitesparse/<group>/<name>``.

Integrity
---------
A raw file is accepted when its sha256 equals the registry's ``sha256`` (the
file as served upstream) or the sha256 of its decompressed content equals
``content_sha256``. A hash is recorded only where it was verified against a
real copy; where neither is known the parsed statistics are compared with
the published ones instead. A file that fails a known hash is deleted and
:class:`ChecksumError` is raised, so it is never trusted later; so is a file
that no hash vouches for and that cannot be parsed or does not match the
statistics. (When a file passes its hash but not the statistics, the reader
is at fault: the file is kept and the error says so.) When a bad file cannot
be deleted (a read-only folder), the error still says why it is bad, and
that it must be deleted by hand.

The processed cache holds a CRC-32 of its content, checked on every
load; a cache that fails it, is cut short, has a header that does not fit
the file, or was written by another cache format is ignored and rebuilt from
the raw file. Writing the cache is best-effort: where the data root is read
only, a raw file placed there still loads (parsed each time, with one
:class:`RuntimeWarning`).

Downloads
---------
A download goes through :func:`pooch.retrieve` into ``<folder>/.download/``
and is moved into ``raw/`` once complete, so a partial file never appears in
``raw/``; what a killed process left behind (the staging folder, and
temporary files in ``raw/`` older than the current process) is removed
before the next download. One process downloads a dataset at a time: the
others wait on a lock file in ``raw/`` (``DYNGRAPH_LOCK_TIMEOUT`` seconds,
default the download deadline plus a minute), then use the file it fetched.
Only http(s) URLs, and redirects to http(s) URLs, are followed. Each read
waits at most 60 s and the whole download at most
``DYNGRAPH_DOWNLOAD_TIMEOUT`` seconds (default 1800), so a server that
trickles bytes ends in a :class:`DownloadError` naming the URL.

Mirrors
-------
``url=`` replaces the upstream URL for one call. The environment variable
``DYNGRAPH_MIRROR`` (a base URL) replaces it for every dataset: the file is
looked up as ``<base>/<folder>/<file>``, trying the upstream file name first
and then its decompressed name (e.g. ``CollegeMsg.txt.gz``, then
``CollegeMsg.txt``). A copy served uncompressed is stored under its
decompressed name.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import gzip
import hashlib
import json
import logging
import math
import os
import re
import struct
import tempfile
import textwrap
import time
import warnings
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import numpy as np
import pooch
import scipy.sparse
import torch

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

from dyngraph.data.events import EventStream
from dyngraph.data.io import (
    MalformedFileError,
    is_gzip,
    read_jodie,
    read_matrix_market,
    read_snap_signed,
    read_snap_temporal,
    read_wiki_rfa,
)
from dyngraph.data.series import TimeSeries, read_series

__all__ = [
    "PARSERS",
    "ChecksumError",
    "DatasetError",
    "DatasetInfo",
    "DownloadError",
    "Parser",
    "StatsMismatchError",
    "UnknownDatasetError",
    "data_root",
    "dataset_stats",
    "download",
    "info",
    "is_downloaded",
    "list_datasets",
    "load",
    "parse",
]

Dataset = EventStream | scipy.sparse.csr_matrix | TimeSeries


class DatasetError(Exception):
    """Base class of the registry's errors."""


class DownloadError(DatasetError, OSError):
    """A dataset file could not be downloaded (offline, HTTP error, ...).

    The message names every URL tried and the path where the file can be
    placed by hand.
    """


class ChecksumError(DatasetError, ValueError):
    """A dataset file failed an integrity check (and was deleted if unvouched)."""


class StatsMismatchError(ChecksumError):
    """The parsed dataset disagrees with the registry's statistics."""


class UnknownDatasetError(DatasetError, ValueError):
    """No dataset of that name (or of the kind asked for) is registered.

    The message lists the known names and the closest matches.
    """


@dataclass(frozen=True)
class Parser:
    """A reader for one file format, with a version for cache invalidation.

    Attributes
    ----------
    name : str
        Key in :data:`PARSERS`.
    version : int
        Bumped whenever the reader's output changes; cached results made by
        another version are parsed again.
    read : callable
        ``read(path)`` returns an :class:`EventStream`, a CSR matrix or a
        :class:`TimeSeries`.
    kind : str
        What ``read`` returns: ``"events"``, ``"matrix"`` or ``"series"``.
    """

    name: str
    version: int
    read: Callable[[Path], Dataset]
    kind: str = "events"


PARSERS: dict[str, Parser] = {
    parser.name: parser
    for parser in (
        Parser("snap-signed", 1, read_snap_signed),
        Parser("snap-temporal", 1, read_snap_temporal),
        Parser("snap-wiki-rfa", 1, read_wiki_rfa),
        Parser("jodie", 1, read_jodie),
        Parser("matrix-market", 1, read_matrix_market, kind="matrix"),
        Parser("csv-series", 1, read_series, kind="series"),
    )
}
"""The readers of the registry, by name."""


@dataclass(frozen=True)
class DatasetInfo:
    """Everything the registry knows about one dataset.

    Attributes
    ----------
    name : str
        Registry name, e.g. ``"college-msg"``.
    description : str
        What the data is, its file format, how it is loaded, its statistics
        and which of them were verified against a real copy.
    url : str
        Public upstream URL of the file.
    filename : str
        Name of the file as served by ``url``.
    parser : str
        Key of the reader in :data:`PARSERS`.
    sha256 : str or None
        sha256 of the file as served by ``url``; ``None`` when no copy could
        be checked.
    content_sha256 : str or None
        sha256 of the decompressed content (of the file itself when it is
        not compressed); ``None`` when unknown.
    alt_filenames : tuple of str
        Other accepted names in ``raw/``, e.g. the decompressed file.
    num_nodes, num_events, num_edges : int or None
        Expected node count, event count (streams) and undirected edge
        count (matrix graphs).
    num_samples, num_states : int or None
        Expected number of observation times and of states (series).
    start_time, end_time : float or None
        Expected first and last event (or observation) time.
    num_positive, num_negative : int or None
        Expected sign balance.
    stats_verified : bool
        Whether the expected statistics were computed from a real copy
        (``True``) or only copied from the publisher's page (``False``).
    citation, licence, homepage : str
        How to cite, terms of use, and the dataset's page.
    """

    name: str
    description: str
    url: str
    filename: str
    parser: str
    sha256: str | None = None
    content_sha256: str | None = None
    alt_filenames: tuple[str, ...] = ()
    num_nodes: int | None = None
    num_events: int | None = None
    num_edges: int | None = None
    num_samples: int | None = None
    num_states: int | None = None
    start_time: float | None = None
    end_time: float | None = None
    num_positive: int | None = None
    num_negative: int | None = None
    stats_verified: bool = False
    citation: str = ""
    licence: str = ""
    homepage: str = ""

    @property
    def folder(self) -> str:
        """Folder of the dataset under the data root."""
        return self.name.replace(":", "/")

    @property
    def kind(self) -> str:
        """``"events"``, ``"matrix"`` (graphs) or ``"series"``, by the reader."""
        return PARSERS[self.parser].kind

    @property
    def filenames(self) -> tuple[str, ...]:
        """Every accepted raw file name, the upstream one first."""
        return (self.filename, *self.alt_filenames)

    def expected_stats(self) -> dict[str, float]:
        """Return the known statistics, keyed like :meth:`EventStream.summary`."""
        keys = (
            "num_nodes",
            "num_events",
            "num_edges",
            "num_samples",
            "num_states",
            "start_time",
            "end_time",
            "num_positive",
            "num_negative",
        )
        return {k: v for k in keys if (v := getattr(self, k)) is not None}

    def describe(self) -> str:
        """Return a readable account: description, source, checks, citation."""
        expected = ", ".join(
            f"{k}={v:,}" if isinstance(v, int) else f"{k}={v!r}"
            for k, v in self.expected_stats().items()
        )
        source = "verified on a real copy" if self.stats_verified else "published"
        rows = [
            ("homepage", self.homepage),
            ("url", self.url),
            ("files", ", ".join(self.filenames)),
            ("sha256", self.sha256 or "unknown"),
            ("content", self.content_sha256 or "unknown"),
            ("checked", f"{expected} ({source})" if expected else "no statistics"),
            ("citation", self.citation),
            ("licence", self.licence),
        ]
        lines = [self.name, "", textwrap.fill(self.description, 88), ""]
        for label, text in rows:
            lines.append(
                textwrap.fill(
                    text,
                    88,
                    initial_indent=f"{label + ':':<10}",
                    subsequent_indent=" " * 10,
                )
            )
        return "\n".join(lines)


# --------------------------------------------------------------------------
# the registry

_SNAP_TERMS = (
    "No licence is stated with the data; SNAP asks users to cite the paper(s) "
    "given in `citation`. Check the homepage before redistributing."
)
_KUMAR_2016 = (
    "S. Kumar, F. Spezzano, V.S. Subrahmanian, C. Faloutsos. Edge Weight "
    "Prediction in Weighted Signed Networks. ICDM 2016. S. Kumar, B. Hooi, "
    "D. Makhija, M. Kumar, C. Faloutsos, V.S. Subrahmanian. REV2: Fraudulent "
    "User Prediction in Rating Platforms. WSDM 2018."
)
_PARANJAPE_2017 = (
    "A. Paranjape, A.R. Benson, J. Leskovec. Motifs in Temporal Networks. "
    "WSDM 2017. H. Yin, A.R. Benson, J. Leskovec, D.F. Gleich. Local "
    "Higher-order Graph Clustering. KDD 2017."
)
_JODIE_2019 = (
    "S. Kumar, X. Zhang, J. Leskovec. Predicting Dynamic Embedding Trajectory "
    "in Temporal Interaction Networks. KDD 2019."
)
_SUITESPARSE = (
    "T.A. Davis, Y. Hu. The University of Florida Sparse Matrix Collection. "
    "ACM Transactions on Mathematical Software 38(1), 2011."
)
_DIMACS10 = (
    " D.A. Bader, H. Meyerhenke, P. Sanders, D. Wagner (eds.). Graph "
    "Partitioning and Graph Clustering, 10th DIMACS Implementation Challenge. "
    "Contemporary Mathematics 588, AMS, 2013."
)
_SUITESPARSE_TERMS = (
    "SuiteSparse Matrix Collection terms (believed to be CC-BY 4.0; not "
    "verified here): see the homepage."
)
_SNAP = "https://snap.stanford.edu/data/"


def _email_dept(k: int, nodes: int, events: int) -> DatasetInfo:
    return DatasetInfo(
        name=f"email-eu-core-temporal-dept{k}",
        description=(
            f"Department {k} of email-Eu-core-temporal: e-mails among members "
            "of one department of a European research institution. Format: "
            "whitespace-separated `SRC TGT T`, no header, T in seconds from "
            "an anonymised origin; loaded with integer times, self-loops "
            f"kept, unsorted lines sorted stably. Stats: {nodes:,} nodes, "
            f"{events:,} events (published by SNAP, not verified here)."
        ),
        url=f"{_SNAP}email-Eu-core-temporal-Dept{k}.txt.gz",
        filename=f"email-Eu-core-temporal-Dept{k}.txt.gz",
        alt_filenames=(f"email-Eu-core-temporal-Dept{k}.txt",),
        parser="snap-temporal",
        num_nodes=nodes,
        num_events=events,
        citation=_PARANJAPE_2017,
        licence=_SNAP_TERMS,
        homepage=f"{_SNAP}email-Eu-core-temporal.html",
    )


def _jodie(name: str, nodes: int, events: int, features: int) -> DatasetInfo:
    return DatasetInfo(
        name=name,
        description=(
            f"JODIE {name} user-item interactions. Format: csv with one "
            "header line, then `user_id,item_id,timestamp,state_label,"
            f"features...` ({features} features per event according to "
            "PyG). Loaded as a bipartite EventStream: users 0..U-1, items "
            "U..U+I-1, y = state label, msg = features, float64 times. "
            f"Stats: {nodes:,} nodes, {events:,} events (published by the "
            "JODIE/DyGLib/TGB literature, not verified here)."
        ),
        url=f"https://snap.stanford.edu/jodie/{name}.csv",
        filename=f"{name}.csv",
        parser="jodie",
        num_nodes=nodes,
        num_events=events,
        citation=_JODIE_2019,
        licence=(
            "No licence is stated with the data; the authors ask users to "
            "cite the paper in `citation`."
        ),
        homepage="https://snap.stanford.edu/jodie/",
    )


def _delaunay(n: int, nodes: int, edges: int) -> DatasetInfo:
    return DatasetInfo(
        name=f"suitesparse:DIMACS10/delaunay_n{n}",
        description=(
            f"DIMACS10 delaunay_n{n}: Delaunay triangulation of 2**{n} random "
            "points in the unit square, from the SuiteSparse Matrix "
            "Collection. Format: tar.gz holding a Matrix Market `pattern "
            "symmetric` file (a plain .mtx from a mirror is accepted). "
            "Loaded as a symmetric CSR adjacency with unit weights. Stats: "
            f"{nodes:,} nodes, {edges:,} undirected edges (verified: counted "
            "from a redistributed .mtx whose counts match the SuiteSparse "
            "page; no copy of SuiteSparse's archive was available, so no "
            "hash is recorded)."
        ),
        url=f"https://sparse.tamu.edu/MM/DIMACS10/delaunay_n{n}.tar.gz",
        filename=f"delaunay_n{n}.tar.gz",
        alt_filenames=(f"delaunay_n{n}.mtx",),
        parser="matrix-market",
        num_nodes=nodes,
        num_edges=edges,
        stats_verified=True,
        citation=_SUITESPARSE + _DIMACS10,
        licence=_SUITESPARSE_TERMS,
        homepage=f"https://sparse.tamu.edu/DIMACS10/delaunay_n{n}",
    )


_ENTRIES = (
    DatasetInfo(
        name="bitcoin-otc",
        description=(
            "Bitcoin OTC who-trusts-whom network (SNAP soc-sign-bitcoin-otc): "
            "members rate each other from -10 (total distrust) to +10 (total "
            "trust). Format: gzip csv, no header, `SOURCE,TARGET,RATING,TIME`, "
            "TIME in Unix seconds with decimals. Loaded as a signed, weighted "
            "EventStream (weight = rating, sign = its sign, float64 times). "
            "Stats: 5,881 nodes, 35,592 events, 32,029 positive and 3,563 "
            "negative, times 1289241911.72836 to 1453684323.75728. Verified: "
            "counted from a copy whose decompressed content matches two "
            "independent copies and SNAP's published counts; that copy was "
            "recompressed by a third party, so only the content hash is "
            "recorded, not the hash of SNAP's .gz."
        ),
        url=f"{_SNAP}soc-sign-bitcoinotc.csv.gz",
        filename="soc-sign-bitcoinotc.csv.gz",
        alt_filenames=("soc-sign-bitcoinotc.csv",),
        parser="snap-signed",
        content_sha256=(
            "76bd9d8f1d3ff9a1813d9fc8e6902a0ee4d0a2f8c1003842dbc9ec79149ab60c"
        ),
        num_nodes=5881,
        num_events=35592,
        start_time=1289241911.72836,
        end_time=1453684323.75728,
        num_positive=32029,
        num_negative=3563,
        stats_verified=True,
        citation=_KUMAR_2016,
        licence=_SNAP_TERMS,
        homepage=f"{_SNAP}soc-sign-bitcoin-otc.html",
    ),
    DatasetInfo(
        name="bitcoin-alpha",
        description=(
            "Bitcoin Alpha who-trusts-whom network (SNAP "
            "soc-sign-bitcoin-alpha), same format and loading as "
            "bitcoin-otc: ratings -10..+10 as weight and sign, Unix-second "
            "times. Stats: 3,783 nodes, 24,186 events (published by SNAP, "
            "not verified here)."
        ),
        url=f"{_SNAP}soc-sign-bitcoinalpha.csv.gz",
        filename="soc-sign-bitcoinalpha.csv.gz",
        alt_filenames=("soc-sign-bitcoinalpha.csv",),
        parser="snap-signed",
        num_nodes=3783,
        num_events=24186,
        citation=_KUMAR_2016,
        licence=_SNAP_TERMS,
        homepage=f"{_SNAP}soc-sign-bitcoin-alpha.html",
    ),
    DatasetInfo(
        name="wiki-rfa",
        description=(
            "Wikipedia Requests for Adminship votes, 2003 to May 2013 (SNAP "
            "wiki-RfA). Format: gzip text of 7-line records `SRC:`, `TGT:`, "
            "`VOT:`, `RES:`, `YEA:`, `DAT:`, `TXT:` separated by blank lines. "
            "Loaded as a signed EventStream (sign = vote, y = election "
            "result, Unix-second times from DAT, user names as node ids); "
            "neutral votes and records without a source, target or "
            "parseable date are dropped (see read_wiki_rfa). Published by "
            "SNAP, not verified here: 11,381 users and 198,275 votes in "
            "the file; 10,835 nodes and 159,388 edges in SNAP's static "
            "network without neutral votes. These figures count things the "
            "stream does not (neutral votes, undated votes, distinct pairs), "
            "so they are not checked."
        ),
        url=f"{_SNAP}wiki-RfA.txt.gz",
        filename="wiki-RfA.txt.gz",
        alt_filenames=("wiki-RfA.txt",),
        parser="snap-wiki-rfa",
        citation=(
            "R. West, H.S. Paskov, J. Leskovec, C. Potts. Exploiting Social "
            "Network Structure for Person-to-Person Sentiment Analysis. "
            "TACL 2, 2014."
        ),
        licence=_SNAP_TERMS,
        homepage=f"{_SNAP}wiki-RfA.html",
    ),
    DatasetInfo(
        name="college-msg",
        description=(
            "Private messages on a UC Irvine online community (SNAP "
            "CollegeMsg; the same events as UCI / KONECT opsahl-ucsocial, "
            "whose times are 32,400 s earlier). Format: gzip text, "
            "space-separated `SRC TGT UNIXTS`, no header. Loaded with "
            "integer Unix-second times. Stats: 1,899 nodes, 59,835 events, "
            "times 1082040961 to 1098777142. Verified: content hash and "
            "counts from a copy identical to SNAP's content; the hash of "
            "SNAP's .gz itself is unknown."
        ),
        url=f"{_SNAP}CollegeMsg.txt.gz",
        filename="CollegeMsg.txt.gz",
        alt_filenames=("CollegeMsg.txt",),
        parser="snap-temporal",
        content_sha256=(
            "e00ba2415373dee52c00616065bcceaa4750e78de60d1855c76470600f10740f"
        ),
        num_nodes=1899,
        num_events=59835,
        start_time=1082040961,
        end_time=1098777142,
        stats_verified=True,
        citation=(
            "P. Panzarasa, T. Opsahl, K.M. Carley. Patterns and dynamics of "
            "users' behavior and interaction: Network analysis of an online "
            "community. JASIST 60(5), 2009."
        ),
        licence=_SNAP_TERMS,
        homepage=f"{_SNAP}CollegeMsg.html",
    ),
    DatasetInfo(
        name="email-eu-core-temporal",
        description=(
            "E-mails among members of a European research institution (SNAP "
            "email-Eu-core-temporal). Format: gzip text, `SRC TGT T` with T "
            "in seconds from an anonymised origin. Loaded with integer "
            "times, self-loops kept. Stats: 986 nodes, 332,334 events "
            "(published by SNAP, not verified here)."
        ),
        url=f"{_SNAP}email-Eu-core-temporal.txt.gz",
        filename="email-Eu-core-temporal.txt.gz",
        alt_filenames=("email-Eu-core-temporal.txt",),
        parser="snap-temporal",
        num_nodes=986,
        num_events=332334,
        citation=_PARANJAPE_2017,
        licence=_SNAP_TERMS,
        homepage=f"{_SNAP}email-Eu-core-temporal.html",
    ),
    _email_dept(1, 309, 61046),
    _email_dept(2, 162, 46772),
    dataclasses.replace(
        _email_dept(3, 89, 12216),
        description=(
            "Department 3 of email-Eu-core-temporal: e-mails among members of "
            "one department of a European research institution. Format: "
            "whitespace-separated `SRC TGT T`, no header, T in seconds from "
            "an anonymised origin (some copies add `%` comment lines, which "
            "are skipped); loaded with integer times, unsorted lines (4 in "
            "this file) sorted stably. Stats: 89 nodes, 12,216 events, "
            "times 0 to 69317577 (802.3 days). Verified: counted from a "
            "copy that matches SNAP's published counts; that copy has two "
            "added comment lines, so it is not byte-identical to SNAP's "
            "file and no hash is recorded."
        ),
        start_time=0,
        end_time=69317577,
        stats_verified=True,
    ),
    _email_dept(4, 142, 48141),
    _jodie("wikipedia", 9227, 157474, 172),
    _jodie("reddit", 10984, 672447, 172),
    _jodie("mooc", 7144, 411749, 4),
    _jodie("lastfm", 1980, 1293103, 2),
    _delaunay(10, 1024, 3056),
    _delaunay(12, 4096, 12264),
    _delaunay(14, 16384, 49122),
    DatasetInfo(
        name="lynx-hare",
        description=(
            "Hudson's Bay Company trading records of snowshoe hare and Canada "
            "lynx pelts, 1845-1935, in thousands of pelts per year: the "
            "classic predator-prey series. Format: csv with the header "
            "`Year,Hare,Lynx`, one row per year. Loaded as a TimeSeries "
            "(t = year, x[:, 0] = hare, x[:, 1] = lynx). Stats: 91 samples, 2 "
            "states, years 1845 to 1935. Verified: hash and counts from a real "
            "copy of the file in the R package tsibbledata "
            "(data-raw/pelt/lynxhare.csv)."
        ),
        url="https://raw.githubusercontent.com/tidyverts/tsibbledata/master/"
        "data-raw/pelt/lynxhare.csv",
        filename="lynxhare.csv",
        parser="csv-series",
        sha256="e1a25f2ef4cf1334f898c9ffe208bf54d6eb1b779c1e4c197f9669f28686ee23",
        content_sha256=(
            "e1a25f2ef4cf1334f898c9ffe208bf54d6eb1b779c1e4c197f9669f28686ee23"
        ),
        num_samples=91,
        num_states=2,
        start_time=1845.0,
        end_time=1935.0,
        stats_verified=True,
        citation=(
            "C.S. Elton, M. Nicholson. The ten-year cycle in numbers of the lynx "
            "in Canada. Journal of Animal Ecology 11(2), 1942. Data as packaged "
            "by M. O'Hara-Wild, R. Hyndman, E. Wang et al., tsibbledata (R)."
        ),
        licence=(
            "The tsibbledata package is GPL-3; the historical records "
            "themselves are public-domain facts."
        ),
        homepage="https://github.com/tidyverts/tsibbledata",
    ),
)
_REGISTRY: dict[str, DatasetInfo] = {entry.name: entry for entry in _ENTRIES}
_SUITESPARSE_NAME = re.compile(r"suitesparse:([\w.+-]+)/([\w.+-]+)", re.IGNORECASE)


def list_datasets(kind: str | None = None) -> list[str]:
    """Names of the registered datasets, sorted.

    Any SuiteSparse matrix is also available as
    ``"suitesparse:<group>/<name>"``; only the listed ones carry verified
    statistics.

    Parameters
    ----------
    kind : str, optional
        Only datasets of this kind: ``"events"``, ``"matrix"`` or
        ``"series"`` (default: every kind).
    """
    kinds = sorted({parser.kind for parser in PARSERS.values()})
    if kind is not None and kind not in kinds:
        raise ValueError(f"list_datasets: kind={kind!r}; choose one of {kinds}")
    return sorted(n for n, e in _REGISTRY.items() if kind in (None, e.kind))


def info(name: str) -> DatasetInfo:
    """Registry entry of a dataset.

    Parameters
    ----------
    name : str
        A name from :func:`list_datasets` (case and ``_``/``-`` are
        ignored), or ``"suitesparse:<group>/<name>"`` for any matrix of the
        SuiteSparse collection.

    Raises
    ------
    UnknownDatasetError
        For an unknown name (a :class:`ValueError` too); the message lists
        the known names and the closest matches.
    """
    key = name.strip()
    matrix = _SUITESPARSE_NAME.fullmatch(key)
    if matrix is not None:
        group, stem = matrix.groups()
        canonical = f"suitesparse:{group}/{stem}"
        return _REGISTRY.get(canonical) or DatasetInfo(
            name=canonical,
            description=f"SuiteSparse matrix {group}/{stem} (not registered: "
            "no statistics are checked).",
            url=f"https://sparse.tamu.edu/MM/{group}/{stem}.tar.gz",
            filename=f"{stem}.tar.gz",
            alt_filenames=(f"{stem}.mtx",),
            parser="matrix-market",
            citation=_SUITESPARSE,
            licence=_SUITESPARSE_TERMS,
            homepage=f"https://sparse.tamu.edu/{group}/{stem}",
        )
    key = key.lower().replace("_", "-")
    if key in _REGISTRY:
        return _REGISTRY[key]
    close = difflib.get_close_matches(key, list_datasets(), n=3, cutoff=0.5)
    hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
    raise UnknownDatasetError(
        f"unknown dataset {name!r}.{hint} Known datasets: "
        f"{', '.join(list_datasets())}; any SuiteSparse matrix is available "
        "as 'suitesparse:<group>/<name>'."
    )


def data_root(root: str | Path | None = None) -> Path:
    """Folder under which datasets are stored.

    In order: ``root`` when given; the environment variable
    ``DYNGRAPH_DATA``; the ``data/`` folder of a source checkout (the folder
    holding the ``dyngraph`` package has a ``pyproject.toml`` naming the
    project ``dyngraph``); the user cache folder given by
    :func:`pooch.os_cache` (e.g. ``~/.cache/dyngraph`` on Linux).
    """
    if root is not None:
        return Path(root)
    env = os.environ.get("DYNGRAPH_DATA")
    if env:
        return Path(env).expanduser()
    checkout = Path(__file__).resolve().parents[2]
    pyproject = checkout / "pyproject.toml"
    if pyproject.is_file() and re.search(
        r'(?m)^name\s*=\s*"dyngraph"\s*$', pyproject.read_text(encoding="utf-8")
    ):
        return checkout / "data"
    return Path(pooch.os_cache("dyngraph"))


def _dirs(entry: DatasetInfo, root: str | Path | None) -> tuple[Path, Path]:
    base = data_root(root) / entry.folder
    return base / "raw", base / "processed"


# --------------------------------------------------------------------------
# download and verification

_DOWNLOAD_TIMEOUT_ENV = "DYNGRAPH_DOWNLOAD_TIMEOUT"
_LOCK_TIMEOUT_ENV = "DYNGRAPH_LOCK_TIMEOUT"
_DEFAULT_DOWNLOAD_TIMEOUT = 1800.0
_READ_TIMEOUT = 60.0
_STAGING_NAME = ".download"
_LOCK_NAME = ".download.lock"
_STARTED = time.time()  # files older than this cannot be in use by this process
_TEMPORARY = re.compile(r"tmp[a-z0-9_]{8}|.+\.tmp")  # tempfile's names, ours


def _seconds(variable: str, default: float) -> float:
    """Return a positive number of seconds from the environment, or ``default``."""
    text = os.environ.get(variable, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise DatasetError(
            f"{variable}={text!r} is not a positive number of seconds; unset it "
            f"for the default ({default:g} s)."
        )
    return value


def _sha256(path: Path, *, decompress: bool = False) -> str:
    digest = hashlib.sha256()
    opener = gzip.open if decompress else open
    with opener(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _existing_raw(entry: DatasetInfo, raw_dir: Path) -> Path | None:
    for filename in entry.filenames:
        if (raw_dir / filename).is_file():
            return raw_dir / filename
    return None


def _discard(path: Path) -> tuple[str, OSError | None]:
    """Delete a bad file; return a sentence saying so, and the error if it failed.

    A failure to delete must not hide why the file was bad, so it is
    returned for the caller to mention (and chain), never raised.
    """
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        return (
            f"The file could not be deleted ({exc}): delete it by hand, or the "
            "next load rejects it again",
            exc,
        )
    return "The file was deleted", None


def _verify(path: Path, entry: DatasetInfo) -> tuple[str, bool]:
    """Return the file's sha256 and whether a known hash vouched for it.

    Deletes the file and raises :class:`ChecksumError` when hashes are known
    and none matches.
    """
    digest = _sha256(path)
    if entry.sha256 is None and entry.content_sha256 is None:
        return digest, False
    if digest == entry.sha256:
        return digest, True
    try:
        content = _sha256(path, decompress=True) if is_gzip(path) else digest
    except (OSError, EOFError, zlib.error):
        content = "unknown (the gzip stream is corrupt)"
    if content == entry.content_sha256:
        return digest, True
    action, failure = _discard(path)
    raise ChecksumError(
        f"{path} is not the expected file for dataset {entry.name!r}: its "
        f"sha256 is {digest} (expected {entry.sha256 or 'unknown'}) and the "
        f"sha256 of its content is {content} (expected "
        f"{entry.content_sha256 or 'unknown'}). {action}. Once it is gone the "
        "next load downloads it again, or place a good copy there by hand."
    ) from failure


@contextlib.contextmanager
def _quiet_pooch() -> Iterator[None]:
    """Silence pooch's advice to pin the hash: the registry does that."""
    logger = pooch.get_logger()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def _candidates(entry: DatasetInfo, url: str | None) -> list[str]:
    if url is not None:
        return [url]
    mirror = os.environ.get("DYNGRAPH_MIRROR")
    if mirror:
        base = mirror.rstrip("/")
        return [f"{base}/{entry.folder}/{filename}" for filename in entry.filenames]
    return [entry.url]


def _remove_orphans(
    folder: Path, *, every_file: bool = False, keep: tuple[str, ...] = ()
) -> None:
    """Delete temporary files that a killed process left in ``folder``.

    Only names made by :mod:`tempfile` or ending in ``.tmp`` and not
    modified since this process started are removed, unless ``every_file``
    (for a folder that only the holder of the download lock writes to).
    Names in ``keep`` are never removed. Best-effort: a folder that cannot
    be listed or written is left alone.
    """
    try:
        children = list(folder.iterdir())
    except OSError:
        return
    for child in children:
        with contextlib.suppress(OSError):
            if child.name in keep or not child.is_file():
                continue
            if not every_file and (
                not _TEMPORARY.fullmatch(child.name)
                or child.stat().st_mtime >= _STARTED
            ):
                continue
            child.unlink()


@contextlib.contextmanager
def _download_lock(entry: DatasetInfo, raw_dir: Path) -> Iterator[None]:
    """Hold ``raw/.download.lock`` so that one process downloads at a time.

    The lock is an advisory :func:`fcntl.flock` (released by the system when
    its holder dies, so it is never stale); the lock file is deleted on
    release, and a waiter that then holds a deleted file tries again. Where
    :mod:`fcntl` is missing (Windows) :mod:`filelock` is used.
    """
    try:
        raw_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DownloadError(
            f"cannot download dataset {entry.name!r}: {raw_dir} cannot be "
            f"created ({exc}). Place the file there by hand, or choose a "
            "writable data root with root= or DYNGRAPH_DATA."
        ) from exc
    path = raw_dir / _LOCK_NAME
    limit = _seconds(
        _LOCK_TIMEOUT_ENV,
        _seconds(_DOWNLOAD_TIMEOUT_ENV, _DEFAULT_DOWNLOAD_TIMEOUT) + 60,
    )
    waited = DownloadError(
        f"gave up after {limit:g} s waiting for {path}: another process is "
        f"downloading dataset {entry.name!r} into {raw_dir}. Try again when it "
        f"has finished, or raise {_LOCK_TIMEOUT_ENV} (seconds). A lock whose "
        "process has ended is released by the system, so this one is in use."
    )
    if fcntl is None:  # pragma: no cover - platforms without flock
        import filelock

        try:
            with filelock.FileLock(str(path), timeout=limit):
                yield
        except filelock.Timeout as exc:
            raise waited from exc
        return
    end = time.monotonic() + limit
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise DownloadError(
                f"cannot download dataset {entry.name!r}: the lock file {path} "
                f"cannot be created ({exc}). Place the file in {raw_dir} by "
                "hand, or choose a writable data root with root= or DYNGRAPH_DATA."
            ) from exc
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= end:
                        raise waited from None
                    time.sleep(0.05)
            try:
                held = os.stat(path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                held = False
        except BaseException:
            os.close(fd)
            raise
        if held:
            break
        os.close(fd)  # its holder deleted the file as we waited: lock anew
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            path.unlink()
        os.close(fd)


class _DeadlineExceeded(DownloadError):
    """The overall download deadline passed (``DYNGRAPH_DOWNLOAD_TIMEOUT``)."""


class _BadRedirect(DownloadError):
    """A server redirected to something other than an http(s) URL."""


def _refuse_other_schemes(response: Any, *args: Any, **kwargs: Any) -> None:
    """Stop at a redirect to a non-http(s) URL (a requests response hook).

    requests calls it for every response, redirects included, before it
    follows one; without it such a redirect fails as ``InvalidSchema``, a
    :class:`ValueError` that does not name the target.
    """
    if not response.is_redirect:
        return
    target = urljoin(response.url, response.headers["location"])
    if urlsplit(target).scheme not in ("http", "https"):
        response.close()
        raise _BadRedirect(
            f"{response.url} redirects to {target!r}, which is not an http(s) "
            "URL; only http(s) redirects are followed"
        )


class _Downloader:
    """A :mod:`pooch` downloader: http(s) only, within an overall deadline.

    requests follows the redirects, :func:`_refuse_other_schemes` stops one
    to another scheme; the body is read as it arrives, so a server that
    trickles bytes is stopped at the deadline (give or take the read
    timeout of one socket read).
    """

    def __init__(self, deadline: float, budget: float, progress: bool) -> None:
        self.deadline = deadline
        self.budget = budget
        self.progress = progress

    def _check(self, url: str) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise _DeadlineExceeded(url)
        return left

    def _open(self, url: str) -> Any:
        import requests

        wait = min(_READ_TIMEOUT, self._check(url))
        response = requests.get(
            url,
            stream=True,
            timeout=(wait, wait),
            hooks={"response": _refuse_other_schemes},
        )
        try:
            response.raise_for_status()
        except BaseException:
            response.close()
            raise
        return response

    def __call__(
        self, url: str, output_file: str, pooch_: object, check_only: bool = False
    ) -> bool | None:
        """Download ``url`` to the file ``output_file`` (called by pooch).

        With ``check_only``, return whether the URL can be fetched instead.
        """
        import requests
        import urllib3

        if check_only:
            try:
                self._open(url).close()
            except requests.HTTPError:
                return False
            return True
        response = self._open(url)
        progress = None
        try:
            if self.progress:
                from tqdm.auto import tqdm

                length = response.headers.get("content-length", "")
                progress = tqdm(
                    total=int(length) if length.isdigit() else None,
                    unit="B",
                    unit_scale=True,
                    ncols=79,
                    leave=True,
                )
            with open(output_file, "wb") as out:
                while True:
                    self._check(url)
                    try:
                        chunk = response.raw.read1(1 << 16, decode_content=True)
                    except (urllib3.exceptions.HTTPError, OSError) as exc:
                        raise requests.exceptions.ConnectionError(
                            f"the transfer broke off: {exc}"
                        ) from exc
                    if not chunk:
                        break
                    out.write(chunk)
                    if progress is not None:
                        progress.update(len(chunk))
        finally:
            response.close()
            if progress is not None:
                progress.close()
        return None


def _download(
    entry: DatasetInfo, raw_dir: Path, url: str | None, progress: bool
) -> Path:
    """Download into ``<folder>/.download/``, then move the file into ``raw/``.

    Call with the download lock held: leftovers of a killed download are
    removed first, from the staging folder (all of it) and from ``raw/``
    (temporary files older than this process).
    """
    import requests

    staging = raw_dir.parent / _STAGING_NAME
    _remove_orphans(raw_dir, keep=entry.filenames)
    _remove_orphans(staging, every_file=True)
    budget = _seconds(_DOWNLOAD_TIMEOUT_ENV, _DEFAULT_DOWNLOAD_TIMEOUT)
    downloader = _Downloader(time.monotonic() + budget, budget, progress)
    by_hand = raw_dir / entry.filename
    alternatives = "".join(f" or {raw_dir / name}" for name in entry.alt_filenames)
    failures = []
    try:
        for candidate in _candidates(entry, url):
            if urlsplit(candidate).scheme not in ("http", "https"):
                raise ValueError(
                    f"only http(s) URLs can be downloaded, got {candidate!r}"
                )
            known = (
                f"sha256:{entry.sha256}"
                if entry.sha256 and candidate == entry.url
                else None
            )
            try:
                with _quiet_pooch():
                    fetched = Path(
                        pooch.retrieve(
                            candidate,
                            known_hash=known,
                            fname=entry.filename,
                            path=staging,
                            progressbar=progress,
                            downloader=downloader,
                        )
                    )
            except _DeadlineExceeded as exc:
                raise DownloadError(
                    f"downloading dataset {entry.name!r} from {candidate} took "
                    f"longer than the {budget:g} s allowed ({_DOWNLOAD_TIMEOUT_ENV}"
                    "); the server may be sending too slowly. Raise the limit, "
                    "point url= or DYNGRAPH_MIRROR at another mirror, or place "
                    f"the file at {by_hand}{alternatives} by hand."
                ) from exc
            except (requests.RequestException, OSError) as exc:
                failures.append(f"{candidate} ({exc})")
                continue
            except ValueError as exc:  # pooch's hash check; it removed the file
                raise ChecksumError(
                    f"the file downloaded from {candidate} failed its checksum "
                    f"and was discarded: {exc}"
                ) from exc
            name = entry.filename
            if entry.alt_filenames and name.endswith(".gz") and not is_gzip(fetched):
                name = entry.alt_filenames[0]  # served decompressed: name it so
            return fetched.replace(raw_dir / name)
    finally:
        _remove_orphans(staging, every_file=True)
        with contextlib.suppress(OSError):
            staging.rmdir()
    raise DownloadError(
        f"could not download dataset {entry.name!r} from "
        f"{'; '.join(failures)}. If you are offline, fetch {entry.url} "
        f"yourself and place it at {by_hand}{alternatives} (it is checked "
        "before use), or point url= or DYNGRAPH_MIRROR at a mirror."
    )


def is_downloaded(name: str, *, root: str | Path | None = None) -> bool:
    """Whether a raw file of the dataset is present (it is verified on use)."""
    entry = info(name)
    return _existing_raw(entry, _dirs(entry, root)[0]) is not None


def _fetch(
    entry: DatasetInfo, raw_dir: Path, url: str | None, progress: bool
) -> tuple[Path, str, bool]:
    path = _existing_raw(entry, raw_dir)
    if path is not None:  # present: no lock, so a read-only root works
        digest, verified = _verify(path, entry)
        return path, digest, verified
    with _download_lock(entry, raw_dir):
        # another process may have fetched it while this one waited
        path = _existing_raw(entry, raw_dir) or _download(entry, raw_dir, url, progress)
        digest, verified = _verify(path, entry)
    return path, digest, verified


def download(
    name: str,
    *,
    root: str | Path | None = None,
    url: str | None = None,
    progress: bool = True,
) -> Path:
    """Download a dataset's raw file (once) and verify it.

    A file already in ``<root>/<folder>/raw/`` under an accepted name is
    verified, not downloaded again.

    Parameters
    ----------
    name : str
        Dataset name (see :func:`info`).
    root : str or pathlib.Path, optional
        Data root (default: :func:`data_root`).
    url : str, optional
        Download from this URL instead of upstream (default: ``None``;
        ``DYNGRAPH_MIRROR`` is used when set).
    progress : bool
        Show a progress bar (default: ``True``).

    Returns
    -------
    pathlib.Path
        The verified raw file.

    Raises
    ------
    DownloadError
        When the file cannot be fetched (offline, an HTTP error, a redirect
        to a non-http(s) URL, past ``DYNGRAPH_DOWNLOAD_TIMEOUT``, or another
        process holding the download lock past ``DYNGRAPH_LOCK_TIMEOUT``);
        names the URLs tried and where to place the file by hand.
    ChecksumError
        When the file fails a known hash; the file is deleted (or the error
        says that it could not be).

    Notes
    -----
    See the module documentation, *Downloads*, for the staging folder, the
    lock and the deadlines.
    """
    entry = info(name)
    raw_dir, _ = _dirs(entry, root)
    return _fetch(entry, raw_dir, url, progress)[0]


# --------------------------------------------------------------------------
# processed cache: a fixed prefix, a JSON header, then aligned raw arrays
#
#   magic (16 bytes) | header length (u64) | CRC-32 of all that follows
#   (u32) | JSON header, padded | arrays, each padded to 64 bytes
#
# Nothing is allocated from a header field before it is checked against the
# file's size, and nothing is used before the checksum matches. The CRC
# detects truncation, torn writes and bit rot; it is not a security boundary
# (whoever can write the cache can rewrite any digest). It costs a third of
# blake2b's time, which was most of a cached load.

_CACHE_NAME = "cache.bin"
_CACHE_MAGIC = b"DYNGRAPH-CACHE-3"
_DIGEST_SIZE = 4
_PREFIX = len(_CACHE_MAGIC) + 8 + _DIGEST_SIZE
_ALIGN = 64
_CACHE_WARNED: set[Path] = set()


def _write_cache(
    path: Path, meta: dict[str, Any], arrays: dict[str, np.ndarray]
) -> None:
    """Write arrays and metadata atomically (temporary file, then rename)."""
    layout, offset = [], 0
    for key, array in arrays.items():
        layout.append([key, array.dtype.str, list(array.shape), offset])
        offset += -(-array.nbytes // _ALIGN) * _ALIGN
    head = json.dumps({"meta": meta, "arrays": layout, "size": offset}).encode()
    head += b" " * (-(len(head) + _PREFIX) % _ALIGN)
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_orphans(path.parent)  # left by a process killed while writing
    with tempfile.NamedTemporaryFile(
        dir=path.parent, suffix=".tmp", delete=False
    ) as out:
        try:
            crc = zlib.crc32(head)
            out.write(_CACHE_MAGIC + struct.pack("<Q", len(head)))
            out.write(bytes(_DIGEST_SIZE) + head)
            for array in arrays.values():
                data = np.ascontiguousarray(array).tobytes()
                data += b"\0" * (-len(data) % _ALIGN)
                crc = zlib.crc32(data, crc)
                out.write(data)
            out.seek(len(_CACHE_MAGIC) + 8)
            out.write(struct.pack("<I", crc))
            out.close()
            os.replace(out.name, path)
        except BaseException:
            out.close()
            os.unlink(out.name)
            raise


def _read_cache(
    path: Path, accept: Callable[[dict[str, Any]], bool]
) -> tuple[dict[str, Any], dict[str, np.ndarray]] | None:
    """Arrays of a cache file whose metadata ``accept`` approves, else None.

    ``None`` too for a file of another format version, a header length or
    size that does not fit the file, or content that fails its digest.
    """
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            prefix = handle.read(_PREFIX)
            if len(prefix) != _PREFIX or not prefix.startswith(_CACHE_MAGIC):
                return None
            (length,) = struct.unpack_from("<Q", prefix, len(_CACHE_MAGIC))
            if length > size - _PREFIX:  # never allocate beyond the file
                return None
            head = handle.read(length)
            buffer = bytearray(size - _PREFIX - length)
            if len(head) != length or handle.readinto(buffer) != len(buffer):
                return None
    except OSError:
        return None
    crc = zlib.crc32(buffer, zlib.crc32(head))
    if struct.pack("<I", crc) != prefix[-_DIGEST_SIZE:]:
        return None
    try:
        header = json.loads(head)
        meta = header["meta"]
        if header["size"] != len(buffer) or not accept(meta):
            return None
        arrays = {
            key: np.frombuffer(
                buffer, dtype=dtype, count=math.prod(shape), offset=offset
            ).reshape(shape)
            for key, dtype, shape, offset in header["arrays"]
        }
    except (ValueError, TypeError, KeyError, IndexError):
        return None
    return meta, arrays


def _to_arrays(data: Dataset) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    if isinstance(data, EventStream):
        arrays = {key: value.cpu().numpy() for key, value in data.fields().items()}
        if data.node_ids is not None:
            ids = np.asarray(data.node_ids)
            arrays["node_ids"] = ids.astype(str) if ids.dtype == object else ids
        return {"kind": "events", "num_nodes": data.num_nodes}, arrays
    if isinstance(data, TimeSeries):
        return {"kind": "series", "names": list(data.names)}, {"t": data.t, "x": data.x}
    arrays = {"data": data.data, "indices": data.indices, "indptr": data.indptr}
    return {"kind": "matrix", "shape": list(data.shape)}, arrays


def _from_arrays(
    meta: dict[str, Any], arrays: dict[str, np.ndarray], name: str
) -> Dataset:
    if meta["kind"] == "series":
        return TimeSeries(arrays["t"], arrays["x"], tuple(meta["names"]), name)
    if meta["kind"] == "matrix":
        return scipy.sparse.csr_matrix(
            (arrays["data"], arrays["indices"], arrays["indptr"]),
            shape=tuple(meta["shape"]),
        )
    tensors = {
        key: torch.from_numpy(value)
        for key, value in arrays.items()
        if key != "node_ids"
    }
    return EventStream(
        **tensors,
        num_nodes=meta["num_nodes"],
        node_ids=arrays.get("node_ids"),
        name=name,
        assume_sorted=True,
    )


# --------------------------------------------------------------------------
# loading


def _summary(data: Dataset) -> dict[str, Any]:
    if isinstance(data, EventStream | TimeSeries):
        return data.summary()
    diagonal = int(np.count_nonzero(data.diagonal()))
    symmetric = (data != data.T).nnz == 0
    return {
        "num_nodes": data.shape[0],
        "num_edges": (data.nnz + diagonal) // 2 if symmetric else data.nnz,
        "nnz": data.nnz,
        "num_self_loops": diagonal,
        "symmetric": symmetric,
    }


def _check_stats(entry: DatasetInfo, data: Dataset, raw: Path, verified: bool) -> None:
    actual = _summary(data)
    wrong = [
        f"{key} is {actual.get(key)!r}, expected {value!r}"
        for key, value in entry.expected_stats().items()
        if actual.get(key) != value
    ]
    if not wrong:
        return
    which = "verified" if entry.stats_verified else "published"
    failure = None
    if verified:
        action = (
            "The file passed its checksum, so the reader is at fault: please "
            "report this as a dyngraph bug."
        )
    else:
        deleted, failure = _discard(raw)
        action = (
            "No hash is known for this dataset and the content does not match. "
            f"{deleted}. Check {entry.homepage} for a new release."
        )
    raise StatsMismatchError(
        f"{raw}: dataset {entry.name!r} does not match its {which} "
        f"statistics: {'; '.join(wrong)}. {action}"
    ) from failure


def parse(name: str, path: str | Path) -> Dataset:
    """Parse a raw file with the dataset's reader; no download, no checks.

    Parameters
    ----------
    name : str
        Dataset name, which selects the reader (see :data:`PARSERS`).
    path : str or pathlib.Path
        The raw file.
    """
    entry = info(name)
    data = PARSERS[entry.parser].read(Path(path))
    if isinstance(data, EventStream):
        data.name = entry.name
    if isinstance(data, TimeSeries):
        data = dataclasses.replace(data, source=entry.name)
    return data


def load(
    name: str,
    *,
    root: str | Path | None = None,
    url: str | None = None,
    force_reload: bool = False,
) -> Dataset:
    """Load a dataset, downloading and parsing it the first time.

    The parsed result is cached in ``<root>/<folder>/processed/cache.bin``,
    keyed by the raw file's sha256 and the reader's version
    (:attr:`Parser.version`): a changed raw file or reader is parsed again.
    To keep cached loads fast the raw file is re-hashed only when its size
    or modification time differs from the cached record. The cache's own
    digest is checked on every load; a cache that fails it is rebuilt. When
    the cache cannot be written (a read-only data root) the dataset is
    still returned, with one :class:`RuntimeWarning` per cache file.

    Parameters
    ----------
    name : str
        Dataset name (see :func:`list_datasets` and :func:`info`).
    root : str or pathlib.Path, optional
        Data root (default: :func:`data_root`).
    url : str, optional
        Download from this URL instead of upstream; ignored when the raw
        file is already present (default: ``None``).
    force_reload : bool
        Verify and parse the raw file again, ignoring the cache
        (default: ``False``).

    Returns
    -------
    EventStream or scipy.sparse.csr_matrix or TimeSeries
        By the dataset's :attr:`~DatasetInfo.kind`: an event stream, the
        adjacency matrix of a SuiteSparse graph, or a time series.

    Raises
    ------
    DownloadError
        When the file cannot be fetched.
    ChecksumError
        When the raw file fails a hash, cannot be parsed although no hash
        vouches for it, or (:class:`StatsMismatchError`) disagrees with the
        known statistics. Unvouched files are deleted.

    Examples
    --------
    >>> stream = load("college-msg")  # doctest: +SKIP
    >>> stream.num_nodes, stream.num_events  # doctest: +SKIP
    (1899, 59835)
    """
    entry = info(name)
    parser = PARSERS[entry.parser]
    raw_dir, processed_dir = _dirs(entry, root)
    cache = processed_dir / _CACHE_NAME
    raw = _existing_raw(entry, raw_dir)
    key = [entry.name, parser.name, parser.version, entry.expected_stats()]
    if raw is not None and not force_reload:
        stat = raw.stat()

        def fresh(meta: dict[str, Any]) -> bool:
            if meta.get("key") != key or meta["raw_file"] != raw.name:
                return False
            if meta["raw_stat"] == [stat.st_size, stat.st_mtime_ns]:
                return True
            return (
                meta["raw_stat"][0] == stat.st_size
                and _sha256(raw) == meta["raw_sha256"]
            )

        cached = _read_cache(cache, fresh)
        if cached is not None:
            with contextlib.suppress(ValueError, TypeError, KeyError):
                return _from_arrays(*cached, name=entry.name)
    raw, digest, verified = _fetch(entry, raw_dir, url, progress=True)
    try:
        data = parse(entry.name, raw)
    except MalformedFileError as exc:
        if verified:
            raise
        deleted, _ = _discard(raw)  # a failure to delete is named in `deleted`
        raise ChecksumError(
            f"{exc}. No hash is known for dataset {entry.name!r} and this file "
            f"cannot be read as its format. {deleted}."
        ) from exc
    _check_stats(entry, data, raw, verified)
    meta, arrays = _to_arrays(data)
    stat = raw.stat()
    meta.update(
        key=key,
        raw_file=raw.name,
        raw_sha256=digest,
        raw_stat=[stat.st_size, stat.st_mtime_ns],
    )
    try:
        _write_cache(cache, meta, arrays)
    except OSError as exc:  # e.g. a read-only data root: the cache is optional
        if cache not in _CACHE_WARNED:
            _CACHE_WARNED.add(cache)
            warnings.warn(
                f"could not write the cache {cache} ({exc}); dataset "
                f"{entry.name!r} is parsed again on every load. Use a writable "
                "data root (root= or DYNGRAPH_DATA) to cache it.",
                RuntimeWarning,
                stacklevel=2,
            )
    return data


def dataset_stats(
    name: str, *, root: str | Path | None = None, url: str | None = None
) -> dict[str, Any]:
    """Statistics of a dataset, next to the registry's expected ones.

    Loads the dataset (see :func:`load`) and returns
    :meth:`EventStream.summary` (for matrix graphs: ``num_nodes``,
    ``num_edges``, ``nnz``, ``num_self_loops``, ``symmetric``; for series
    :meth:`TimeSeries.summary`) plus
    ``"expected"``: :meth:`DatasetInfo.expected_stats`.
    """
    stats = _summary(load(name, root=root, url=url))
    stats["expected"] = info(name).expected_stats()
    return stats
