"""One checkpoint format for every dyngraph file: tensors and primitive configs.

A checkpoint is a ``torch.save`` file holding one dictionary::

    {"format": "dyngraph", "version": 1, "kind": "PiVeM",
     "config": {...}, "state": {...}, "metadata": {...}}

``config`` and ``metadata`` hold only primitives (``None``, ``bool``,
``int``, ``float``, ``str`` and lists, tuples and string-keyed dicts of
them); ``state`` may hold tensors as well. Files are written atomically (a
temporary file in the same folder, then a rename) and read with
``torch.load(..., weights_only=True)``: loading never unpickles Python
objects, so a file made by someone else cannot run code. A file that is not
a dyngraph checkpoint, or holds another kind of object, is refused with a
:class:`CheckpointError` that names it.

:class:`SavesCheckpoint` gives a model ``save`` and ``load`` in this format
(kind, configuration, ``state_dict``, metadata), so that a family only says
what its configuration is.
"""

from __future__ import annotations

import os
import pickle
import tempfile
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import torch
from torch import Tensor

__all__ = ["Checkpoint", "CheckpointError", "SavesCheckpoint", "load", "save"]

M = TypeVar("M", bound="SavesCheckpoint")

FORMAT = "dyngraph"
VERSION = 1

_PRIMITIVES = (type(None), bool, int, float, str)


class CheckpointError(ValueError):
    """A file is not a dyngraph checkpoint of the expected kind."""


@dataclass
class Checkpoint:
    """The content of a checkpoint file (see :func:`load`).

    Attributes
    ----------
    kind : str
        What the file holds, e.g. ``"PiVeM"`` or ``"fit-state"``.
    config : dict
        Primitive constructor arguments.
    state : dict
        Tensors and primitives (a ``state_dict`` or a fit state).
    metadata : dict
        Primitive extra information (a dataset name, a time range, ...).
    """

    kind: str
    config: dict[str, Any] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)


def _check(value: Any, where: str, tensors: bool) -> None:
    if isinstance(value, _PRIMITIVES) or (tensors and isinstance(value, Tensor)):
        return
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _check(item, f"{where}[{index}]", tensors)
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str | int):
                raise TypeError(f"checkpoint: key {key!r} of {where} is not a str")
            _check(item, f"{where}[{key!r}]", tensors)
        return
    allowed = "tensors and primitives" if tensors else "primitives"
    raise TypeError(
        f"checkpoint: {where} is a {type(value).__name__}; a checkpoint holds "
        f"only {allowed} (None, bool, int, float, str, lists and dicts of them), "
        "so that loading it never runs code"
    )


