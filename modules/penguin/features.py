"""Feature keys of the penguin data; free of TensorFlow so anything may import it."""

from __future__ import annotations

FEATURE_KEYS = ("bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g")
LABEL_KEY = "species"
NUM_CLASSES = 3  # 0 Adelie, 1 Chinstrap, 2 Gentoo


def transformed_name(key: str) -> str:
    return f"{key}_xf"
