"""The package's import rules: one-way layers, a pure chip, a light schema, matplotlib only in report."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import mimo_amc

ROOT = Path(mimo_amc.__file__).parent
LAYERS = [
    "amc", "scenario", "link|nr|detect", "metrics", "studies", "store", "report", "reaper", "runner", "reproduce",
    "cli",
]  # fmt: skip
"""Bottom up; a module imports its own package and lower layers only (``link``, ``nr`` and ``detect`` share a
rank)."""


def _rank(module: str) -> int:
    top = module.split(".")[1]
    return next(i for i, layer in enumerate(LAYERS) if top in layer.split("|"))


def import_graph() -> dict[str, set[str]]:
    """``{module: {imported mimo_amc modules}}`` from the sources (every import, also inside functions)."""
    graph = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
        targets = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets |= {a.name for a in node.names if a.name.startswith("mimo_amc")}
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")
                    base = base[: len(base) - node.level + 1]
                    name = ".".join(base + ([node.module] if node.module else []))
                    targets.add(name)
                elif node.module and node.module.startswith("mimo_amc"):
                    targets.add(node.module)
        graph[module] = targets
    return graph


def external_imports(module_prefix: str) -> set[str]:
    """Top-level third-party packages imported anywhere in the sources under ``module_prefix``."""
    found = set()
    for path in ROOT.rglob("*.py"):
        name = ".".join(path.relative_to(ROOT.parent).with_suffix("").parts)
        if not name.startswith(module_prefix):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                found.add(node.module.split(".")[0])
    return found


def test_imports_point_down_the_layers():
    bad = []
    for module, targets in import_graph().items():
        if module == "mimo_amc":  # the package root re-exports lazily (importlib)
            continue
        for target in targets:
            if target == "mimo_amc":
                bad.append(f"{module} -> {target}")
                continue
            same_package = target.split(".")[:2] == module.split(".")[:2]
            if not same_package and _rank(target) >= _rank(module):
                bad.append(f"{module} -> {target}")
    assert not bad, "upward or sideways imports: " + ", ".join(sorted(bad))


def test_no_import_cycle():
    graph = import_graph()
    packages = {m: {t for t in ts if t in graph} for m, ts in graph.items() if m != "mimo_amc"}
    state: dict[str, int] = {}

    def visit(m: str, path: list[str]) -> None:
        state[m] = 1
        for t in packages.get(m, ()):
            # importing a package's own __init__ from its submodules is resolved by Python, not a cycle
            if t == m or m.startswith(t + "."):
                continue
            if state.get(t) == 1:
                pytest.fail("import cycle: " + " -> ".join([*path, m, t]))
            if not state.get(t):
                visit(t, [*path, m])
        state[m] = 2

    for m in packages:
        if not state.get(m):
            visit(m, [])


@pytest.mark.parametrize(
    ("package", "allowed"),
    [
        ("mimo_amc.amc", {"torch", "pydantic", "__future__"}),
        ("mimo_amc.scenario", {"pydantic", "yaml", "__future__", "mimo_amc"}),
    ],
)
def test_pure_packages_import_only_their_dependencies(package, allowed):
    stdlib = set(sys.stdlib_module_names)
    assert external_imports(package) - stdlib - allowed == set()


def test_only_report_imports_matplotlib():
    for path in ROOT.rglob("*.py"):
        name = ".".join(path.relative_to(ROOT.parent).with_suffix("").parts)
        if not name.startswith("mimo_amc.report") and "matplotlib" in external_imports(name):
            pytest.fail(f"{name} imports matplotlib")


@pytest.mark.parametrize(
    ("code", "forbidden"),
    [
        ("import mimo_amc.amc", ("sionna", "pandas", "matplotlib", "skimage", "scipy")),
        (
            "from mimo_amc.scenario import load_scenario, sweep_points;"
            "sweep_points(load_scenario('scenarios/paper_image.yaml'))",
            ("sionna", "matplotlib", "skimage", "pandas"),
        ),
    ],
)
def test_loaded_modules(code, forbidden):
    """What a fresh interpreter has loaded after the statement (the chip alone; validating a scenario)."""
    probe = f"{code}; import sys; print(sorted({{m.split('.')[0] for m in sys.modules}}))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                         cwd=ROOT.parent).stdout  # fmt: skip
    loaded = set(ast.literal_eval(out.strip().splitlines()[-1]))
    assert loaded.isdisjoint(forbidden), loaded & set(forbidden)
