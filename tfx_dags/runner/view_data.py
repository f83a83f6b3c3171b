"""What the Airflow TFX view shows, read from ML Metadata and the artifacts (TFX environment).

    python -m tfx_dags.runner.view_data pipelines --output FILE
    python -m tfx_dags.runner.view_data pipeline --pipeline NAME --output FILE [--runs N]
    python -m tfx_dags.runner.view_data run --pipeline NAME --run-id RUN --output FILE
    python -m tfx_dags.runner.view_data evaluation --pipeline NAME --artifact-id N --output FILE
    python -m tfx_dags.runner.view_data artifact --pipeline NAME --artifact-id N --output FILE

Each writes one JSON document to FILE (stdout stays free for TensorFlow's chatter). The
store is opened read-only where ML Metadata allows it (SQLite), and only read anyway. Files
are read only from artifacts whose URI lies under the pipeline's root
(``settings.pipeline_root``): an artifact elsewhere is listed, never opened.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import traceback
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from tfx_dags.common import settings
from tfx_dags.mlmd.connection import connection_config, describe, plain_properties
from tfx_dags.runner.anomalies import split_files
from tfx_dags.runner.query import NODE_CONTEXT, PIPELINE_CONTEXT, RUN_CONTEXT, keyed_events

EVALUATION_TYPE = "ModelEvaluation"
STATISTICS_TYPE = "ExampleStatistics"
ANOMALIES_TYPE = "ExampleAnomalies"
SCHEMA_TYPE = "Schema"
# Beyond this, statistics list the first features only: a page, not a data dump.
MAX_FEATURES = 200
# The model history lists the newest models only (with their evaluations and pushes).
MAX_MODELS = 50
# Pipeline names are DAG ids; anything else is refused before it reaches a filter query.
SAFE_NAME = re.compile(r"[A-Za-z0-9_.\-]+")


class NotFound(Exception):
    """The pipeline, run or artifact asked for is not in ML Metadata."""


class ViewData:
    """Read-only queries on one ML Metadata store, shaped for the view's pages."""

    def __init__(self) -> None:
        from ml_metadata.metadata_store import metadata_store
        from ml_metadata.proto import metadata_store_pb2

        self._pb = metadata_store_pb2
        config = connection_config(read_only=True)
        if config.HasField("sqlite") and not Path(config.sqlite.filename_uri).exists():
            raise NotFound(f"no ML Metadata store at {config.sqlite.filename_uri} yet")
        self._store = metadata_store.MetadataStore(config)
        self._type_names: dict[tuple[str, int], str] = {}

    # -- pipelines and their runs -------------------------------------------------------

    def pipelines(self) -> list[str]:
        return sorted(c.name for c in self._store.get_contexts_by_type(PIPELINE_CONTEXT))

    def pipeline(self, name: str, *, runs: int = 25) -> dict[str, Any]:
        """The newest ``runs`` runs with each node's state, and the newest models' history.
        Bounded work: ML Metadata is asked for the newest run contexts and models only."""
        contexts = self._run_contexts(name)
        summaries = []
        for context in contexts[:runs]:
            grouped = self._run_executions(context)
            if not grouped:
                continue  # a run whose first node has not started yet
            started = min(e.create_time_since_epoch for a in grouped.values() for e in a)
            nodes = {node: _state_summary(self._pb, attempts) for node, attempts in grouped.items()}
            summaries.append({"run_id": context.name, "started_ms": started, "nodes": nodes})
        return {
            "pipeline": name,
            "root": str(settings.pipeline_root(name)),
            "run_count": len(contexts),
            "runs": summaries,
            "models": self._model_history(name),
        }

    def run(self, name: str, run_id: str) -> dict[str, Any]:
        """Every node of one run: state, attempts, exec properties, artifacts; plus a
        summary of each artifact the view can read (statistics, anomalies, schema,
        evaluation)."""
        context = self._store.get_context_by_type_and_name(RUN_CONTEXT, run_id)
        parents = [] if context is None else self._store.get_parent_contexts_by_context(context.id)
        grouped = self._run_executions(context) if name in [c.name for c in parents] else {}
        if not grouped:
            raise NotFound(f"pipeline {name!r} has no run {run_id!r} in ML Metadata")
        events = self._events([e for attempts in grouped.values() for e in attempts])
        artifacts = self._artifacts_by_id({event.artifact_id for event in events})
        root = settings.pipeline_root(name)
        nodes = []
        for node_id, attempts in grouped.items():
            latest = attempts[-1]
            mine = [event for event in events if event.execution_id == latest.id]
            nodes.append(
                {
                    "node_id": node_id,
                    "type": self._type_name("execution", latest.type_id).rsplit(".", 1)[-1],
                    **_state_summary(self._pb, attempts),
                    "started_ms": latest.create_time_since_epoch,
                    "finished_ms": latest.last_update_time_since_epoch,
                    "properties": plain_properties(latest.custom_properties),
                    "inputs": self._keyed(mine, artifacts, root, inputs=True),
                    "outputs": self._keyed(mine, artifacts, root, inputs=False),
                }
            )
        nodes.sort(key=lambda node: node["started_ms"])
        summaries = {}
        for node in nodes:
            for artifact in _all(node["outputs"]):
                summary = self._summary(artifact)
                if summary is not None:
                    summaries[str(artifact["id"])] = summary
        return {
            "pipeline": name,
            "root": str(root),
            "run_id": run_id,
            "nodes": nodes,
            "summaries": summaries,
        }

    def artifact(self, name: str, artifact_id: int) -> dict[str, Any]:
        """One artifact of the pipeline, with its URI checked against the pipeline root."""
        artifacts = self._artifacts_by_id({artifact_id})
        if artifact_id not in artifacts or not self._in_pipeline(name, artifact_id):
            raise NotFound(f"pipeline {name!r} has no artifact {artifact_id}")
        return self._describe(artifacts[artifact_id], settings.pipeline_root(name))

    def evaluation(self, name: str, artifact_id: int) -> dict[str, Any]:
        """Metrics per slice and model, and the validation checks, of a ModelEvaluation."""
        artifact = self.artifact(name, artifact_id)
        if artifact["type"] != EVALUATION_TYPE:
            raise NotFound(f"artifact {artifact_id} is a {artifact['type']}, not an evaluation")
        if not artifact["readable"]:
            raise NotFound(f"artifact {artifact_id} lies outside the pipeline root")
        return evaluation_summary(artifact["uri"])

    # -- ML Metadata plumbing ---------------------------------------------------------

    def _run_contexts(self, name: str) -> list[Any]:
        """The pipeline's runs (TFX's ``pipeline_run`` contexts, children of the pipeline
        context), newest first."""
        from ml_metadata.metadata_store import metadata_store

        if not SAFE_NAME.fullmatch(name):
            raise NotFound(f"{name!r} is not a pipeline name")
        if self._store.get_context_by_type_and_name(PIPELINE_CONTEXT, name) is None:
            raise NotFound(f"pipeline {name!r} has no runs in ML Metadata")
        query = (
            f"parent_contexts_a.name = '{name}' AND parent_contexts_a.type = '{PIPELINE_CONTEXT}'"
            f" AND type = '{RUN_CONTEXT}'"
        )
        options = metadata_store.ListOptions(
            filter_query=query, order_by=metadata_store.OrderByField.CREATE_TIME, is_asc=False
        )
        return list(self._store.get_contexts(list_options=options))

    def _run_executions(self, context: Any) -> dict[str, list[Any]]:
        """The run's executions by node id (each node's attempts, oldest first)."""
        grouped: dict[str, list[Any]] = defaultdict(list)
        for execution in sorted(self._store.get_executions_by_context(context.id), key=_id):
            node = self._node_of(execution.id)
            if node:
                grouped[node].append(execution)
        return dict(grouped)

    def _node_of(self, execution_id: int) -> str:
        # Node contexts are named "<pipeline>.<node id>".
        return (self._context_name(execution_id, NODE_CONTEXT) or "").partition(".")[2]

    def _run_of(self, execution_id: int) -> str | None:
        return self._context_name(execution_id, RUN_CONTEXT)

    def _context_name(self, execution_id: int, context_type: str) -> str | None:
        """The name of the execution's context of that type (its run, its node)."""
        for context in self._store.get_contexts_by_execution(execution_id):
            if self._type_name("context", context.type_id) == context_type:
                return str(context.name)
        return None

    def _type_name(self, kind: str, type_id: int) -> str:
        key = (kind, type_id)
        if key not in self._type_names:
            getter = {
                "context": self._store.get_context_types_by_id,
                "execution": self._store.get_execution_types_by_id,
                "artifact": self._store.get_artifact_types_by_id,
            }[kind]
            [found] = getter([type_id])
            self._type_names[key] = found.name
        return self._type_names[key]

    def _events(self, executions: Iterable[Any]) -> list[Any]:
        ids = [execution.id for execution in executions]
        return list(self._store.get_events_by_execution_ids(ids)) if ids else []

    def _artifacts_by_id(self, ids: Iterable[int]) -> dict[int, Any]:
        wanted = sorted(ids)
        return {a.id: a for a in self._store.get_artifacts_by_id(wanted)} if wanted else {}

    def _in_pipeline(self, name: str, artifact_id: int) -> bool:
        pipeline = self._store.get_context_by_type_and_name(PIPELINE_CONTEXT, name)
        if pipeline is None:
            return False
        return any(
            context.id == pipeline.id
            for context in self._store.get_contexts_by_artifact(artifact_id)
        )

    def _keyed(
        self, events: list[Any], artifacts: dict[int, Any], root: Path, *, inputs: bool
    ) -> dict[str, list[dict[str, Any]]]:
        by_key: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for key, event in keyed_events(events, inputs=inputs):
            if event.artifact_id in artifacts:
                by_key[key].append(self._describe(artifacts[event.artifact_id], root))
        return dict(by_key)

    def _describe(self, artifact: Any, root: Path) -> dict[str, Any]:
        readable = under_root(artifact.uri, root)
        return {
            "id": artifact.id,
            "type": self._type_name("artifact", artifact.type_id),
            "uri": artifact.uri,
            # Relative to the pipeline root where it lies under it; None where it does not.
            "path": str(Path(artifact.uri).resolve().relative_to(root.resolve()))
            if readable
            else None,
            "readable": readable,
            "state": self._pb.Artifact.State.Name(artifact.state),
            "created_ms": artifact.create_time_since_epoch,
            "properties": {
                **plain_properties(artifact.properties),
                **plain_properties(artifact.custom_properties),
            },
        }

    def _summary(self, artifact: dict[str, Any]) -> Any:
        if not artifact["readable"] or artifact["state"] != "LIVE":
            return None
        kind = artifact["type"]
        if kind == STATISTICS_TYPE:
            return statistics_summary(artifact["uri"])
        if kind == ANOMALIES_TYPE:
            return anomalies_summary(artifact["uri"])
        if kind == SCHEMA_TYPE:
            return schema_summary(artifact["uri"])
        if kind == EVALUATION_TYPE:
            return evaluation_summary(artifact["uri"])
        return None

    def _model_history(self, name: str, *, limit: int = MAX_MODELS) -> list[Any]:
        """Every model the pipeline trained, newest first: each evaluation of it (the run,
        the baseline, the blessing), whether any blessed it, the overall metrics of the
        latest evaluation, and every push of it."""
        from ml_metadata.metadata_store import metadata_store

        query = (
            f"contexts_a.name = '{name}' AND contexts_a.type = '{PIPELINE_CONTEXT}'"
            " AND type = 'Model'"
        )
        options = metadata_store.ListOptions(
            filter_query=query, order_by=metadata_store.OrderByField.CREATE_TIME,
            is_asc=False, limit=limit,
        )  # fmt: skip
        newest = self._store.get_artifacts(list_options=options)
        if not newest:
            return []
        # Every execution that made or used one of these models (Trainer, Evaluators,
        # Pushers), and everything those executions read and wrote.
        used = self._store.get_events_by_artifact_ids([model.id for model in newest])
        events = self._store.get_events_by_execution_ids(sorted({e.execution_id for e in used}))
        artifacts = self._artifacts_by_id({event.artifact_id for event in events})
        runs: dict[int, str | None] = {}

        def run_of(execution_id: int) -> str | None:
            if execution_id not in runs:
                runs[execution_id] = self._run_of(execution_id)
            return runs[execution_id]

        produced: dict[int, int] = {}
        for event in events:
            if event.type in (self._pb.Event.OUTPUT, self._pb.Event.DECLARED_OUTPUT):
                # A cached execution or a resolver outputs artifacts made earlier: the
                # producer is the first execution that output it.
                earlier = produced.get(event.artifact_id, event.execution_id)
                produced[event.artifact_id] = min(earlier, event.execution_id)
        root = settings.pipeline_root(name)
        models: dict[int, dict[str, Any]] = {}
        for artifact_id, execution_id in sorted(produced.items()):
            artifact = artifacts[artifact_id]
            kind = self._type_name("artifact", artifact.type_id)
            if kind == "Model":
                models[artifact_id] = {
                    **self._describe(artifact, root),
                    "run_id": run_of(execution_id),
                    "evaluations": [],
                    "pushes": [],
                }
        # The blessing names the model it judged: when the candidate is also the baseline
        # (a re-evaluation), ML Metadata keeps one input event, under either key.
        judged = {
            execution_id: artifacts[artifact_id].custom_properties["current_model_id"].int_value
            for artifact_id, execution_id in produced.items()
            if "current_model_id" in artifacts[artifact_id].custom_properties
        }
        inputs_of: dict[int, dict[str, int]] = defaultdict(dict)
        for key, event in keyed_events(events, inputs=True):
            inputs_of[event.execution_id][key] = event.artifact_id
        evaluations: dict[int, dict[str, Any]] = {}
        for artifact_id, execution_id in sorted(produced.items()):
            artifact = artifacts[artifact_id]
            kind = self._type_name("artifact", artifact.type_id)
            inputs = inputs_of[execution_id]
            model = models.get(judged.get(execution_id, inputs.get("model", -1)))
            if model is None:
                continue
            described = {**self._describe(artifact, root), "run_id": run_of(execution_id)}
            if kind in ("ModelBlessing", EVALUATION_TYPE):
                # One Evaluator execution: its evaluation and blessing, against a baseline.
                if execution_id not in evaluations:
                    evaluations[execution_id] = {
                        "run_id": run_of(execution_id),
                        "baseline_model_id": inputs.get("baseline_model"),
                        "evaluation": None,
                        "blessing": None,
                    }
                    model["evaluations"].append(evaluations[execution_id])
                evaluation = evaluations[execution_id]
                evaluation["blessing" if kind == "ModelBlessing" else "evaluation"] = described
            elif kind == "PushedModel" and described["properties"].get("pushed") == 1:
                model["pushes"].append(described)
        for model in models.values():
            model["evaluations"].reverse()  # newest first
            model["blessed"] = any(
                (e["blessing"] or {}).get("properties", {}).get("blessed") == 1
                for e in model["evaluations"]
            )
            model["metrics"] = {}
            latest = model["evaluations"][0]["evaluation"] if model["evaluations"] else None
            if latest and latest["readable"] and latest["state"] == "LIVE":
                model["metrics"] = overall_candidate_metrics(latest["uri"])
        return sorted(models.values(), key=lambda m: m["id"], reverse=True)


