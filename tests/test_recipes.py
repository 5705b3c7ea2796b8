from dataclasses import dataclass, field

import pytest

from dyngraph.recipes import RecipeError, load_recipe, parse_recipe


@dataclass
class _Model:
    dim: int = 2
    lam: float = 1.0
    name: str = "a"
    flag: bool = False
    weight: str | float = "balanced"


@dataclass
class _Fit:
    epochs: int = 10


@dataclass
class _Recipe:
    model: _Model = field(default_factory=_Model)
    fit: _Fit = field(default_factory=_Fit)


def test_defaults_without_a_file_and_overrides_with_one(tmp_path):
    assert load_recipe(_Recipe) == _Recipe()
    path = tmp_path / "r.toml"
    path.write_text("[model]\ndim = 3\nlam = 2\nweight = 0.5\n")
    recipe = load_recipe(_Recipe, path)
    assert recipe.model == _Model(dim=3, lam=2.0, weight=0.5)
    assert isinstance(recipe.model.lam, float)
    assert recipe.fit == _Fit()


@pytest.mark.parametrize(
    ("tables", "expected"),
    [
        ({"modle": {}}, r"src: unknown table \[modle\] \(did you mean 'model'\?\); "),
        ({"model": {"dims": 1}}, r"unknown key 'dims' in \[model\] \(did you mean"),
        ({"model": {"dim": 2.5}}, r"\[model\] dim = 2.5 must be int"),
        ({"model": {"dim": True}}, r"\[model\] dim = True must be int"),
        ({"model": {"flag": 1}}, r"\[model\] flag = 1 must be bool"),
        ({"model": {"weight": [1]}}, r"must be str or float"),
        ({"model": 3}, r"'model' must be a table"),
    ],
)
def test_bad_tables_keys_and_types_are_refused_by_name(tables, expected):
    with pytest.raises(RecipeError, match=expected):
        parse_recipe(_Recipe, tables, "src")


def test_the_message_lists_the_allowed_names():
    with pytest.raises(RecipeError) as exc:
        parse_recipe(_Recipe, {"model": {"zzz": 1}}, "src")
    assert "allowed keys: dim, lam, name, flag, weight" in str(exc.value)
    with pytest.raises(RecipeError) as exc:
        parse_recipe(_Recipe, {"zzz": {}}, "src")
    assert "allowed tables: [model], [fit]" in str(exc.value)


def test_missing_and_broken_files_are_named(tmp_path):
    with pytest.raises(RecipeError, match="does not exist"):
        load_recipe(_Recipe, tmp_path / "none.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[model\n")
    with pytest.raises(RecipeError, match=f"{bad}: invalid TOML recipe"):
        load_recipe(_Recipe, bad)
