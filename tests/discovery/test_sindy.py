import numpy as np
import pysindy as ps
import pytest

from dyngraph.discovery import (
    coefficient_error,
    fit_sindy,
    support_f1,
    true_coefficients,
)
from dyngraph.systems import simulate

T = np.arange(0.0, 8.0, 0.002)
X0 = [[-8.0, 8.0, 27.0], [1.0, 1.0, 1.0]]


@pytest.fixture(scope="module")
def lorenz():
    return simulate("lorenz", T, X0)


def test_lorenz_exact_support_on_clean_data(lorenz):
    model = fit_sindy(lorenz)
    assert model.feature_names == ["x", "y", "z"]
    truth = true_coefficients("lorenz", model.get_feature_names())
    assert support_f1(truth, model.coefficients()) == 1.0
    assert coefficient_error(truth, model.coefficients()) < 1e-3
    assert " ".join(model.equations(precision=1)[0].split()) == "-10.0 x + 10.0 y"


def test_degradation_with_noise_is_reported():
    errors, f1 = {}, {}
    for noise in (0.0, 0.01, 0.05):
        sim = simulate("lorenz", T, X0, noise=noise, seed=0)
        diff = ps.SmoothedFiniteDifference()
        model = fit_sindy(sim, differentiation_method=diff, threshold=0.1)
        truth = true_coefficients("lorenz", model.get_feature_names())
        errors[noise] = coefficient_error(truth, model.coefficients())
        f1[noise] = support_f1(truth, model.coefficients())
    print(f"Lorenz coefficient error by noise: {errors}; support F1: {f1}")
    assert errors[0.0] < 1e-3 and f1[0.0] == 1.0
    assert errors[0.0] < errors[0.01] < errors[0.05] < 0.2
    assert f1[0.05] <= f1[0.0]


def test_inputs_tensor_list_and_time_step_agree(lorenz):
    a = fit_sindy(lorenz.x[0], lorenz.t).coefficients()  # [B, T, d] tensor
    b = fit_sindy([x for x in lorenz.x[0].numpy()], 0.002).coefficients()
    np.testing.assert_allclose(a, b, atol=1e-6)


@pytest.mark.parametrize(
    ("data", "t", "match"),
    [
        (np.full((100, 2), np.nan), 0.1, "NaN"),
        (np.ones((2, 2)), 0.1, "at least 3"),
        (np.random.default_rng(0).normal(size=(8, 3)), 0.1, "too few samples"),
        ([np.ones((50, 2)), np.ones((50, 3))], 0.1, "same number"),
        (np.ones((50, 2)), np.arange(40.0), "one time per sample"),
        (np.ones((50, 2)), None, "`t` is required"),
        (np.ones((50, 2)), -0.1, "positive"),
    ],
)
def test_bad_input(data, t, match):
    with pytest.raises(ValueError, match=match):
        fit_sindy(data, t)


def test_metrics_on_known_values():
    truth = np.array([[1.0, 0.0, -2.0]])
    assert support_f1(truth, [[0.9, 0.0, -2.1]]) == 1.0
    assert support_f1(truth, [[0.9, 0.5, 0.0]]) == pytest.approx(0.5)
    assert coefficient_error(truth, [[1.0, 0.0, -1.0]]) == pytest.approx(1 / np.sqrt(5))
    with pytest.raises(ValueError, match="must match"):
        coefficient_error(truth, [[1.0, 2.0]])


def test_true_coefficients_needs_the_terms():
    names = (
        ps.PolynomialLibrary(degree=1)
        .fit([np.ones((3, 3))])
        .get_feature_names(["x", "y", "z"])
    )
    with pytest.raises(ValueError, match="lacks a term"):
        true_coefficients("lorenz", names)
