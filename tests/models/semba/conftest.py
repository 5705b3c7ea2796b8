import pytest
import torch

from dyngraph.data import signed_faction_network


@pytest.fixture(autouse=True)
def one_thread():
    # tiny tensors: extra threads only contend on a busy machine
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def stream():
    events, _ = signed_faction_network(30, num_events=400, seed=1)
    return events
