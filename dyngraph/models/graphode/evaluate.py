r"""Rollout evaluation of :class:`GraphODE` against full-grid peers.

Protocol (one call compares every method on the same trajectories): every
method sees the same ``history`` true frames of each test trajectory and
forecasts ``steps`` frames autoregressively; the score is the RMSE
(:func:`~dyngraph.metrics.rmse_per_step`) and SSIM
(:func:`~dyngraph.metrics.ssim_per_step`, data range of the test truth) at
every step. Methods:

* ``graphode``: adaptive re-encoding (the paper's rule);
* ``graphode_interval``: re-encoding every ``every`` steps (the release's);
* ``graphode_no_reencode``: the same fitted model, never re-encoded;
* ``graphode_true_graph``: the same fitted model re-encoded before every
  step from the true frames (``GraphODE.rollout(observed=...)``): the
  forecast still feeds on its own frames, only the probe graph follows the
  truth. Not a forecaster (it reads the future); it measures how much a
  re-encoding rule reading predicted frames could gain at best;
* ``persistence``: the last observed frame;
* ``pixel_autoregression``: the graph ODE's fitted autoregressive skip
  :math:`L` applied at every pixel of the grid, without probes, ODE or
  decoder (:func:`pixel_autoregression`): what the linear part alone does;
* ``full_grid_cnn``: :class:`GridForecaster` with a convolutional network on
  the whole grid, fitted with the same epochs, batches and rollout horizon;
* ``fno``: the same with neuraloperator's FNO at full resolution, when the
  package imports (else absent).
"""

from __future__ import annotations

import time
from typing import Any

import torch
from torch import Tensor, nn

from dyngraph.data.fields import Field
from dyngraph.metrics import rmse_per_step, ssim_per_step
from dyngraph.models.graphode.coarsen import ReencodeRule
from dyngraph.models.graphode.model import GraphODE, windows
from dyngraph.training import distributed, fit, shuffled_batches

__all__ = [
    "GridForecaster",
    "compare",
    "conv_net",
    "fno_net",
    "persistence",
    "pixel_autoregression",
]


def persistence(history: Tensor, steps: int) -> Tensor:
    """``[B, steps, ...]``: the last frame of ``history`` repeated."""
    return history[:, -1:].expand(-1, steps, *history.shape[2:]).clone()


@torch.no_grad()
def pixel_autoregression(model: GraphODE, history: Tensor, steps: int) -> Tensor:
    r"""``[B, steps, C, H, W]``: the skip :math:`L` of ``model`` run at every pixel.

    :math:`u_{t+1} = u_t + L(u_{t-T+1:t})` at each pixel of the grid from
    the last ``T`` frames of ``history`` (data units), fed its own output
    (:meth:`GraphODE.pixel_forecast`); a full-grid linear peer that shows
    what the probes, the neural ODE and the decoder add to it.
    """
    buffer = model.normalise(history[:, -model.history :].to(model.device))
    b, _, c, h, w = buffer.shape
    frames = []
    for _ in range(steps):
        frame = model.pixel_forecast(buffer).view(b, c, h, w)
        frames.append(frame)
        buffer = torch.cat([buffer[:, 1:], frame.unsqueeze(1)], 1)
    return model.denormalise(torch.stack(frames, 1))


def conv_net(channels: int, history: int, width: int = 32) -> nn.Module:
    """Build a three-layer circular-padded CNN: ``history`` frames to an increment."""
    return nn.Sequential(
        nn.Conv2d(channels * history, width, 3, padding=1, padding_mode="circular"),
        nn.GELU(),
        nn.Conv2d(width, width, 3, padding=1, padding_mode="circular"),
        nn.GELU(),
        nn.Conv2d(width, channels, 3, padding=1, padding_mode="circular"),
    )


def fno_net(channels: int, history: int, modes: int = 12, width: int = 32) -> nn.Module:
    """Build neuraloperator's FNO from ``history`` frames to an increment.

    Raises
    ------
    ImportError
        When ``neuraloperator`` is not installed (``pip install neuraloperator``).
    """
    from neuralop.models import FNO

    return FNO(
        n_modes=(modes, modes),
        in_channels=channels * history,
        out_channels=channels,
        hidden_channels=width,
        n_layers=4,
    )


