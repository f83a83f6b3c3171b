"""Benchmark 6: what OpenLineage costs a TFX task, on and off.

    .venv-airflow/bin/python bench/openlineage_overhead.py [--tasks 2000]

On: for each task Airflow's provider builds and sends a run event; a TfxNodeOperator adds its
node's ML Metadata artifacts as datasets (``get_openlineage_facets_on_complete``, built by
``tfx_dags.airflow.openlineage``). Measured in one process with the provider's own classes and
its file transport: a Trainer-like task (3 inputs, 2 outputs) and a Pusher (with the pushed
model's folder), against the baseline of the same event without datasets, which the provider
sends for any task. The difference is what tfx-dags adds per task.
Off (the default: no transport configured): the provider calls nothing; tfx-dags only asks
whether lineage is on before a task starts (``lineage_is_on``), timed here too.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(PROJECT_ROOT)]

from openlineage.client import OpenLineageClient  # noqa: E402
from openlineage.client.event_v2 import Job, Run, RunEvent, RunState  # noqa: E402
from openlineage.client.transport.file import FileConfig, FileTransport  # noqa: E402

from tfx_dags.airflow.openlineage import operator_lineage  # noqa: E402
from tfx_dags.airflow.operators import lineage_is_on  # noqa: E402

ROOT = "/srv/tfx/pipelines/penguin_keras/"


def artifact(kind: str, number: int, **properties: object) -> dict[str, object]:
    return {
        "id": number,
        "uri": f"{ROOT}{kind}/{number}",
        "type": kind,
        "custom_properties": {"tfx_version": "1.15.1", "state": "published", **properties},
    }


TRAINER = {
    "inputs": {
        "examples": [artifact("Examples", 11, span=0)],
        "schema": [artifact("Schema", 12)],
        "transform_graph": [artifact("TransformGraph", 13)],
    },
    "outputs": {"model": [artifact("Model", 21)], "model_run": [artifact("ModelRun", 22)]},
}
PUSHER = {
    "inputs": {
        "model": [artifact("Model", 21)],
        "model_blessing": [artifact("ModelBlessing", 31, blessed=1)],
    },
    "outputs": {
        "pushed_model": [
            artifact(
                "PushedModel", 41, pushed=1, pushed_destination="/srv/serving/penguin/1700000000"
            )
        ]
    },
}


def emit(client: OpenLineageClient, inputs: list, outputs: list) -> None:
    client.emit(
        RunEvent(
            eventType=RunState.COMPLETE,
            eventTime=datetime.now(UTC).isoformat(),
            run=Run(runId=str(uuid.uuid4())),
            job=Job(namespace="bench", name="penguin_keras.Trainer"),
            inputs=inputs,
            outputs=outputs,
            producer="https://github.com/apache/airflow/tree/providers-openlineage",
        )
    )


def per_task_ms(work: Callable[[], None], tasks: int) -> float:
    """Median of 5 rounds of ``tasks`` calls, in milliseconds per call."""
    rounds = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(tasks):
            work()
        rounds.append((time.perf_counter() - start) * 1000 / tasks)
    return statistics.median(rounds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        config = FileConfig(log_file_path=str(Path(scratch) / "events.jsonl"), append=True)
        client = OpenLineageClient(transport=FileTransport(config))

        def baseline() -> None:
            emit(client, [], [])

        def with_artifacts(result: dict) -> Callable[[], None]:
            def work() -> None:
                lineage = operator_lineage(
                    pipeline="penguin_keras",
                    node_id="Trainer",
                    inputs=result["inputs"],
                    outputs=result["outputs"],
                    external_inputs=(),
                )
                emit(client, lineage.inputs, lineage.outputs)

            return work

        base = per_task_ms(baseline, args.tasks)
        trainer = per_task_ms(with_artifacts(TRAINER), args.tasks)
        pusher = per_task_ms(with_artifacts(PUSHER), args.tasks)
    check = per_task_ms(lineage_is_on, args.tasks) * 1000
    print(f"OpenLineage per task, median of 5 rounds of {args.tasks} events (file transport):")
    print(f"  provider's event without datasets (baseline): {base:.3f} ms")
    for name, spent in (
        ("Trainer, 3 inputs + 2 outputs", trainer),
        ("Pusher, 2 in + 2 out", pusher),
    ):
        print(f"  {name:44} {spent:.3f} ms ({spent / base:.2f}x), adds {spent - base:.3f} ms")
    print(f"  off: the 'is lineage on?' check per task:    {check:.1f} us")


if __name__ == "__main__":
    main()
