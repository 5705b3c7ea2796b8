"""The shared fit loop: seeding, progress, checkpoints, early stopping."""

from __future__ import annotations

import copy
import json
import math
import os
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from dyngraph.training import checkpoint as ckpt
from dyngraph.training import distributed as dist

__all__ = [
    "FitResult",
    "NonFiniteLossError",
    "check_resumable",
    "fit",
    "fit_checkpoint",
    "prepare_checkpoints",
    "seed_everything",
    "shuffled_batches",
]

FIT_STATE = "fit-state"
"""The checkpoint kind of a fit in progress (:mod:`dyngraph.training.checkpoint`)."""


class NonFiniteLossError(FloatingPointError):
    """The loss became NaN or infinite; the fit stopped before stepping on it."""


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and torch's global generators (CPU and CUDA)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


@dataclass
class FitResult:
    """What :func:`fit` returns.

    Attributes
    ----------
    history : list of dict
        Per epoch: ``epoch``, ``loss`` (mean over the epoch's steps) and any
        validation metrics.
    best_epoch : int or None
        Epoch with the best monitored metric (``None`` without validation).
    best_score : float or None
        That metric's value.
    stopped_early : bool
        Whether early stopping ended the fit.
    resumed_from : int or None
        Epoch count read from the checkpoint, if the fit was resumed.
    """

    history: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int | None = None
    best_score: float | None = None
    stopped_early: bool = False
    resumed_from: int | None = None


def _rng_state() -> dict[str, Any]:
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    state = {
        "python": random.getstate(),
        "numpy": [kind, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, gauss],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    version, internal, gauss_next = state["python"]
    random.setstate((version, tuple(internal), gauss_next))
    kind, keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, gauss))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


_NOT_HYPER = ("params", "initial_lr")
"""Param-group entries that are not the optimizer's settings."""

RESUME_ADVICE = (
    "resume only with the data and model settings that wrote it, or fit into "
    "another checkpoint file (or delete this one) to start afresh"
)
"""What :func:`check_resumable` tells to do by default."""


def _shape(value: Any) -> str:
    if isinstance(value, Tensor):
        return f"{list(value.shape)} ({str(value.dtype).removeprefix('torch.')})"
    return type(value).__name__


