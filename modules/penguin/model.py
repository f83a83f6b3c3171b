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

from modules.penguin.features import FEATURE_KEYS, LABEL_KEY, NUM_CLASSES, transformed_name
from tfx_dags.keras_export import transform_signatures, transformed_dataset
from tfx_dags.training import distribution_strategy, strategy_settings

BATCH_SIZE = 32
HIDDEN_UNITS = (16, 16)
LEARNING_RATE = 1e-2


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


def run_fn(fn_args: Any) -> None:
    """Train on the transformed examples and export the serving SavedModel.

    ``fn_args.custom_config`` may set ``distribution_strategy`` and ``cpu_replicas``.
    """
    name, cpu_replicas = strategy_settings(fn_args.custom_config)
    strategy = distribution_strategy(name, cpu_replicas=cpu_replicas)  # before any TF op
    tf_transform_output = tft.TFTransformOutput(fn_args.transform_output)

    def dataset(files: list[str]) -> tf.data.Dataset:
        return transformed_dataset(
            files,
            fn_args.data_accessor,
            tf_transform_output,
            label_key=transformed_name(LABEL_KEY),
            batch_size=BATCH_SIZE * strategy.num_replicas_in_sync,
        )

    with strategy.scope():
        model = _build_keras_model()
    model.fit(
        dataset(fn_args.train_files),
        steps_per_epoch=fn_args.train_steps,
        validation_data=dataset(fn_args.eval_files),
        validation_steps=fn_args.eval_steps,
        callbacks=[tf.keras.callbacks.TensorBoard(log_dir=fn_args.model_run_dir)],
    )
    signatures = transform_signatures(model, tf_transform_output, label_key=LABEL_KEY)
    model.save(fn_args.serving_model_dir, save_format="tf", signatures=signatures)
