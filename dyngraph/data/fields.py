r"""A spatiotemporal field on a regular grid: :class:`Field`.

A field holds ``values`` with shape ``[B, T, C, *grid]``: ``B``
trajectories (e.g. one per environment), ``T`` frames at the shared
``times``, ``C`` channels (named by ``channels``) on a grid of one or two
dimensions with spacing ``spacing``. Per-trajectory parameters (e.g. the
``(f, k)`` of a Gray-Scott environment) travel with it in ``params``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

__all__ = ["Field"]


@dataclass
class Field:
    """Frames of a field on a regular, periodic grid.

    Attributes
    ----------
    values : Tensor
        ``[B, T, C, *grid]`` (one or two grid dimensions), floating point,
        finite.
    times : Tensor
        ``[T]``, strictly increasing.
    channels : tuple of str
        ``C`` channel names (e.g. ``("u", "v")``).
    spacing : float
        Grid spacing (default: ``1.0``).
    params : dict
        Per-trajectory parameters: name to a tensor ``[B]`` (default: none).
    name : str
        What the field is (default: ``""``).

    Raises
    ------
    ValueError
        When a shape, the times or a value is invalid; the message names the
        attribute.
    """

    values: Tensor
    times: Tensor
    channels: tuple[str, ...]
    spacing: float = 1.0
    params: dict[str, Tensor] = field(default_factory=dict)
    name: str = ""

    def __post_init__(self) -> None:
        values = torch.as_tensor(self.values)
        if not values.is_floating_point():
            values = values.to(torch.get_default_dtype())
        if values.dim() not in (4, 5):
            raise ValueError(
                "Field: `values` must have shape [B, T, C, *grid] with one or two "
                f"grid dimensions, got {list(values.shape)}"
            )
        if not torch.isfinite(values).all():
            raise ValueError("Field: `values` holds NaN or infinite entries")
        times = torch.as_tensor(self.times, dtype=values.dtype, device=values.device)
        if times.dim() != 1 or times.numel() != values.shape[1]:
            raise ValueError(
                f"Field: `times` must have shape [{values.shape[1]}] (one per frame), "
                f"got {list(times.shape)}"
            )
        if times.numel() > 1 and not bool((times[1:] > times[:-1]).all()):
            raise ValueError("Field: `times` must be strictly increasing")
        channels = tuple(self.channels)
        if len(channels) != values.shape[2]:
            raise ValueError(
                f"Field: `channels` names {len(channels)} channels but `values` has "
                f"{values.shape[2]}"
            )
        if not self.spacing > 0:
            raise ValueError(f"Field: `spacing` must be > 0, got {self.spacing}")
        params = {}
        for key, value in self.params.items():
            value = torch.as_tensor(value)
            if value.shape != (values.shape[0],):
                raise ValueError(
                    f"Field: `params[{key!r}]` must have shape [{values.shape[0]}] "
                    f"(one per trajectory), got {list(value.shape)}"
                )
            params[key] = value
        self.values, self.times, self.channels, self.params = (
            values,
            times,
            channels,
            params,
        )

    @property
    def num_trajectories(self) -> int:
        """``B``."""
        return self.values.shape[0]

    @property
    def num_frames(self) -> int:
        """``T``."""
        return self.values.shape[1]

    @property
    def grid(self) -> tuple[int, ...]:
        """The grid shape, e.g. ``(32, 32)``."""
        return tuple(self.values.shape[3:])

    @property
    def dt(self) -> float:
        """Time between the first two frames (``nan`` for one frame)."""
        return (
            float(self.times[1] - self.times[0])
            if self.num_frames > 1
            else float("nan")
        )

    def trajectories(self, index: Any) -> Field:
        """Return the trajectories ``index`` (an int, slice or index tensor)."""
        if isinstance(index, int):
            index = [index]
        return Field(
            self.values[index],
            self.times,
            self.channels,
            self.spacing,
            {k: v[index] for k, v in self.params.items()},
            self.name,
        )

    def frames(self, index: slice) -> Field:
        """Return the frames ``index`` (a slice of the time axis)."""
        return Field(
            self.values[:, index],
            self.times[index],
            self.channels,
            self.spacing,
            dict(self.params),
            self.name,
        )

    def to(self, device: torch.device | str) -> Field:
        """Return the field on ``device``."""
        return Field(
            self.values.to(device),
            self.times.to(device),
            self.channels,
            self.spacing,
            dict(self.params),
            self.name,
        )

    def __repr__(self) -> str:
        return (
            f"Field({self.name or 'unnamed'}: {self.num_trajectories} trajectories x "
            f"{self.num_frames} frames, channels {self.channels}, grid {self.grid})"
        )
