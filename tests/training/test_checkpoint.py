import pickle

import pytest
import torch

from dyngraph.training import checkpoint
from dyngraph.training.checkpoint import CheckpointError


def test_round_trip_keeps_tensors_config_and_metadata(tmp_path):
    state = {"w": torch.arange(6.0).reshape(2, 3), "step": 3, "nested": [1, (2, 3)]}
    path = checkpoint.save(
        tmp_path / "sub" / "c.pt",
        kind="toy",
        state=state,
        config={"dim": 2, "name": "x", "lam": None},
        metadata={"time_range": (0.0, 1.0)},
    )
    loaded = checkpoint.load(path, kind="toy")
    assert loaded.kind == "toy"
    assert torch.equal(loaded.state["w"], state["w"])
    assert loaded.state["nested"] == [1, (2, 3)]
    assert loaded.config == {"dim": 2, "name": "x", "lam": None}
    assert loaded.metadata == {"time_range": (0.0, 1.0)}
    assert [p.name for p in path.parent.iterdir()] == ["c.pt"]  # no temp files


def test_objects_are_refused_when_saving(tmp_path):
    with pytest.raises(TypeError, match=r"config\['module'\] is a Linear"):
        checkpoint.save(
            tmp_path / "c.pt",
            kind="toy",
            state={},
            config={"module": torch.nn.Linear(2, 2)},
        )
    with pytest.raises(TypeError, match="state"):
        checkpoint.save(tmp_path / "c.pt", kind="toy", state={"f": print})
    assert not (tmp_path / "c.pt").exists()


class _Payload:
    def __reduce__(self):
        return (print, ("code ran",))


def test_a_file_with_python_objects_is_refused_without_running_them(tmp_path, capsys):
    path = tmp_path / "evil.pt"
    torch.save({"format": "dyngraph", "kind": "toy", "state": _Payload()}, path)
    with pytest.raises(CheckpointError, match="Python objects") as exc:
        checkpoint.load(path)
    assert str(path) in str(exc.value)
    assert "code ran" not in capsys.readouterr().out


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"not a torch file at all", "not a readable torch file"),
        (pickle.dumps({"a": 1}), "not a readable torch file"),
        (None, "no dyngraph format marker"),
    ],
)
def test_files_that_are_not_ours_name_the_file(tmp_path, content, expected):
    path = tmp_path / "other.pt"
    if content is None:
        torch.save({"model": torch.zeros(2)}, path)
    else:
        path.write_bytes(content)
    with pytest.raises(CheckpointError, match=expected) as exc:
        checkpoint.load(path)
    assert str(path) in str(exc.value)


def test_another_kind_and_a_missing_file_are_refused(tmp_path):
    path = checkpoint.save(tmp_path / "c.pt", kind="PiVeM", state={})
    with pytest.raises(
        CheckpointError, match="holds a 'PiVeM' checkpoint, not 'SEMBA'"
    ):
        checkpoint.load(path, kind="SEMBA")
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        checkpoint.load(tmp_path / "missing.pt")


class _Affine(checkpoint.SavesCheckpoint, torch.nn.Module):
    checkpoint_kind = "Affine"

    def __init__(self, size: int = 3, bias: bool = True) -> None:
        super().__init__()
        self._config = {"size": size, "bias": bias}
        self.layer = torch.nn.Linear(size, size, bias=bias)
        self.register_buffer("count", torch.zeros((), dtype=torch.long))


def test_the_mixin_saves_and_loads_config_state_dtype_and_metadata(tmp_path):
    model = _Affine(4, bias=False).double()
    model.count += 7
    path = model.save(tmp_path / "m.pt", split="toy")
    saved = checkpoint.load(path, kind="Affine")
    assert saved.config == {"size": 4, "bias": False}
    again = _Affine.load(path)
    assert again.layer.weight.dtype == torch.float64 and again.layer.bias is None
    assert torch.equal(again.layer.weight, model.layer.weight)
    assert int(again.count) == 7 and again.count.dtype == torch.long
    assert again.metadata_ == {"split": "toy"}
    with pytest.raises(CheckpointError, match="'Affine'"):
        _Affine.load(checkpoint.save(tmp_path / "x.pt", kind="Other", state={}))


def test_the_mixin_names_the_file_when_its_tensors_do_not_fit(tmp_path):
    # as a file written by another version whose buffer has another shape
    model = _Affine(4)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    state["layer.weight"] = torch.zeros(4, 6)
    path = checkpoint.save(
        tmp_path / "old.pt", kind="Affine", state=state, config={"size": 4}
    )
    with pytest.raises(CheckpointError, match=r"old\.pt: its tensors do not fit"):
        _Affine.load(path)
    del state["layer.weight"]
    path = checkpoint.save(
        tmp_path / "short.pt", kind="Affine", state=state, config={"size": 4}
    )
    with pytest.raises(CheckpointError, match=r"short\.pt: .*layer\.weight"):
        _Affine.load(path)
