"""The TFX view's page templates, rendered with hand-made data: what ML Metadata holds is
escaped, links are built from quoted ids. (tests/integration/test_tfx_view.py renders real
runs through the api-server.)"""

from __future__ import annotations

from typing import Any

from tfx_dags.ui.app import _sections, _serving, _templates

HOSTILE = '<script>alert("x")</script>'


def artifact(artifact_id: int, kind: str, **properties: Any) -> dict[str, Any]:
    return {
        "id": artifact_id,
        "type": kind,
        "uri": f"/root/{kind}/{artifact_id}",
        "path": f"{kind}/{artifact_id}",
        "readable": True,
        "state": "LIVE",
        "created_ms": 0,
        "properties": properties,
    }


def run_summary() -> dict[str, Any]:
    evaluation = {
        "kind": "evaluation",
        "slices": [{"slice": "Overall", "metrics": {"candidate": {"accuracy": 0.5}}}],
        "models": {"candidate": "/root/Trainer/model/1"},
        "validation": {"ok": False, "checks": [], "missing_slices": []},
    }
    return {
        "pipeline": "p",
        "root": "/root",
        "run_id": "manual__2026-01-01T00:00:00+00:00",
        "nodes": [
            {
                "node_id": "Evaluator",
                "type": "Evaluator",
                "state": "COMPLETE",
                "cached": False,
                "attempts": ["FAILED", "COMPLETE"],
                "execution_id": 7,
                "started_ms": 0,
                "finished_ms": 1,
                "properties": {"note": HOSTILE},
                "inputs": {},
                "outputs": {
                    "evaluation": [artifact(3, "ModelEvaluation")],
                    "blessing": [artifact(4, "ModelBlessing", blessed=0, comment=HOSTILE)],
                },
            }
        ],
        "summaries": {"3": evaluation},
    }


def test_the_run_page_escapes_what_ml_metadata_holds() -> None:
    summary = run_summary()
    html = (
        _templates()
        .get_template("run.html")
        .render(base="/tfx", airflow="", r=summary, dag_run=None, **_sections(summary))
    )
    assert HOSTILE not in html and "&lt;script&gt;" in html
    # The run id is quoted in links, the attempts are listed, the verdict shown.
    assert "/tfx/pipelines/p/evaluations/3/plots/accuracy.svg" in html
    assert 'id="validation-result">failed' in html and "attempts: FAILED, COMPLETE" in html
    assert 'id="node-Evaluator"' in html


def test_serving_is_the_model_of_the_newest_push() -> None:
    old, new = artifact(10, "PushedModel", pushed=1), artifact(12, "PushedModel", pushed=1)
    models = [
        {"id": 2, "pushes": [new], "metrics": {}},
        {"id": 1, "pushes": [old], "metrics": {}},
    ]
    serving = _serving({"models": models})
    assert serving is not None and serving["model"]["id"] == 2 and serving["push"]["id"] == 12
    assert _serving({"models": [{"id": 1, "pushes": []}]}) is None