def save(
    path: str | Path,
    *,
    kind: str,
    state: Mapping[str, Any],
    config: Mapping[str, Any] | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> Path:
    """Write a checkpoint atomically; return its path.

    Parameters
    ----------
    path : str or Path
        Destination (parent folders are created).
    kind : str
        What the file holds; :func:`load` checks it.
    state : mapping
        Tensors and primitives, e.g. a ``state_dict``.
    config, metadata : mapping, optional
        Primitives only (default: empty).

    Raises
    ------
    TypeError
        When ``config``, ``metadata`` or ``state`` hold anything else.
    """
    config, metadata = dict(config or {}), dict(metadata or {})
    _check(config, "config", tensors=False)
    _check(metadata, "metadata", tensors=False)
    _check(dict(state), "state", tensors=True)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "kind": kind,
        "config": config,
        "state": dict(state),
        "metadata": metadata,
    }
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        torch.save(payload, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load(
    path: str | Path,
    *,
    kind: str | None = None,
    map_location: torch.device | str | None = "cpu",
) -> Checkpoint:
    """Read a checkpoint written by :func:`save`, never unpickling objects.

    Parameters
    ----------
    path : str or Path
        The file.
    kind : str, optional
        Expected kind; another kind is refused (default: any).
    map_location : optional
        Where tensors land (default: ``"cpu"``).

    Raises
    ------
    CheckpointError
        When the file is missing, is not a torch file, holds Python objects
        beyond tensors and primitives, is not a dyngraph checkpoint, or holds
        another kind.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    if not zipfile.is_zipfile(path):
        raise CheckpointError(
            f"{path}: not a dyngraph checkpoint (not a readable torch file: "
            "torch.save writes zip archives)"
        )
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        detail = [line for line in str(exc).splitlines() if "global" in line.lower()]
        raise CheckpointError(
            f"{path}: not a dyngraph checkpoint: it holds Python objects beyond "
            "tensors and primitives, which loading would have to run; refused"
            + (f" ({detail[0].strip()})" if detail else "")
        ) from None
    except (RuntimeError, EOFError, OSError, ValueError) as exc:
        raise CheckpointError(
            f"{path}: not a dyngraph checkpoint (not a readable torch file: "
            f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__})"
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(
            f"{path}: not a dyngraph checkpoint (no dyngraph format marker); "
            "files are written by the models' save() and by dyngraph fit"
        )
    if int(payload.get("version", 0)) > VERSION:
        raise CheckpointError(
            f"{path}: checkpoint format version {payload['version']} is newer "
            f"than this dyngraph reads ({VERSION}); upgrade dyngraph"
        )
    if kind is not None and payload.get("kind") != kind:
        raise CheckpointError(
            f"{path}: holds a {payload.get('kind')!r} checkpoint, not {kind!r}"
        )
    return Checkpoint(
        kind=str(payload["kind"]),
        config=dict(payload.get("config") or {}),
        state=dict(payload.get("state") or {}),
        metadata=dict(payload.get("metadata") or {}),
    )


class SavesCheckpoint:
    """Mixin: ``save`` / ``load`` of a :class:`torch.nn.Module` in this format.

    A model class sets :attr:`checkpoint_kind` and keeps the primitive
    arguments that rebuild it in ``self._config`` (or overrides
    :meth:`checkpoint_config` and :meth:`from_config`). :meth:`save` writes
    the kind, that configuration, the ``state_dict`` and primitive
    metadata; :meth:`load` rebuilds the model with :meth:`from_config`,
    loads the state and keeps the metadata in ``metadata_``.
    """

    checkpoint_kind: ClassVar[str]
    """The checkpoint kind :meth:`load` accepts (the class name, usually)."""

    def checkpoint_config(self) -> dict[str, Any]:
        """Return the primitive arguments that rebuild the model (``_config``)."""
        return dict(self._config)  # type: ignore[attr-defined]

    @classmethod
    def from_config(
        cls: type[M],
        config: dict[str, Any],
        state: Mapping[str, Any],
        map_location: Any = "cpu",
    ) -> M:
        """Build a fresh model for a saved configuration and state (not loaded).

        Default: ``cls(**config)`` cast to the dtype of the first
        floating-point tensor of ``state`` (the constructor takes no dtype).
        """
        model = cls(**config)
        for value in state.values():
            if isinstance(value, Tensor) and value.is_floating_point():
                model.to(value.dtype)  # type: ignore[attr-defined]
                break
        return model

    def save(self, path: str | Path, **metadata: Any) -> Path:
        """Save the configuration, the ``state_dict`` and ``metadata`` (no pickles).

        Parameters
        ----------
        path : str or Path
            The file (parent folders are created; written atomically).
        **metadata
            Primitives stored beside (e.g. the dataset's name).

        Returns
        -------
        Path
            ``path``.
        """
        return save(
            path,
            kind=self.checkpoint_kind,
            config=self.checkpoint_config(),
            state=self.state_dict(),  # type: ignore[attr-defined]
            metadata=metadata,
        )

    @classmethod
    def load(cls: type[M], path: str | Path, map_location: Any = "cpu") -> M:
        """Load a model written by :meth:`save` (never unpickles objects).

        Parameters
        ----------
        path : str or Path
            The file.
        map_location : optional
            Where the tensors and the model land (default: ``"cpu"``).

        Raises
        ------
        CheckpointError
            When ``path`` is not a checkpoint of this kind.
        """
        saved = load(path, kind=cls.checkpoint_kind, map_location=map_location)
        model = cls.from_config(dict(saved.config), saved.state, map_location)
        try:
            model.load_state_dict(saved.state)  # type: ignore[attr-defined]
        except RuntimeError as exc:  # missing, unexpected or mis-shaped tensors
            detail = str(exc).strip().splitlines()
            raise CheckpointError(
                f"{path}: its tensors do not fit this version's {cls.checkpoint_kind} "
                f"(saved by an older or newer dyngraph?): {detail[-1].strip()}"
            ) from exc
        model.metadata_ = saved.metadata  # type: ignore[attr-defined]
        return model
