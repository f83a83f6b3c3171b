"""Wide-and-deep Estimator (``trainer_fn``): a linear part over the categorical ids and a DNN
over the z-scored numbers, described with feature columns."""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from modules.taxi.features import (
    DENSE_FLOAT_FEATURE_KEYS,
    LABEL_KEY,
    categorical_sizes,
    transformed_name,
)
from tfx_dags.authoring.estimators import training_spec

HIDDEN_UNITS = [32, 16]
LEARNING_RATE = 1e-2
LINEAR_LEARNING_RATE = 5e-2


def _build_estimator(config: tf.estimator.RunConfig) -> tf.estimator.Estimator:
    categorical = [
        tf.feature_column.categorical_column_with_identity(key, num_buckets=size, default_value=0)
        for key, size in categorical_sizes().items()
    ]
    numeric = [
        tf.feature_column.numeric_column(transformed_name(key)) for key in DENSE_FLOAT_FEATURE_KEYS
    ]
    return tf.estimator.DNNLinearCombinedClassifier(
        linear_feature_columns=categorical,
        dnn_feature_columns=numeric,
        dnn_hidden_units=HIDDEN_UNITS,
        # Adam on both parts: the canned FTRL/Adagrad defaults need thousands of steps here.
        linear_optimizer=tf.keras.optimizers.legacy.Adam(learning_rate=LINEAR_LEARNING_RATE),
        dnn_optimizer=tf.keras.optimizers.legacy.Adam(learning_rate=LEARNING_RATE),
        config=config,
    )


def trainer_fn(trainer_fn_args: Any, schema: Any) -> dict[str, Any]:
    """Return the wide-and-deep Estimator, its specs and the EvalInputReceiver builder."""
    return training_spec(
        trainer_fn_args,
        schema,
        _build_estimator,
        label_key=LABEL_KEY,
        transformed_label_key=transformed_name(LABEL_KEY),
        name="taxi",
        batch_size=64,
    )
