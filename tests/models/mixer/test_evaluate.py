"""MixER's protocol and plots on a tiny mixed split."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from dyngraph.models.mixer.evaluate import VARIANTS, evaluate  # noqa: E402
from dyngraph.models.mixer.plot import (  # noqa: E402
    plot_contexts,
    plot_loss_matrix,
    plot_trajectories,
)
from dyngraph.systems import EnvironmentSplit, lotka_volterra_split, mixed_split  # noqa: E402


@pytest.fixture(scope="module")
def report():
    torch.set_num_threads(1)
    mixed = mixed_split(num_selkov=2, num_test=2, num_train=2, horizon=2.0)
    lv = lotka_volterra_split(num_train=2, num_test=2, num_adapt_test=2, horizon=2.0)
    # the mixed set with the Lotka-Volterra adaptation environments
    split = EnvironmentSplit(
        mixed.train.select(range(11)),
        mixed.test.select(range(11)),
        lv.adapt,
        lv.adapt_test,
    )
    fit = {"outer_steps": 1, "inner_steps": (1, 1), "gate_update_every": 1}
    return split, evaluate(
        split, model={"hidden": 4, "depth": 1, "num_experts": 2}, fit=fit, adapt_steps=2
    )


def test_every_variant_is_scored_the_same_way(report):
    split, result = report
    rows = result["variants"]
    assert list(rows) == list(VARIANTS)
    for name, row in rows.items():
        assert row["test_mse"] >= 0 and row["train_seconds"] > 0, name
        assert len(row["routing"]) == 11 and -1 <= row["routing_ari"] <= 1
    assert rows["single_expert"]["expert_usage"] == [11]
    assert rows["single_expert"]["routing_ari"] == 0.0
    assert rows["per_environment"]["expert_usage"] == [1] * 11
    assert "adapt_mse" not in rows["per_environment"]  # no expert for a new environment
    assert {"adapt_mse", "adapt_seconds"} <= set(rows["mixer"]) and rows["mixer"][
        "gate_updates"
    ] == 2
    assert rows["naive_moe"]["gate_updates"] == 0
    torch.testing.assert_close(
        rows["mixer"]["test_mse"], result["models"]["mixer"].evaluate(split.test)["mse"]
    )


@pytest.mark.parametrize("context_dim", [1, 2, 3])
def test_plots_draw_every_environment_and_expert(report, context_dim):
    split, result = report
    from dyngraph.models.mixer import MixER

    model = MixER(11, 2, num_experts=2, context_dim=context_dim, hidden=4, depth=1)
    with torch.no_grad():
        model.contexts.normal_()
    fig = plot_trajectories(model, split.train, max_envs=4, num_trajectories=1)
    assert len([a for a in fig.axes if a.lines]) == 4
    ax = plot_contexts(model, families=split.train.family)
    assert sum(len(c.get_offsets()) for c in ax.collections) == 11
    matrix = model.loss_matrix(split.train.x.float(), split.train.t.float())
    ax = plot_loss_matrix(matrix, model.route(model.contexts.detach()))
    assert ax.images[0].get_array().shape == (11, 2)
    plt.close("all")