class GridForecaster(nn.Module):
    """A full-grid forecaster :math:`x_{t+1} = x_t + N(x_{t-T+1:t})`.

    Trained like :class:`GraphODE` (multi-step rollouts of normalised frames
    through :func:`dyngraph.training.fit`), so the two compare under one
    budget.

    Parameters
    ----------
    net : torch.nn.Module
        Maps ``[B, T*C, H, W]`` to ``[B, C, H, W]`` (e.g. :func:`conv_net`).
    channels, history : int
        ``C`` and ``T``.
    """

    def __init__(self, net: nn.Module, channels: int, history: int) -> None:
        super().__init__()
        self.net, self.channels, self.history = net, channels, history
        self.register_buffer("mean", torch.zeros(channels))
        self.register_buffer("std", torch.ones(channels))
        self._windows: Tensor | None = None

    def _next(self, buffer: Tensor) -> Tensor:
        b, t, c, h, w = buffer.shape
        return buffer[:, -1] + self.net(buffer.reshape(b, t * c, h, w))

    def forward(self, batch: Tensor) -> Tensor:
        """Training loss of a batch of window indices (sharded under torchrun)."""
        assert self._windows is not None, "call fit first"
        count = len(batch)
        win = self._windows[batch[distributed.shard(count)]]
        buffer, total = win[:, : self.history], win.new_zeros(())
        horizon = win.shape[1] - self.history
        for s in range(horizon):
            frame = self._next(buffer)
            total = (
                total + ((frame - win[:, self.history + s]) ** 2).mean((1, 2, 3)).sum()
            )
            buffer = torch.cat([buffer[:, 1:], frame.unsqueeze(1)], 1)
        return distributed.global_mean(total / horizon, count)

    def fit(
        self,
        field: Field,
        *,
        epochs: int,
        lr: float,
        batch_size: int,
        horizon: int,
        stride: int = 1,
        seed: int = 0,
    ) -> GridForecaster:
        """Fit on the windows of ``field`` (see :meth:`GraphODE.fit`)."""
        values = field.values
        self.mean.copy_(values.mean((0, 1, 3, 4)))
        self.std.copy_(values.std((0, 1, 3, 4)).clamp_min(1e-6))
        norm = (values - self.mean.view(-1, 1, 1)) / self.std.view(-1, 1, 1)
        self._windows = windows(norm, self.history + horizon, stride)
        n = self._windows.shape[0]

        try:
            fit(
                self,
                epochs=epochs,
                optimizer=torch.optim.Adam(self.parameters(), lr=lr),
                batches=shuffled_batches(n, batch_size, seed),
                seed=seed,
                progress=False,
                desc="fit grid forecaster",
            )
        finally:
            self._windows = None
        return self

    @torch.no_grad()
    def rollout(self, history: Tensor, steps: int) -> Tensor:
        """``[B, steps, C, H, W]`` forecast in data units."""
        m, s = self.mean.view(-1, 1, 1), self.std.view(-1, 1, 1)
        buffer = (history[:, -self.history :] - m) / s
        frames = []
        for _ in range(steps):
            frame = self._next(buffer)
            frames.append(frame)
            buffer = torch.cat([buffer[:, 1:], frame.unsqueeze(1)], 1)
        return torch.stack(frames, 1) * s + m


def _scores(truth: Tensor, pred: Tensor, data_range: float) -> dict[str, list[float]]:
    out = {"rmse": rmse_per_step(truth, pred).tolist()}
    if min(truth.shape[-2:]) >= 7:  # SSIM needs a 7x7 window (not on a line)
        out["ssim"] = ssim_per_step(truth, pred, data_range, window=7).tolist()
    return out


