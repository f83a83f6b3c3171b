"""The served model never goes back in time: a Pusher does not push a model trained on an
older window of spans than the model its pipeline pushed last.

A backfill of last month's intervals retrains on last month's spans; TFX's Pusher would push
each of those models over the one trained on this week's (a newer version folder, which a
model server loads). Before a Pusher node launches, the node runner compares the last span
its model was trained on (``mlmd/spans.py``, through the model's lineage) with the last span
of the model pushed last; an older one is not pushed, and the task is skipped saying both.
Backfill and scheduled runs may push at once: the check and the push hold one lock per
push destination (``flock`` on a file of the deployment's home, named by the destination, so
that nothing is added to the folder a model server watches), so on one host they happen one
at a time; workers on several hosts that push to one destination need a shared home.
Only DAGs that bind ``spans=`` are guarded (the node runner's ``--spans``); others push as
TFX does.
"""

from __future__ import annotations

import fcntl
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from tfx_dags.common import settings
from tfx_dags.common.errors import TfxDagsError
from tfx_dags.mlmd import executions
from tfx_dags.mlmd.artifacts import PUSHER_MODEL_KEY
from tfx_dags.mlmd.spans import derived_spans, newest_push

LOCKS_FOLDER = "locks"


class OlderWindow(TfxDagsError):
    """The model was trained on an older window than the one pushed last: not pushed."""


@dataclass(frozen=True)
class PushWindow:
    """The spans this run's model was trained on, and those of the model pushed last."""

    model_spans: tuple[int, ...] = ()
    served_spans: tuple[int, ...] = ()


def is_pusher(node_type: str) -> bool:
    return node_type.rsplit(".", 1)[-1] == "Pusher"


@contextmanager
def guarded_push(
    store: Any, pipeline_name: str, run_id: str, pipeline_node: Any
) -> Iterator[PushWindow]:
    """Hold the destination's lock, and refuse (OlderWindow) a model of an older window;
    the push happens inside."""
    with _destination_lock(pipeline_node):
        yield check(store, pipeline_name, run_id, pipeline_node)


def check(store: Any, pipeline_name: str, run_id: str, pipeline_node: Any) -> PushWindow:
    inputs = pipeline_node.inputs.inputs
    if PUSHER_MODEL_KEY not in inputs or not inputs[PUSHER_MODEL_KEY].channels:
        return PushWindow()  # e.g. a Pusher of an infra blessing: no model of ours to compare
    channels = inputs[PUSHER_MODEL_KEY].channels
    producer = channels[0].producer_node_query.id
    models = executions.node_outputs(
        store, pipeline_name, producer, channels[0].output_key, run_id=run_id
    )
    if not models:
        return PushWindow()  # TFX resolves the input, and says what is missing
    model = max(models, key=lambda artifact: artifact.id)
    mine = tuple(sorted(derived_spans(store, model.id)))
    pusher = pipeline_node.node_info.id
    pushed = newest_push(store, executions.succeeded_executions(store, pipeline_name, pusher))
    served: tuple[int, ...] = ()
    if pushed is not None and pushed[1] is not None:
        served = tuple(sorted(derived_spans(store, pushed[1])))
    if mine and served and max(mine) < max(served):
        raise OlderWindow(
            f"model {model.id} was trained on spans {_spans(mine)}, older than the model "
            f"{pushed[1] if pushed else ''} pushed last (spans {_spans(served)}): not pushed, "
            "so the served model does not go back in time"
        )
    return PushWindow(mine, served)


def _spans(spans: tuple[int, ...]) -> str:
    return f"{spans[0]} to {spans[-1]}" if len(spans) > 1 else str(spans[0])


@contextmanager
def _destination_lock(pipeline_node: Any) -> Iterator[None]:
    from google.protobuf import json_format
    from tfx.proto import pusher_pb2

    parameters = pipeline_node.parameters.parameters
    destination = pusher_pb2.PushDestination()
    if "push_destination" in parameters:
        text = parameters["push_destination"].field_value.string_value
        # TFX writes it with its protos' field names (base_directory); Parse reads both.
        json_format.Parse(text or "{}", destination, ignore_unknown_fields=True)
    base = destination.filesystem.base_directory
    if not base:
        yield  # no filesystem destination: the check alone
        return
    folder = settings.home() / LOCKS_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(base.rstrip("/").encode()).hexdigest()[:16]
    with open(folder / f"push-{digest}.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
