"""The penguin TFX pipeline with a native Keras trainer, defined the TFX way.

CsvExampleGen -> StatisticsGen -> SchemaGen -> ExampleValidator -> Transform -> Trainer ->
(latest blessed model) -> Evaluator -> Pusher. User code is named by dotted path, so tasks
import it from the installed ``modules`` package instead of TFX building a wheel per run.
"""

from __future__ import annotations

from typing import Any

from modules.penguin.features import LABEL_KEY

PREPROCESSING_FN = "modules.penguin.preprocessing.preprocessing_fn"
RUN_FN = "modules.penguin.model.run_fn"


def eval_config(min_accuracy: float) -> Any:
    """Bless a model only if it is accurate enough and no worse than the last blessed one."""
    import tensorflow_model_analysis as tfma

    return tfma.EvalConfig(
        model_specs=[
            tfma.ModelSpec(
                signature_name="serving_default",
                label_key=LABEL_KEY,
                preprocessing_function_names=["transform_features"],
            )
        ],
        slicing_specs=[tfma.SlicingSpec()],
        metrics_specs=[
            tfma.MetricsSpec(
                metrics=[
                    tfma.MetricConfig(
                        class_name="SparseCategoricalAccuracy",
                        threshold=tfma.MetricThreshold(
                            value_threshold=tfma.GenericValueThreshold(
                                lower_bound={"value": min_accuracy}
                            ),
                            change_threshold=tfma.GenericChangeThreshold(
                                direction=tfma.MetricDirection.HIGHER_IS_BETTER,
                                absolute={"value": -1e-10},
                            ),
                        ),
                    )
                ]
            )
        ],
    )


def create_pipeline(
    *,
    pipeline_name: str,
    pipeline_root: str,
    data_root: str,
    serving_model_dir: str,
    train_steps: int = 200,
    eval_steps: int = 10,
    min_accuracy: float = 0.9,
    beam_pipeline_args: list[str] | None = None,
    enable_cache: bool = True,
) -> Any:
    """Return the penguin pipeline as a ``tfx.dsl.Pipeline``.

    Args:
        pipeline_name, pipeline_root: set by the DAG factory.
        data_root: folder of CSV files with the four measurements and ``species`` (0, 1, 2).
        serving_model_dir: the Pusher's filesystem destination.
        train_steps, eval_steps: Trainer steps. Defaults 200 and 10.
        min_accuracy: Evaluator's lower bound on eval accuracy. Default 0.9.
        beam_pipeline_args: for the Beam-backed components. Default: in-memory DirectRunner.
        enable_cache: reuse outputs of unchanged nodes from earlier runs. Default True.
    """
    from tfx.components import (
        CsvExampleGen,
        Evaluator,
        ExampleValidator,
        Pusher,
        SchemaGen,
        StatisticsGen,
        Trainer,
        Transform,
    )
    from tfx.dsl.components.common.resolver import Resolver
    from tfx.dsl.input_resolution.strategies.latest_blessed_model_strategy import (
        LatestBlessedModelStrategy,
    )
    from tfx.orchestration.pipeline import Pipeline
    from tfx.proto import pusher_pb2, trainer_pb2
    from tfx.types import Channel, standard_artifacts

    example_gen = CsvExampleGen(input_base=data_root)
    statistics_gen = StatisticsGen(examples=example_gen.outputs["examples"])
    schema_gen = SchemaGen(statistics=statistics_gen.outputs["statistics"])
    example_validator = ExampleValidator(
        statistics=statistics_gen.outputs["statistics"], schema=schema_gen.outputs["schema"]
    )
    transform = Transform(
        examples=example_gen.outputs["examples"],
        schema=schema_gen.outputs["schema"],
        preprocessing_fn=PREPROCESSING_FN,
    )
    trainer = Trainer(
        run_fn=RUN_FN,
        examples=transform.outputs["transformed_examples"],
        transform_graph=transform.outputs["transform_graph"],
        schema=schema_gen.outputs["schema"],
        train_args=trainer_pb2.TrainArgs(num_steps=train_steps),
        eval_args=trainer_pb2.EvalArgs(num_steps=eval_steps),
    )
    model_resolver = Resolver(
        strategy_class=LatestBlessedModelStrategy,
        model=Channel(type=standard_artifacts.Model),
        model_blessing=Channel(type=standard_artifacts.ModelBlessing),
    ).with_id("latest_blessed_model_resolver")
    evaluator = Evaluator(
        examples=example_gen.outputs["examples"],
        model=trainer.outputs["model"],
        baseline_model=model_resolver.outputs["model"],
        eval_config=eval_config(min_accuracy),
    )
    pusher = Pusher(
        model=trainer.outputs["model"],
        model_blessing=evaluator.outputs["blessing"],
        push_destination=pusher_pb2.PushDestination(
            filesystem=pusher_pb2.PushDestination.Filesystem(base_directory=serving_model_dir)
        ),
    )
    return Pipeline(
        pipeline_name=pipeline_name,
        pipeline_root=pipeline_root,
        components=[
            example_gen,
            statistics_gen,
            schema_gen,
            example_validator,
            transform,
            trainer,
            model_resolver,
            evaluator,
            pusher,
        ],
        enable_cache=enable_cache,
        beam_pipeline_args=beam_pipeline_args or ["--direct_running_mode=in_memory"],
    )
