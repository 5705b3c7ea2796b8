r"""Chronological and inductive (new-node) splits of an event stream.

Both splits follow the TGB/DyGLib time rule. With boundary times
:math:`\tau_{\mathrm{val}} \le \tau_{\mathrm{test}}`,

.. math::
    \text{train} = \{k : t_k \le \tau_{\mathrm{val}}\},\quad
    \text{val} = \{k : \tau_{\mathrm{val}} < t_k \le \tau_{\mathrm{test}}\},\quad
    \text{test} = \{k : t_k > \tau_{\mathrm{test}}\},

so events tied with a boundary go to the *earlier* split (as in PyG and
TGB). Because an :class:`~dyngraph.data.EventStream` is sorted by time,
these sets are contiguous and are returned as views.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor

from dyngraph.data.events import EventStream

__all__ = [
    "InductiveSplit",
    "TemporalSplit",
    "chronological_split",
    "inductive_split",
]


class TemporalSplit(NamedTuple):
    """Result of :func:`chronological_split`: three views and two times."""

    train: EventStream
    val: EventStream
    test: EventStream
    val_time: float
    test_time: float


class InductiveSplit(NamedTuple):
    r"""Result of :func:`inductive_split`.

    Attributes
    ----------
    train : EventStream
        Events with :math:`t \le \tau_{\mathrm{val}}` that touch no
        held-out node (a copy).
    val, test : EventStream
        All validation and test events, as in :func:`chronological_split`
        (views).
    new_node_val, new_node_test : EventStream
        Validation and test events with at least one endpoint in
        :attr:`new_nodes` (copies).
    held_out_nodes : Tensor
        Sorted ids of the sampled nodes whose events were removed from
        training.
    new_nodes : Tensor
        Sorted ids of every node that takes part in some event but in no
        training event (the held-out nodes and the nodes that first appear
        after :math:`\tau_{\mathrm{val}}`).
    val_time, test_time : float
        The boundary times.
    """

    train: EventStream
    val: EventStream
    test: EventStream
    new_node_val: EventStream
    new_node_test: EventStream
    held_out_nodes: Tensor
    new_nodes: Tensor
    val_time: float
    test_time: float


def _check_ratio(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating):
        raise TypeError(f"`{name}` must be a float, got {type(value).__name__}")
    if not (math.isfinite(value) and 0.0 <= value < 1.0):
        raise ValueError(f"`{name}` must lie in [0, 1), got {value!r}")
    return float(value)


def _count_le(t: Tensor, value: float) -> int:
    """Count the events with ``t <= value`` (``t`` sorted)."""
    if t.is_floating_point():
        bound = torch.tensor([value], dtype=t.dtype, device=t.device)
    else:
        bound = torch.tensor([math.floor(value)], dtype=t.dtype, device=t.device)
    return int(torch.searchsorted(t.contiguous(), bound, right=True))


def _boundary_times(
    stream: EventStream,
    val_ratio: float,
    test_ratio: float,
    val_time: float | None,
    test_time: float | None,
) -> tuple[float, float]:
    if (val_time is None) != (test_time is None):
        raise ValueError(
            "give both `val_time` and `test_time` (explicit boundaries) or "
            "neither (boundaries from `val_ratio` and `test_ratio`)"
        )
    if val_time is not None and test_time is not None:
        times = (float(val_time), float(test_time))
        if not all(math.isfinite(x) for x in times):
            raise ValueError(f"boundary times must be finite, got {times}")
        if times[0] > times[1]:
            raise ValueError(
                f"`val_time` ({times[0]}) must not exceed `test_time` ({times[1]})"
            )
        return times
    val_ratio = _check_ratio("val_ratio", val_ratio)
    test_ratio = _check_ratio("test_ratio", test_ratio)
    if val_ratio + test_ratio >= 1.0:
        raise ValueError(
            f"`val_ratio + test_ratio` must be < 1 so that training data "
            f"remains, got {val_ratio} + {test_ratio}"
        )
    t = stream.t.detach().cpu().numpy()
    q_val, q_test = np.quantile(t, [1.0 - val_ratio - test_ratio, 1.0 - test_ratio])
    return float(q_val), float(q_test)


def chronological_split(
    stream: EventStream,
    val_ratio: float = 0.15,
    test_ratio: float = 0.15,
    *,
    val_time: float | None = None,
    test_time: float | None = None,
) -> TemporalSplit:
    r"""Split a stream into train/validation/test by time.

    By fraction (TGB's ``generate_splits``), the boundaries are quantiles of
    the event times (NumPy's default linear interpolation),

    .. math::
        \tau_{\mathrm{val}} = Q_t(1 - r_{\mathrm{val}} - r_{\mathrm{test}}),
        \qquad \tau_{\mathrm{test}} = Q_t(1 - r_{\mathrm{test}}),

    and events are assigned by the rule in the module docstring, ties going
    to the earlier split. With many tied times the split sizes can differ
    from the requested fractions; all events sharing a time always land in
    one split.

    Parameters
    ----------
    stream : EventStream
        The events to split.
    val_ratio, test_ratio : float
        Fractions for validation and test, each in :math:`[0, 1)` with
        :math:`r_{\mathrm{val}} + r_{\mathrm{test}} < 1` (default:
        ``0.15`` each). Ignored when explicit times are given.
    val_time, test_time : float, optional
        Explicit boundaries :math:`\tau_{\mathrm{val}} \le
        \tau_{\mathrm{test}}` in the stream's time unit; give both or
        neither.

    Returns
    -------
    TemporalSplit
        ``train``, ``val``, ``test`` are views of ``stream`` (no copies),
        plus the boundary times used.

    Raises
    ------
    ValueError
        On ratios outside :math:`[0, 1)`, ratios summing to 1 or more, a
        single explicit time, or ``val_time > test_time``.

    Examples
    --------
    >>> s = EventStream([0] * 10, [1] * 10, list(range(10)))
    >>> split = chronological_split(s, 0.2, 0.2)
    >>> [len(split.train), len(split.val), len(split.test)]
    [6, 2, 2]
    """
    tau_val, tau_test = _boundary_times(
        stream, val_ratio, test_ratio, val_time, test_time
    )
    n_train = _count_le(stream.t, tau_val)
    n_val_end = _count_le(stream.t, tau_test)
    return TemporalSplit(
        train=stream[:n_train],
        val=stream[n_train:n_val_end],
        test=stream[n_val_end:],
        val_time=tau_val,
        test_time=tau_test,
    )


def inductive_split(
    stream: EventStream,
    val_ratio: float = 0.15,
    test_ratio: float = 0.15,
    new_node_ratio: float = 0.1,
    seed: int | torch.Generator = 2020,
) -> InductiveSplit:
    r"""Chronological split with held-out nodes for inductive evaluation.

    DyGLib's protocol: take the boundaries of :func:`chronological_split`;
    let :math:`V` be the nodes that take part in any event and
    :math:`V_{>}` those that take part in an event with
    :math:`t > \tau_{\mathrm{val}}`. Sample
    :math:`\lfloor r_{\mathrm{new}}\,|V| \rfloor` held-out nodes
    :math:`H \subseteq V_{>}` uniformly without replacement (a seeded
    permutation of the *sorted* list :math:`V_{>}`, so the result depends
    only on the stream and the seed) and drop every event touching
    :math:`H` from training:

    .. math::
        \text{train} = \{k : t_k \le \tau_{\mathrm{val}},\;
        s_k \notin H,\; d_k \notin H\}.

    The new nodes are :math:`V_{\mathrm{new}} = V \setminus
    V(\text{train})`, and ``new_node_val`` / ``new_node_test`` keep the
    validation / test events with an endpoint in :math:`V_{\mathrm{new}}`.

    Parameters
    ----------
    stream : EventStream
        The events to split.
    val_ratio, test_ratio : float
        As in :func:`chronological_split` (default: ``0.15`` each).
    new_node_ratio : float
        Held-out nodes as a fraction of :math:`|V|`, in :math:`[0, 1)`
        (default: ``0.1``).
    seed : int or torch.Generator
        Seed of the node sample (default: ``2020``, DyGLib's seed; DyGLib
        samples with Python's ``random`` so the node sets differ).

    Returns
    -------
    InductiveSplit
        ``val`` and ``test`` are views; ``train``, ``new_node_val`` and
        ``new_node_test`` are copies, because removing events of held-out
        nodes breaks contiguity.

    Raises
    ------
    ValueError
        On bad ratios, or when :math:`V_{>}` has fewer nodes than the
        requested sample.
    """
    new_node_ratio = _check_ratio("new_node_ratio", new_node_ratio)
    split = chronological_split(stream, val_ratio, test_ratio)
    device = stream.device
    active = stream.active_nodes()
    late = torch.cat([split.val.src, split.val.dst, split.test.src, split.test.dst])
    candidates = torch.unique(late).cpu()
    num_held = int(new_node_ratio * active.numel())
    if num_held > candidates.numel():
        raise ValueError(
            f"new_node_ratio={new_node_ratio} asks for {num_held} held-out "
            f"nodes but only {candidates.numel()} nodes take part in events "
            f"after val_time={split.val_time}; lower `new_node_ratio`"
        )
    if isinstance(seed, torch.Generator):
        generator = seed
    else:
        generator = torch.Generator().manual_seed(int(seed))
    perm = torch.randperm(
        candidates.numel(), generator=generator, device=generator.device
    ).cpu()
    held_out = torch.sort(candidates[perm[:num_held]]).values.to(device)

    is_held = torch.zeros(stream.num_nodes, dtype=torch.bool, device=device)
    is_held[held_out] = True
    train_src, train_dst = split.train.src, split.train.dst
    keep = ~(is_held[train_src] | is_held[train_dst])
    train = split.train[keep]

    in_train = torch.zeros(stream.num_nodes, dtype=torch.bool, device=device)
    in_train[train.src] = True
    in_train[train.dst] = True
    is_new = torch.zeros_like(in_train)
    is_new[active] = True
    is_new &= ~in_train
    new_val = split.val[is_new[split.val.src] | is_new[split.val.dst]]
    new_test = split.test[is_new[split.test.src] | is_new[split.test.dst]]
    return InductiveSplit(
        train=train,
        val=split.val,
        test=split.test,
        new_node_val=new_val,
        new_node_test=new_test,
        held_out_nodes=held_out,
        new_nodes=torch.nonzero(is_new).view(-1),
        val_time=split.val_time,
        test_time=split.test_time,
    )
