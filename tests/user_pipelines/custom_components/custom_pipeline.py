"""A user's TFX pipeline as TFX's docs write one: a ``@component`` function defined in this
file, a custom component from the user's own package beside it (``row_tools``), and a
``RuntimeParameter`` that each run may set."""

import json
import os

from row_tools.artifacts import RowCounts
from row_tools.component import RowCounter
from tfx.components import CsvExampleGen
from tfx.dsl.component.experimental.annotations import InputArtifact, OutputArtifact, Parameter
from tfx.dsl.component.experimental.decorators import component
from tfx.orchestration import data_types, pipeline
from tfx.types import standard_artifacts


@component
def CheckRowCount(
    row_counts: InputArtifact[RowCounts],
    min_rows: Parameter[int],
    verdict: OutputArtifact[standard_artifacts.String],
):
    """Fails when the data has fewer than ``min_rows`` examples."""
    with open(os.path.join(row_counts.uri, "counts.json")) as handle:
        total = sum(json.load(handle).values())
    if total < min_rows:
        raise ValueError(f"only {total} examples, fewer than min_rows={min_rows}")
    verdict.value = f"{total} examples >= min_rows={min_rows}"


def create_pipeline(pipeline_name, pipeline_root, data_root):
    example_gen = CsvExampleGen(input_base=data_root)
    row_counter = RowCounter(examples=example_gen.outputs["examples"])
    check = CheckRowCount(
        row_counts=row_counter.outputs["row_counts"],
        min_rows=data_types.RuntimeParameter(name="min_rows", ptype=int, default=100),
    )
    return pipeline.Pipeline(
        pipeline_name=pipeline_name,
        pipeline_root=pipeline_root,
        components=[example_gen, row_counter, check],
        enable_cache=True,
    )
