import numpy as np
import pytest
import torch

from dyngraph.systems import draw_environments, get_system, list_systems


def _polynomial(terms, x):
    out = []
    for monomials in terms:
        value = np.zeros(x.shape[0])
        for powers, coef in monomials.items():
            value += coef * np.prod(x ** np.array(powers), axis=1)
        out.append(value)
    return np.stack(out, axis=1)


@pytest.mark.parametrize("name", list_systems())
def test_rhs_equals_its_polynomial_ground_truth(name):
    system = get_system(name)
    params = {"gamma": 0.0} if name == "duffing" else {}
    x = np.random.default_rng(1).normal(size=(50, system.dim))
    rhs = system.rhs(0.3, torch.from_numpy(x), params).numpy()
    expected = _polynomial(system.polynomial_terms(params), x)
    np.testing.assert_allclose(rhs, expected, rtol=1e-12, atol=1e-12)


def test_literature_defaults():
    assert get_system("lorenz").params == {"sigma": 10.0, "rho": 28.0, "beta": 8 / 3}
    assert get_system("rossler").params == {"a": 0.2, "b": 0.2, "c": 5.7}
    assert get_system("Lotka-Volterra").name == "lotka_volterra"


def test_forced_duffing_has_no_polynomial_truth_and_uses_time():
    duffing = get_system("duffing")
    with pytest.raises(ValueError, match="not polynomial"):
        duffing.polynomial_terms()
    x = torch.tensor([0.5, 0.1], dtype=torch.float64)
    assert not torch.allclose(duffing.rhs(0.0, x), duffing.rhs(1.0, x))


def test_parameters_broadcast_over_environments():
    system = get_system("lotka_volterra")
    x = torch.rand(4, 3, 2, dtype=torch.float64)
    alpha = torch.tensor([0.5, 1.0, 1.5, 2.0], dtype=torch.float64)[:, None]
    batched = system.rhs(0.0, x, {"alpha": alpha})
    for e in range(4):
        single = system.rhs(0.0, x[e], {"alpha": float(alpha[e])})
        torch.testing.assert_close(batched[e], single)


def test_bad_state_and_parameter_names():
    system = get_system("lorenz")
    with pytest.raises(ValueError, match="last axis must be 3"):
        system.rhs(0.0, torch.zeros(5, 2))
    with pytest.raises(KeyError, match="no parameter 'mu'"):
        system.rhs(0.0, torch.zeros(3), {"mu": 1.0})
    with pytest.raises(KeyError, match="choose one of"):
        get_system("lorenz96")


def test_draw_environments_seeded_and_in_range():
    envs = draw_environments("lorenz", 50, spread={"rho": 0.2}, seed=3)
    again = draw_environments("lorenz", 50, spread={"rho": 0.2}, seed=3)
    torch.testing.assert_close(envs["rho"], again["rho"])
    assert envs["rho"].shape == (50,)
    assert (envs["rho"] >= 28 * 0.8).all() and (envs["rho"] <= 28 * 1.2).all()
    assert envs["rho"].std() > 1.0
    assert (envs["sigma"] == 10.0).all()
    other = draw_environments("lorenz", 50, spread={"rho": 0.2}, seed=4)
    assert not torch.equal(envs["rho"], other["rho"])
    with pytest.raises(ValueError, match="positive integer"):
        draw_environments("lorenz", 0)


def test_with_params_changes_defaults_only():
    lv = get_system("lotka_volterra")
    model = lv.with_params(beta=0.0)
    assert model.params["beta"] == 0.0 and lv.params["beta"] == 4 / 3
