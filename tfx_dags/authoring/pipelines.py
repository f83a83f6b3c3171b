"""The standard TFX training pipeline, for pipeline definitions to build on (TFX environment).

CsvExampleGen -> StatisticsGen -> SchemaGen -> ExampleValidator -> [Transform] -> Trainer ->
(latest blessed model) -> Evaluator -> Pusher, with the Trainer's executor picked from the
trainer module (``run_fn`` or ``trainer_fn``) and an Evaluator config that fits it. TFX is
imported inside the functions: the module imports without it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from tfx_dags.authoring.beam_args import direct_args
from tfx_dags.authoring.trainer_executors import (
    FINGERPRINT_KEY,
    code_fingerprint,
    require_function,
    trainer_component,
    trainer_function,
)
from tfx_dags.common import settings
from tfx_dags.common.errors import ConfigError

# training_pipeline's RuntimeParameter for ExampleGen's range_config, and its default: the
# latest span found (what ExampleGen reads without a range), as RangeConfig JSON.
RANGE_CONFIG_PARAMETER = "range_config"
LATEST_SPAN = '{"rollingRange": {"numSpans": 1}}'


def default_beam_args() -> list[str]:
    """DirectRunner. Its running mode is TFX_DAGS_BEAM_DIRECT_MODE's, or, by default, each
    node's by its input rows at launch (tfx_dags.runner.beam_launch)."""
    mode = settings.beam_direct_mode()
    return ["--runner=DirectRunner"] if mode == "auto" else direct_args(running_mode=mode)


def blessing_eval_config(
    *,
    trainer_fn_style: bool,
    label_key: str,
    min_accuracy: float,
    keras_accuracy_metric: str = "SparseCategoricalAccuracy",
    preprocessing_signature: str | None = None,
    slice_by: Sequence[str] = (),
) -> Any:
    """Bless a model only if accurate enough and no worse than the last blessed one.

    Keras models (``run_fn``) are evaluated through ``serving_default`` with TFMA's
    ``keras_accuracy_metric``; Estimators (``trainer_fn``) through their EvalSavedModel
    (signature ``eval``) and the ``accuracy`` metric they export. Metrics are computed
    overall and per value of each ``slice_by`` feature (default none); the thresholds apply
    to the overall slice only, so a small slice cannot veto a model on its own.
    """
    import tensorflow_model_analysis as tfma

    threshold = tfma.MetricThreshold(
        value_threshold=tfma.GenericValueThreshold(lower_bound={"value": min_accuracy}),
        change_threshold=tfma.GenericChangeThreshold(
            direction=tfma.MetricDirection.HIGHER_IS_BETTER, absolute={"value": -1e-10}
        ),
    )
    # A threshold without slicing specs would apply to every slice.
    overall_only = [
        tfma.PerSliceMetricThreshold(slicing_specs=[tfma.SlicingSpec()], threshold=threshold)
    ]
    slicing_specs = [tfma.SlicingSpec()] + [
        tfma.SlicingSpec(feature_keys=[key]) for key in slice_by
    ]
    if trainer_fn_style:
        return tfma.EvalConfig(
            model_specs=[tfma.ModelSpec(signature_name="eval")],
            slicing_specs=slicing_specs,
            metrics_specs=[
                tfma.MetricsSpec(
                    per_slice_thresholds={
                        "accuracy": tfma.PerSliceMetricThresholds(thresholds=overall_only)
                    }
                )
            ],
        )
    return tfma.EvalConfig(
        model_specs=[
            tfma.ModelSpec(
                signature_name="serving_default",
                label_key=label_key,
                preprocessing_function_names=(
                    [preprocessing_signature] if preprocessing_signature else []
                ),
            )
        ],
        slicing_specs=slicing_specs,
        metrics_specs=[
            tfma.MetricsSpec(
                metrics=[
                    tfma.MetricConfig(
                        class_name=keras_accuracy_metric, per_slice_thresholds=overall_only
                    )
                ]
            )
        ],
    )


