"""The window of spans a training node reads (``spans=``'s ``window``), selected by span
number from what the ExampleGen's runs ingested.

TFX's rolling-range resolvers pick "the latest N spans in ML Metadata", relative to the
newest span recorded, not to the run: a backfill of last month would train on this week.
Their ops also read the ``span`` type property, which ExampleGen never sets (it records
``span`` and ``version`` as custom properties). So the node runner selects the window
itself: for each input key the operator names, the ExampleGen's LIVE outputs whose custom
``span`` lies in ``[first, last]``, oldest span first: for each span what this run ingested
(what its StatisticsGen and ExampleValidator checked), else the newest version of it, put
into the node's input spec as static inputs (``InputSpec.static_inputs``, which TFX's input
resolution reads), before TFX's launcher resolves anything. A span of the window that no run
ingested fails the node, naming it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tfx_dags.common.errors import TfxDagsError
from tfx_dags.mlmd import executions
from tfx_dags.mlmd.records import Artifact


class MissingSpans(TfxDagsError):
    """Spans of the window that no run has ingested (yet: a backfill may be on its way)."""


def select_window(
    store: Any,
    pipeline_name: str,
    run_id: str,
    pipeline_node: Any,
    windows: Mapping[str, Mapping[str, Any]],
) -> list[str]:
    """Make each named input of ``pipeline_node`` read its window of spans; a line per key
    for the task log. Raises MissingSpans."""
    lines = []
    for key, window in windows.items():
        first, last = int(window["first"]), int(window["last"])
        producer, output = str(window["producer"]), str(window["output"])
        chosen = by_span(executions.node_outputs(store, pipeline_name, producer, output))
        chosen.update(
            by_span(executions.node_outputs(store, pipeline_name, producer, output, run_id=run_id))
        )
        missing = [span for span in range(first, last + 1) if span not in chosen]
        if missing:
            raise MissingSpans(
                f"input {key!r} reads spans {first} to {last} of {producer}, but no run has "
                f"ingested span{'s' if len(missing) > 1 else ''} "
                f"{', '.join(map(str, missing))}: run (or backfill) the runs of those "
                "intervals first"
            )
        ids = [chosen[span].id for span in range(first, last + 1)]
        spec = pipeline_node.inputs.inputs[key]
        spec.ClearField("channels")
        spec.static_inputs.artifact_ids[:] = ids
        lines.append(f"{key}: spans {first} to {last} of {producer}, Examples {ids}")
    return lines


def by_span(artifacts: list[Artifact]) -> dict[int, Artifact]:
    """Each span's newest version (then the newest artifact of it)."""
    chosen: dict[int, Artifact] = {}
    for artifact in artifacts:
        span = artifact.custom_properties.get("span")
        if not isinstance(span, int):
            continue
        rank = (int(artifact.custom_properties.get("version", 0) or 0), artifact.id)
        earlier = chosen.get(span)
        if earlier is None or rank > (
            int(earlier.custom_properties.get("version", 0) or 0),
            earlier.id,
        ):
            chosen[span] = artifact
    return chosen