def _differences(saved: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """List what differs between two state dicts: keys, shapes, dtypes."""
    out = [f"{key} is only in the checkpoint" for key in saved if key not in current]
    out += [f"{key} is not in the checkpoint" for key in current if key not in saved]
    for key, value in current.items():
        old = saved.get(key)
        if key not in saved or not isinstance(value, Tensor):
            continue
        if not isinstance(old, Tensor) or (
            old.shape != value.shape or old.dtype != value.dtype
        ):
            out.append(f"{key} is {_shape(old)} there and {_shape(value)} here")
    return out


def check_resumable(
    checkpoint: str | Path,
    model: nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    *,
    advice: str = RESUME_ADVICE,
) -> dict[str, Any]:
    """Check, before loading anything, that ``model`` can resume ``checkpoint``.

    A fit-state checkpoint written for another dataset (another number of
    nodes) or other model settings holds tensors of other shapes; loading it
    would end in PyTorch's ``size mismatch`` error. This compares the saved
    weights' names, shapes and dtypes (and the optimizer's parameter groups)
    with ``model``'s and refuses the file, saying what differs.

    Parameters
    ----------
    checkpoint : str or Path
        An existing fit-state file written by :func:`fit`.
    model : torch.nn.Module
        The model that would resume it.
    optimizer : torch.optim.Optimizer, optional
        Its optimizer; the number and sizes of the parameter groups are
        compared too.
    advice : str
        What to do, appended to the error (default: :data:`RESUME_ADVICE`).

    Returns
    -------
    dict
        The saved fit state (as :func:`fit` reads it).

    Raises
    ------
    CheckpointError
        When the file is not a fit-state checkpoint, or was written for
        another model: the message names the file, lists (up to three of)
        the differences and ends with ``advice``.
    """
    path = Path(checkpoint)
    saved = ckpt.load(path, kind=FIT_STATE).state
    weights = saved.get("model")
    if not isinstance(weights, dict):
        raise ckpt.CheckpointError(f"{path}: a fit-state checkpoint without weights")
    found = _differences(weights, model.state_dict())
    if optimizer is not None and not found:
        groups = saved.get("optimizer", {}).get("param_groups", [])
        old = [len(g.get("params", [])) for g in groups]
        new = [len(g["params"]) for g in optimizer.param_groups]
        if old != new:
            found.append(
                f"the optimizer's parameter groups hold {old} tensors there and "
                f"{new} here"
            )
    if found:
        more = f" (and {len(found) - 3} more)" if len(found) > 3 else ""
        raise ckpt.CheckpointError(
            f"{path}: cannot resume from this checkpoint: it was written for "
            "another model or dataset: "
            + "; ".join(found[:3])
            + more
            + f". To go on, {advice}."
        )
    return saved


def prepare_checkpoints(
    directory: str | Path,
    pattern: str,
    model: nn.Module,
    *,
    resume: bool,
    advice: str = RESUME_ADVICE,
    data: dict[str, Any] | None = None,
) -> list[Path]:
    """Start a command's fit afresh or check that it can resume, on every rank.

    Without ``resume``, rank 0 deletes the files of ``directory`` matching
    ``pattern`` (a glob; a plain file name matches itself); every rank then
    waits at a barrier, so that under ``torchrun`` no rank resumes from a
    checkpoint another rank is deleting. With ``resume``, each remaining
    file is checked by :func:`check_resumable` before anything is loaded.

    Weights of the same shapes do not tell two datasets with the same number
    of nodes apart, so ``data`` (a JSON-able description of what is fitted,
    e.g. ``{"dataset": name, "events": n}``) is recorded for ``pattern`` in
    ``directory``'s :data:`DATA_RECORD` on a fresh start, and a resume whose
    ``data`` differs from the record is refused. Checkpoints without a record
    (written before records existed) are checked by shape only.

    Parameters
    ----------
    directory : str or Path
        Where the checkpoints are (created if missing).
    pattern : str
        Their names, e.g. ``"fit.pt"`` or ``"phase*.pt"``.
    model : torch.nn.Module
        The model that would resume them.
    resume : bool
        Keep and check the files (``True``) or delete them (``False``).
    advice : str
        What to do when a file was written for another model, appended to
        the error (default: :data:`RESUME_ADVICE`).
    data : dict, optional
        What the checkpoints are fitted to; compared on resume, recorded
        otherwise.

    Returns
    -------
    list of Path
        The checkpoints that remain, sorted by name (empty after a fresh
        start).

    Raises
    ------
    CheckpointError
        When resuming from a file written for another model or dataset.
    """
    directory = Path(directory)
    record = directory / DATA_RECORD
    if not resume and dist.is_main():
        for old in directory.glob(pattern):
            old.unlink(missing_ok=True)
    dist.barrier()
    found = sorted(directory.glob(pattern))
    for path in found:
        check_resumable(path, model, advice=advice)
    if data is not None:
        data = json.loads(json.dumps(data))  # as it reads back (tuples: lists)
        saved = _read_record(record).get(pattern)
        if found and saved is not None and saved != data:
            raise ckpt.CheckpointError(
                f"{found[0]}: cannot resume from this checkpoint: it was fitted "
                f"to {saved} (recorded in {record}), this run fits {data}; " + advice
            )
    directory.mkdir(parents=True, exist_ok=True)
    if data is not None and dist.is_main():
        _write_record(record, pattern, data)
    dist.barrier()
    return found


DATA_RECORD = "fitted-data.json"
"""Name of the file in which :func:`prepare_checkpoints` records ``data``."""


def _read_record(record: Path) -> dict[str, Any]:
    """``{pattern: data}`` of a checkpoint folder (empty when missing)."""
    if not record.exists():
        return {}
    try:
        found = json.loads(record.read_text())
    except (OSError, ValueError) as err:
        raise ckpt.CheckpointError(
            f"{record}: unreadable record of the fitted data ({err}); delete it "
            "to resume by the weights' shapes only"
        ) from err
    if not isinstance(found, dict):
        raise ckpt.CheckpointError(f"{record}: not a JSON object; delete it")
    return found


def _write_record(record: Path, pattern: str, data: dict[str, Any]) -> None:
    """Set ``pattern``'s entry of ``record`` atomically."""
    entries = _read_record(record)
    entries[pattern] = data
    tmp = record.with_name(record.name + ".tmp")
    tmp.write_text(json.dumps(entries, indent=1, sort_keys=True) + "\n")
    os.replace(tmp, record)


def fit_checkpoint(
    output: str | Path,
    model: nn.Module,
    *,
    resume: bool,
    name: str | None = None,
    data: dict[str, Any] | None = None,
) -> Path:
    """``output/checkpoints/fit.pt``, made ready for a command's fit.

    :func:`prepare_checkpoints` on that one file: deleted for a fresh start,
    checked against ``model`` (and ``data``, what is fitted) with ``resume``.
    ``name`` (e.g. the dataset) is named in the advice of the error a foreign
    checkpoint raises.

    Returns
    -------
    Path
        The checkpoint path to give :func:`fit`.
    """
    path = Path(output) / "checkpoints" / "fit.pt"
    what = f"{name!r} " if name is not None else ""
    prepare_checkpoints(
        path.parent,
        path.name,
        model,
        resume=resume,
        advice=f"fit {what}into another --output, or drop --resume to start "
        f"afresh (the checkpoint {path} is then replaced)",
        data=data,
    )
    return path


def shuffled_batches(
    n: int, batch_size: int, seed: int, *, noise: bool = False
) -> Callable[[int], list[Tensor]]:
    """``batches(epoch)`` for :func:`fit`: a seeded permutation of ``n`` examples.

    Epoch ``e`` draws ``torch.randperm(n)`` from a generator seeded with
    ``seed * 100_003 + e`` (so a resumed fit sees the same batches) and
    splits it into batches of ``batch_size`` indices. With ``noise`` each
    batch is ``[b, 2]``: (example index, a per-example seed in
    :math:`[0, 2^{62})` drawn next from the same generator), for models that
    draw their own training noise.
    """

    def batches(epoch: int) -> list[Tensor]:
        gen = torch.Generator().manual_seed(seed * 100_003 + epoch)
        order = torch.randperm(n, generator=gen)
        if noise:
            seeds = torch.randint(2**62, (n,), generator=gen)
            order = torch.stack([order, seeds], 1)
        return list(order.split(batch_size))

    return batches


def _hyper(optimizer: torch.optim.Optimizer) -> list[dict[str, Any]]:
    """Return the optimizer's settings per group (``lr``, ``betas``, ...)."""
    return [
        {k: v for k, v in group.items() if k not in _NOT_HYPER}
        for group in optimizer.param_groups
    ]


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, Tensor) or isinstance(b, Tensor):
        return torch.equal(torch.as_tensor(a), torch.as_tensor(b))
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _keep_current_hyper(
    optimizer: torch.optim.Optimizer,
    current: list[dict[str, Any]],
    started: list[dict[str, Any]] | None,
    scheduler: Any,
    base_lrs: list[Any] | None,
) -> None:
    """After loading a checkpoint, let the caller's optimizer settings win.

    ``current`` are the settings the optimizer was built with now, ``started``
    those the checkpointed fit was built with. A setting given anew wins; an
    unchanged one keeps the checkpoint's value, which a scheduler may have
    changed since (so that an unchanged fit resumes bit for bit). A new
    learning rate also becomes the scheduler's base rate again (``base_lrs``:
    the fresh scheduler's, from before the checkpoint was loaded).
    """
    bases = getattr(scheduler, "base_lrs", None)
    for index, (group, now) in enumerate(
        zip(optimizer.param_groups, current, strict=True)
    ):
        before = started[index] if started and index < len(started) else None
        for key, value in now.items():
            if before is not None and key in before and _same(before[key], value):
                continue
            group[key] = value
            if key == "lr" and base_lrs is not None and index < len(base_lrs):
                group["initial_lr"] = base_lrs[index]
                if isinstance(bases, list) and index < len(bases):
                    bases[index] = base_lrs[index]


