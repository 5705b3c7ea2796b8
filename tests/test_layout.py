"""The package's shape: no import cycles, no unpickling, removable families."""

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "dyngraph"


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _runtime_nodes(tree: ast.AST):
    """Every node except the bodies of ``if TYPE_CHECKING:``, which never run."""
    todo = [tree]
    while todo:
        node = todo.pop()
        yield node
        test = ast.unparse(node.test) if isinstance(node, ast.If) else ""
        if test.endswith("TYPE_CHECKING"):
            todo.extend(node.orelse)
            continue
        todo.extend(ast.iter_child_nodes(node))


def _imports(root: Path) -> dict[str, set[str]]:
    """Every dyngraph module and the dyngraph modules it imports, lazily or not."""
    files = {_module_name(p, root): p for p in (root / "dyngraph").rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: set[str] = set()
        for node in _runtime_nodes(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(up + ([base] if base else []))
                targets.add(base)
                targets |= {f"{base}.{alias.name}" for alias in node.names}
        edges = set()
        for target in targets:
            # importing a module runs its packages' __init__ files too
            parts = target.split(".")
            for k in range(1, len(parts) + 1):
                candidate = ".".join(parts[:k])
                if candidate in files and not (
                    name == candidate or name.startswith(candidate + ".")
                ):
                    edges.add(candidate)
        graph[name] = edges
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_cycle_finder_sees_lazy_imports(tmp_path):
    pkg = tmp_path / "dyngraph"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("import dyngraph.b\n")
    (pkg / "b.py").write_text("def f():\n    from dyngraph.a import x\n")
    assert _cycle(_imports(tmp_path)) == ["dyngraph.a", "dyngraph.b", "dyngraph.a"]


def test_the_cycle_finder_ignores_type_checking_imports_only(tmp_path):
    pkg = tmp_path / "dyngraph"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("import dyngraph.b\n")
    (pkg / "b.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from dyngraph.a import x\n"
    )
    assert _cycle(_imports(tmp_path)) is None
    (pkg / "b.py").write_text(
        "import typing\n"
        "if typing.TYPE_CHECKING:\n    pass\nelse:\n    from dyngraph.a import x\n"
    )
    assert _cycle(_imports(tmp_path)) == ["dyngraph.a", "dyngraph.b", "dyngraph.a"]


def test_no_import_cycle_among_dyngraph_modules_lazy_imports_included():
    assert _cycle(_imports(ROOT)) is None


def _unsafe_loads(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if not isinstance(node, ast.Call):
            continue
        name = ast.unparse(node.func)
        keywords = {k.arg: ast.unparse(k.value) for k in node.keywords}
        if name in ("pickle.load", "pickle.loads", "pickle.Unpickler"):
            found.append(f"{path}:{node.lineno} {name}")
        if name == "torch.load" and keywords.get("weights_only") != "True":
            found.append(f"{path}:{node.lineno} torch.load without weights_only=True")
        if name in ("np.load", "numpy.load") and keywords.get("allow_pickle") not in (
            None,
            "False",
        ):
            found.append(f"{path}:{node.lineno} np.load with allow_pickle")
    return found


def test_no_loader_unpickles():
    assert [f for p in PACKAGE.rglob("*.py") for f in _unsafe_loads(p)] == []


def test_the_unpickling_check_would_see_an_unsafe_load(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import torch\ntorch.load('x', weights_only=False)\ntorch.load('y')\n"
    )
    assert len(_unsafe_loads(bad)) == 2


@pytest.mark.slow
def test_deleting_a_family_leaves_everything_else_working(tmp_path):
    # a copy of the checkout without SEMBA: its folder, tests, tutorial,
    # benchmark, recipe example and its one registry line
    copy = tmp_path / "repo"
    for part in ("dyngraph", "tests", "tutorials", "benchmarks", "models"):
        shutil.copytree(
            ROOT / part, copy / part, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.rmtree(copy / "dyngraph" / "models" / "semba")
    shutil.rmtree(copy / "tests" / "models" / "semba")
    (copy / "tutorials" / "03_semba.ipynb").unlink()
    (copy / "benchmarks" / "semba.py").unlink()
    (copy / "models" / "semba.toml").unlink()
    registry = copy / "dyngraph" / "registry.py"
    lines = registry.read_text().splitlines(keepends=True)
    line = '    "dyngraph.models.semba",\n'
    assert lines.count(line) == 1
    lines.remove(line)
    registry.write_text("".join(lines))
    # nothing left imports it, lazily or not
    graph = _imports(copy)
    assert not [m for m, edges in graph.items() for e in edges if "semba" in e]
    for path in [*copy.rglob("*.py")]:
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom | ast.Import):
                assert "semba" not in ast.unparse(node).lower(), (path, node.lineno)
    script = (
        "import importlib, pkgutil, dyngraph\n"
        "for m in pkgutil.walk_packages(dyngraph.__path__, 'dyngraph.'):\n"
        "    if m.name != 'dyngraph.__main__':\n"
        "        importlib.import_module(m.name)\n"
        "from dyngraph.cli import main\n"
        "from dyngraph.models import PiVeM\n"
        "import dyngraph.models as models\n"
        "assert not hasattr(models, 'SEMBA')\n"
        "assert main(['quickstart', '--no-models', '--output', 'qs']) == 0\n"
    )
    env = {"PYTHONPATH": str(copy), "MPLBACKEND": "Agg", "PATH": "/usr/bin:/bin"}
    run = {"cwd": tmp_path, "env": env, "capture_output": True, "text": True}
    done = subprocess.run([sys.executable, "-c", script], **run)
    assert done.returncode == 0, done.stderr
    done = subprocess.run([sys.executable, "-m", "dyngraph", "fit", "--help"], **run)
    assert done.returncode == 0 and "pivem" in done.stdout
    assert "semba" not in done.stdout
    # the remaining tests still import and collect
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", str(copy / "tests")],
        **run,
    )
    assert done.returncode == 0, done.stdout[-3000:]
