"""The two environments' boundary, read from the sources: every import, at any depth (a
function-level import runs too, just later). A module's folder says which side it is on.

- The Airflow side (scheduler, DAG processor, api-server, workers' task processes) never
  imports TensorFlow, TFX, Beam, TFMA, TFT, TFDV or ML Metadata: they are not installed in
  its environment, and the scheduler must stay light.
- The TFX side (compile and node processes, ML Metadata layer, node server, the helpers
  users' modules import) never imports Airflow: it is not installed in the TFX environment.
- What both import (``common/``, the node server's client and protocol) imports neither, and
  nothing of tfx_dags beyond the shared modules.
- Only ``mlmd/`` opens ML Metadata; nothing in tfx_dags imports the checkout's development
  tooling (``dev/``, beside the package and not in the wheel), which is on the Airflow side.
- No import cycle among tfx_dags' modules.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEAVY = (
    "tensorflow",
    "tfx",
    "apache_beam",
    "tensorflow_model_analysis",
    "tensorflow_transform",
    "tensorflow_data_validation",
    "ml_metadata",
    "keras",
    "tfx_bsl",
)
# Module name prefixes of each side: a folder each.
AIRFLOW_SIDE = ("tfx_dags.airflow.", "tfx_dags.cli.", "tfx_dags.ui.", "dev.")
TFX_SIDE = (
    "tfx_dags.compiler.",
    "tfx_dags.runner.",
    "tfx_dags.queries.",
    "tfx_dags.server.",
    "tfx_dags.tfx_process.",
    "tfx_dags.mlmd.",
    "tfx_dags.authoring.",
    "tfx_dags.worker_pool.",
)
SHARED = (
    "tfx_dags.common.",
    "tfx_dags.node_server.",
)
# The package, and the checkout's development tooling beside it.
TREES = ("tfx_dags", "dev")
PACKAGES = {*TREES} | {
    f"tfx_dags.{path.parent.name}" for path in (ROOT / "tfx_dags").glob("*/__init__.py")
}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> Iterator[str]:
    """Every module a file imports, at any depth of its code."""
    package = module_name(path).rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    [*package.split(".")[: len(package.split(".")) - node.level + 1], base]
                )
            yield base.strip(".")
            yield from (f"{base}.{alias.name}".strip(".") for alias in node.names)


SOURCES = {
    module_name(path): path for tree in TREES for path in sorted((ROOT / tree).rglob("*.py"))
}
GRAPH = {name: sorted(set(imports(path))) for name, path in SOURCES.items()}
MODULES = [name for name in SOURCES if name not in PACKAGES]


def in_side(name: str, side: tuple[str, ...]) -> bool:
    return any(name == prefix or name.startswith(prefix) for prefix in side)


def own_imports(name: str) -> list[str]:
    return [module for module in GRAPH[name] if module in SOURCES and module not in PACKAGES]


def test_every_module_is_on_one_side() -> None:
    for name in MODULES:
        sides = [in_side(name, side) for side in (AIRFLOW_SIDE, TFX_SIDE, SHARED)]
        assert sides.count(True) == 1, f"{name}: on {sides.count(True)} sides; place it"


@pytest.mark.parametrize("name", [n for n in MODULES if in_side(n, AIRFLOW_SIDE)])
def test_the_airflow_side_never_imports_tensorflow_tfx_or_beam(name: str) -> None:
    heavy = [module for module in GRAPH[name] if module.split(".")[0] in HEAVY]
    tfx_side = [module for module in own_imports(name) if in_side(module, TFX_SIDE)]
    assert heavy + tfx_side == [], f"{SOURCES[name]} imports {heavy + tfx_side}"


@pytest.mark.parametrize("name", [n for n in MODULES if in_side(n, TFX_SIDE)])
def test_the_tfx_side_never_imports_airflow(name: str) -> None:
    airflow = [module for module in GRAPH[name] if module.split(".")[0] == "airflow"]
    airflow_side = [module for module in own_imports(name) if in_side(module, AIRFLOW_SIDE)]
    assert airflow + airflow_side == [], f"{SOURCES[name]} imports {airflow + airflow_side}"


@pytest.mark.parametrize("name", [n for n in MODULES if in_side(n, SHARED)])
def test_shared_modules_import_only_the_standard_library_and_each_other(name: str) -> None:
    outside = [
        module
        for module in GRAPH[name]
        if module.split(".")[0] in (*HEAVY, "airflow")
        or (module in SOURCES and module not in PACKAGES and not in_side(module, SHARED))
    ]
    assert outside == [], f"{SOURCES[name]} imports {outside}"


def test_only_the_metadata_layer_opens_ml_metadata() -> None:
    openers = sorted(
        name
        for name in MODULES
        if any(module.startswith("ml_metadata") for module in GRAPH[name])
        and not name.startswith("tfx_dags.mlmd.")
    )
    assert openers == []


def test_the_product_never_imports_the_development_tooling() -> None:
    users = sorted(
        name
        for name in SOURCES
        if name.split(".")[0] == "tfx_dags"
        and any(module.split(".")[0] == "dev" for module in GRAPH[name])
    )
    assert users == []


def test_no_import_cycle_among_the_packages_modules() -> None:
    edges = {
        name: {target for target in targets if target in SOURCES and target != name}
        for name, targets in GRAPH.items()
    }
    state: dict[str, str] = {}

    def visit(name: str, trail: list[str]) -> None:
        state[name] = "open"
        for target in sorted(edges[name]):
            if state.get(target) == "open":
                cycle = trail[trail.index(target) :] + [target]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if target not in state:
                visit(target, [*trail, target])
        state[name] = "done"

    for name in sorted(edges):
        if name not in state:
            visit(name, [name])
