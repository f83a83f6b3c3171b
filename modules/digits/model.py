"""Native Keras CNN (``run_fn``) for the digits, exported as a SavedModel and as TFLite.

The SavedModel's ``serving_default`` takes serialized raw ``tf.Example``s (64 pixel columns)
and applies Transform; the TFLite model, written to ``tflite/model.tflite`` inside the
SavedModel folder so that the Pusher pushes both, takes the transformed image (64 floats in
[0, 1]), as an on-device client that reads pixels directly would.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import tensorflow as tf
from absl import logging

from modules.digits.features import (
    IMAGE_KEY,
    IMAGE_SIDE,
    LABEL_KEY,
    NUM_CLASSES,
    TFLITE_PATH,
    transformed_name,
)
from tfx_dags.authoring.keras_export import fit_and_export

BATCH_SIZE = 32
LEARNING_RATE = 3e-3


def _build_keras_model() -> tf.keras.Model:
    image = tf.keras.layers.Input(shape=(IMAGE_SIDE * IMAGE_SIDE,), name=IMAGE_KEY)
    x = tf.keras.layers.Reshape((IMAGE_SIDE, IMAGE_SIDE, 1))(image)
    x = tf.keras.layers.Conv2D(16, 3, padding="same", activation="relu")(x)
    x = tf.keras.layers.MaxPooling2D()(x)
    x = tf.keras.layers.Conv2D(32, 3, padding="same", activation="relu")(x)
    x = tf.keras.layers.Flatten()(x)
    x = tf.keras.layers.Dense(64, activation="relu")(x)
    outputs = tf.keras.layers.Dense(NUM_CLASSES, activation="softmax")(x)
    model = tf.keras.Model(inputs=image, outputs=outputs)
    model.compile(
        optimizer=tf.keras.optimizers.Adam(LEARNING_RATE),
        loss=tf.keras.losses.SparseCategoricalCrossentropy(),
        metrics=[tf.keras.metrics.SparseCategoricalAccuracy()],
    )
    model.summary(print_fn=logging.info)
    return model


def _write_tflite(model: tf.keras.Model, path: Path) -> None:
    @tf.function(
        input_signature=[tf.TensorSpec([None, IMAGE_SIDE * IMAGE_SIDE], tf.float32, name="image")]
    )
    def classify(image: tf.Tensor) -> tf.Tensor:
        return model(image)

    converter = tf.lite.TFLiteConverter.from_concrete_functions(
        [classify.get_concrete_function()], model
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(converter.convert())
    logging.info("Wrote TFLite model %s", path)


def run_fn(fn_args: Any) -> None:
    """Train the CNN, export the SavedModel, then the TFLite model beside it."""
    model = fit_and_export(
        fn_args,
        _build_keras_model,
        label_key=LABEL_KEY,
        transformed_label_key=transformed_name(LABEL_KEY),
        batch_size=BATCH_SIZE,
    )
    _write_tflite(model, Path(fn_args.serving_model_dir) / TFLITE_PATH)
