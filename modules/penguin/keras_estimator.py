"""Keras model wrapped as an Estimator with ``tf.keras.estimator.model_to_estimator``
(``trainer_fn``, TFX's Estimator executor); everything else is the Estimator pipeline's."""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from modules.penguin.features import FEATURE_KEYS, LABEL_KEY, NUM_CLASSES, transformed_name
from tfx_dags.authoring.estimators import training_spec

HIDDEN_UNITS = (16, 16)
LEARNING_RATE = 1e-2


def _build_keras_model() -> tf.keras.Model:
    inputs = [tf.keras.layers.Input(shape=(1,), name=transformed_name(key)) for key in FEATURE_KEYS]
    hidden = tf.keras.layers.concatenate(inputs)
    for units in HIDDEN_UNITS:
        hidden = tf.keras.layers.Dense(units, activation="relu")(hidden)
    outputs = tf.keras.layers.Dense(NUM_CLASSES, activation="softmax", name="species")(hidden)
    model = tf.keras.Model(inputs=inputs, outputs=outputs)
    # model_to_estimator needs a legacy optimizer; "accuracy" becomes the Estimator's metric.
    model.compile(
        optimizer=tf.keras.optimizers.legacy.Adam(learning_rate=LEARNING_RATE),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def _build_estimator(config: tf.estimator.RunConfig) -> tf.estimator.Estimator:
    return tf.keras.estimator.model_to_estimator(keras_model=_build_keras_model(), config=config)


def trainer_fn(trainer_fn_args: Any, schema: Any) -> dict[str, Any]:
    """Return the wrapped Keras model, its specs and the EvalInputReceiver builder."""
    return training_spec(
        trainer_fn_args,
        schema,
        _build_estimator,
        label_key=LABEL_KEY,
        transformed_label_key=transformed_name(LABEL_KEY),
        name="penguin",
    )
