"""The Transform component's preprocessing_fn for the taxi-style pipeline."""

from __future__ import annotations

from typing import Any

import tensorflow as tf
import tensorflow_transform as tft

from modules.taxi.features import (
    BUCKET_FEATURE_KEYS,
    CATEGORICAL_FEATURE_KEYS,
    DENSE_FLOAT_FEATURE_KEYS,
    FEATURE_BUCKET_COUNT,
    LABEL_KEY,
    OOV_SIZE,
    VOCAB_FEATURE_KEYS,
    VOCAB_SIZE,
    bucket_name,
    transformed_name,
)


def _fill_in_missing(x: Any, default: Any) -> tf.Tensor:
    """A rank-1 dense tensor: missing values (sparse inputs) replaced by ``default``."""
    if isinstance(x, tf.sparse.SparseTensor):
        x = tf.sparse.to_dense(
            tf.SparseTensor(x.indices, x.values, [x.dense_shape[0], 1]), default_value=default
        )
    return tf.reshape(x, [-1])


def preprocessing_fn(inputs: dict[str, Any]) -> dict[str, Any]:
    outputs = {}
    for key in DENSE_FLOAT_FEATURE_KEYS:
        outputs[transformed_name(key)] = tft.scale_to_z_score(
            _fill_in_missing(tf.cast(inputs[key], tf.float32), 0.0)
        )
    for key in BUCKET_FEATURE_KEYS:
        outputs[bucket_name(key)] = tft.bucketize(
            _fill_in_missing(tf.cast(inputs[key], tf.float32), 0.0), FEATURE_BUCKET_COUNT
        )
    for key in VOCAB_FEATURE_KEYS:
        outputs[transformed_name(key)] = tft.compute_and_apply_vocabulary(
            _fill_in_missing(inputs[key], ""), top_k=VOCAB_SIZE, num_oov_buckets=OOV_SIZE
        )
    for key in CATEGORICAL_FEATURE_KEYS:
        outputs[transformed_name(key)] = _fill_in_missing(inputs[key], 0)
    outputs[transformed_name(LABEL_KEY)] = _fill_in_missing(inputs[LABEL_KEY], 0)
    return outputs