def _id(item: Any) -> int:
    return int(item.id)


def _state_summary(pb: Any, attempts: list[Any]) -> dict[str, Any]:
    states = [pb.Execution.State.Name(e.last_known_state) for e in attempts]
    return {
        "execution_id": attempts[-1].id,
        "state": states[-1],
        # TFX records a cache hit as a CACHED execution that reuses earlier outputs.
        "cached": states[-1] == "CACHED",
        "attempts": states,
    }


def _all(keyed: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    return [artifact for artifacts in keyed.values() for artifact in artifacts]


def under_root(uri: str, root: Path) -> bool:
    """Whether ``uri`` is a local path inside ``root`` once links and ``..`` are resolved."""
    if "://" in uri or not uri:
        return False
    return Path(uri).resolve().is_relative_to(root.resolve())


# -- artifact readers ------------------------------------------------------------------


def statistics_summary(uri: str) -> dict[str, Any]:
    """Per split: the number of examples and, per feature, its type and key figures."""
    from tensorflow_metadata.proto.v0 import statistics_pb2

    splits = []
    for split, path in split_files(uri, "FeatureStats.pb"):
        stats = statistics_pb2.DatasetFeatureStatisticsList()
        stats.ParseFromString(path.read_bytes())
        for dataset in stats.datasets:
            features = [_feature_stats(feature) for feature in dataset.features[:MAX_FEATURES]]
            splits.append(
                {
                    "split": split,
                    "num_examples": int(dataset.num_examples),
                    "features": features,
                    "features_left_out": max(0, len(dataset.features) - MAX_FEATURES),
                }
            )
    return {"kind": "statistics", "splits": splits}


def _feature_stats(feature: Any) -> dict[str, Any]:
    from tensorflow_metadata.proto.v0 import statistics_pb2

    name = ".".join(feature.path.step) or feature.name
    kind = statistics_pb2.FeatureNameStatistics.Type.Name(feature.type)
    stats = getattr(feature, feature.WhichOneof("stats") or "num_stats")
    common = stats.common_stats
    total = common.num_non_missing + common.num_missing
    summary: dict[str, Any] = {
        "name": name,
        "type": kind,
        "missing_fraction": (common.num_missing / total) if total else 0.0,
    }
    if feature.HasField("num_stats"):
        numeric = feature.num_stats
        summary.update(
            mean=numeric.mean, std_dev=numeric.std_dev, min=numeric.min, max=numeric.max,
            zeros=int(numeric.num_zeros),
        )  # fmt: skip
    elif feature.HasField("string_stats"):
        strings = feature.string_stats
        summary.update(
            unique=int(strings.unique),
            top_values=[
                {"value": top.value, "frequency": top.frequency} for top in strings.top_values[:3]
            ],
        )
    return summary


def anomalies_summary(uri: str) -> dict[str, Any]:
    """Per split: the anomalies ExampleValidator found (none is the good news)."""
    from tfx_dags.runner.anomalies import ANOMALIES_FILE, anomaly_lines

    splits = [split for split, _ in split_files(uri, ANOMALIES_FILE)]
    return {"kind": "anomalies", "splits": splits, "anomalies": anomaly_lines(uri)}


def schema_summary(uri: str) -> dict[str, Any]:
    """Each feature of the schema: type, presence, and domain where it has one."""
    from google.protobuf import text_format
    from tensorflow_metadata.proto.v0 import schema_pb2

    path = Path(uri) / "schema.pbtxt"
    if not path.is_file():
        return {"kind": "schema", "features": []}
    schema = text_format.Parse(path.read_text(), schema_pb2.Schema())
    features = []
    for feature in schema.feature[:MAX_FEATURES]:
        domain = feature.WhichOneof("domain_info")
        features.append(
            {
                "name": feature.name,
                "type": schema_pb2.FeatureType.Name(feature.type),
                "min_fraction": feature.presence.min_fraction,
                "domain": domain or "",
            }
        )
    return {"kind": "schema", "features": features}


def overall_candidate_metrics(uri: str) -> dict[str, float]:
    """The overall slice's metrics of the evaluated (candidate) model."""
    summary = evaluation_summary(uri)
    for slice_ in summary["slices"]:
        if slice_["slice"] == "Overall":
            return dict(slice_["metrics"].get("candidate", {}))
    return {}


def evaluation_summary(uri: str) -> dict[str, Any]:
    """TFMA's output: per slice, scalar metrics by model (candidate, baseline, diff); the
    models compared; and every threshold of the eval config TFMA ran with (saved beside
    the metrics) on every slice it applies to, passed or failed."""
    import tensorflow_model_analysis as tfma
    from tensorflow_model_analysis.slicer import slicer_lib
    from tensorflow_model_analysis.writers import eval_config_writer

    eval_config, _, _, model_locations = eval_config_writer.load_eval_run(uri)
    baseline = next((spec.name for spec in eval_config.model_specs if spec.is_baseline), None)

    slices = []
    values: dict[tuple[Any, ...], dict[Any, float]] = {}
    for record in tfma.load_metrics(uri):
        slice_key = slicer_lib.deserialize_slice_key(record.slice_key)
        by_model: dict[str, dict[str, float]] = defaultdict(dict)
        keyed: dict[Any, float] = {}
        for item in record.metric_keys_and_values:
            if not item.value.HasField("double_value"):
                continue
            key = tfma.metrics.MetricKey.from_proto(item.key)
            value = float(item.value.double_value.value)
            keyed[key] = value
            if key.is_diff:
                model = "diff"
            else:
                model = "baseline" if key.model_name and key.model_name == baseline else "candidate"
            by_model[model][key.name] = value
        values[slice_key] = keyed
        slices.append({"slice": _slice_name(slice_key), "metrics": dict(by_model)})
    slices.sort(key=lambda s: (s["slice"] != "Overall", s["slice"]))
    validation = tfma.load_validation_result(uri)
    return {
        "kind": "evaluation",
        "slices": slices,
        "models": {
            ("baseline" if name == baseline else "candidate"): location
            for name, location in model_locations.items()
        },
        "validation": {
            "ok": bool(validation.validation_ok),
            "checks": _checks(eval_config, baseline, values, validation),
            "missing_slices": [str(spec).strip() for spec in validation.missing_slices],
        },
    }


def _slice_name(slice_key: tuple[Any, ...]) -> str:
    from tensorflow_model_analysis.slicer import slicer_lib

    return "Overall" if not slice_key else slicer_lib.stringify_slice_key(slice_key)


def _checks(
    eval_config: Any, baseline: str | None, values: dict[Any, dict[Any, float]], validation: Any
) -> list[dict[str, Any]]:
    """One entry per (threshold, slice it applies to): TFMA's own thresholds from the
    config, failed where the validation result lists a failure for it, passed otherwise."""
    import tensorflow_model_analysis as tfma
    from google.protobuf import json_format
    from tensorflow_model_analysis.metrics import metric_specs
    from tensorflow_model_analysis.slicer import slicer_lib

    thresholds = metric_specs.metric_thresholds_from_metrics_specs(
        eval_config.metrics_specs, eval_config=eval_config
    )
    failed = set()
    for per_slice in validation.metric_validations_per_slice:
        slice_key = slicer_lib.deserialize_slice_key(per_slice.slice_key)
        for failure in per_slice.failures:
            key = tfma.metrics.MetricKey.from_proto(failure.metric_key)
            failed.add((slice_key, key, failure.metric_threshold.SerializeToString()))
    checks = []
    for key, specs in thresholds.items():
        if baseline is not None and key.model_name == baseline:
            continue  # TFMA checks no threshold on the baseline itself
        for slice_spec, threshold in specs:
            for slice_key, metrics in values.items():
                applies = slice_spec is None or slicer_lib.SingleSliceSpec(
                    spec=slice_spec
                ).is_slice_applicable(slice_key)
                if not applies or key not in metrics:
                    continue
                wrapped = tfma.MetricThreshold()
                kind = "change" if key.is_diff else "value"
                getattr(wrapped, f"{kind}_threshold").CopyFrom(threshold)
                checks.append(
                    {
                        "metric": key.name,
                        "slice": _slice_name(slice_key),
                        "kind": kind,
                        "threshold": json_format.MessageToDict(threshold),
                        "value": metrics[key],
                        "passed": (slice_key, key, wrapped.SerializeToString()) not in failed,
                    }
                )
    return sorted(checks, key=lambda c: (c["slice"] != "Overall", c["slice"], c["metric"]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("query", choices=("pipelines", "pipeline", "run", "evaluation", "artifact"))
    parser.add_argument("--pipeline")
    parser.add_argument("--run-id")
    parser.add_argument("--artifact-id", type=int)
    parser.add_argument("--runs", type=int, default=25)
    parser.add_argument("--output", required=True)
    args = parser.parse_args(argv)
    try:
        result = answer(args)
    except NotFound as error:
        result = {"error": "not_found", "message": str(error)}
    except Exception as error:  # the view shows why, in one line
        traceback.print_exc()
        result = {"error": "failed", "message": f"{_where()}: {type(error).__name__}: {error}"}
    # Written whole, then renamed: the reader never sees half a document.
    partial = f"{args.output}.partial"
    with open(partial, "w") as handle:
        json.dump(result, handle)
    os.replace(partial, args.output)
    return 0


def _where() -> str:
    """Where ML Metadata is, without credentials."""
    try:
        return f"ML Metadata at {describe()}"
    except Exception:
        return "ML Metadata"


def answer(args: argparse.Namespace) -> Any:
    data = ViewData()
    if args.query == "pipelines":
        return {"pipelines": data.pipelines()}
    if not args.pipeline:
        raise SystemExit(f"{args.query} needs --pipeline")
    if args.query == "pipeline":
        return data.pipeline(args.pipeline, runs=args.runs)
    if args.query == "run":
        if not args.run_id:
            raise SystemExit("run needs --run-id")
        return data.run(args.pipeline, args.run_id)
    if args.artifact_id is None:
        raise SystemExit(f"{args.query} needs --artifact-id")
    if args.query == "evaluation":
        return data.evaluation(args.pipeline, args.artifact_id)
    return data.artifact(args.pipeline, args.artifact_id)


if __name__ == "__main__":
    sys.exit(main())
