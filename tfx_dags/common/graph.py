"""The Airflow-free graph of a compiled pipeline: its nodes and the edges between them.

Built from the manifest the compile step writes beside the pipeline IR. Pure Python: unit
tests use it without Airflow or TensorFlow.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tfx_dags.common.errors import ManifestError

# 2: runtime parameters, the pipeline's own root, store and AirflowDagRunner settings, the
# user-code path, and the files outside the compile key that the IR depends on.
MANIFEST_FORMAT = 2
RUNTIME_PARAMETER_TYPES = ("str", "int", "float")


def environment_digest(value: str | None) -> str | None:
    """What a manifest keeps of an environment variable's value (values may be secrets, and
    the manifest is a file): its digest, None for unset. The compile writes it, the Airflow
    side compares with it."""
    return None if value is None else hashlib.sha256(value.encode()).hexdigest()


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
    # A TFX AirflowDagRunner file's DAG settings (JSON form, see runner/definitions.py).
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


def graph_from_manifest(manifest: Mapping[str, Any]) -> PipelineGraph:
    """Validate a manifest and return its graph, nodes sorted topologically."""
    if manifest.get("format") != MANIFEST_FORMAT:
        raise ManifestError(
            f"manifest format {manifest.get('format')!r} is not {MANIFEST_FORMAT}; "
            "delete the compiled cache so it is rebuilt"
        )
    pipeline_name = manifest.get("pipeline_name")
    if not isinstance(pipeline_name, str) or not pipeline_name:
        raise ManifestError("manifest has no pipeline_name")
    nodes = [_node_from_entry(entry) for entry in manifest.get("nodes", ())]
    if not nodes:
        raise ManifestError(f"pipeline {pipeline_name!r} has no nodes")
    airflow = manifest.get("airflow")
    if airflow is not None and not isinstance(airflow, Mapping):
        raise ManifestError("manifest airflow settings are not an object")
    runner = manifest.get("runner") or {}
    if not isinstance(runner, Mapping) or not isinstance(runner.get("ignored", []), list):
        raise ManifestError(f"manifest runner {runner!r} is not an object with a list")
    return PipelineGraph(
        pipeline_name,
        _topological(nodes),
        runtime_parameters=tuple(
            _runtime_parameter(entry) for entry in manifest.get("runtime_parameters", ())
        ),
        pipeline_root=str(manifest.get("pipeline_root") or ""),
        airflow=airflow,
        metadata=_optional_str("(pipeline)", manifest, "metadata"),
        runner=_optional_str("(pipeline)", runner, "name"),
        ignored_settings=tuple(str(name) for name in runner.get("ignored", [])),
    )


def _runtime_parameter(entry: Any) -> RuntimeParameter:
    if not isinstance(entry, Mapping) or not isinstance(entry.get("name"), str):
        raise ManifestError(f"manifest runtime parameter {entry!r} has no name")
    kind, default = entry.get("type"), entry.get("default")
    if kind not in RUNTIME_PARAMETER_TYPES:
        raise ManifestError(f"runtime parameter {entry['name']!r} has type {kind!r}")
    if default is not None and not isinstance(default, str | int | float):
        raise ManifestError(f"runtime parameter {entry['name']!r} has default {default!r}")
    return RuntimeParameter(entry["name"], kind, default)


def _node_from_entry(entry: Any) -> TfxNode:
    if not isinstance(entry, Mapping):
        raise ManifestError(f"manifest node {entry!r} is not an object")
    try:
        node_id, node_type = entry["id"], entry["type"]
    except KeyError as missing:
        raise ManifestError(f"manifest node {entry!r} lacks {missing}") from None
    upstream = entry.get("upstream", [])
    if not isinstance(node_id, str) or not node_id:
        raise ManifestError(f"manifest node id {node_id!r} is not a non-empty string")
    if not isinstance(upstream, list) or not all(isinstance(up, str) for up in upstream):
        raise ManifestError(f"upstream of node {node_id!r} is not a list of node ids")
    return TfxNode(
        node_id=node_id,
        node_type=str(node_type),
        upstream=tuple(upstream),
        is_trainer=bool(entry.get("is_trainer", False)),
        is_beam=bool(entry.get("is_beam", False)),
        push_destination=_optional_str(node_id, entry, "push_destination"),
        inputs=_input_channels(node_id, entry.get("inputs", [])),
    )


def _input_channels(node_id: str, channels: Any) -> tuple[tuple[str, str, str], ...]:
    if not isinstance(channels, list):
        raise ManifestError(f"inputs of node {node_id!r} are not a list")
    found: list[tuple[str, str, str]] = []
    for channel in channels:
        fields = (
            [channel.get(name) for name in ("key", "producer", "output_key")]
            if isinstance(channel, Mapping)
            else []
        )
        strings = [field for field in fields if isinstance(field, str)]
        if len(strings) != 3:
            raise ManifestError(f"input {channel!r} of node {node_id!r} is malformed")
        found.append((strings[0], strings[1], strings[2]))
    return tuple(found)


def _optional_str(node_id: str, entry: Mapping[str, Any], key: str) -> str | None:
    value = entry.get(key)
    if value is not None and not isinstance(value, str):
        raise ManifestError(f"{key} of node {node_id!r} is not a string")
    return value


def _topological(nodes: list[TfxNode]) -> tuple[TfxNode, ...]:
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
