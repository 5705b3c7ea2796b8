"""MixER's protocol: in-domain test error, adaptation, routing, against baselines.

:func:`evaluate` fits MixER and its baselines on one
:class:`~dyngraph.systems.EnvironmentSplit` with the same experts and the
same schedule, and reports per variant:

* ``test_mse`` / ``test_rel_mse``: the trajectory MSE (and relative MSE) on
  the test trajectories of the training environments, rolled out from their
  initial states with the fitted contexts;
* ``adapt_mse`` / ``adapt_seconds``: the same on the adaptation
  environments' test trajectories, after fitting only their contexts on
  their few adaptation trajectories (when the split has them and the
  variant can adapt);
* ``routing`` and ``routing_ari``: the expert of every training environment
  and the adjusted Rand index against the true family (on a split of
  several families);
* ``train_seconds``, ``gate_skip_rate``, ``expert_usage``.

The variants (:data:`VARIANTS`): ``mixer`` (least-squares gate), ``single_expert``
(one context-conditioned expert, CoDA-like), ``naive_moe`` (gradient-descent
gate, gate-scaled outputs) and ``per_environment`` (one expert per
environment).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import torch

from dyngraph.metrics import adjusted_rand_index
from dyngraph.models.mixer.model import MixER
from dyngraph.systems.environments import EnvironmentSplit

__all__ = ["VARIANTS", "evaluate", "fit_variant"]

VARIANTS = ("mixer", "single_expert", "naive_moe", "per_environment")
"""MixER and its baselines, by name."""


def _variant_kwargs(
    name: str, num_envs: int, model: Mapping[str, Any]
) -> dict[str, Any]:
    kw = dict(model)
    if name == "mixer":
        kw["gate_update"] = "least_squares"
    elif name == "single_expert":
        kw.update(num_experts=1, gate_update="fixed")
    elif name == "naive_moe":
        kw["gate_update"] = "gradient_descent"
    elif name == "per_environment":
        kw.update(num_experts=num_envs, gate_update="fixed")
    else:
        raise ValueError(f"unknown variant {name!r}; choose from {list(VARIANTS)}")
    return kw


def fit_variant(
    name: str,
    split: EnvironmentSplit,
    *,
    model: Mapping[str, Any] | None = None,
    fit: Mapping[str, Any] | None = None,
    seed: int = 0,
    progress: bool = False,
) -> tuple[MixER, float]:
    """Build and fit one variant on ``split.train``; return it and its seconds.

    Parameters
    ----------
    name : str
        One of :data:`VARIANTS`.
    split : EnvironmentSplit
        The data.
    model, fit : mapping, optional
        Keywords of :class:`MixER` and :meth:`MixER.fit` (the variant sets
        ``gate_update`` and, for the baselines, ``num_experts``).
    seed : int
        Seed of the weights and of the fit (default: ``0``).
    progress : bool
        Show a progress bar (default: ``False``).
    """
    train = split.train
    kw = _variant_kwargs(name, train.num_environments, model or {})
    mixer = MixER(train.num_environments, train.dim, seed=seed, **kw)
    start = time.perf_counter()
    mixer.fit(train, seed=seed, progress=progress, **dict(fit or {}))
    return mixer, time.perf_counter() - start


def evaluate(
    split: EnvironmentSplit,
    variants: Sequence[str] = VARIANTS,
    *,
    model: Mapping[str, Any] | None = None,
    fit: Mapping[str, Any] | None = None,
    adapt_steps: int = 200,
    adapt_lr: float = 1e-2,
    seed: int = 0,
    progress: bool = False,
) -> dict[str, Any]:
    """Fit and score every variant on ``split`` (see the module docstring).

    Returns
    -------
    dict
        ``{"variants": {name: metrics}, "models": {name: MixER}}``.
    """
    train = split.train
    several = len(train.family_names) > 1
    report: dict[str, Any] = {}
    models: dict[str, MixER] = {}
    for name in variants:
        mixer, seconds = fit_variant(
            name, split, model=model, fit=fit, seed=seed, progress=progress
        )
        routing = mixer.route(mixer.contexts.detach()).cpu()
        test = mixer.evaluate(split.test)
        row: dict[str, Any] = {
            "train_seconds": seconds,
            "test_mse": test["mse"],
            "test_rel_mse": test["rel_mse"],
            "train_mse": mixer.evaluate(train)["mse"],
            "routing": routing.tolist(),
            "expert_usage": torch.bincount(
                routing, minlength=mixer.num_experts
            ).tolist(),
            "gate_updates": int(mixer.gate_updates),
            "gate_skip_rate": int(mixer.gate_skips) / max(int(mixer.gate_updates), 1),
        }
        if several:
            row["routing_ari"] = adjusted_rand_index(train.family, routing)
        can_adapt = not (mixer.gate_update == "fixed" and mixer.num_experts > 1)
        if split.adapt is not None and split.adapt_test is not None and can_adapt:
            start = time.perf_counter()
            contexts = mixer.adapt(
                split.adapt,
                steps=adapt_steps,
                lr=adapt_lr,
                seed=seed,
                progress=progress,
            )
            row["adapt_seconds"] = time.perf_counter() - start
            adapted = mixer.evaluate(split.adapt_test, contexts)
            row["adapt_mse"] = adapted["mse"]
            row["adapt_rel_mse"] = adapted["rel_mse"]
            row["adapt_routing"] = mixer.route(contexts).cpu().tolist()
        report[name] = row
        models[name] = mixer
    return {"variants": report, "models": models}
