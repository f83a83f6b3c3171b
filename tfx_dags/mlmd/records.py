"""The read model of ML Metadata: what tfx_dags reads there, as frozen records.

The query modules make them (``contexts``, ``executions``, ``events``, ``artifacts``, as
TFX's ``tfx/orchestration/portable/mlmd/`` is organised); the query command
(``tfx_dags.queries.query``), the TFX view's data (``tfx_dags.queries.view_data``) and the node
runner only render them. Properties are JSON values (``artifacts.plain_properties``); times
are ML Metadata's milliseconds since the epoch.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Artifact:
    """An artifact as ML Metadata recorded it (the executor's in-memory copy may lack what was
    published, e.g. the Pusher's ``pushed`` flag)."""

    id: int
    type: str  # its artifact type's name: 'Model', 'Examples', ...
    uri: str
    state: str  # LIVE, PENDING, DELETED, ...
    created_ms: int
    properties: Mapping[str, Any]  # of its type (TFX's declared properties)
    custom_properties: Mapping[str, Any]  # TFX's custom ones: 'blessed', 'pushed', ...


@dataclass(frozen=True)
class Io:
    """What one execution read and wrote: artifact ids by input or output key, in the order
    ML Metadata lists the events."""

    inputs: Mapping[str, tuple[int, ...]] = field(default_factory=dict)
    outputs: Mapping[str, tuple[int, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Execution:
    """One execution of a node: one attempt at it in one pipeline run."""

    id: int
    type: str  # its execution type's name, e.g. 'tfx.components.trainer.component.Trainer'
    state: str  # COMPLETE, CACHED, RUNNING, FAILED, ...
    started_ms: int
    finished_ms: int
    properties: Mapping[str, Any]  # its custom properties: TFX's exec properties


@dataclass(frozen=True)
class NodeRun:
    """A node in one pipeline run: every execution of it there, oldest first. A killed
    attempt stays RUNNING, a retry adds COMPLETE, a re-run of a cleared task CACHED."""

    node_id: str
    attempts: tuple[Execution, ...]

    @property
    def latest(self) -> Execution:
        return self.attempts[-1]

    @property
    def states(self) -> list[str]:
        return [attempt.state for attempt in self.attempts]

    @property
    def cached(self) -> bool:
        """TFX records a cache hit as a CACHED execution that reuses earlier outputs."""
        return self.latest.state == "CACHED"


@dataclass(frozen=True)
class PipelineRun:
    """One TFX pipeline run (= Airflow run id): its nodes that have an execution, in the order
    their first execution was made."""

    run_id: str
    nodes: Mapping[str, NodeRun]

    @property
    def started_ms(self) -> int:
        return min(e.started_ms for node in self.nodes.values() for e in node.attempts)

    def latest_executions(self) -> dict[int, str]:
        """The id of each node's latest execution -> the node id."""
        return {node.latest.id: node_id for node_id, node in self.nodes.items()}


@dataclass(frozen=True)
class Push:
    """A model a Pusher execution really pushed (its ``pushed_model`` output marked
    ``pushed`` = 1), and where to: the one definition of a push. A cached Pusher outputs the
    push made earlier again: ``made_here`` is False for it (the execution that made the
    pushed model is the first that output it)."""

    execution_id: int
    pushed_model_id: int
    model_id: int | None  # the Pusher's ``model`` input; None for a cached one (no inputs)
    destination: str
    made_here: bool
