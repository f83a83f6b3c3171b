"""A pipeline's history belongs to one TFX line (tfx_dags.mlmd.tfx_lines): the refusal's
message as users read it."""

from __future__ import annotations

from tfx_dags.common.reply import NonRetryableError, Outcome
from tfx_dags.mlmd.tfx_lines import LineConflict


def test_a_line_conflict_names_both_lines_and_every_fix() -> None:
    error = LineConflict(pipeline="penguin", where="SQLite /m.db", recorded="1.15", line="1.16")
    assert str(error) == (
        "pipeline 'penguin' in ML Metadata store SQLite /m.db holds the runs of TFX 1.15, and "
        "this DAG's TFX environment has TFX 1.16. TFX's cache and its latest-blessed-model "
        "baseline do not look at the TFX version, so two lines never share a pipeline's "
        "history: give the pipeline another name for TFX 1.16 (its pipeline_name), keep the "
        "DAG on a TFX 1.15 environment (tfx_env=), or give it another store"
    )
    assert "{" not in str(error)


def test_a_line_conflict_is_not_retried() -> None:
    error = LineConflict(pipeline="p", where="w", recorded="1.15", line="1.16")
    assert isinstance(error, NonRetryableError) and error.outcome is Outcome.BAD_INPUT
