"""tfx_dags.mlmd.generations: which TFX run a node of an Airflow run runs in, on runs
written as TFX's launcher writes them."""

from __future__ import annotations

from typing import Any

from tfx_dags.mlmd import contexts, generations
from tfx_dags.mlmd.contexts import generation_name

GEN = "CsvExampleGen"


def second(run_id: str, number: int = 2, pipeline: str = "p") -> str:
    return generation_name(run_id, number, pipeline)


def current(tfx: Any, run_id: str, cleared: int, node_id: str = GEN, pipeline: str = "p") -> str:
    first = node_id in (GEN, "Resolver")
    return generations.current(
        tfx.store, pipeline, run_id, cleared, node_id=node_id, first_node=first
    )


def test_a_clear_that_reaches_the_first_nodes_starts_a_generation(tfx: Any) -> None:
    store = tfx.store
    assert current(tfx, "r", 0) == "r"
    tfx.execute("p", "r", GEN)
    tfx.execute("p", "r", "Resolver", state="FAILED")
    generations.record_start(store, "p", "r", 0)
    # A retry, or a cleared task that is not a first node: the run as it is.
    assert current(tfx, "r", 0) == "r"
    assert current(tfx, "r", 1, "Trainer") == "r"
    # The run cleared (a reprocess): a first node that succeeded opens generation 2, and the
    # run's other first nodes of this clear join it, even before its context exists.
    assert current(tfx, "r", 1) == second("r")
    assert current(tfx, "r", 1, "Resolver") == second("r")
    tfx.execute("p", second("r"), GEN)
    generations.record_start(store, "p", second("r"), 1)
    assert current(tfx, "r", 1) == current(tfx, "r", 1, "Trainer") == second("r")
    assert current(tfx, "r", 2) == second("r", 3)
    assert [c.name for c in contexts.generations(store, "p", "r")] == ["r", second("r")]
    assert contexts.airflow_run_id(second("r")) == "r" == contexts.airflow_run_id("r")
    assert second("r").startswith("r@2-") and second("r") != second("r", pipeline="q")
    # The view's run page of an Airflow run shows its newest generation.
    assert contexts.run_context(store, "p", "r").name == second("r")


def test_a_first_node_cleared_after_it_failed_runs_again_where_it_failed(tfx: Any) -> None:
    tfx.execute("p", "late", GEN, state="FAILED")
    tfx.execute("p", "late", "Resolver")
    generations.record_start(tfx.store, "p", "late", 0)
    assert current(tfx, "late", 1) == "late"


def test_pipelines_sharing_a_run_id_keep_their_own_generations(tfx: Any) -> None:
    # TFX names run contexts by run id alone: two DAGs' runs of one date share "d".
    tfx.execute("p", "d", GEN)
    tfx.execute("q", "d", GEN)
    for pipeline in ("p", "q"):
        generations.record_start(tfx.store, pipeline, "d", 0)
    assert current(tfx, "d", 1, pipeline="p") == second("d")
    tfx.execute("p", second("d"), GEN)
    generations.record_start(tfx.store, "p", second("d"), 1)
    # q's run was not cleared: p's second generation is not q's.
    assert [c.name for c in contexts.generations(tfx.store, "q", "d")] == ["d"]
    assert current(tfx, "d", 0, pipeline="q") == "d"
    assert current(tfx, "d", 1, pipeline="q") == second("d", pipeline="q")


def test_a_run_made_before_generations_starts_its_second_on_a_clear(tfx: Any) -> None:
    tfx.execute("p", "old", GEN)  # no clear number recorded
    assert current(tfx, "old", 0) == "old"
    assert current(tfx, "old", 1) == second("old")
