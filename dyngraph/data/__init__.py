"""The temporal graph data layer: event streams and everything around them.

One container, :class:`EventStream`, holds continuous-time, optionally signed,
weighted and featured events; :class:`TimeSeries` holds observed states of a
dynamical system. Around it: readers and a dataset registry with
checksummed downloads, discrete-time snapshots, chronological and inductive
splits, negative sampling, temporal batching, streaming edge updates,
conversions to PyG, networkx, scipy and pandas, and seeded synthetic
generators with known ground truth.
"""

from dyngraph.data.convert import to_networkx, to_pandas, to_pyg
from dyngraph.data.datasets import (
    ChecksumError,
    DatasetError,
    DatasetInfo,
    DownloadError,
    UnknownDatasetError,
    data_root,
    download,
    info,
    list_datasets,
    load,
)
from dyngraph.data.events import EventStream
from dyngraph.data.fields import Field
from dyngraph.data.io import MalformedFileError, read_events, read_matrix_market
from dyngraph.data.loader import (
    EdgeUpdate,
    TemporalBatch,
    TemporalBatchLoader,
    sliding_window_updates,
)
from dyngraph.data.sampling import NegativeSampler, fix_negatives, load_negatives
from dyngraph.data.series import TimeSeries, read_series
from dyngraph.data.snapshots import snapshots, to_static
from dyngraph.data.splits import (
    InductiveSplit,
    TemporalSplit,
    chronological_split,
    inductive_split,
)
from dyngraph.data.synthetic import (
    LatentSpaceTruth,
    delaunay_graph,
    latent_space_network,
    signed_faction_network,
)

from_networkx = EventStream.from_networkx
from_pandas = EventStream.from_pandas
from_pyg = EventStream.from_pyg

__all__ = [
    "ChecksumError",
    "DatasetError",
    "DatasetInfo",
    "DownloadError",
    "EdgeUpdate",
    "EventStream",
    "Field",
    "InductiveSplit",
    "LatentSpaceTruth",
    "MalformedFileError",
    "NegativeSampler",
    "TemporalBatch",
    "TemporalBatchLoader",
    "TemporalSplit",
    "TimeSeries",
    "UnknownDatasetError",
    "chronological_split",
    "data_root",
    "delaunay_graph",
    "download",
    "fix_negatives",
    "from_networkx",
    "from_pandas",
    "from_pyg",
    "info",
    "inductive_split",
    "latent_space_network",
    "list_datasets",
    "load",
    "load_negatives",
    "read_events",
    "read_matrix_market",
    "read_series",
    "signed_faction_network",
    "sliding_window_updates",
    "snapshots",
    "to_networkx",
    "to_pandas",
    "to_pyg",
    "to_static",
]
