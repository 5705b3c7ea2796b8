import pytest

from dyngraph.data import EventStream


def test_sign_balance_plot_needs_signs():
    from dyngraph.plot import plot_sign_balance

    with pytest.raises(ValueError, match="signed stream"):
        plot_sign_balance(EventStream([0], [1], [0.0]))
