"""SVG metric plots and the file checks of the TFX view, on hand-made inputs (edge cases);
tests/integration/test_tfx_view.py draws a real evaluation."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from tfx_dags.common.settings import pipeline_root
from tfx_dags.ui import plots
from tfx_dags.ui.app import _inside_artifact
from tfx_dags.ui.source import PageNotFound

SVG = {"svg": "http://www.w3.org/2000/svg"}


def evaluation(slices: dict[str, dict[str, dict[str, float]]], checks: Any = ()) -> dict[str, Any]:
    return {
        "slices": [{"slice": name, "metrics": metrics} for name, metrics in slices.items()],
        "validation": {"ok": True, "checks": list(checks)},
    }


def bars(svg: str) -> dict[tuple[str, str], float]:
    root = ET.fromstring(svg)
    return {
        (bar.get("data-slice"), bar.get("class")): float(bar.get("data-value"))
        for bar in root.findall(".//svg:rect[@data-slice]", SVG)
    }


def test_metric_names_are_the_candidates_metrics_of_every_slice() -> None:
    found = evaluation(
        {"Overall": {"candidate": {"b": 1.0, "a": 2.0}}, "x:1": {"candidate": {"c": 3.0}}}
    )
    assert plots.metric_names(found) == ["a", "b", "c"]


def test_slice_names_are_escaped() -> None:
    hostile = '<script>alert("x")</script> & "quotes"'
    svg = plots.metric_svg(evaluation({hostile: {"candidate": {"m": 0.5}}}), "m")
    assert "<script>" not in svg
    assert bars(svg) == {(hostile, "bar candidate"): 0.5}


def test_an_unknown_metric_is_a_plot_error_naming_the_known_ones() -> None:
    with pytest.raises(plots.PlotError, match=r"no metric 'auc'; it has \['accuracy'\]"):
        plots.metric_svg(evaluation({"Overall": {"candidate": {"accuracy": 0.9}}}), "auc")


def test_counts_get_an_axis_above_their_largest_value() -> None:
    svg = plots.metric_svg(
        evaluation(
            {
                "Overall": {
                    "candidate": {"example_count": 342.0},
                    "baseline": {"example_count": 300.0},
                }
            }
        ),
        "example_count",
    )
    root = ET.fromstring(svg)
    ticks = [
        float(t.text)
        for t in root.findall("svg:text", SVG)
        if t.get("text-anchor") == "end" and t.text and t.text.replace(".", "").isdigit()
    ]
    assert max(ticks) >= 342 and min(ticks) == 0
    assert bars(svg) == {("Overall", "bar candidate"): 342.0, ("Overall", "bar baseline"): 300.0}


def test_negative_values_hang_below_zero_and_nan_draws_no_bar() -> None:
    svg = plots.metric_svg(
        evaluation(
            {
                "a": {"candidate": {"d": -0.5}},
                "b": {"candidate": {"d": 1.0}},
                "c": {"candidate": {"d": float("nan")}},
            }
        ),
        "d",
    )
    root = ET.fromstring(svg)
    drawn = {bar.get("data-slice"): bar for bar in root.findall(".//svg:rect[@data-slice]", SVG)}
    assert set(drawn) == {"a", "b"}
    # The negative bar starts where the positive one ends: at zero.
    a, b = drawn["a"], drawn["b"]
    assert float(a.get("y")) == pytest.approx(float(b.get("y")) + float(b.get("height")), abs=0.2)


def test_value_thresholds_are_drawn_as_dashed_lines() -> None:
    checks = [
        {"metric": "m", "slice": "Overall", "kind": "value", "threshold": {"lowerBound": 0.9}},
        {"metric": "m", "slice": "Overall", "kind": "change", "threshold": {"absolute": -1e-10}},
        {"metric": "other", "slice": "Overall", "kind": "value", "threshold": {"upperBound": 5}},
    ]
    svg = plots.metric_svg(evaluation({"Overall": {"candidate": {"m": 0.95}}}, checks), "m")
    root = ET.fromstring(svg)
    [line] = root.findall(".//svg:line[@class='threshold']", SVG)
    assert line.get("stroke-dasharray")
    assert "lower bound 0.9" in svg and "upper bound" not in svg


@pytest.fixture
def artifact(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setenv("TFX_DAGS_HOME", str(tmp_path))
    uri = tmp_path / "pipelines" / "p" / "SchemaGen" / "schema" / "3"
    (uri / "sub").mkdir(parents=True)
    (uri / "schema.pbtxt").write_text("feature {}")
    (tmp_path / "secret").write_text("x")
    (uri / "link").symlink_to(tmp_path / "secret")
    return {"id": 3, "uri": str(uri), "readable": True}


def test_files_inside_the_artifact_are_found(artifact: dict[str, Any]) -> None:
    root = pipeline_root("p")
    uri = Path(artifact["uri"])
    assert _inside_artifact(root, artifact, "schema.pbtxt") == uri / "schema.pbtxt"
    assert _inside_artifact(root, artifact, "") == uri
    assert _inside_artifact(root, artifact, "sub/../schema.pbtxt").name == "schema.pbtxt"


@pytest.mark.parametrize("relative", ["../../../../../secret", "link", "/etc/passwd", "missing"])
def test_paths_leaving_the_artifact_are_not_found(artifact: dict[str, Any], relative: str) -> None:
    with pytest.raises(PageNotFound, match="has no file"):
        _inside_artifact(pipeline_root("p"), artifact, relative)


def test_an_artifact_of_another_pipeline_root_is_never_opened(artifact: dict[str, Any]) -> None:
    # The same artifact seen from another pipeline: outside that pipeline's root.
    with pytest.raises(PageNotFound, match="has no file"):
        _inside_artifact(pipeline_root("other"), artifact, "schema.pbtxt")
    with pytest.raises(PageNotFound, match="outside the pipeline root"):
        _inside_artifact(pipeline_root("p"), {**artifact, "readable": False}, "schema.pbtxt")
