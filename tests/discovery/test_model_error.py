import numpy as np
import pytest
import torch
from scipy.integrate import solve_ivp

from dyngraph.discovery import ModelErrorSINDy
from dyngraph.systems import get_system, simulate


@pytest.mark.parametrize("target", ["increment", "derivative"])
def test_lotka_volterra_missing_interaction(target):
    lv = get_system("lotka_volterra")
    sim = simulate(lv, np.arange(0.0, 20.0, 0.01), [[1.0, 1.0], [0.5, 1.5]])
    model = ModelErrorSINDy(lv.with_params(beta=0.0, delta=0.0), target=target).fit(sim)
    coef = model.coefficients()
    xy = model.feature_names_.index("x y")
    expected = np.zeros_like(coef)
    expected[:, xy] = [-4 / 3, 1.0]
    assert ((coef != 0) == (expected != 0)).all()
    np.testing.assert_allclose(coef[:, xy], expected[:, xy], rtol=1e-2)


def test_one_dimensional_cubic_within_one_percent():
    t = np.arange(0.0, 3.0, 0.01)
    trajs = [
        solve_ivp(
            lambda s, x: -x - 0.3 * x**3, (0, 3), [x0], t_eval=t, rtol=1e-11, atol=1e-12
        ).y.T
        for x0 in (1.0, -1.5, 0.5)
    ]
    model = ModelErrorSINDy(lambda s, x: -x).fit(trajs, t)
    assert model.equations() == ["(x0 correction)' = -0.298 x0^3"]
    assert model.coefficients()[0, model.feature_names_.index("x0^3")] == pytest.approx(
        -0.3, rel=1e-2
    )
    corrected = model.corrected_rhs(0.0, torch.tensor([[2.0]], dtype=torch.float64))
    assert corrected.item() == pytest.approx(-2.0 - 0.3 * 8, rel=1e-2)


def test_bad_input():
    lv = get_system("lotka_volterra")
    with pytest.raises(ValueError, match="the model 'lotka_volterra' has 2"):
        ModelErrorSINDy(lv).fit(np.ones((50, 3)), 0.1)
    with pytest.raises(ValueError, match="`target`"):
        ModelErrorSINDy(lv, target="residual").fit(np.ones((50, 2)), 0.1)
    with pytest.raises(ValueError, match="NaN"):
        ModelErrorSINDy(lv).fit(np.full((50, 2), np.nan), 0.1)
