"""What the two Estimator trainers of the penguin pipeline share (Estimator executor).

Input functions over Transform's output, the serving receiver (raw serialized
``tf.Example``s in, Transform applied inside the graph) and the EvalInputReceiver TFMA uses.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import tensorflow as tf
import tensorflow_model_analysis as tfma
import tensorflow_transform as tft
from tensorflow_transform.tf_metadata import schema_utils
from tfx_bsl.public import tfxio

from modules.penguin.features import LABEL_KEY, transformed_name
from tfx_dags.training import distribution_strategy, strategy_settings

BATCH_SIZE = 32


def _raw_feature_spec(schema: Any) -> dict[str, Any]:
    return schema_utils.schema_as_feature_spec(schema).feature_spec


def input_fn(
    file_pattern: list[str],
    data_accessor: Any,
    tf_transform_output: tft.TFTransformOutput,
    batch_size: int = BATCH_SIZE,
) -> tf.data.Dataset:
    return data_accessor.tf_dataset_factory(
        file_pattern,
        tfxio.TensorFlowDatasetOptions(
            batch_size=batch_size, label_key=transformed_name(LABEL_KEY)
        ),
        tf_transform_output.transformed_metadata.schema,
    ).repeat()


def serving_receiver_fn(tf_transform_output: tft.TFTransformOutput, schema: Any) -> Any:
    raw_feature_spec = _raw_feature_spec(schema)
    raw_feature_spec.pop(LABEL_KEY)
    receiver = tf.estimator.export.build_parsing_serving_input_receiver_fn(
        raw_feature_spec, default_batch_size=None
    )()
    transformed = tf_transform_output.transform_raw_features(receiver.features)
    return tf.estimator.export.ServingInputReceiver(transformed, receiver.receiver_tensors)


def eval_input_receiver_fn(tf_transform_output: tft.TFTransformOutput, schema: Any) -> Any:
    serialized = tf.compat.v1.placeholder(dtype=tf.string, shape=[None], name="examples")
    features = tf.io.parse_example(serialized=serialized, features=_raw_feature_spec(schema))
    transformed = tf_transform_output.transform_raw_features(features)
    features.update(transformed)
    return tfma.export.EvalInputReceiver(
        features=features,
        receiver_tensors={"examples": serialized},
        labels=transformed[transformed_name(LABEL_KEY)],
    )


def run_config(fn_args: Any) -> tf.estimator.RunConfig:
    """Checkpoints in the serving model dir, as TFX expects; strategy from custom_config."""
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
    build_estimator: Callable[[tf.estimator.RunConfig], tf.estimator.Estimator],
) -> dict[str, Any]:
    """What TFX's Estimator executor expects a ``trainer_fn`` to return."""
    tf_transform_output = tft.TFTransformOutput(fn_args.transform_output)
    config = run_config(fn_args)

    def train_input() -> tf.data.Dataset:
        return input_fn(fn_args.train_files, fn_args.data_accessor, tf_transform_output)

    def eval_input() -> tf.data.Dataset:
        return input_fn(fn_args.eval_files, fn_args.data_accessor, tf_transform_output)

    exporter = tf.estimator.FinalExporter(
        "penguin", lambda: serving_receiver_fn(tf_transform_output, schema)
    )
    return {
        "estimator": build_estimator(config),
        "train_spec": tf.estimator.TrainSpec(train_input, max_steps=fn_args.train_steps),
        "eval_spec": tf.estimator.EvalSpec(
            eval_input, steps=fn_args.eval_steps, exporters=[exporter], name="penguin-eval"
        ),
        "eval_input_receiver_fn": lambda: eval_input_receiver_fn(tf_transform_output, schema),
    }
