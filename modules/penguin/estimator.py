"""Estimator trainer (``trainer_fn``, TFX's Estimator executor): a DNNClassifier over the
transformed features, described with feature columns."""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from modules.penguin.features import FEATURE_KEYS, LABEL_KEY, NUM_CLASSES, transformed_name
from tfx_dags.authoring.estimators import training_spec

HIDDEN_UNITS = [16, 16]
LEARNING_RATE = 1e-2


def _build_estimator(config: tf.estimator.RunConfig) -> tf.estimator.Estimator:
    return tf.estimator.DNNClassifier(
        hidden_units=HIDDEN_UNITS,
        feature_columns=[
            tf.feature_column.numeric_column(transformed_name(key)) for key in FEATURE_KEYS
        ],
        n_classes=NUM_CLASSES,
        optimizer=tf.keras.optimizers.legacy.Adam(learning_rate=LEARNING_RATE),
        config=config,
    )


def trainer_fn(trainer_fn_args: Any, schema: Any) -> dict[str, Any]:
    """Return the Estimator, its train and eval specs and the EvalInputReceiver builder."""
    return training_spec(
        trainer_fn_args,
        schema,
        _build_estimator,
        label_key=LABEL_KEY,
        transformed_label_key=transformed_name(LABEL_KEY),
        name="penguin",
    )
