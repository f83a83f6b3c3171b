"""What an Estimator ``trainer_fn`` on Transform's output needs (TFX environment).

TFX's Estimator executor expects ``trainer_fn(fn_args, schema)`` to return the estimator,
its train and eval specs and an EvalInputReceiver builder; ``training_spec`` assembles them
from one ``build_estimator(run_config)`` function. The exported serving model parses raw
serialized ``tf.Example``s and applies the Transform graph itself. TensorFlow is imported
inside the functions: the module imports without it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tfx_dags.authoring.distribution import distribution_strategy, strategy_settings
from tfx_dags.authoring.keras_export import transformed_dataset

BATCH_SIZE = 32


def _raw_feature_spec(schema: Any) -> dict[str, Any]:
    from tensorflow_transform.tf_metadata import schema_utils

    return schema_utils.schema_as_feature_spec(schema).feature_spec


def serving_receiver_fn(tf_transform_output: Any, schema: Any, *, label_key: str) -> Any:
    import tensorflow as tf

    raw_feature_spec = _raw_feature_spec(schema)
    raw_feature_spec.pop(label_key)
    receiver = tf.estimator.export.build_parsing_serving_input_receiver_fn(
        raw_feature_spec, default_batch_size=None
    )()
    transformed = tf_transform_output.transform_raw_features(receiver.features)
    return tf.estimator.export.ServingInputReceiver(transformed, receiver.receiver_tensors)


def eval_input_receiver_fn(
    tf_transform_output: Any, schema: Any, *, transformed_label_key: str
) -> Any:
    import tensorflow as tf
    import tensorflow_model_analysis as tfma

    serialized = tf.compat.v1.placeholder(dtype=tf.string, shape=[None], name="examples")
    features = tf.io.parse_example(serialized=serialized, features=_raw_feature_spec(schema))
    transformed = tf_transform_output.transform_raw_features(features)
    features.update(transformed)
    return tfma.export.EvalInputReceiver(
        features=features,
        receiver_tensors={"examples": serialized},
        labels=transformed[transformed_label_key],
    )


def run_config(fn_args: Any) -> Any:
    """Checkpoints in the serving model dir, as TFX expects; strategy from custom_config."""
    import tensorflow as tf

    name, cpu_replicas = strategy_settings(fn_args.custom_config)
    strategy = None
    if name != "none":
        strategy = distribution_strategy(name, cpu_replicas=cpu_replicas)
    return tf.estimator.RunConfig(
        model_dir=fn_args.serving_model_dir,
        save_checkpoints_steps=max(fn_args.train_steps, 1),
        keep_checkpoint_max=1,
        train_distribute=strategy,
    )


def training_spec(
    fn_args: Any,
    schema: Any,
    build_estimator: Callable[[Any], Any],
    *,
    label_key: str,
    transformed_label_key: str,
    name: str,
    batch_size: int = BATCH_SIZE,
) -> dict[str, Any]:
    """The dict TFX's Estimator executor expects a ``trainer_fn`` to return."""
    import tensorflow as tf
    import tensorflow_transform as tft

    tf_transform_output = tft.TFTransformOutput(fn_args.transform_output)
    config = run_config(fn_args)

    def dataset(files: list[str]) -> Any:
        return transformed_dataset(
            files,
            fn_args.data_accessor,
            tf_transform_output,
            label_key=transformed_label_key,
            batch_size=batch_size,
        )

    exporter = tf.estimator.FinalExporter(
        name, lambda: serving_receiver_fn(tf_transform_output, schema, label_key=label_key)
    )
    return {
        "estimator": build_estimator(config),
        "train_spec": tf.estimator.TrainSpec(
            lambda: dataset(fn_args.train_files), max_steps=fn_args.train_steps
        ),
        "eval_spec": tf.estimator.EvalSpec(
            lambda: dataset(fn_args.eval_files),
            steps=fn_args.eval_steps,
            exporters=[exporter],
            name=f"{name}-eval",
        ),
        "eval_input_receiver_fn": lambda: eval_input_receiver_fn(
            tf_transform_output, schema, transformed_label_key=transformed_label_key
        ),
    }
