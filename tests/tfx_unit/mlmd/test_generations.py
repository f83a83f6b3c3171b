"""tfx_dags.mlmd.generations: which TFX run a node of an Airflow run runs in, on runs
written as TFX's launcher writes them."""

from __future__ import annotations

from typing import Any

from tfx_dags.mlmd import contexts, generations


def test_a_clear_that_reaches_the_first_nodes_starts_a_generation(tfx: Any) -> None:
    store = tfx.store
    assert generations.current(store, "r", 0, first_node=True) == "r"
    tfx.execute("p", "r", "CsvExampleGen")
    generations.record_start(store, "r", 0)
    # A retry, or a cleared task that is not a first node: the run as it is.
    assert generations.current(store, "r", 0, first_node=True) == "r"
    assert generations.current(store, "r", 1, first_node=False) == "r"
    # The run cleared (a reprocess): its first nodes open generation 2, and while the first
    # of them runs (its clear number not yet recorded) the others join it.
    assert generations.current(store, "r", 1, first_node=True) == "r@2"
    tfx.execute("p", "r@2", "CsvExampleGen")
    assert generations.current(store, "r", 1, first_node=True) == "r@2"
    generations.record_start(store, "r@2", 1)
    assert generations.current(store, "r", 1, first_node=False) == "r@2"
    assert generations.current(store, "r", 2, first_node=True) == "r@3"
    assert [c.name for c in contexts.generations(store, "r")] == ["r", "r@2"]
    assert contexts.airflow_run_id("r@2") == "r" == contexts.airflow_run_id("r")
    # The view's run page of an Airflow run shows its newest generation.
    assert contexts.run_context(store, "p", "r").name == "r@2"


def test_a_run_made_before_generations_starts_its_second_on_a_clear(tfx: Any) -> None:
    tfx.execute("p", "old", "CsvExampleGen")  # no clear number recorded
    assert generations.current(tfx.store, "old", 0, first_node=True) == "old"
    assert generations.current(tfx.store, "old", 1, first_node=True) == "old@2"