def training_pipeline(
    *,
    pipeline_name: str,
    pipeline_root: str,
    data_root: str,
    serving_model_dir: str,
    trainer_module: str,
    label_key: str,
    preprocessing_fn: str | None = None,
    trainer_executor: str = "auto",
    train_steps: int = 200,
    eval_steps: int = 10,
    min_accuracy: float = 0.9,
    keras_accuracy_metric: str = "SparseCategoricalAccuracy",
    trainer_config: Mapping[str, Any] | None = None,
    beam_pipeline_args: Sequence[str] | None = None,
    component_beam_args: Mapping[str, Sequence[str]] | None = None,
    schema_path: str | None = None,
    slice_by: Sequence[str] = (),
    enable_cache: bool = True,
    input_pattern: str | None = None,
) -> Any:
    """Return the standard training pipeline as a ``tfx.dsl.Pipeline``.

    Args:
        pipeline_name, pipeline_root: set by the DAG factory.
        data_root: folder of CSV files with the features and the label.
        serving_model_dir: the Pusher's filesystem destination.
        trainer_module: dotted module defining ``run_fn`` or ``trainer_fn``.
        label_key: the label column.
        preprocessing_fn: dotted path of the Transform ``preprocessing_fn``; None for a
            pipeline without Transform (``run_fn`` trainers only). Default None.
        trainer_executor: ``"auto"`` (from the module), ``"generic"`` or ``"estimator"``.
        train_steps, eval_steps: Trainer steps. Defaults 200 and 10.
        min_accuracy: the Evaluator's lower bound on accuracy. Default 0.9.
        keras_accuracy_metric: TFMA metric class for Keras models. Default
            ``"SparseCategoricalAccuracy"`` (``"BinaryAccuracy"`` for binary labels).
        trainer_config: the Trainer's ``custom_config`` (e.g. ``distribution_strategy``,
            ``cpu_replicas``). Default none.
        beam_pipeline_args: for every Beam-backed component (see
            ``tfx_dags.authoring.beam_args``). Default: DirectRunner, its running mode
            chosen per node by input rows (``default_beam_args``).
        component_beam_args: per component id (e.g. ``{"Transform": [...]}``), appended to
            ``beam_pipeline_args`` for that component only. Default none.
        schema_path: a curated schema (``schema.pbtxt``) to validate the data against
            (ImportSchemaGen); None infers one from each run's data (SchemaGen), which then
            cannot notice drift. Default None.
        slice_by: features whose values the Evaluator also reports metrics for (e.g. the
            label of a classifier: accuracy per class); thresholds apply overall. Default none.
        enable_cache: reuse outputs of unchanged nodes from earlier runs. Default True.
        input_pattern: the CSV files of one span under ``data_root``, a TFX ExampleGen
            pattern with ``{SPAN}`` or ``{YYYY}``/``{MM}``/``{DD}`` (e.g.
            ``"{YYYY}-{MM}-{DD}/*.csv"``). ExampleGen's ``range_config`` is then the
            RuntimeParameter ``range_config`` (a ``RangeConfig`` as JSON; default the latest
            span), which a DAG's ``spans=`` binds to each run's data interval. None reads
            every file of ``data_root`` as one span. Default None.

    ExampleValidator gates training: Transform and the Trainer wait for it, and the node
    runner fails it when it finds anomalies, so nothing trains on data that breaks the schema.
    """
    trainer_fn_style = _checked_trainer(trainer_module, trainer_executor, preprocessing_fn)
    from tfx.orchestration.pipeline import Pipeline

    data = _data_components(data_root, schema_path, input_pattern)
    components = list(data)
    training_inputs: dict[str, Any] = {
        "examples": data.example_gen.outputs["examples"],
        "schema": data.schema_gen.outputs["schema"],
    }
    if preprocessing_fn is not None:
        transform = _transform(data, preprocessing_fn)
        components.append(transform)
        training_inputs["examples"] = transform.outputs["transformed_examples"]
        training_inputs["transform_graph"] = transform.outputs["transform_graph"]
    trainer = _trainer(
        data,
        trainer_module,
        trainer_executor,
        train_steps=train_steps,
        eval_steps=eval_steps,
        trainer_config=trainer_config,
        inputs=training_inputs,
    )
    eval_config = blessing_eval_config(
        trainer_fn_style=trainer_fn_style,
        label_key=label_key,
        min_accuracy=min_accuracy,
        keras_accuracy_metric=keras_accuracy_metric,
        preprocessing_signature="transform_features" if preprocessing_fn else None,
        slice_by=slice_by,
    )
    components += [trainer, *_bless_and_push(data, trainer, eval_config, serving_model_dir)]
    _add_component_beam_args(components, component_beam_args or {})
    return Pipeline(
        pipeline_name=pipeline_name,
        pipeline_root=pipeline_root,
        components=components,
        enable_cache=enable_cache,
        beam_pipeline_args=list(beam_pipeline_args or default_beam_args()),
    )


def _checked_trainer(
    trainer_module: str, trainer_executor: str, preprocessing_fn: str | None
) -> bool:
    """Whether the trainer module is Estimator-style (``trainer_fn``), its functions checked
    before TFX is imported, so that a bad module fails the compile in a second."""
    trainer_fn_style = trainer_function(trainer_module, trainer_executor) == "trainer_fn"
    if preprocessing_fn is not None:
        require_function(preprocessing_fn, role="preprocessing_fn")
    if trainer_fn_style and preprocessing_fn is None:
        raise ConfigError(
            f"{trainer_module} defines trainer_fn (Estimator); this pipeline runs Estimators "
            "on Transform's output, so set preprocessing_fn"
        )
    return trainer_fn_style


class _Data(NamedTuple):
    """The data half of the pipeline, in pipeline order: read, describe, validate."""

    example_gen: Any
    statistics_gen: Any
    schema_gen: Any
    example_validator: Any


