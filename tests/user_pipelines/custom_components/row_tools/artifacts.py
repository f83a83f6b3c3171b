"""The artifact type RowCounter writes."""

from tfx.types import artifact


class RowCounts(artifact.Artifact):
    """Examples per split, in ``counts.json``; the total as the custom property ``total``."""

    TYPE_NAME = "RowCounts"