def _step_value(loss: Tensor, world: dist.Context) -> tuple[float, str]:
    """Return the step's loss averaged over the ranks, and who failed.

    Under several processes the ranks' values are summed in one collective,
    so a non-finite value on any rank is seen by every rank and all of them
    stop at the same step (none is left waiting for the others).
    """
    if not world.distributed:
        return float(loss.detach()), ""
    values = torch.zeros(world.world_size, dtype=torch.float64)
    values[world.rank] = float(loss.detach())
    dist.all_reduce_(values)
    bad = [r for r, v in enumerate(values.tolist()) if not math.isfinite(v)]
    where = f" on rank {', '.join(map(str, bad))} of {world.world_size}" if bad else ""
    return float(values.sum()) / world.world_size, where


def _rank_rng(saved: dict[str, Any], world: dist.Context, path: Path) -> dict[str, Any]:
    """Return this rank's generator states from a fit-state checkpoint."""
    ranks = saved.get("rng_ranks")
    if isinstance(ranks, list) and len(ranks) == world.world_size:
        return ranks[world.rank]
    if world.world_size == 1 and not isinstance(ranks, list):
        return saved["rng"]
    import warnings

    warnings.warn(
        f"{path}: written by {len(ranks) if isinstance(ranks, list) else 1} "
        f"process(es), resumed by {world.world_size}; the fit goes on from its "
        "weights and optimizer state, but not bit for bit (the random streams "
        "of the ranks differ)",
        RuntimeWarning,
        stacklevel=3,
    )
    if world.rank == 0:
        return saved["rng"]
    seed_everything(dist.rank_seed(int(saved["epoch"]), world.rank))
    return _rng_state()


