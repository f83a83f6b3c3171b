from __future__ import annotations

from tfx_dags.mlmd.records import Artifact
from tfx_dags.runner.span_window import by_span


def examples(artifact_id: int, **custom: object) -> Artifact:
    return Artifact(artifact_id, "Examples", f"/e/{artifact_id}", "LIVE", 0, {}, custom)


def test_each_span_is_its_newest_version_then_its_newest_artifact() -> None:
    chosen = by_span(
        [
            examples(1, span=10),
            examples(2, span=10),  # ingested again, no version spec: the newer wins
            examples(3, span=11, version=2),
            examples(4, span=11, version=1),  # an older version, written later
            examples(5),  # no span: not ExampleGen's
        ]
    )
    assert {span: artifact.id for span, artifact in chosen.items()} == {10: 2, 11: 3}
