import pytest
import torch

from dyngraph.data import latent_space_network
from dyngraph.models.pivem import FORECAST_RULES
from dyngraph.models.pivem.evaluate import evaluate, evaluation_split


@pytest.fixture
def one_thread():
    # thousands of tiny ops: intra-op threads only add synchronisation, which
    # costs 10x on a busy machine
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_recovery_beats_static_baseline_on_synthetic_network(one_thread):
    stream, truth = latent_space_network(
        num_nodes=40,
        num_bins=10,
        radius=1.0,
        amplitude=2.5,
        spread=0.2,
        beta_mean=2.0,
        seed=0,
    )
    split = evaluation_split(stream, future_ratio=0.1, mask_ratio=0.2, seed=0)
    result = evaluate(split, num_bins=10, num_communities=4, epochs=150, seed=0)
    auc = {
        task: {name: m["roc_auc"] for name, m in methods.items()}
        for task, methods in result["metrics"].items()
    }
    # masked pairs: positions at the event times are inferred from the others
    for task in ("reconstruction", "completion"):
        assert auc[task]["pivem"] > auc[task]["static_ldm"] + 0.02, auc
    assert auc["completion"]["pivem"] > 0.85, auc
    # extrapolating past the horizon is harder, but still beats static
    assert auc["future"]["pivem"] > auc["future"]["static_ldm"], auc
    # every forecast rule is reported; the dynamic rules beat positions
    # frozen at x(T), which few events pin. Here motion is smooth and known,
    # not a random walk, so the default's spread of the positions ("diffuse")
    # gains less (0.775 vs 0.765) than the recency-weighted rate (0.849)
    future = auc["future"]
    assert {f"pivem_{r}" for r in FORECAST_RULES} <= set(future), future
    assert future["pivem"] == future["pivem_diffuse"]
    assert future["pivem_diffuse"] > future["pivem_static"] + 0.005, future
    assert future["pivem_recent"] > future["pivem_static"] + 0.05, future
    for task in ("completion", "future"):
        assert auc[task]["pivem"] > auc[task]["preferential_attachment"] + 0.1, auc
    # the static model really has zero velocities
    assert not result["models"]["static_ldm"].velocities().any()
    # the planted communities come back from the fitted trajectories
    from sklearn.metrics import adjusted_rand_score

    from dyngraph.models.pivem.plot import inferred_communities

    found = inferred_communities(result["models"]["pivem"], 4)
    assert adjusted_rand_score(truth.communities.numpy(), found.numpy()) > 0.8


def test_evaluate_scores_given_models_without_refitting(one_thread):
    stream, _ = latent_space_network(
        num_nodes=12, num_bins=4, radius=1.0, amplitude=2.0, beta_mean=2.0, seed=1
    )
    split = evaluation_split(stream, future_ratio=0.1, mask_ratio=0.2, seed=0)
    kw = {"num_bins": 4, "num_communities": 2, "epochs": 6, "seed": 0}
    first = evaluate(split, **kw)
    again = evaluate(split, **kw, fitted=first["models"])
    assert again["metrics"] == first["metrics"]
    assert again["fit_seconds"] == {"pivem": None, "static_ldm": None}
    assert again["models"]["pivem"] is first["models"]["pivem"]
