"""Summaries of the artifacts the TFX view shows, read from their files (TFX environment):
statistics, anomalies, schema, evaluation metrics and validation checks, as JSON values.

Each reader is given an artifact folder the caller has checked lies under the pipeline root.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from tfx_dags.runner.anomalies import split_files

# Beyond this, statistics list the first features only: a page, not a data dump.
MAX_FEATURES = 200


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
            mean=numeric.mean,
            std_dev=numeric.std_dev,
            min=numeric.min,
            max=numeric.max,
            zeros=int(numeric.num_zeros),
        )
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
