"""The Evaluator's baseline of a ``spans=`` run: the latest blessed model of an earlier
window, not a newer one.

TFX's ``LatestBlessedModelStrategy`` picks the blessed model with the highest artifact id,
from every run: in a backfill of last month, that is this week's model, and last month's is
compared against a model trained on data it could not have seen. For a run of span ``n``,
the node runner restricts the resolver's inputs to the blessed model whose window's last
span is the latest before ``n`` (and its blessing), as static inputs (``InputSpec``'s
``static_inputs``, which TFX's input resolution reads) before TFX resolves them; none
qualifying, the Evaluator has no baseline and checks its thresholds alone, as on a
pipeline's first run.
"""

from __future__ import annotations

import re
from typing import Any

from tfx_dags.mlmd.artifacts import by_id, newest_of_type
from tfx_dags.mlmd.spans import derived_spans

STRATEGY = "LatestBlessedModelStrategy"
MODEL, BLESSING = "Model", "ModelBlessing"
# The blessings looked at, newest first: far more than a pipeline keeps blessing.
MAX_BLESSINGS = 1000
SAFE_NAME = re.compile(r"[A-Za-z0-9_.-]+")


def picks_latest_blessed_model(pipeline_node: Any) -> bool:
    """A resolver of TFX's latest blessed model (its input graph applies the strategy)."""
    graphs = pipeline_node.inputs.input_graphs
    return any(
        node.op_node.op_type.rsplit(".", 1)[-1] == STRATEGY
        for graph in graphs.values()
        for node in graph.nodes.values()
    )


def earlier_blessed(store: Any, pipeline_name: str, span: int) -> tuple[int, int] | None:
    """(model id, blessing id) of the blessed model whose window ends latest before span
    ``span`` (the newest such model where several end there); None if there is none."""
    if not SAFE_NAME.fullmatch(pipeline_name):
        return None  # not a name a filter query may hold (DAG ids always are)
    best: tuple[tuple[int, int], tuple[int, int]] | None = None
    for blessing in newest_of_type(
        store, pipeline_name, BLESSING, limit=MAX_BLESSINGS, safe_name=True
    ):
        model_id = blessing.custom_properties.get("current_model_id")
        if blessing.custom_properties.get("blessed") != 1 or not isinstance(model_id, int):
            continue
        model = by_id(store, [model_id]).get(model_id)
        if blessing.state != "LIVE" or model is None or model.state != "LIVE":
            continue  # garbage-collected: TFX's channels read LIVE artifacts only
        spans = derived_spans(store, model_id)
        if not spans or max(spans) >= span:
            continue
        rank = (max(spans), model_id)
        if best is None or rank > best[0]:
            best = (rank, (model_id, blessing.id))
    return None if best is None else best[1]


def restrict_baseline(store: Any, pipeline_name: str, pipeline_node: Any, span: int) -> str:
    """Make the resolver read only the earlier window's blessed model; a line for the log."""
    chosen = earlier_blessed(store, pipeline_name, span)
    # Only the inputs the strategy's graph reads (the resolver's hidden model and blessing).
    graph_inputs = {
        node.input_node.input_key
        for graph in pipeline_node.inputs.input_graphs.values()
        for node in graph.nodes.values()
        if node.HasField("input_node")
    }
    for key, spec in pipeline_node.inputs.inputs.items():
        if key not in graph_inputs or not spec.channels:
            continue
        kind = spec.channels[0].artifact_query.type.name
        if kind not in (MODEL, BLESSING):
            continue
        spec.ClearField("channels")
        spec.static_inputs.SetInParent()  # present even when empty: no baseline
        if chosen is not None:
            spec.static_inputs.artifact_ids[:] = [chosen[0] if kind == MODEL else chosen[1]]
    if chosen is None:
        return f"no blessed model of a window before span {span}: no baseline"
    return f"the blessed model of a window before span {span}: model {chosen[0]}"
