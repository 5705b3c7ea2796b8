import numpy as np
import pysindy as ps
import pytest

from dyngraph.discovery import (
    coefficient_error,
    fit_sindy,
    support_f1,
    true_coefficients,
)
from dyngraph.discovery.polynomial import polynomial_system
from dyngraph.discovery.selection import PathSTLSQ
from dyngraph.discovery.sindy import choose_form
from dyngraph.systems import simulate


def _system(name, table, x0):
    """A polynomial ODE from ``[{exponents: coefficient}, ...]``."""
    powers = sorted({p for row in table for p in row})
    coef = [[row.get(p, 0.0) for p in powers] for row in table]
    return polynomial_system(name, ("x", "y", "z"), powers, coef, x0)


# Aizawa (a=0.95, b=0.7, c=0.6, d=3.5, e=0.25, f=0.1): small coefficients
AIZAWA = _system(
    "aizawa",
    [
        {(1, 0, 1): 1.0, (1, 0, 0): -0.7, (0, 1, 0): -3.5},
        {(1, 0, 0): 3.5, (0, 1, 1): 1.0, (0, 1, 0): -0.7},
        {
            (0, 0, 0): 0.6,
            (0, 0, 1): 0.95,
            (0, 0, 3): -1 / 3,
            (2, 0, 0): -1.0,
            (0, 2, 0): -1.0,
            (2, 0, 1): -0.25,
            (0, 2, 1): -0.25,
            (3, 0, 1): 0.1,
        },
    ],
    (-0.7845, -0.6289, -0.1762),
)
# Chen (a=35, b=3, c=28): large coefficients
CHEN = _system(
    "chen",
    [
        {(1, 0, 0): -35.0, (0, 1, 0): 35.0},
        {(1, 0, 0): -7.0, (1, 0, 1): -1.0, (0, 1, 0): 28.0},
        {(1, 1, 0): 1.0, (0, 0, 1): -3.0},
    ],
    (3.269, 5.299, 19.435),
)
CASES = {
    # 10 periods at 500 samples per period, as in benchmarks/discovery.py
    "aizawa": (AIZAWA, np.arange(5000) * 2.5837 / 500, 4),
    "chen": (CHEN, np.arange(5000) * 0.58689 / 500, 2),
}


@pytest.fixture(scope="module", params=sorted(CASES))
def case(request):
    system, t, degree = CASES[request.param]
    sim = simulate(system, t, method="LSODA", rtol=1e-10, atol=1e-10, noise=1e-3)
    return system, sim, degree


def _scores(system, model):
    truth = true_coefficients(system, model.get_feature_names())
    return coefficient_error(truth, model.coefficients()), support_f1(
        truth, model.coefficients()
    )


def test_auto_threshold_recovers_small_and_large_coefficients(case):
    system, sim, degree = case
    library = ps.PolynomialLibrary(degree=degree)
    auto = fit_sindy(sim, feature_library=library)
    fixed = fit_sindy(sim, feature_library=library, threshold=0.1)
    err, f1 = _scores(system, auto)
    fixed_err, fixed_f1 = _scores(system, fixed)
    print(f"{system.name}: auto E={err:.2e} F1={f1}; fixed E={fixed_err:.2e}")
    assert auto.discovery_["form"] == "weak"
    assert f1 == 1.0 and err < 1e-3
    assert fixed_f1 < 1.0  # the fixed threshold fails on both scales


def test_weak_form_is_reproducible_and_seeded(case):
    system, sim, degree = case
    library = ps.PolynomialLibrary(degree=degree)
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    a = fit_sindy(sim, feature_library=library, seed=7, threshold=0.05)
    assert np.array_equal(np.random.get_state()[1], before)  # global state kept
    b = fit_sindy(sim, feature_library=library, seed=7, threshold=0.05)
    c = fit_sindy(sim, feature_library=library, seed=8, threshold=0.05)
    assert np.array_equal(a.coefficients(), b.coefficients())
    assert not np.array_equal(a.coefficients(), c.coefficients())
    weak = ps.WeakPDELibrary(function_library=library, spatiotemporal_grid=sim.t)
    d = fit_sindy(sim, feature_library=weak, seed=7, threshold=0.05)
    np.testing.assert_array_equal(a.coefficients(), d.coefficients())


def test_weak_fit_rolls_out_as_a_strong_model(case):
    system, sim, degree = case
    model = fit_sindy(sim, feature_library=ps.PolynomialLibrary(degree=degree))
    x = sim.x_clean[0, 0].numpy()
    predicted = model.predict(x[:50])
    exact = system.rhs(0.0, sim.x_clean[0, 0, :50]).numpy()
    np.testing.assert_allclose(
        predicted, exact, rtol=1e-3, atol=1e-3 * np.abs(exact).max()
    )
    path = model.optimizer.path_
    assert len(path) == 3 and all(len(p) >= 2 for p in path)


def test_path_on_a_regression_with_mixed_scales():
    rng = np.random.default_rng(0)
    theta = rng.normal(size=(400, 6)) * np.array([1e-3, 1.0, 1e3, 1.0, 1e-2, 1e2])
    xi = np.array([[2e3, 0.0, 1e-3, 0.0, 0.0, -0.5]])
    y = theta @ xi.T + 1e-6 * rng.normal(size=(400, 1))
    opt = PathSTLSQ().fit(theta, y)
    assert np.array_equal(opt.coef_ != 0, xi != 0)
    np.testing.assert_allclose(opt.coef_, xi, rtol=1e-3)
    # fixed threshold 0.1 in data units drops the 1e-3 coefficient
    fixed = ps.STLSQ(threshold=0.1).fit(theta, y)
    assert fixed.coef_[0, 2] == 0.0
    # noise-dominated target: e-fold alone would keep nothing; AICc takes over
    noisy = theta @ xi.T + 3 * np.std(theta @ xi.T) * rng.normal(size=(400, 1))
    opt = PathSTLSQ().fit(theta, noisy)
    assert opt.fallbacks_ == 1 and np.count_nonzero(opt.coef_) > 0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"criterion": "bic"}, "criterion"),
        ({"n_thresholds": 0}, "n_thresholds"),
        ({"min_threshold": 2.0}, "min_threshold"),
        ({"rss_floor": -1.0}, "rss_floor"),
    ],
)
def test_path_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        PathSTLSQ(**kwargs)


def test_the_form_rule():
    t = np.linspace(0.0, 10.0, 1000)
    x = np.c_[np.sin(t), np.cos(t)]
    assert choose_form(x, t)[0] is True
    weak, why = choose_form(x[:150], t[:150])
    assert not weak and "15 per weak-form subdomain" in why
    bent = t**1.5
    assert "uniform time grid" in choose_form(x, bent)[1]
    assert (
        "estimator was given"
        in choose_form(x, t, differentiation_method=ps.FiniteDifference())[1]
    )
    with pytest.raises(ValueError, match="one uniform time grid"):
        fit_sindy(x, bent, weak=True)
    with pytest.raises(ValueError, match="drop `differentiation_method`"):
        fit_sindy(x, t, weak=True, differentiation_method=ps.FiniteDifference())
    with pytest.raises(ValueError, match="not both"):
        fit_sindy(x, t, optimizer=ps.STLSQ(), threshold=0.1)
    with pytest.raises(ValueError, match="a number or 'auto'"):
        fit_sindy(x, t, threshold="best")
    model = fit_sindy(x, t, weak=False)
    assert model.discovery_["form"] == "finite differences"
