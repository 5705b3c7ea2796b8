"""The multi-environment splits: CoDA's grids, seeded draws, true trajectories."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.integrate import solve_ivp

from dyngraph.systems import (
    GLYCOLYTIC_OSCILLATOR,
    Environments,
    concat_environments,
    glycolytic_split,
    lotka_volterra_split,
    make_environments,
    mixed_split,
)


@pytest.fixture(scope="module")
def lv():
    return lotka_volterra_split()


def test_lotka_volterra_split_is_codas(lv):
    assert lv.train.x.shape == (9, 4, 20, 2) and lv.test.x.shape == (9, 32, 20, 2)
    assert lv.adapt.x.shape == (4, 1, 20, 2) and lv.adapt_test.x.shape == (4, 32, 20, 2)
    torch.testing.assert_close(lv.train.t, 0.5 * torch.arange(20, dtype=torch.float64))
    grid = {(p["beta"], p["delta"]) for p in lv.train.params}
    assert grid == {(b, d) for b in (0.5, 0.75, 1.0) for d in (0.5, 0.75, 1.0)}
    assert {(p["beta"], p["delta"]) for p in lv.adapt.params} == {
        (b, d) for b in (0.625, 1.125) for d in (0.625, 1.125)
    }
    assert all(
        p["alpha"] == p["gamma"] == 0.5 for p in lv.train.params + lv.adapt.params
    )
    # initial conditions in [1, 2]^2, shared by the environments of a set,
    # different between the sets
    x0 = lv.train.x[:, :, 0]
    assert ((x0 >= 1) & (x0 <= 2)).all()
    assert torch.equal(x0, x0[:1].expand_as(x0))
    assert not torch.equal(lv.test.x[0, :4, 0], x0[0])
    assert lv.train.family.tolist() == [0] * 9


def test_lotka_volterra_trajectories_conserve_the_first_integral(lv):
    # V = delta x - gamma ln x + beta y - alpha ln y is constant on every orbit
    x, y = lv.test.x[..., 0], lv.test.x[..., 1]
    p = {
        k: torch.tensor([q[k] for q in lv.test.params])[:, None, None]
        for k in lv.test.params[0]
    }
    v = p["delta"] * x - p["gamma"] * x.log() + p["beta"] * y - p["alpha"] * y.log()
    torch.testing.assert_close(v, v[..., :1].expand_as(v), rtol=1e-7, atol=1e-7)


def test_environments_are_seeded():
    def draw(seed):
        grid = [0.0, 0.5, 1.0]
        return make_environments(
            "lotka_volterra", [{}], grid, 3, x0_low=1, x0_high=2, seed=seed
        ).x

    assert torch.equal(draw(0), draw(0)) and not torch.equal(draw(0), draw(1))


def test_glycolytic_split_matches_scipy_on_the_7_state_oscillator():
    go = glycolytic_split(num_train=2, num_test=1, num_adapt_test=1, horizon=0.25)
    assert go.train.x.shape == (9, 2, 5, 7) and go.adapt.x.shape == (4, 1, 5, 7)
    assert go.train.state_names == GLYCOLYTIC_OSCILLATOR.state_names
    assert {(p["k1"], p["K1"]) for p in go.train.params} == {
        (a, b) for a in (100.0, 90.0, 80.0) for b in (1.0, 0.75, 0.5)
    }
    assert {(p["k1"], p["K1"]) for p in go.adapt.params} == {
        (a, b) for a in (85.0, 95.0) for b in (0.625, 0.875)
    }
    # an independent reference: scipy's implicit solver on the same equations
    env = 7
    p = go.train.params[env]

    def rhs(_, s):
        s1, s2, s3, s4, s5, s6, s7 = s
        v1 = p["k1"] * s1 * s6 / (1 + (s6 / p["K1"]) ** p["q"])
        v2 = p["k2"] * s2 * (p["N"] - s5)
        v3 = p["k3"] * s3 * (p["A"] - s6)
        ex = p["kappa"] * (s4 - s7)
        return [
            p["J0"] - v1,
            2 * v1 - v2 - p["k6"] * s2 * s5,
            v2 - v3,
            v3 - p["k4"] * s4 * s5 - ex,
            v2 - p["k4"] * s4 * s5 - p["k6"] * s2 * s5,
            -2 * v1 + 2 * v3 - p["k5"] * s6,
            p["psi"] * ex - p["k"] * s7,
        ]

    t = go.train.t.numpy()
    ref = solve_ivp(
        rhs,
        (t[0], t[-1]),
        go.train.x[env, 1, 0].numpy(),
        "Radau",
        t_eval=t,
        rtol=1e-10,
        atol=1e-12,
    )
    np.testing.assert_allclose(
        go.train.x[env, 1].numpy(), ref.y.T, rtol=1e-4, atol=1e-5
    )


def test_mixed_split_knows_the_family_of_every_environment():
    mixed = mixed_split(num_selkov=5, num_test=2, horizon=2.0)
    assert mixed.adapt is None and mixed.train.x.shape == (14, 4, 4, 2)
    assert mixed.train.family.tolist() == [0] * 9 + [1] * 5
    assert mixed.train.family_names == ("lotka_volterra", "glycolytic")
    assert torch.equal(mixed.test.family, mixed.train.family)
    selkov = mixed.train.params[9:]
    assert all(
        abs(p["a"] / 0.08 - 1) <= 0.1 and abs(p["b"] / 0.6 - 1) <= 0.1 for p in selkov
    )
    assert len({(p["a"], p["b"]) for p in selkov}) == 5


def test_concat_relabels_families_and_select_keeps_them():
    a = make_environments(
        "van_der_pol", [{"mu": 1.0}], [0.0, 0.5, 1.0], 2, x0_low=0, x0_high=1
    )
    b = make_environments(
        "duffing",
        [{"gamma": 0.0}] * 2,
        [0.0, 0.5, 1.0],
        2,
        x0_low=0,
        x0_high=1,
        family=0,
    )
    both = concat_environments(b, a, b)
    assert both.family_names == ("duffing", "van_der_pol")
    assert both.family.tolist() == [0, 0, 1, 0, 0]
    picked = both.select([2, 0])
    assert picked.family.tolist() == [1, 0] and torch.equal(picked.x[0], a.x[0])


def test_bad_sets_are_refused_with_the_argument_named():
    t = torch.arange(3.0)
    with pytest.raises(ValueError, match=r"`x` must have shape \[E, B, T, d\]"):
        Environments(
            torch.zeros(2, 3, 2),
            t,
            [{}] * 2,
            torch.zeros(2, dtype=torch.long),
            ("a",),
            ("x",),
        )
    with pytest.raises(ValueError, match="`t` must have shape"):
        Environments(
            torch.zeros(1, 1, 4, 2),
            t,
            [{}],
            torch.zeros(1, dtype=torch.long),
            ("a",),
            ("x", "y"),
        )
    with pytest.raises(ValueError, match="`num_trajectories` must be >= 1"):
        make_environments("lotka_volterra", [{}], [0.0, 1.0], 0, x0_low=1, x0_high=2)
    with pytest.raises(KeyError, match="has no parameter 'bogus'"):
        make_environments(
            "lotka_volterra", [{"bogus": 1.0}], [0.0, 1.0], 1, x0_low=1, x0_high=2
        )
    grid = [0.0, 1.0]
    a = make_environments("lotka_volterra", [{}], grid, 1, x0_low=1, x0_high=2)
    b = make_environments("lotka_volterra", [{}], grid, 2, x0_low=1, x0_high=2)
    with pytest.raises(ValueError, match="B, T, d and t must match"):
        concat_environments(a, b)
