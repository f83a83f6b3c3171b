"""The Transform component's preprocessing_fn: 64 pixel columns -> one image vector."""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from modules.digits.features import (
    IMAGE_KEY,
    LABEL_KEY,
    MAX_INTENSITY,
    PIXEL_KEYS,
    transformed_name,
)


def preprocessing_fn(inputs: dict[str, Any]) -> dict[str, Any]:
    pixels = [tf.reshape(tf.cast(inputs[key], tf.float32), [-1]) for key in PIXEL_KEYS]
    return {
        IMAGE_KEY: tf.stack(pixels, axis=1) / MAX_INTENSITY,
        transformed_name(LABEL_KEY): tf.reshape(inputs[LABEL_KEY], [-1]),
    }
