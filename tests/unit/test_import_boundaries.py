"""The two environments' boundary, read from the sources: every import, at any depth (a
function-level import runs too, just later).

- The Airflow side (scheduler, DAG processor, api-server, workers' task processes) never
  imports TensorFlow, TFX, Beam, TFMA, TFT, TFDV or ML Metadata: they are not installed in
  its environment, and the scheduler must stay light.
- The TFX side (node runner, compile step, node server, the helpers users' modules import)
  never imports Airflow: it is not installed in the TFX environment.
- No import cycle among tfx_dags' modules.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEAVY = (
    "tensorflow", "tfx", "apache_beam", "tensorflow_model_analysis", "tensorflow_transform",
    "tensorflow_data_validation", "ml_metadata", "keras", "tfx_bsl",
)  # fmt: skip
AIRFLOW_SIDE = (
    "tfx_dags.compiled", "tfx_dags.config", "tfx_dags.demo", "tfx_dags.errors",
    "tfx_dags.factory", "tfx_dags.graph", "tfx_dags.local_airflow", "tfx_dags.migration",
    "tfx_dags.node_process", "tfx_dags.operators", "tfx_dags.params", "tfx_dags.pools",
    "tfx_dags.settings", "tfx_dags.ui.",
)  # fmt: skip
TFX_SIDE = (
    "tfx_dags.runner.", "tfx_dags.pipelines", "tfx_dags.trainers", "tfx_dags.training",
    "tfx_dags.estimators", "tfx_dags.keras_export", "tfx_dags.beam",
)  # fmt: skip


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


SOURCES = {module_name(path): path for path in sorted((ROOT / "tfx_dags").rglob("*.py"))}
GRAPH = {name: sorted(set(imports(path))) for name, path in SOURCES.items()}


def in_side(name: str, side: tuple[str, ...]) -> bool:
    return any(name == prefix or name.startswith(prefix) for prefix in side)


def test_every_module_is_on_one_side() -> None:
    for name in SOURCES:
        if name in ("tfx_dags", "tfx_dags.runner", "tfx_dags.ui"):
            continue
        sides = (in_side(name, AIRFLOW_SIDE), in_side(name, TFX_SIDE))
        assert sides.count(True) == 1, f"{name}: on {sides.count(True)} sides; place it"


@pytest.mark.parametrize("name", [n for n in SOURCES if in_side(n, AIRFLOW_SIDE)])
def test_the_airflow_side_never_imports_tensorflow_tfx_or_beam(name: str) -> None:
    heavy = [module for module in GRAPH[name] if module.split(".")[0] in HEAVY]
    assert heavy == [], f"{SOURCES[name]} imports {heavy}"


@pytest.mark.parametrize("name", [n for n in SOURCES if in_side(n, TFX_SIDE)])
def test_the_tfx_side_never_imports_airflow(name: str) -> None:
    airflow = [module for module in GRAPH[name] if module.split(".")[0] == "airflow"]
    assert airflow == [], f"{SOURCES[name]} imports {airflow}"


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
