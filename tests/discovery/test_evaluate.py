import numpy as np
import pytest

from dyngraph.discovery import DiscoveryReport, discover
from dyngraph.systems import get_system


def test_discover_recovers_a_simulated_system_and_scores_it():
    report = discover("lotka_volterra", t_end=5)
    assert isinstance(report, DiscoveryReport)
    assert report.names == list(get_system("lotka_volterra").state_names)
    assert report.coefficient_error < 1e-4 and report.support_f1 == 1.0
    assert " ".join(report.equations(2)[1].split()) == "(y)' = -1.00 y + 1.00 x y"
    assert "2500 samples, noise 0" in report.data
    noisy = discover("lotka_volterra", t_end=5, noise=0.05, seed=1)
    again = discover("lotka_volterra", t_end=5, noise=0.05, seed=1)
    same = np.array_equal(noisy.model.coefficients(), again.model.coefficients())
    assert same
    assert noisy.coefficient_error > report.coefficient_error


def test_discover_reads_a_file_and_has_no_truth_for_it(tmp_path):
    t = np.arange(0.0, 10.0, 0.01)
    path = tmp_path / "decay.csv"
    np.savetxt(path, np.c_[np.exp(-0.5 * t)], delimiter=",", header="u", comments="")
    report = discover(file=path, dt=0.01, degree=1, include_bias=False)
    np.testing.assert_allclose(report.model.coefficients(), [[-0.5]], atol=1e-3)
    assert report.coefficient_error is None and report.support_f1 is None
    assert str(path) in report.data


def test_discover_wants_one_source():
    with pytest.raises(ValueError, match="either a NAME or --file"):
        discover()
    with pytest.raises(ValueError, match="either a NAME or --file"):
        discover("lorenz", file="x.csv")
    with pytest.raises(KeyError, match="unknown system 'nope'"):
        discover("nope")


def _decay(path, header):
    t = np.arange(0.0, 2.0, 0.01)
    columns = np.c_[t, np.exp(-0.5 * t)] if "," in header else np.c_[np.exp(-0.5 * t)]
    np.savetxt(path, columns, delimiter=",", header=header, comments="")
    return path


def test_discover_says_when_it_assumes_dt_and_refuses_a_conflicting_dt(tmp_path):
    bare = _decay(tmp_path / "bare.csv", "u")
    report = discover(file=bare, degree=1, include_bias=False, threshold=1e-4)
    assert "no time column, dt = 1 assumed" in report.data
    np.testing.assert_allclose(report.model.coefficients(), [[-0.005]], atol=1e-4)
    assert "dt = 0.01" in discover(file=bare, dt=0.01, degree=1).data
    timed = _decay(tmp_path / "timed.csv", "t,u")
    with pytest.raises(ValueError, match="--dt 0.5 conflicts with the time column 't'"):
        discover(file=timed, dt=0.5)
    with pytest.raises(ValueError, match="--dt applies to --file only"):
        discover("lorenz", dt=0.1)
    with pytest.raises(ValueError, match="--dt must be positive"):
        discover(file=bare, dt=0.0)
