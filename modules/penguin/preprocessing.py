"""The Transform component's preprocessing_fn for the penguin pipeline."""

from __future__ import annotations

from typing import Any

import tensorflow_transform as tft

from modules.penguin.features import FEATURE_KEYS, LABEL_KEY, transformed_name


def preprocessing_fn(inputs: dict[str, Any]) -> dict[str, Any]:
    """z-score every measurement; pass the label through (transforming it breaks evaluation)."""
    outputs = {transformed_name(key): tft.scale_to_z_score(inputs[key]) for key in FEATURE_KEYS}
    outputs[transformed_name(LABEL_KEY)] = inputs[LABEL_KEY]
    return outputs
