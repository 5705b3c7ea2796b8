"""The temporal graph data layer: event streams and everything around them.

One container, :class:`EventStream`, holds continuous-time, optionally signed,
weighted and featured events; :class:`TimeSeries` holds observed states of a
dynamical system. Around it: readers and a dataset registry with
checksummed downloads, discrete-time snapshots, chronological and inductive
splits, negative sampling, temporal batching, streaming edge updates,
conversions to PyG, networkx, scipy and pandas, seeded synthetic
generators with known ground truth, particle trajectories (:class:`Particles`)
and neighbourhood graphs of point clouds (:func:`radius_graph`).
"""

import sys
from importlib import import_module
from types import ModuleType
from typing import Any

_SOURCES = {
    "to_networkx": "dyngraph.data.convert",
    "to_pandas": "dyngraph.data.convert",
    "to_pyg": "dyngraph.data.convert",
    "ChecksumError": "dyngraph.data.datasets",
    "DatasetError": "dyngraph.data.datasets",
    "DatasetInfo": "dyngraph.data.datasets",
    "DownloadError": "dyngraph.data.datasets",
    "UnknownDatasetError": "dyngraph.data.datasets",
    "data_root": "dyngraph.data.datasets",
    "download": "dyngraph.data.datasets",
    "info": "dyngraph.data.datasets",
    "list_datasets": "dyngraph.data.datasets",
    "load": "dyngraph.data.datasets",
    "EventStream": "dyngraph.data.events",
    "MalformedFileError": "dyngraph.data.io",
    "read_events": "dyngraph.data.io",
    "read_matrix_market": "dyngraph.data.io",
    "Field": "dyngraph.data.fields",
    "knn": "dyngraph.data.neighbours",
    "radius": "dyngraph.data.neighbours",
    "radius_graph": "dyngraph.data.neighbours",
    "Particles": "dyngraph.data.particles",
    "EdgeUpdate": "dyngraph.data.loader",
    "TemporalBatch": "dyngraph.data.loader",
    "TemporalBatchLoader": "dyngraph.data.loader",
    "sliding_window_updates": "dyngraph.data.loader",
    "NegativeSampler": "dyngraph.data.sampling",
    "fix_negatives": "dyngraph.data.sampling",
    "load_negatives": "dyngraph.data.sampling",
    "TimeSeries": "dyngraph.data.series",
    "read_series": "dyngraph.data.series",
    "snapshots": "dyngraph.data.snapshots",
    "to_static": "dyngraph.data.snapshots",
    "InductiveSplit": "dyngraph.data.splits",
    "TemporalSplit": "dyngraph.data.splits",
    "chronological_split": "dyngraph.data.splits",
    "inductive_split": "dyngraph.data.splits",
    "LatentSpaceTruth": "dyngraph.data.synthetic",
    "delaunay_graph": "dyngraph.data.synthetic",
    "latent_space_network": "dyngraph.data.synthetic",
    "signed_faction_network": "dyngraph.data.synthetic",
}
# the EventStream constructors under their own names
_ALIASES = {
    "from_networkx": "from_networkx",
    "from_pandas": "from_pandas",
    "from_pyg": "from_pyg",
}


def __getattr__(name: str) -> Any:
    # PEP 562: a submodule is imported when one of its names is first used,
    # so that ``import dyngraph.data.events`` does not pull in PyG, networkx
    # and pandas (the conversions need them, event streams do not)
    if name in _SOURCES:
        value = getattr(import_module(_SOURCES[name]), name)
    elif name in _ALIASES:
        value = getattr(import_module("dyngraph.data.events").EventStream, name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


class _Package(ModuleType):
    # ``snapshots`` names both a submodule and its function; importing the
    # submodule binds the module on the package, the package exports the
    # function (as when every name was imported eagerly)
    def __setattr__(self, name: str, value: Any) -> None:
        if name == "snapshots" and isinstance(value, ModuleType):
            value = value.snapshots
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


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
    "Particles",
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
    "knn",
    "latent_space_network",
    "list_datasets",
    "load",
    "load_negatives",
    "radius",
    "radius_graph",
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
