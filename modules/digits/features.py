"""Feature keys of the digits data; free of TensorFlow."""

from __future__ import annotations

IMAGE_SIDE = 8
PIXEL_KEYS = tuple(f"pixel_{i:02d}" for i in range(IMAGE_SIDE * IMAGE_SIDE))
MAX_INTENSITY = 16.0
LABEL_KEY = "digit"
NUM_CLASSES = 10
IMAGE_KEY = "image_xf"  # the transformed image: 64 intensities in [0, 1], row by row
TFLITE_PATH = "tflite/model.tflite"  # inside the exported (and pushed) SavedModel folder


def transformed_name(key: str) -> str:
    return f"{key}_xf"
