"""Native Keras trainer (GenericExecutor ``run_fn``) for the penguin pipeline.

The exported ``serving_default`` signature takes serialized raw ``tf.Example``s, applies the
Transform graph through ``TransformFeaturesLayer`` and returns the three class probabilities,
so clients never reimplement the preprocessing.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf
from absl import logging

from modules.penguin.features import FEATURE_KEYS, LABEL_KEY, NUM_CLASSES, transformed_name
from tfx_dags.authoring.keras_export import fit_and_export

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
    fit_and_export(
        fn_args,
        _build_keras_model,
        label_key=LABEL_KEY,
        transformed_label_key=transformed_name(LABEL_KEY),
        batch_size=BATCH_SIZE,
        callbacks=[tf.keras.callbacks.TensorBoard(log_dir=fn_args.model_run_dir)],
    )
