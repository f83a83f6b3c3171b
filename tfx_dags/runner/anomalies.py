"""Data anomalies found by ExampleValidator stop the run, readable in the task log.

TFX's ExampleValidator records anomalies and succeeds; a pipeline would then train on data
that breaks its schema. The node runner reads the anomalies it wrote and fails the task with
one line per anomaly (split, feature, what is wrong); the pipeline makes Transform and the
Trainer wait for ExampleValidator, so nothing trains on that data.
"""

from __future__ import annotations

from pathlib import Path

from tfx_dags.common.reply import NonRetryableError

VALIDATOR_TYPE = "ExampleValidator"
ANOMALIES_FILE = "SchemaDiff.pb"


class DataAnomalies(NonRetryableError):
    """The examples do not match the schema."""


def is_validator(node_type: str) -> bool:
    return node_type.rsplit(".", 1)[-1] == VALIDATOR_TYPE


def split_files(uri: str, filename: str) -> list[tuple[str, Path]]:
    """(split, file) per ``Split-<name>`` folder of an artifact; a file at the top (Transform
    writes one for all data) is split "all"."""
    top = Path(uri) / filename
    found = [("all", top)] if top.is_file() else []
    return found + [
        (path.parent.name.removeprefix("Split-"), path)
        for path in sorted(Path(uri).glob(f"Split-*/{filename}"))
    ]


def anomaly_lines(anomalies_uri: str) -> list[str]:
    """One readable line per anomaly of every split under an ExampleAnomalies artifact
    (Transform's post-transform anomalies are one file for all splits: split "all")."""
    from tensorflow_metadata.proto.v0 import anomalies_pb2

    lines = []
    for split, path in split_files(anomalies_uri, ANOMALIES_FILE):
        anomalies = anomalies_pb2.Anomalies()
        anomalies.ParseFromString(path.read_bytes())
        for feature, info in sorted(anomalies.anomaly_info.items()):
            lines.append(
                f"split {split}, feature {feature!r}: {info.short_description}: {info.description}"
            )
        if anomalies.HasField("dataset_anomaly_info"):
            info = anomalies.dataset_anomaly_info
            lines.append(f"split {split}, dataset: {info.short_description}: {info.description}")
    return lines


def check(anomalies_uris: list[str]) -> None:
    """Raise DataAnomalies listing every anomaly in the validator's output artifacts."""
    lines = [line for uri in anomalies_uris for line in anomaly_lines(uri)]
    if lines:
        raise DataAnomalies(
            f"ExampleValidator found {len(lines)} anomalies; fix the data or the schema:\n"
            + "\n".join(f"  {line}" for line in lines)
        )
