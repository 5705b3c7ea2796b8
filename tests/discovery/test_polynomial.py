import numpy as np
import pytest

from dyngraph.discovery.polynomial import polynomial_system, read_rhs
from dyngraph.systems import simulate


def _rhs(x, y, z, t, a, b):
    return a * (y - x), x * (b - z) - y, x * y - 8 / 3 * z


def _not_polynomial(x, y, t, a):
    return a / (1 + x), y


def test_read_rhs_is_exact_and_refuses_non_polynomials():
    exponents, coef = read_rhs(_rhs, 3, {"a": 10.0, "b": 28.0})
    table = {tuple(e): coef[:, j] for j, e in enumerate(exponents.tolist())}
    np.testing.assert_allclose(table[(1, 0, 0)], [-10.0, 28.0, 0.0])
    np.testing.assert_allclose(table[(1, 0, 1)], [0.0, -1.0, 0.0])
    np.testing.assert_allclose(table[(0, 0, 1)], [0.0, 0.0, -8 / 3])
    assert read_rhs(_not_polynomial, 2, {"a": 1.0}) is None


def test_polynomial_system_integrates_its_equations():
    exponents, coef = read_rhs(_rhs, 3, {"a": 10.0, "b": 28.0})
    system = polynomial_system("lorenz_table", "xyz", exponents, coef, (1, 1, 1))
    t = np.linspace(0.0, 1.0, 101)
    ours = simulate(system, t).x[0, 0]
    reference = simulate("lorenz", t, [1.0, 1.0, 1.0]).x[0, 0]
    np.testing.assert_allclose(ours.numpy(), reference.numpy(), rtol=1e-6, atol=1e-6)
    assert system.polynomial_terms()[2] == {(1, 1, 0): 1.0, (0, 0, 1): -8 / 3}
    with pytest.raises(ValueError, match="coefficients must have shape"):
        polynomial_system("bad", "xyz", exponents, coef[:2], (1, 1, 1))
    with pytest.raises(ValueError, match="non-negative integers"):
        polynomial_system("bad", "xyz", -exponents, coef, (1, 1, 1))


def test_dysts_flows_read_as_polynomials():
    pytest.importorskip("dysts", reason="dysts (the bench extra) is not installed")
    from dyngraph.discovery.polynomial import dysts_polynomial_systems

    flows = dysts_polynomial_systems()
    assert len(flows) >= 50
    lorenz = flows["Lorenz"].system.polynomial_terms()
    assert lorenz[0] == {(1, 0, 0): -10.0, (0, 1, 0): 10.0}
