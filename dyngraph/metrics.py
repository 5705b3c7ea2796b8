r"""Evaluation metrics for every dyngraph family, in one place.

Two input conventions are used, each the natural one for its metric:

* **Classification scores** (:func:`roc_auc`, :func:`average_precision`,
  :func:`f1_scores`, :func:`rmse`) take ``(y_true, y_score)`` or
  ``(y_true, y_pred)`` like :mod:`sklearn.metrics`. For 1:1 link
  prediction, concatenate the positive and negative scores and label them
  ``1`` and ``0``.
* **Ranking** (:func:`ranks`, :func:`mrr`, :func:`hits_at_k`) takes one
  score per positive, ``pos`` with shape ``[B]``, and a padded matrix of
  negative scores, ``neg`` with shape ``[B, Q]``, plus an optional boolean
  ``mask`` with shape ``[B, Q]`` marking the valid negatives (ragged
  candidate counts, as in TGB).

Every metric accepts :class:`torch.Tensor` (on any device), NumPy arrays or
sequences, and returns a Python ``float`` (or a ``dict`` of floats).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor

__all__ = [
    "adjusted_rand_index",
    "average_precision",
    "chamfer_distance",
    "f1_scores",
    "hits_at_k",
    "kinetic_energy_error",
    "mrr",
    "ranks",
    "relative_l2",
    "relative_mse",
    "rmse",
    "rmse_per_step",
    "roc_auc",
    "rollout_mse",
    "ssim",
    "ssim_per_step",
    "trajectory_mse",
]

ArrayLike = Tensor | np.ndarray | Sequence[Any]


def _numpy(name: str, value: ArrayLike) -> np.ndarray:
    if isinstance(value, Tensor):
        return value.detach().cpu().numpy()
    try:
        return np.asarray(value)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"`{name}` must be a tensor or an array-like, got "
            f"{type(value).__name__} ({exc})"
        ) from exc


def _tensor(name: str, value: ArrayLike, device: torch.device | None = None) -> Tensor:
    if isinstance(value, Tensor):
        out = value.detach()
    else:
        out = torch.as_tensor(_numpy(name, value))
    return out if device is None else out.to(device)


def _binary_inputs(y_true: ArrayLike, y_score: ArrayLike) -> tuple[np.ndarray, ...]:
    truth = _numpy("y_true", y_true)
    score = _numpy("y_score", y_score)
    if truth.ndim != 1 or score.ndim != 1:
        raise ValueError(
            "`y_true` and `y_score` must be one-dimensional, got shapes "
            f"{list(truth.shape)} and {list(score.shape)}; flatten them first"
        )
    if truth.shape != score.shape:
        raise ValueError(
            f"`y_true` has {truth.shape[0]} entries but `y_score` has "
            f"{score.shape[0]}; pass one score per label"
        )
    if truth.size == 0:
        raise ValueError("`y_true` is empty; there is nothing to evaluate")
    if not np.isin(truth, (0, 1)).all():
        raise ValueError(
            "`y_true` must hold binary labels (0/1 or bool); got values "
            f"{np.unique(truth)[:5].tolist()}"
        )
    score = score.astype(np.float64)
    if not np.isfinite(score).all():
        raise ValueError(
            f"`y_score` has {int((~np.isfinite(score)).sum())} non-finite "
            "value(s); check the model output for NaN/inf"
        )
    return truth.astype(np.int64), score


def roc_auc(y_true: ArrayLike, y_score: ArrayLike) -> float:
    r"""Area under the ROC curve.

    With positives :math:`P` and negatives :math:`N`,

    .. math::
        \mathrm{AUC} = \frac{1}{|P|\,|N|}\sum_{i\in P}\sum_{j\in N}
        \big([s_i > s_j] + \tfrac12 [s_i = s_j]\big),

    computed by :func:`sklearn.metrics.roc_auc_score`.

    Parameters
    ----------
    y_true : tensor or array-like, shape ``[n]``
        Binary labels (``0``/``1`` or ``bool``); both classes must occur.
    y_score : tensor or array-like, shape ``[n]``
        Scores, higher meaning more likely positive.

    Returns
    -------
    float
        The AUC in :math:`[0, 1]`.

    Raises
    ------
    ValueError
        On shape mismatches, non-binary labels, non-finite scores or a
        single class.
    """
    truth, score = _binary_inputs(y_true, y_score)
    if truth.min() == truth.max():
        raise ValueError(
            "roc_auc needs both positive and negative labels, but `y_true` "
            f"only holds {int(truth[0])}; add negatives (e.g. with a "
            "NegativeSampler)"
        )
    from sklearn.metrics import roc_auc_score  # scipy and pandas: on first use

    return float(roc_auc_score(truth, score))


def average_precision(y_true: ArrayLike, y_score: ArrayLike) -> float:
    r"""Average precision (area under the precision-recall curve).

    With thresholds :math:`\tau_1 > \tau_2 > \dots` at the distinct scores,
    precision :math:`P_n` and recall :math:`R_n` at :math:`\tau_n`,

    .. math::
        \mathrm{AP} = \sum_n (R_n - R_{n-1})\, P_n,

    computed by :func:`sklearn.metrics.average_precision_score` (no
    interpolation; tied scores share one threshold).

    Parameters
    ----------
    y_true : tensor or array-like, shape ``[n]``
        Binary labels; at least one must be positive.
    y_score : tensor or array-like, shape ``[n]``
        Scores, higher meaning more likely positive.

    Returns
    -------
    float
        The AP in :math:`[0, 1]`.
    """
    truth, score = _binary_inputs(y_true, y_score)
    if truth.max() == 0:
        raise ValueError(
            "average_precision needs at least one positive label in `y_true`"
        )
    from sklearn.metrics import average_precision_score

    return float(average_precision_score(truth, score))


def _ranking_inputs(
    pos: ArrayLike, neg: ArrayLike, mask: ArrayLike | None
) -> tuple[Tensor, Tensor, Tensor | None]:
    neg_t = _tensor("neg", neg)
    pos_t = _tensor("pos", pos, neg_t.device)
    if neg_t.dim() != 2:
        raise ValueError(
            f"`neg` must have shape [B, Q] (one row of negative scores per "
            f"positive), got shape {list(neg_t.shape)}"
        )
    if pos_t.dim() == 2 and pos_t.shape[1] == 1:
        pos_t = pos_t[:, 0]
    if pos_t.dim() != 1 or pos_t.shape[0] != neg_t.shape[0]:
        raise ValueError(
            f"`pos` must have shape [B] or [B, 1] with B = {neg_t.shape[0]} "
            f"(the rows of `neg`), got shape {list(pos_t.shape)}"
        )
    if pos_t.shape[0] == 0:
        raise ValueError("`pos` is empty; there is nothing to rank")
    mask_t = None
    if mask is not None:
        mask_t = _tensor("mask", mask, neg_t.device)
        if mask_t.dtype != torch.bool:
            raise TypeError(
                f"`mask` must be a boolean tensor, got dtype {mask_t.dtype}; "
                "use mask.bool() for 0/1 masks"
            )
        if mask_t.shape != neg_t.shape:
            raise ValueError(
                f"`mask` has shape {list(mask_t.shape)} but `neg` has "
                f"{list(neg_t.shape)}; they must match"
            )
    if bool(torch.isnan(pos_t).any()):
        raise ValueError("`pos` contains NaN scores")
    nan_neg = torch.isnan(neg_t)
    if mask_t is not None:
        nan_neg &= mask_t
    if bool(nan_neg.any()):
        raise ValueError("`neg` contains NaN scores at unmasked positions")
    return pos_t, neg_t, mask_t


def ranks(pos: ArrayLike, neg: ArrayLike, mask: ArrayLike | None = None) -> Tensor:
    r"""Tie-aware rank of every positive among its negatives (TGB's rule).

    For positive :math:`b` with score :math:`s^+_b`, negative scores
    :math:`s_{bq}` and validity mask :math:`m_{bq}`,

    .. math::
        r^{\mathrm{opt}}_b = \sum_q m_{bq}\,[s_{bq} > s^+_b],\qquad
        r^{\mathrm{pess}}_b = \sum_q m_{bq}\,[s_{bq} \ge s^+_b],\qquad
        \mathrm{rank}_b = \tfrac12\big(r^{\mathrm{opt}}_b
        + r^{\mathrm{pess}}_b\big) + 1.

    Ties therefore get the average rank: a constant scorer ranks every
    positive at :math:`Q/2 + 1`, not at 1.

    Parameters
    ----------
    pos : tensor or array-like, shape ``[B]`` or ``[B, 1]``
        Score of each positive.
    neg : tensor or array-like, shape ``[B, Q]``
        Scores of the negatives of each positive.
    mask : bool tensor or array-like, shape ``[B, Q]``, optional
        ``True`` where a negative is valid; padded entries are ignored
        (default: all valid).

    Returns
    -------
    Tensor
        ``float64`` ranks with shape ``[B]``, on the device of ``neg``.
    """
    pos_t, neg_t, mask_t = _ranking_inputs(pos, neg, mask)
    above = neg_t > pos_t[:, None]
    at_or_above = neg_t >= pos_t[:, None]
    if mask_t is not None:
        above &= mask_t
        at_or_above &= mask_t
    r_opt = above.sum(dim=1, dtype=torch.float64)
    r_pess = at_or_above.sum(dim=1, dtype=torch.float64)
    return 0.5 * (r_opt + r_pess) + 1.0


def mrr(
    pos: ArrayLike,
    neg: ArrayLike,
    mask: ArrayLike | None = None,
    *,
    k: int | None = None,
) -> float:
    r"""Mean reciprocal rank with ties averaged, batched and masked.

    .. math::
        \mathrm{MRR} = \frac1B\sum_{b=1}^{B}\frac{1}{\mathrm{rank}_b}
        \quad\big(\text{MRR@}k:\ \text{terms with }
        \mathrm{rank}_b > k \text{ count as } 0\big),

    with :math:`\mathrm{rank}_b` from :func:`ranks`. Matches
    ``tgb.linkproppred.evaluate.Evaluator`` for ``k=None`` and extends it to
    ragged negative counts through ``mask``.

    Parameters
    ----------
    pos, neg, mask
        As in :func:`ranks`.
    k : int, optional
        Truncation: reciprocal ranks of positives ranked below ``k`` count
        as zero (default: no truncation).

    Returns
    -------
    float
        The mean reciprocal rank in :math:`(0, 1]` (``[0, 1]`` with ``k``).
    """
    rank = ranks(pos, neg, mask)
    reciprocal = rank.reciprocal()
    if k is not None:
        reciprocal = torch.where(rank <= _check_k(k), reciprocal, 0.0)
    return float(reciprocal.mean())


def hits_at_k(
    pos: ArrayLike,
    neg: ArrayLike,
    mask: ArrayLike | None = None,
    *,
    k: int = 10,
) -> float:
    r"""Fraction of positives whose tie-aware rank is at most ``k``.

    .. math::
        \mathrm{Hits@}k = \frac1B\sum_b [\mathrm{rank}_b \le k],

    with the same averaged rank as :func:`mrr`, so a positive tied with
    every one of :math:`Q` negatives has rank :math:`Q/2 + 1`.

    Parameters
    ----------
    pos, neg, mask
        As in :func:`ranks`.
    k : int
        Cut-off (default: ``10``).

    Returns
    -------
    float
        Hits@k in :math:`[0, 1]`.
    """
    rank = ranks(pos, neg, mask)
    return float((rank <= _check_k(k)).double().mean())


def _check_k(k: int) -> int:
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise ValueError(f"`k` must be a positive integer, got {k!r}")
    return int(k)


def f1_scores(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    labels: Sequence[Any] | None = None,
) -> dict[str, Any]:
    r"""Per-class and macro F1 scores.

    For class :math:`c` with precision :math:`P_c` and recall :math:`R_c`,
    :math:`F_1^{(c)} = 2P_cR_c/(P_c+R_c)` (``0`` when undefined), and
    :math:`F_1^{\mathrm{macro}} = \frac{1}{|C|}\sum_c F_1^{(c)}`, computed
    by :func:`sklearn.metrics.f1_score`. For signed link prediction the
    per-class entry of the ``-1`` class is the usual negative-class F1.

    Parameters
    ----------
    y_true, y_pred : tensor or array-like, shape ``[n]``
        True and predicted class labels.
    labels : sequence, optional
        Classes to score and average over (default: the sorted union of
        the labels in ``y_true`` and ``y_pred``).

    Returns
    -------
    dict
        ``{"macro": float, "per_class": {label: float}}``, labels as Python
        scalars.
    """
    truth = _numpy("y_true", y_true)
    pred = _numpy("y_pred", y_pred)
    if truth.ndim != 1 or truth.shape != pred.shape:
        raise ValueError(
            "`y_true` and `y_pred` must be one-dimensional with equal length, "
            f"got shapes {list(truth.shape)} and {list(pred.shape)}"
        )
    if truth.size == 0:
        raise ValueError("`y_true` is empty; there is nothing to evaluate")
    classes = np.union1d(truth, pred) if labels is None else np.asarray(labels)
    if classes.ndim != 1 or classes.size == 0:
        raise ValueError("`labels` must be a non-empty sequence of class labels")
    from sklearn.metrics import f1_score

    per_class = f1_score(truth, pred, labels=classes, average=None, zero_division=0.0)
    return {
        "macro": float(np.mean(per_class)),
        "per_class": {
            c.item(): float(f) for c, f in zip(classes, per_class, strict=True)
        },
    }


def rmse(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    r"""Root-mean-square error over all entries.

    .. math::
        \mathrm{RMSE} = \Big(\frac1n\sum_{i=1}^{n}(\hat y_i - y_i)^2\Big)^{1/2}.

    Parameters
    ----------
    y_true, y_pred : tensor or array-like
        Targets and predictions of the same shape (any number of
        dimensions); computed in ``float64`` on the device of ``y_pred``.

    Returns
    -------
    float
        The RMSE.
    """
    truth, pred = _pair(y_true, y_pred)
    return float(torch.sqrt(torch.mean((pred - truth) ** 2)))


def _pair(y_true: ArrayLike, y_pred: ArrayLike) -> tuple[Tensor, Tensor]:
    """Return targets and predictions in float64, of one shape, not empty."""
    pred = _tensor("y_pred", y_pred).to(torch.float64)
    truth = _tensor("y_true", y_true, pred.device).to(torch.float64)
    if truth.shape != pred.shape:
        raise ValueError(
            f"`y_true` has shape {list(truth.shape)} but `y_pred` has "
            f"{list(pred.shape)}; they must match"
        )
    if truth.numel() == 0:
        raise ValueError("`y_true` is empty; there is nothing to evaluate")
    return truth, pred


def trajectory_mse(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    r"""Mean squared error over all entries of trajectories (any shape).

    .. math::
        \mathrm{MSE} = \frac1n\sum_{i=1}^{n}(\hat y_i - y_i)^2,

    e.g. over ``[E, B, T, d]`` (environments, trajectories, times, states),
    the initial states included, as CoDA and LEADS report it.
    """
    truth, pred = _pair(y_true, y_pred)
    return float(torch.mean((pred - truth) ** 2))


def relative_mse(y_true: ArrayLike, y_pred: ArrayLike, eps: float = 1e-6) -> float:
    r"""Mean relative squared error of trajectories ``[..., T, d]``.

    .. math::
        \mathrm{RMSE_{rel}} = \mathrm{mean}_j\,
        \frac{\lVert\hat y_j-y_j\rVert^2}{\max(\lVert y_j\rVert^2,\ \epsilon)},

    one ratio per trajectory :math:`j` (the norm over times and states), the
    ratio of MixER's ODEBench evaluation; ``eps`` (default ``1e-6``) keeps
    all-zero trajectories finite.
    """
    truth, pred = _pair(y_true, y_pred)
    if truth.dim() < 2:
        raise ValueError("relative_mse needs trajectories of shape [..., T, d]")
    err = (pred - truth).pow(2).sum(dim=(-1, -2))
    norm = truth.pow(2).sum(dim=(-1, -2)).clamp_min(eps)
    return float((err / norm).mean())


def adjusted_rand_index(labels_true: ArrayLike, labels_pred: ArrayLike) -> float:
    r"""Return the adjusted Rand index of two partitions (1 same, ~0 random).

    .. math::
        \mathrm{ARI} = \frac{\sum_{ij}\binom{n_{ij}}2 - \big[\sum_i\binom{a_i}2
        \sum_j\binom{b_j}2\big]/\binom n2}{\frac12\big[\sum_i\binom{a_i}2
        +\sum_j\binom{b_j}2\big] - \big[\sum_i\binom{a_i}2\sum_j
        \binom{b_j}2\big]/\binom n2}

    over the contingency table :math:`n_{ij}` with row sums :math:`a_i` and
    column sums :math:`b_j` (Hubert & Arabie 1985), by scikit-learn. Label
    values do not matter, only the grouping: e.g. the expert chosen for
    every environment against its true family.
    """
    from sklearn.metrics import adjusted_rand_score

    truth = _numpy("labels_true", labels_true).reshape(-1)
    pred = _numpy("labels_pred", labels_pred).reshape(-1)
    if truth.shape != pred.shape or truth.size == 0:
        raise ValueError(
            f"`labels_true` ({truth.size}) and `labels_pred` ({pred.size}) must be "
            "non-empty and of the same length"
        )
    return float(adjusted_rand_score(truth, pred))


def _rollout_inputs(y_true: ArrayLike, y_pred: ArrayLike) -> tuple[Tensor, Tensor]:
    truth, pred = _pair(y_true, y_pred)
    if truth.dim() < 3:
        raise ValueError(
            "`y_true` must have shape [B, S, ...] (trajectories, steps, then the "
            f"field), got {list(truth.shape)}"
        )
    return truth, pred


def rmse_per_step(y_true: ArrayLike, y_pred: ArrayLike) -> Tensor:
    r"""RMSE of a rollout at every step, over trajectories and the field.

    .. math::
        \mathrm{RMSE}_s = \Big(\frac{1}{B n}\sum_{b,i}
            (\hat y_{b,s,i} - y_{b,s,i})^2\Big)^{1/2}

    Parameters
    ----------
    y_true, y_pred : tensor or array-like
        ``[B, S, ...]`` true and forecast frames.

    Returns
    -------
    Tensor
        ``[S]`` (``float64``, on the device of ``y_pred``).
    """
    truth, pred = _rollout_inputs(y_true, y_pred)
    dims = [0, *range(2, truth.dim())]
    return torch.sqrt(torch.mean((pred - truth) ** 2, dim=dims))


def _gaussian_window(
    size: int, sigma: float, dtype: torch.dtype, device: Any
) -> Tensor:
    x = torch.arange(size, dtype=dtype, device=device) - (size - 1) / 2
    g = torch.exp(-(x**2) / (2 * sigma**2))
    g = g / g.sum()
    return torch.outer(g, g)


def _ssim_maps(
    truth: Tensor, pred: Tensor, data_range: float, window: int, sigma: float
) -> Tensor:
    """``[K]`` mean SSIM of ``K`` image pairs ``[K, H, W]``."""
    kernel = _gaussian_window(window, sigma, truth.dtype, truth.device)[None, None]
    x, y = truth.unsqueeze(1), pred.unsqueeze(1)

    def blur(a: Tensor) -> Tensor:
        return torch.nn.functional.conv2d(a, kernel)

    mx, my = blur(x), blur(y)
    vx = blur(x * x) - mx**2
    vy = blur(y * y) - my**2
    cxy = blur(x * y) - mx * my
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    ssim_map = ((2 * mx * my + c1) * (2 * cxy + c2)) / (
        (mx**2 + my**2 + c1) * (vx + vy + c2)
    )
    return ssim_map.mean((1, 2, 3))


def ssim_per_step(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    data_range: float | None = None,
    *,
    window: int = 11,
    sigma: float = 1.5,
) -> Tensor:
    r"""Structural similarity of a rollout of 2-D fields at every step.

    The SSIM of Wang et al. (2004) with a Gaussian window (``window`` taps,
    standard deviation ``sigma``), population statistics and no padding
    (the mean over the positions where the window fits):

    .. math::
        \mathrm{SSIM}(x, y) = \frac{(2\mu_x\mu_y + c_1)(2\sigma_{xy} + c_2)}
            {(\mu_x^2 + \mu_y^2 + c_1)(\sigma_x^2 + \sigma_y^2 + c_2)},
        \quad c_1 = (0.01 L)^2,\ c_2 = (0.03 L)^2,

    averaged over trajectories and channels.

    Parameters
    ----------
    y_true, y_pred : tensor or array-like
        ``[B, S, C, H, W]`` true and forecast frames.
    data_range : float, optional
        :math:`L` (default: the range of ``y_true``).
    window : int
        Window size, at most ``min(H, W)`` (default: ``11``).
    sigma : float
        Window standard deviation (default: ``1.5``).

    Returns
    -------
    Tensor
        ``[S]`` (``float64``).
    """
    truth, pred = _rollout_inputs(y_true, y_pred)
    if truth.dim() != 5:
        raise ValueError(
            f"`y_true` must have shape [B, S, C, H, W], got {list(truth.shape)}"
        )
    if window > min(truth.shape[-2:]) or window < 1:
        raise ValueError(
            f"`window` ({window}) must be in [1, {min(truth.shape[-2:])}] (the grid)"
        )
    if data_range is None:
        data_range = float(truth.max() - truth.min()) or 1.0
    b, s, c, h, w = truth.shape
    flat = [a.transpose(0, 1).reshape(s, b * c, h, w) for a in (truth, pred)]
    return torch.stack(
        [
            _ssim_maps(flat[0][k], flat[1][k], data_range, window, sigma).mean()
            for k in range(s)
        ]
    )


def ssim(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    data_range: float | None = None,
    *,
    window: int = 11,
) -> float:
    """Mean SSIM of images ``[..., H, W]`` (see :func:`ssim_per_step`)."""
    pred = _tensor("y_pred", y_pred).to(torch.float64)
    truth = _tensor("y_true", y_true, pred.device).to(torch.float64)
    if truth.shape != pred.shape or truth.dim() < 2:
        raise ValueError(
            f"`y_true` {list(truth.shape)} and `y_pred` {list(pred.shape)} must "
            "be images [..., H, W] of the same shape"
        )
    h, w = truth.shape[-2:]
    view = (1, 1, -1, h, w)
    pair = (truth.reshape(view), pred.reshape(view))
    return float(ssim_per_step(*pair, data_range, window=window)[0])


def _particle_inputs(y_true: ArrayLike, y_pred: ArrayLike) -> tuple[Tensor, Tensor]:
    truth, pred = _pair(y_true, y_pred)
    if truth.dim() < 3:
        raise ValueError(
            "particle positions must have shape [..., S, N, d] (steps, particles, "
            f"dimensions), got {list(truth.shape)}"
        )
    return truth, pred


def rollout_mse(
    y_true: ArrayLike, y_pred: ArrayLike, steps: int | None = None
) -> float:
    r"""Rollout MSE of particle positions over the first ``steps`` steps.

    .. math::
        \mathrm{MSE}_{S} = \frac{1}{S N d}\sum_{s=1}^{S}\sum_{i=1}^{N}
            \sum_{k=1}^{d} (\hat x_{s,i,k} - x_{s,i,k})^2,

    averaged over particles **and dimensions**, as GNS's
    ``rollout_error_mse`` and LagrangeBench's MSE5 / MSE20 do (and over any
    leading batch axes). GIOROM's code sums over the dimensions instead: its
    figures are ``d`` times these. ``steps = 1`` is the one-step position
    MSE; ``steps = None`` takes the full rollout.

    Parameters
    ----------
    y_true, y_pred : tensor or array-like
        ``[..., S, N, d]`` true and predicted positions (the predicted steps
        only, not the initial window).
    steps : int, optional
        Horizon :math:`S` (default: every step); at most the rollout length.
    """
    truth, pred = _particle_inputs(y_true, y_pred)
    total = truth.shape[-3]
    if steps is not None:
        if not 1 <= steps <= total:
            raise ValueError(
                f"rollout_mse: `steps` must be in [1, {total}] (the rollout "
                f"length), got {steps}"
            )
        truth, pred = truth[..., :steps, :, :], pred[..., :steps, :, :]
    return float(torch.mean((pred - truth) ** 2))


def relative_l2(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    r"""Relative L2 error of point sets, per frame, averaged over frames.

    .. math::
        \mathrm{RelL2} = \mathrm{mean}_s\,
            \frac{\lVert \hat X_s - X_s\rVert_F}{\lVert X_s\rVert_F}

    with :math:`X_s` the ``[N, d]`` positions of frame :math:`s` (GIOROM's
    Rel-L2 on the dense set; the points must correspond one to one).
    """
    truth, pred = _particle_inputs(y_true, y_pred)
    err = (pred - truth).pow(2).sum((-1, -2)).sqrt()
    norm = truth.pow(2).sum((-1, -2)).sqrt().clamp_min(1e-12)
    return float((err / norm).mean())


def chamfer_distance(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    r"""Symmetric Chamfer distance of point clouds, averaged over frames.

    .. math::
        \mathrm{CD}(X, Y) = \frac1{|X|}\sum_{x\in X}\min_{y\in Y}\lVert x-y\rVert^2
            + \frac1{|Y|}\sum_{y\in Y}\min_{x\in X}\lVert x-y\rVert^2

    (squared distances; no correspondence needed, so the clouds may differ
    in size). Inputs ``[..., N, d]`` and ``[..., M, d]`` with the same
    leading axes.
    """
    pred = _tensor("y_pred", y_pred).to(torch.float64)
    truth = _tensor("y_true", y_true, pred.device).to(torch.float64)
    if (
        truth.dim() < 2
        or truth.shape[:-2] != pred.shape[:-2]
        or (truth.shape[-1] != pred.shape[-1])
    ):
        raise ValueError(
            f"chamfer_distance: `y_true` {list(truth.shape)} and `y_pred` "
            f"{list(pred.shape)} must be point clouds [..., N, d] and [..., M, d]"
        )
    if truth.shape[-2] == 0 or pred.shape[-2] == 0:
        raise ValueError("chamfer_distance: a point cloud is empty")
    d2 = torch.cdist(truth, pred).pow(2)
    return float((d2.min(-1).values.mean(-1) + d2.min(-2).values.mean(-1)).mean())


def kinetic_energy_error(
    y_true: ArrayLike, y_pred: ArrayLike, masses: ArrayLike | None = None
) -> float:
    r"""Squared error of the kinetic energy per frame (LagrangeBench's ``e_kin``).

    With velocities :math:`v_s = x_s - x_{s-1}` (per frame) and
    :math:`E_s = \tfrac12\sum_i m_i \lVert v_{s,i}\rVert^2` (unit masses by
    default),

    .. math::
        \mathrm{err}_{E} = \frac{1}{S-1}\sum_{s=2}^{S}(\hat E_s - E_s)^2,

    averaged over any leading batch axes. Inputs ``[..., S, N, d]``,
    ``S >= 2``.
    """
    truth, pred = _particle_inputs(y_true, y_pred)
    if truth.shape[-3] < 2:
        raise ValueError("kinetic_energy_error: needs at least two frames")
    m = (
        torch.ones(truth.shape[-2], dtype=torch.float64, device=truth.device)
        if masses is None
        else _tensor("masses", masses, truth.device).to(torch.float64)
    )
    if m.shape != truth.shape[-2:-1]:
        raise ValueError(
            f"kinetic_energy_error: `masses` must have shape [{truth.shape[-2]}], "
            f"got {list(m.shape)}"
        )

    def energy(x: Tensor) -> Tensor:
        v = x[..., 1:, :, :] - x[..., :-1, :, :]
        return 0.5 * (v.pow(2).sum(-1) * m).sum(-1)

    return float((energy(pred) - energy(truth)).pow(2).mean())