def _data_components(data_root: str, schema_path: str | None, input_pattern: str | None) -> _Data:
    from tfx.components import CsvExampleGen, ExampleValidator, SchemaGen, StatisticsGen
    from tfx.components.schema_gen.import_schema_gen.component import ImportSchemaGen

    example_gen = CsvExampleGen(input_base=data_root, **_span_inputs(input_pattern))
    statistics_gen = StatisticsGen(examples=example_gen.outputs["examples"])
    if schema_path is not None:
        schema_gen = ImportSchemaGen(schema_file=schema_path)
    else:
        schema_gen = SchemaGen(statistics=statistics_gen.outputs["statistics"])
    example_validator = ExampleValidator(
        statistics=statistics_gen.outputs["statistics"], schema=schema_gen.outputs["schema"]
    )
    return _Data(example_gen, statistics_gen, schema_gen, example_validator)


def _span_inputs(input_pattern: str | None) -> dict[str, Any]:
    """ExampleGen's arguments for one span of ``input_pattern`` a run: which span is the
    RuntimeParameter ``range_config``, bound per run (``spans=``), no compile per date."""
    if input_pattern is None:
        return {}
    from tfx.orchestration import data_types
    from tfx.proto import example_gen_pb2

    split = example_gen_pb2.Input.Split(name="single_split", pattern=input_pattern)
    return {
        "input_config": example_gen_pb2.Input(splits=[split]),
        "range_config": data_types.RuntimeParameter(
            name=RANGE_CONFIG_PARAMETER, ptype=str, default=LATEST_SPAN
        ),
    }


def _transform(data: _Data, preprocessing_fn: str) -> Any:
    """Transform, after the ExampleValidator: nothing is transformed from data that breaks
    the schema."""
    from tfx.components import Transform

    transform = Transform(
        examples=data.example_gen.outputs["examples"],
        schema=data.schema_gen.outputs["schema"],
        preprocessing_fn=preprocessing_fn,
        custom_config={FINGERPRINT_KEY: code_fingerprint(preprocessing_fn.rpartition(".")[0])},
    )
    transform.add_upstream_node(data.example_validator)
    return transform


def _trainer(
    data: _Data,
    trainer_module: str,
    trainer_executor: str,
    *,
    train_steps: int,
    eval_steps: int,
    trainer_config: Mapping[str, Any] | None,
    inputs: Mapping[str, Any],
) -> Any:
    """The Trainer, after the ExampleValidator, its code's fingerprint in its config so
    that an edit retrains."""
    from tfx.proto import trainer_pb2

    trainer = trainer_component(
        module=trainer_module,
        executor=trainer_executor,
        train_args=trainer_pb2.TrainArgs(num_steps=train_steps),
        eval_args=trainer_pb2.EvalArgs(num_steps=eval_steps),
        custom_config={**(trainer_config or {}), FINGERPRINT_KEY: code_fingerprint(trainer_module)},
        **inputs,
    )
    trainer.add_upstream_node(data.example_validator)
    return trainer


def _bless_and_push(
    data: _Data, trainer: Any, eval_config: Any, serving_model_dir: str
) -> list[Any]:
    """The latest blessed model's resolver, the Evaluator that blesses the new model
    against it, and the Pusher of a blessed model."""
    from tfx.components import Evaluator, Pusher
    from tfx.dsl.components.base import executor_spec
    from tfx.dsl.components.common.resolver import Resolver
    from tfx.dsl.input_resolution.strategies.latest_blessed_model_strategy import (
        LatestBlessedModelStrategy,
    )
    from tfx.proto import pusher_pb2
    from tfx.types import Channel, standard_artifacts

    from tfx_dags.runner.atomic_pusher import AtomicPusherExecutor

    model_resolver = Resolver(
        strategy_class=LatestBlessedModelStrategy,
        model=Channel(type=standard_artifacts.Model),
        model_blessing=Channel(type=standard_artifacts.ModelBlessing),
    ).with_id("latest_blessed_model_resolver")
    evaluator = Evaluator(
        examples=data.example_gen.outputs["examples"],
        model=trainer.outputs["model"],
        baseline_model=model_resolver.outputs["model"],
        eval_config=eval_config,
    )
    pusher = Pusher(
        model=trainer.outputs["model"],
        model_blessing=evaluator.outputs["blessing"],
        push_destination=pusher_pb2.PushDestination(
            filesystem=pusher_pb2.PushDestination.Filesystem(base_directory=serving_model_dir)
        ),
        # Write elsewhere, then rename: a model server never sees a half-pushed version.
        custom_executor_spec=executor_spec.ExecutorClassSpec(AtomicPusherExecutor),
    )
    return [model_resolver, evaluator, pusher]


def _add_component_beam_args(components: Sequence[Any], args: Mapping[str, Sequence[str]]) -> None:
    from tfx.dsl.components.base.base_beam_component import BaseBeamComponent

    beam_components = {c.id: c for c in components if isinstance(c, BaseBeamComponent)}
    for component_id, component_args in args.items():
        if component_id not in beam_components:
            raise ConfigError(
                f"component_beam_args names {component_id!r}, which is not a Beam-backed "
                f"component of this pipeline; these are: {sorted(beam_components)}"
            )
        if isinstance(component_args, str) or not all(
            isinstance(arg, str) for arg in component_args
        ):
            raise ConfigError(
                f"component_beam_args[{component_id!r}] must be a list of strings, "
                f"got {component_args!r}"
            )
        beam_components[component_id].with_beam_pipeline_args(list(component_args))
