import pytest
import torch

from dyngraph.data import Field


def _field(**kw):
    args = {
        "values": torch.rand(3, 5, 2, 4, 6),
        "times": torch.arange(5.0),
        "channels": ("u", "v"),
        "params": {"f": torch.tensor([1.0, 2.0, 3.0])},
        "name": "demo",
    }
    args.update(kw)
    return Field(**args)


def test_field_shape_properties_and_slicing():
    field = _field()
    assert (field.num_trajectories, field.num_frames, field.grid) == (3, 5, (4, 6))
    assert field.dt == 1.0
    sub = field.trajectories(slice(1, 3))
    assert torch.equal(sub.values, field.values[1:3])
    assert sub.params["f"].tolist() == [2.0, 3.0]
    one = field.trajectories(2)
    assert one.num_trajectories == 1 and one.params["f"].tolist() == [3.0]
    late = field.frames(slice(2, None))
    assert torch.equal(late.times, field.times[2:]) and late.num_frames == 3
    assert "3 trajectories x 5 frames" in repr(field)


def test_one_dimensional_grids_and_integer_values():
    field = Field(torch.ones(1, 2, 1, 8, dtype=torch.long), [0.0, 1.0], ("u",))
    assert field.values.is_floating_point() and field.grid == (8,)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"values": torch.rand(3, 5, 2)}, "values"),
        ({"values": torch.full((3, 5, 2, 4, 6), float("nan"))}, "NaN"),
        ({"times": torch.arange(4.0)}, "times"),
        ({"times": torch.tensor([0.0, 1.0, 1.0, 2.0, 3.0])}, "increasing"),
        ({"channels": ("u",)}, "channels"),
        ({"params": {"f": torch.ones(2)}}, "params"),
        ({"spacing": 0.0}, "spacing"),
    ],
)
def test_bad_fields_name_the_attribute(change, match):
    with pytest.raises(ValueError, match=match):
        _field(**change)
