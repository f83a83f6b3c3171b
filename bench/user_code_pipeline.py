"""The pipeline of bench/module_file_overhead.py: one user module, named two ways.

``style="dotted"`` names the functions by dotted path (``preprocessing_fn=``, ``run_fn=``), as
this project's own pipelines do; ``style="module_file"`` passes the same files as
``module_file=``, as TFX's examples do. Everything else is equal; caching is off, so every
run computes.
"""

from __future__ import annotations

from typing import Any

from tfx_dags.common import settings

MODULES = settings.PROJECT_ROOT / "modules" / "penguin"


def create_pipeline(
    *, pipeline_name: str, pipeline_root: str, data_root: str, style: str, train_steps: int
) -> Any:
    from tfx.components import CsvExampleGen, SchemaGen, StatisticsGen, Trainer, Transform
    from tfx.orchestration.pipeline import Pipeline
    from tfx.proto import trainer_pb2

    if style == "dotted":
        transform_code: dict[str, Any] = {
            "preprocessing_fn": "modules.penguin.preprocessing.preprocessing_fn"
        }
        trainer_code: dict[str, Any] = {"run_fn": "modules.penguin.keras_raw.run_fn"}
    elif style == "module_file":
        transform_code = {"module_file": str(MODULES / "preprocessing.py")}
        trainer_code = {"module_file": str(MODULES / "keras_raw.py")}
    else:
        raise ValueError(f"style={style!r} is neither 'dotted' nor 'module_file'")
    example_gen = CsvExampleGen(input_base=data_root)
    statistics_gen = StatisticsGen(examples=example_gen.outputs["examples"])
    schema_gen = SchemaGen(statistics=statistics_gen.outputs["statistics"])
    transform = Transform(
        examples=example_gen.outputs["examples"],
        schema=schema_gen.outputs["schema"],
        **transform_code,
    )
    trainer = Trainer(
        examples=example_gen.outputs["examples"],
        schema=schema_gen.outputs["schema"],
        train_args=trainer_pb2.TrainArgs(num_steps=train_steps),
        eval_args=trainer_pb2.EvalArgs(num_steps=5),
        **trainer_code,
    )
    return Pipeline(
        pipeline_name=pipeline_name,
        pipeline_root=pipeline_root,
        components=[example_gen, statistics_gen, schema_gen, transform, trainer],
        enable_cache=False,
        beam_pipeline_args=["--direct_running_mode=in_memory"],
    )
