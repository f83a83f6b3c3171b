"""The data interval and spans a run of a ``spans=`` DAG read, recorded in ML Metadata.

TFX records an ExampleGen's span on its Examples; which Airflow data interval a run had, and
which window of spans a training node read, it does not know. The node runner records them
as custom properties of the node's execution and of the run's context (TFX's
``pipeline_run``), so that a model's training window can be read back from its Trainer's
execution, and a run's interval from its context.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tfx_dags.mlmd.contexts import RUN_CONTEXT

START = "tfx_dags_data_interval_start"
END = "tfx_dags_data_interval_end"
SPAN = "tfx_dags_span"
WINDOW_FIRST = "tfx_dags_window_first_span"
WINDOW_LAST = "tfx_dags_window_last_span"


def record(
    store: Any,
    execution_id: int,
    run_id: str,
    interval: Mapping[str, Any],
    window: tuple[int, int] | None = None,
) -> None:
    """``interval``: ``{"start": ISO, "end": ISO, "span": n}``; ``window``: the first and
    last span a training node read."""
    values: dict[str, Any] = {
        START: interval["start"],
        END: interval["end"],
        SPAN: interval["span"],
    }
    [execution] = store.get_executions_by_id([execution_id])
    _set(execution.custom_properties, values)
    if window is not None:
        _set(execution.custom_properties, {WINDOW_FIRST: window[0], WINDOW_LAST: window[1]})
    store.put_executions([execution])
    run = store.get_context_by_type_and_name(RUN_CONTEXT, run_id)
    if run is not None and run.custom_properties.get(SPAN) is None:
        _set(run.custom_properties, values)
        store.put_contexts([run])


def recorded(properties: Mapping[str, Any]) -> dict[str, Any]:
    """What ``record`` wrote, from plain custom properties (``artifacts.plain_properties``)."""
    names = {START: "start", END: "end", SPAN: "span", WINDOW_FIRST: "first", WINDOW_LAST: "last"}
    return {short: properties[name] for name, short in names.items() if name in properties}


def _set(properties: Any, values: Mapping[str, Any]) -> None:
    for name, value in values.items():
        if isinstance(value, int):
            properties[name].int_value = value
        else:
            properties[name].string_value = str(value)
