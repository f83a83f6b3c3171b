"""Native Keras trainer (``run_fn``) for the taxi-style pipeline: one-hot ids and z-scored
numbers into a small DNN with a sigmoid output."""

from __future__ import annotations

from typing import Any

import tensorflow as tf
from absl import logging

from modules.taxi.features import (
    DENSE_FLOAT_FEATURE_KEYS,
    LABEL_KEY,
    categorical_sizes,
    transformed_name,
)
from tfx_dags.authoring.keras_export import fit_and_export

BATCH_SIZE = 64
HIDDEN_UNITS = (32, 16)
LEARNING_RATE = 1e-2


def _build_keras_model() -> tf.keras.Model:
    numeric = [
        tf.keras.layers.Input(shape=(1,), name=transformed_name(key))
        for key in DENSE_FLOAT_FEATURE_KEYS
    ]
    ids = {
        key: tf.keras.layers.Input(shape=(1,), name=key, dtype=tf.int64)
        for key in categorical_sizes()
    }
    one_hot = [
        tf.keras.layers.CategoryEncoding(num_tokens=size, output_mode="one_hot")(ids[key])
        for key, size in categorical_sizes().items()
    ]
    hidden = tf.keras.layers.concatenate([*numeric, *one_hot])
    for units in HIDDEN_UNITS:
        hidden = tf.keras.layers.Dense(units, activation="relu")(hidden)
    output = tf.keras.layers.Dense(1, activation="sigmoid")(hidden)
    model = tf.keras.Model(inputs=[*numeric, *ids.values()], outputs=output)
    model.compile(
        optimizer=tf.keras.optimizers.Adam(LEARNING_RATE),
        loss=tf.keras.losses.BinaryCrossentropy(),
        metrics=[tf.keras.metrics.BinaryAccuracy()],
    )
    model.summary(print_fn=logging.info)
    return model


def run_fn(fn_args: Any) -> None:
    """Train on the transformed examples and export the serving SavedModel."""
    fit_and_export(
        fn_args,
        _build_keras_model,
        label_key=LABEL_KEY,
        transformed_label_key=transformed_name(LABEL_KEY),
        batch_size=BATCH_SIZE,
    )