def compare(
    train: Field,
    test: Field,
    *,
    start: int,
    steps: int = 20,
    model: dict[str, Any] | None = None,
    epochs: int = 30,
    lr: float = 3e-3,
    batch_size: int = 16,
    horizon: int = 4,
    stride: int = 1,
    tau: float = 0.9,
    every: int = 5,
    fno: bool = True,
    calibrate: bool = False,
    grid_peers: bool = True,
    select_on: str = "training",
    refit: bool = True,
    seed: int = 0,
) -> dict[str, Any]:
    """Fit every method on ``train`` and score its rollouts on ``test``.

    Parameters
    ----------
    train, test : Field
        Training and test trajectories (2-D grids, same channels).
    start : int
        First forecast frame of ``test``; the ``history`` frames before it
        are observed.
    steps : int
        Forecast horizon (default: ``20``).
    model : dict, optional
        Keyword arguments of :class:`GraphODE` (besides ``channels``).
    epochs, lr, batch_size, horizon, stride : optional
        The training budget, the same for every learned method.
    tau, every : float, int
        Adaptive threshold and fixed interval of the re-encoding rules.
    fno : bool
        Include neuraloperator's FNO when it imports (default: ``True``).
    calibrate : bool
        Calibrate the graph ODE's decoder (:meth:`GraphODE.calibrate`;
        default: ``False``).
    grid_peers : bool
        Fit and score the full-grid peers (default: ``True``).
    select_on, refit : str, bool
        Where the graph ODE's gain and decoder are chosen, and whether it is
        refitted after a held-out choice (:meth:`GraphODE.fit`).
    seed : int
        Seed of the weights and batches (default: ``0``).

    Returns
    -------
    dict
        ``methods``: per method ``rmse`` and ``ssim`` lists (one per step),
        ``fit_seconds`` and, for the graph ODE variants, ``reencode_rate``;
        ``probe_fraction``; ``fno_error`` (why the FNO is absent, or
        ``None``).
    """
    channels = train.values.shape[2]
    cfg = dict(model or {})
    cfg.setdefault("seed", seed)
    graph = GraphODE(channels, **cfg)
    if start < graph.history or start + steps > test.num_frames:
        raise ValueError(
            f"compare: `start` ({start}) needs {graph.history} frames before it and "
            f"{steps} after it in `test` ({test.num_frames} frames)"
        )
    budget = {"epochs": epochs, "lr": lr, "batch_size": batch_size, "horizon": horizon}
    history = test.values[:, start - graph.history : start]
    truth = test.values[:, start : start + steps]
    data_range = float(truth.max() - truth.min()) or 1.0
    out: dict[str, Any] = {"methods": {}}
    began = time.perf_counter()
    graph.fit(
        train,
        stride=stride,
        seed=seed,
        calibrate=calibrate,
        select_on=select_on,
        refit=refit,
        **budget,
    )
    fitted = time.perf_counter() - began
    rules = {
        "graphode": ReencodeRule("adaptive", tau=tau),
        "graphode_interval": ReencodeRule("interval", every=every),
        "graphode_no_reencode": ReencodeRule("never"),
        "graphode_true_graph": ReencodeRule("interval", every=1),
    }
    for name, rule in rules.items():
        observed = truth if name == "graphode_true_graph" else None
        with torch.no_grad():
            began = time.perf_counter()
            roll = graph.rollout(history, steps, rule, observed=observed)
            seconds = time.perf_counter() - began
        out["methods"][name] = {
            **_scores(truth, roll.frames, data_range),
            "fit_seconds": fitted,
            "rollout_seconds_per_step": seconds / steps,
            "reencode_rate": roll.reencode_rate,
        }
        if name == "graphode":
            out["probe_fraction"] = roll.graphs[0][1].probe_fraction
    out["methods"]["persistence"] = _scores(
        truth, persistence(history, steps), data_range
    )
    if graph.ar is not None:
        out["methods"]["pixel_autoregression"] = _scores(
            truth, pixel_autoregression(graph, history, steps), data_range
        )
    peers = {"full_grid_cnn": lambda: conv_net(channels, graph.history)}
    out["fno_error"] = None
    if fno:
        try:
            fno_net(channels, graph.history)
            peers["fno"] = lambda: fno_net(channels, graph.history)
        except ImportError as exc:
            out["fno_error"] = f"neuraloperator is not importable: {exc}"
    for name, make in peers.items() if grid_peers else ():
        torch.manual_seed(seed)
        peer = GridForecaster(make(), channels, graph.history)
        began = time.perf_counter()
        peer.fit(train, stride=stride, seed=seed, **budget)
        fitted = time.perf_counter() - began
        began = time.perf_counter()
        pred = peer.rollout(history, steps)
        seconds = time.perf_counter() - began
        out["methods"][name] = {
            **_scores(truth, pred, data_range),
            "fit_seconds": fitted,
            "rollout_seconds_per_step": seconds / steps,
            "parameters": sum(p.numel() for p in peer.parameters()),
        }
    out["methods"]["graphode"]["parameters"] = sum(
        p.numel() for p in graph.parameters()
    )
    out["methods"]["graphode"]["selected"] = {
        "gain": float(graph.gain),
        "decoder": getattr(graph, "decoder_", None),
        "autoregression_ridge": getattr(graph, "autoregression_ridge_", None),
    }
    out["model"] = graph
    return out
