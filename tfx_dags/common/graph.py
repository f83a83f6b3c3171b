"""The Airflow-free graph of a compiled pipeline: its nodes and the edges between them.

Derived from the manifest the compile step writes beside the pipeline IR
(``common/manifest.py``: ``Manifest.graph``). Pure Python: unit tests use it without Airflow
or TensorFlow.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tfx_dags.common.errors import ManifestError

RUNTIME_PARAMETER_TYPES = ("str", "int", "float")


@dataclass(frozen=True)
class TfxNode:
    """One node of the pipeline IR, as the factory needs to see it."""

    node_id: str
    node_type: str
    upstream: tuple[str, ...]
    is_trainer: bool = False
    is_beam: bool = False
    # A Pusher's filesystem destination (base directory); None for every other node.
    push_destination: str | None = None
    # What each input key reads: (input key, producer node id, producer's output key).
    inputs: tuple[tuple[str, str, str], ...] = ()


@dataclass(frozen=True)
class RuntimeParameter:
    """A TFX ``RuntimeParameter`` of the pipeline: bound per run (an Airflow Param)."""

    name: str
    type: str  # "str", "int" or "float"
    default: str | int | float | None = None


@dataclass(frozen=True)
class PipelineGraph:
    """Nodes in topological order, upstream before downstream, and what the pipeline
    declares beyond them."""

    pipeline_name: str
    nodes: tuple[TfxNode, ...]
    runtime_parameters: tuple[RuntimeParameter, ...] = ()
    pipeline_root: str = ""
    # A TFX AirflowDagRunner file's DAG settings (JSON form, see compiler/definitions.py).
    airflow: Mapping[str, Any] | None = None
    # The pipeline's own metadata_connection_config, described; None if it declares none.
    metadata: str | None = None
    # A runner file's runner (LocalDagRunner, KubeflowV2DagRunner, ...) and the names of
    # its settings that only its own orchestrator used (images, Kubeflow configs).
    runner: str | None = None
    ignored_settings: tuple[str, ...] = ()

    @property
    def edges(self) -> tuple[tuple[str, str], ...]:
        return tuple((up, node.node_id) for node in self.nodes for up in node.upstream)

    def node(self, node_id: str) -> TfxNode:
        for node in self.nodes:
            if node.node_id == node_id:
                return node
        raise KeyError(node_id)


def topological(nodes: list[TfxNode]) -> tuple[TfxNode, ...]:
    """Kahn's algorithm, stable in manifest order; rejects duplicates, dangling ids and cycles."""
    by_id: dict[str, TfxNode] = {}
    for node in nodes:
        if node.node_id in by_id:
            raise ManifestError(f"node id {node.node_id!r} appears twice")
        by_id[node.node_id] = node
    for node in nodes:
        for up in node.upstream:
            if up not in by_id:
                raise ManifestError(f"node {node.node_id!r} names unknown upstream node {up!r}")
    ordered: list[TfxNode] = []
    placed: set[str] = set()
    remaining = list(nodes)
    while remaining:
        ready = [node for node in remaining if set(node.upstream) <= placed]
        if not ready:
            cycle = ", ".join(sorted(node.node_id for node in remaining))
            raise ManifestError(f"the pipeline graph has a cycle among: {cycle}")
        ordered.extend(ready)
        placed.update(node.node_id for node in ready)
        remaining = [node for node in remaining if node.node_id not in placed]
    return tuple(ordered)