def _improved(score: float, best: float | None, mode: str, min_delta: float) -> bool:
    if best is None:
        return True
    return score > best + min_delta if mode == "max" else score < best - min_delta


def fit(
    model: nn.Module,
    step: Callable[[Any], Tensor] | None = None,
    *,
    epochs: int,
    optimizer: torch.optim.Optimizer,
    batches: Callable[[int], Iterable[Any]] | None = None,
    validate: Callable[[], dict[str, float]] | None = None,
    monitor: str | None = None,
    mode: str = "max",
    patience: int | None = None,
    min_delta: float = 0.0,
    scheduler: Any = None,
    checkpoint: str | Path | None = None,
    checkpoint_every: int = 1,
    restore_best: bool = True,
    seed: int | None = None,
    progress: bool = True,
    desc: str = "fit",
) -> FitResult:
    r"""Fit ``model`` by gradient steps, one loop for every dyngraph family.

    Each epoch iterates over ``batches(epoch)`` (default: a single ``None``,
    i.e. one full-batch step per epoch) and for every batch computes
    ``loss = step(batch)`` (by default ``model(batch)``: every family's
    ``forward`` returns its training loss, so a
    :class:`~torch.nn.parallel.DistributedDataParallel` wrapper fits too),
    checks that it is finite, back-propagates and steps ``optimizer``. After
    the epoch, ``validate()`` (if given) returns metrics; the one named
    ``monitor`` drives early stopping and the choice of the best weights.

    With ``checkpoint`` set, the model, optimizer, scheduler, random number
    generator states, history and best weights are written atomically every
    ``checkpoint_every`` epochs and at the end; calling :func:`fit` again with
    the same checkpoint resumes after the last saved epoch and, for the same
    seed, ends where an uninterrupted fit would have.

    On resume the weights, the optimizer's state (e.g. Adam's moments), the
    scheduler, the generators and the history come from the checkpoint, but
    the optimizer's settings (``lr``, ``betas``, ``weight_decay``, ...) that
    ``optimizer`` was built with now win over the saved ones: after a
    :class:`NonFiniteLossError`, build the optimizer with a smaller learning
    rate and call :func:`fit` again to go on from the last checkpoint with
    it. (Unchanged settings keep the checkpoint's values, which a scheduler
    may have changed.) A checkpoint written for another model or dataset is
    refused before anything is loaded (:func:`check_resumable`).

    Parameters
    ----------
    model : torch.nn.Module
        The model; it stays on its device (move it before fitting).
    step : callable, optional
        ``step(batch) -> Tensor``: the scalar loss of one batch (default:
        ``model(batch)``).
    epochs : int
        Total number of epochs (a resumed fit runs the remaining ones).
    optimizer : torch.optim.Optimizer
        Optimizer over the parameters to fit.
    batches : callable, optional
        ``batches(epoch)`` returns the iterable of batches of that epoch
        (default: one step per epoch with ``batch=None``).
    validate : callable, optional
        Returns a ``dict`` of validation metrics after each epoch.
    monitor : str, optional
        Metric of ``validate`` to monitor (default: its first key).
    mode : {"max", "min"}
        Whether larger or smaller monitored values are better (default:
        ``"max"``).
    patience : int, optional
        Stop after this many epochs without improvement (default: never).
    min_delta : float
        Smallest change that counts as an improvement (default: ``0``).
    scheduler : optional
        A learning-rate scheduler, stepped once per epoch.
    checkpoint : str or Path, optional
        File for checkpoints; an existing one is resumed from.
    checkpoint_every : int
        Epochs between checkpoints (default: ``1``).
    restore_best : bool
        Load the best monitored weights at the end (default: ``True``).
    seed : int, optional
        Seeds every global generator before the first epoch.
    progress : bool
        Show a progress bar (default: ``True``).
    desc : str
        Label of the progress bar (default: ``"fit"``).

    Returns
    -------
    FitResult
        The history and the best epoch.

    Raises
    ------
    NonFiniteLossError
        When a loss is NaN or infinite; nothing is stepped on that loss and
        the last checkpoint (if any) is left intact.
    CheckpointError
        When ``checkpoint`` exists but is not a fit state of this model (see
        :func:`check_resumable`).
    """
    if epochs < 0:
        raise ValueError(f"fit: `epochs` must be >= 0, got {epochs}")
    if mode not in ("max", "min"):
        raise ValueError(f"fit: `mode` must be 'max' or 'min', got {mode!r}")
    if checkpoint_every < 1:
        raise ValueError(
            f"fit: `checkpoint_every` must be >= 1, got {checkpoint_every}"
        )
    from tqdm.auto import tqdm

    if step is None:
        step = model
    core = dist.unwrap(model)  # checkpoints hold the bare module's weights
    world = dist.context()
    result = FitResult()
    best_state: dict[str, Tensor] | None = None
    start = 0
    path = Path(checkpoint) if checkpoint is not None else None
    if seed is not None:
        seed_everything(dist.rank_seed(seed, world.rank))
    hyper = _hyper(optimizer)
    base_lrs = getattr(scheduler, "base_lrs", None)
    base_lrs = list(base_lrs) if isinstance(base_lrs, list) else None
    if path is not None and path.exists():
        saved = check_resumable(path, core, optimizer)
        try:
            core.load_state_dict(saved["model"])
            optimizer.load_state_dict(saved["optimizer"])
        except (RuntimeError, ValueError, KeyError) as exc:
            detail = str(exc).strip().splitlines()
            raise ckpt.CheckpointError(
                f"{path}: cannot resume from this checkpoint "
                f"({detail[0] if detail else type(exc).__name__}); "
                f"{RESUME_ADVICE}"
            ) from exc
        if scheduler is not None and saved.get("scheduler") is not None:
            scheduler.load_state_dict(saved["scheduler"])
        _keep_current_hyper(optimizer, hyper, saved.get("hyper"), scheduler, base_lrs)
        _set_rng_state(_rank_rng(saved, world, path))
        start = result.resumed_from = int(saved["epoch"])
        result.history = saved["history"]
        result.best_epoch, result.best_score = saved["best_epoch"], saved["best_score"]
        best_state = saved["best_state"]
        result.stopped_early = bool(saved.get("stopped_early", False))
        if result.stopped_early:
            start = epochs

    def save(epoch: int) -> None:
        if path is None:
            return
        rng = dist.all_gather_objects(_rng_state())  # a collective: every rank
        if world.rank == 0:
            _save_state(epoch, rng)
        dist.barrier()  # nobody reads the file before it is complete

    def _save_state(epoch: int, rng: list[dict[str, Any]]) -> None:
        assert path is not None
        ckpt.save(
            path,
            kind=FIT_STATE,
            state={
                "model": core.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": None if scheduler is None else scheduler.state_dict(),
                "rng": rng[0],
                "rng_ranks": rng,
                "world_size": world.world_size,
                "epoch": epoch,
                "history": result.history,
                "best_epoch": result.best_epoch,
                "best_score": result.best_score,
                "best_state": best_state,
                "stopped_early": result.stopped_early,
                "hyper": hyper,
            },
        )

    bar = tqdm(
        range(start, epochs),
        desc=desc,
        disable=not progress or world.rank != 0,
        initial=start,
        total=epochs,
    )
    try:
        for epoch in bar:
            model.train()
            total, count = 0.0, 0
            for index, batch in enumerate(batches(epoch) if batches else [None]):
                loss = step(batch)
                value, where = _step_value(loss, world)
                if not math.isfinite(value):
                    raise NonFiniteLossError(
                        f"{desc}: the loss is {value}{where} at epoch {epoch}, batch "
                        f"{index}; nothing was stepped on it. Common causes: a "
                        "learning rate that is too large, a log or division of zero "
                        "in the loss, or non-finite inputs. Lower the learning rate "
                        "or check the data; the last checkpoint (if any) is intact."
                    )
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                total += value
                count += 1
            if scheduler is not None:
                scheduler.step()
            record: dict[str, float] = {"epoch": epoch, "loss": total / max(count, 1)}
            if validate is not None:
                model.eval()
                with torch.no_grad():
                    metrics = dist.mean_metrics(validate())
                record.update(metrics)
                key = monitor or next(iter(metrics))
                if key not in metrics:
                    raise KeyError(
                        f"fit: monitor={key!r} is not among the validation metrics "
                        f"{sorted(metrics)}"
                    )
                if _improved(metrics[key], result.best_score, mode, min_delta):
                    result.best_epoch, result.best_score = epoch, float(metrics[key])
                    best_state = copy.deepcopy(core.state_dict())
            result.history.append(record)
            bar.set_postfix({k: f"{v:.4g}" for k, v in record.items() if k != "epoch"})
            stop = (
                patience is not None
                and result.best_epoch is not None
                and epoch - result.best_epoch >= patience
            )
            result.stopped_early = stop
            if (epoch + 1) % checkpoint_every == 0 or epoch + 1 == epochs or stop:
                save(epoch + 1)
            if stop:
                break
    finally:  # end the bar's line before any error message
        bar.close()
    if restore_best and best_state is not None:
        core.load_state_dict(best_state)
    return result
