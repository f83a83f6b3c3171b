"""Feature keys of the taxi-style data and how Transform treats each; free of TensorFlow."""

from __future__ import annotations

# Filled where missing, then z-scored.
DENSE_FLOAT_FEATURE_KEYS = ("trip_miles", "fare", "trip_seconds")
# Quantile-bucketized into FEATURE_BUCKET_COUNT buckets (besides their z-score).
BUCKET_FEATURE_KEYS = ("trip_miles", "fare")
FEATURE_BUCKET_COUNT = 8
# Strings mapped to ids by a vocabulary of the VOCAB_SIZE most frequent values.
VOCAB_FEATURE_KEYS = ("payment_type", "company")
VOCAB_SIZE = 20
OOV_SIZE = 2
# Integers already in a small range, used as ids.
CATEGORICAL_FEATURE_KEYS = ("trip_start_hour", "pickup_community_area")
MAX_CATEGORICAL_FEATURE_VALUES = (24, 78)
LABEL_KEY = "big_tipper"


def transformed_name(key: str) -> str:
    return f"{key}_xf"


def bucket_name(key: str) -> str:
    return f"{key}_bucket_xf"


def categorical_sizes() -> dict[str, int]:
    """Every transformed id feature and the number of ids it can take."""
    sizes = {transformed_name(k): VOCAB_SIZE + OOV_SIZE for k in VOCAB_FEATURE_KEYS}
    sizes |= {bucket_name(k): FEATURE_BUCKET_COUNT for k in BUCKET_FEATURE_KEYS}
    sizes |= {
        transformed_name(k): size
        for k, size in zip(CATEGORICAL_FEATURE_KEYS, MAX_CATEGORICAL_FEATURE_VALUES, strict=True)
    }
    return sizes
