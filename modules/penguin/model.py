"""Native Keras trainer (GenericExecutor ``run_fn``) for the penguin pipeline.

The exported ``serving_default`` signature takes serialized raw ``tf.Example``s, applies the
Transform graph through ``TransformFeaturesLayer`` and returns the three class probabilities,
so clients never reimplement the preprocessing.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf
import tensorflow_transform as tft
from absl import logging
from tfx_bsl.public import tfxio

from modules.penguin.features import FEATURE_KEYS, LABEL_KEY, NUM_CLASSES, transformed_name
from tfx_dags.training import distribution_strategy, strategy_settings

TRAIN_BATCH_SIZE = 32
EVAL_BATCH_SIZE = 32
HIDDEN_UNITS = (16, 16)
LEARNING_RATE = 1e-2


def _input_fn(
    file_pattern: list[str],
    data_accessor: Any,
    tf_transform_output: tft.TFTransformOutput,
    batch_size: int,
) -> tf.data.Dataset:
    """Batches of (transformed features, label), repeated for step-based training."""
    return data_accessor.tf_dataset_factory(
        file_pattern,
        tfxio.TensorFlowDatasetOptions(
            batch_size=batch_size, label_key=transformed_name(LABEL_KEY)
        ),
        tf_transform_output.transformed_metadata.schema,
    ).repeat()


def _build_keras_model() -> tf.keras.Model:
    inputs = [tf.keras.layers.Input(shape=(1,), name=transformed_name(key)) for key in FEATURE_KEYS]
    hidden = tf.keras.layers.concatenate(inputs)
    for units in HIDDEN_UNITS:
        hidden = tf.keras.layers.Dense(units, activation="relu")(hidden)
    outputs = tf.keras.layers.Dense(NUM_CLASSES, activation="softmax")(hidden)
    model = tf.keras.Model(inputs=inputs, outputs=outputs)
    model.compile(
        optimizer=tf.keras.optimizers.Adam(LEARNING_RATE),
        loss=tf.keras.losses.SparseCategoricalCrossentropy(),
        metrics=[tf.keras.metrics.SparseCategoricalAccuracy()],
    )
    model.summary(print_fn=logging.info)
    return model


def _serving_signature(model: tf.keras.Model, tf_transform_output: tft.TFTransformOutput) -> Any:
    # Tracked on the model so that model.save() exports the Transform graph's assets with it.
    model.tft_layer = tf_transform_output.transform_features_layer()

    @tf.function(input_signature=[tf.TensorSpec(shape=[None], dtype=tf.string, name="examples")])
    def serve_tf_examples_fn(serialized_examples: tf.Tensor) -> dict[str, tf.Tensor]:
        raw_feature_spec = tf_transform_output.raw_feature_spec()
        raw_feature_spec.pop(LABEL_KEY)  # absent at serving time
        raw_features = tf.io.parse_example(serialized_examples, raw_feature_spec)
        transformed = model.tft_layer(raw_features)
        return {"outputs": model(transformed)}

    return serve_tf_examples_fn


def _transform_features_signature(
    model: tf.keras.Model, tf_transform_output: tft.TFTransformOutput
) -> Any:
    """Raw examples in, transformed features out: TFMA's preprocessing function."""
    model.tft_layer_eval = tf_transform_output.transform_features_layer()

    @tf.function(input_signature=[tf.TensorSpec(shape=[None], dtype=tf.string, name="examples")])
    def transform_features_fn(serialized_examples: tf.Tensor) -> dict[str, tf.Tensor]:
        raw_features = tf.io.parse_example(
            serialized_examples, tf_transform_output.raw_feature_spec()
        )
        return model.tft_layer_eval(raw_features)

    return transform_features_fn


def run_fn(fn_args: Any) -> None:
    """Train on the transformed examples and export the serving SavedModel.

    ``fn_args.custom_config`` may set ``distribution_strategy`` and ``cpu_replicas``.
    """
    name, cpu_replicas = strategy_settings(fn_args.custom_config)
    strategy = distribution_strategy(name, cpu_replicas=cpu_replicas)  # before any TF op
    replicas = strategy.num_replicas_in_sync
    tf_transform_output = tft.TFTransformOutput(fn_args.transform_output)
    train_dataset = _input_fn(
        fn_args.train_files, fn_args.data_accessor, tf_transform_output, TRAIN_BATCH_SIZE * replicas
    )
    eval_dataset = _input_fn(
        fn_args.eval_files, fn_args.data_accessor, tf_transform_output, EVAL_BATCH_SIZE * replicas
    )
    with strategy.scope():
        model = _build_keras_model()
    model.fit(
        train_dataset,
        steps_per_epoch=fn_args.train_steps,
        validation_data=eval_dataset,
        validation_steps=fn_args.eval_steps,
        callbacks=[tf.keras.callbacks.TensorBoard(log_dir=fn_args.model_run_dir)],
    )
    signatures = {
        "serving_default": _serving_signature(model, tf_transform_output),
        "transform_features": _transform_features_signature(model, tf_transform_output),
    }
    model.save(fn_args.serving_model_dir, save_format="tf", signatures=signatures)
