"""The TFX view (plugins/tfx_view.py) on a real deployment after two real penguin runs.

The project's own dags/ folder, a scheduler and an api-server on PostgreSQL, ML Metadata on
MariaDB through the Airflow connection. Run 1 trains, blesses and pushes model A. Run 2,
triggered with ``train_steps=1``, reuses every data node from the cache, trains a barely
trained model B and evaluates it against A: both thresholds fail, nothing is pushed. The
queries, plots, pages, extra links and the refusal of anonymous requests are checked
against that store; the browser test drives the UI in headless Chromium.
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.browser import Browser, require_browser
from tests.support.deployment import (
    ADMIN_PASSWORD,
    Databases,
    Deployment,
    free_port,
    require_services,
)
from tfx_dags.common import settings
from tfx_dags.ui import plots
from tfx_dags.ui.dag_pipelines import DagPipelines
from tfx_dags.ui.source import PageNotFound, ViewSource, ViewSourceError

DAG_ID = "penguin_keras"
DATA_CSV = settings.PROJECT_ROOT / "data" / "penguin" / "penguins.csv"
CACHED_IN_RUN_2 = {"CsvExampleGen", "StatisticsGen", "SchemaGen", "ExampleValidator", "Transform"}
# Screenshots of the browser test, outside the checkout (the suite writes nothing there).
ARTIFACTS = Path(
    os.environ.get("TFX_DAGS_TEST_ARTIFACTS")
    or Path(tempfile.gettempdir()) / f"tfx-dags-tests-{os.getuid()}" / "artifacts"
)


class ViewRuns:
    def __init__(self, deployment: Deployment) -> None:
        self.deployment = deployment
        deployment.wait_for_dag(DAG_ID)
        self.run_ids = []
        for conf in ({}, {"train_steps": 1}):
            status, body = deployment.request(
                "POST", f"/api/v2/dags/{DAG_ID}/dagRuns", {"logical_date": None, "conf": conf}
            )
            assert status == 200, body
            self.run_ids.append(body["dag_run_id"])
            runs = deployment.wait_for_runs(DAG_ID, count=len(self.run_ids), timeout=900)
            states = {run["dag_run_id"]: run["state"] for run in runs}
            assert states[body["dag_run_id"]] == "success", deployment.logs_text()[-5000:]

    def get(self, path: str, *, token: str | None = None, accept: str = "") -> Any:
        """(status, headers, body) of a GET on the api-server, redirects not followed."""
        headers = {"Accept": accept} if accept else {}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.deployment.port}{path}", headers=headers
        )
        opener = urllib.request.build_opener(_NoRedirect)
        try:
            with opener.open(request, timeout=120) as response:
                return response.status, dict(response.headers), response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read().decode(errors="replace")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


@pytest.fixture(scope="module")
def view(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ViewRuns]:
    require_services("PostgreSQL", "MariaDB")
    deployment = Deployment(
        home=tmp_path_factory.mktemp("tfx-view"),
        dags_folder=settings.PROJECT_ROOT / "dags",
        databases=Databases(),
    )
    try:
        deployment.start()
        yield ViewRuns(deployment)
    finally:
        deployment.stop()


@pytest.fixture
def source(view: ViewRuns, monkeypatch: pytest.MonkeyPatch) -> ViewSource:
    """The view's own source, configured like the api-server: the deployment's home, its
    ML Metadata connection (an Airflow connection from the environment) and its Airflow
    metadata DB (where each DAG says which compile it runs)."""
    env = view.deployment.env
    for name in ("TFX_DAGS_HOME", "AIRFLOW_CONN_TFX_DAGS_METADATA"):
        monkeypatch.setenv(name, env[name])
    return ViewSource(DagPipelines(database=env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]))


def _path(*parts: str) -> str:
    return "/tfx/" + "/".join(urllib.parse.quote(part, safe="") for part in parts)


def _mlmd_checksums(view: ViewRuns) -> str:
    database = view.deployment.databases.name
    tables = subprocess.run(
        ["mariadb", "-uroot", "-N", "-e", f"SHOW TABLES FROM {database}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    listed = ", ".join(f"{database}.{table}" for table in tables)
    return subprocess.run(
        ["mariadb", "-uroot", "-N", "-e", f"CHECKSUM TABLE {listed} EXTENDED"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


# -- the ML Metadata queries ----------------------------------------------------------


def test_runs_show_each_node_state_and_the_cache_hits(view: ViewRuns, source: ViewSource) -> None:
    assert DAG_ID in source.pipelines()
    summary = source.pipeline(DAG_ID)
    first, second = view.run_ids
    # Newest first, with the Airflow run ids as TFX pipeline run ids.
    assert [run["run_id"] for run in summary["runs"]] == [second, first]
    nodes_1 = summary["runs"][1]["nodes"]
    nodes_2 = summary["runs"][0]["nodes"]
    assert {node: info["state"] for node, info in nodes_1.items()} == dict.fromkeys(
        nodes_1, "COMPLETE"
    )
    assert len(nodes_1) == 9
    assert {node for node, info in nodes_2.items() if info["cached"]} == CACHED_IN_RUN_2
    assert nodes_2["Trainer"]["state"] == "COMPLETE"  # other run parameters: trained again
    assert summary["root"] == str(Path(view.deployment.env["TFX_DAGS_HOME"]) / "pipelines" / DAG_ID)


def test_the_dag_says_which_compile_the_view_reads(view: ViewRuns, source: ViewSource) -> None:
    database = view.deployment.env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    compiled = DagPipelines(database=database).get(DAG_ID)
    assert compiled is not None and compiled.graph.pipeline_name == DAG_ID
    assert compiled.ir_path.is_file() and compiled.graph.metadata is None
    assert source.root(DAG_ID) == Path(compiled.graph.pipeline_root)


def test_model_history_has_the_blessed_and_pushed_model_and_the_rejected_one(
    view: ViewRuns, source: ViewSource
) -> None:
    model_b, model_a = source.pipeline(DAG_ID)["models"]  # newest first
    first, second = view.run_ids
    assert model_a["run_id"] == first and model_a["blessed"]
    assert model_a["metrics"]["sparse_categorical_accuracy"] >= 0.9
    [push] = model_a["pushes"]
    destination = Path(push["properties"]["pushed_destination"])
    assert destination.parent == Path(view.deployment.env["TFX_DAGS_HOME"]) / "serving" / DAG_ID
    assert (destination / "saved_model.pb").is_file()
    assert push["run_id"] == first

    assert model_b["run_id"] == second and not model_b["blessed"] and model_b["pushes"] == []
    [evaluation] = model_b["evaluations"]
    assert evaluation["baseline_model_id"] == model_a["id"]
    assert evaluation["blessing"]["properties"]["blessed"] == 0
    assert model_b["metrics"]["sparse_categorical_accuracy"] < 0.9


def test_run_lists_every_artifact_under_the_pipeline_root_with_its_properties(
    view: ViewRuns, source: ViewSource
) -> None:
    run = source.run(DAG_ID, view.run_ids[0])
    outputs = {
        (node["node_id"], key): artifacts[0]
        for node in run["nodes"]
        for key, artifacts in node["outputs"].items()
    }
    expected = {
        ("CsvExampleGen", "examples"): "Examples",
        ("StatisticsGen", "statistics"): "ExampleStatistics",
        ("SchemaGen", "schema"): "Schema",
        ("ExampleValidator", "anomalies"): "ExampleAnomalies",
        ("Transform", "transform_graph"): "TransformGraph",
        ("Trainer", "model"): "Model",
        ("Evaluator", "evaluation"): "ModelEvaluation",
        ("Evaluator", "blessing"): "ModelBlessing",
        ("Pusher", "pushed_model"): "PushedModel",
    }
    assert {key: outputs[key]["type"] for key in expected} == expected
    root = Path(run["root"])
    for artifact in outputs.values():
        assert artifact["readable"] and artifact["state"] == "LIVE"
        assert Path(artifact["uri"]) == root / artifact["path"]
    assert outputs[("Evaluator", "blessing")]["properties"]["blessed"] == 1
    assert outputs[("Pusher", "pushed_model")]["properties"]["pushed"] == 1
    assert (
        outputs[("CsvExampleGen", "examples")]["properties"]["split_names"] == '["train", "eval"]'
    )
    trainer = next(node for node in run["nodes"] if node["node_id"] == "Trainer")
    assert set(trainer["inputs"]) == {"examples", "schema", "transform_graph"}
    assert '"num_steps": 200' in trainer["properties"]["train_args"]


def test_statistics_schema_and_anomalies_summaries_match_the_data(
    view: ViewRuns, source: ViewSource
) -> None:
    run = source.run(DAG_ID, view.run_ids[0])
    by_node = {node["node_id"]: node for node in run["nodes"]}

    def summary_of(node: str, key: str) -> dict[str, Any]:
        artifact = by_node[node]["outputs"][key][0]
        return dict(run["summaries"][str(artifact["id"])])

    with DATA_CSV.open() as handle:
        rows = list(csv.DictReader(handle))
    statistics = summary_of("StatisticsGen", "statistics")
    assert {s["split"] for s in statistics["splits"]} == {"train", "eval"}
    assert sum(s["num_examples"] for s in statistics["splits"]) == len(rows)
    train = next(s for s in statistics["splits"] if s["split"] == "train")
    assert {f["name"] for f in train["features"]} == set(rows[0])
    masses = [float(row["body_mass_g"]) for row in rows]
    body_mass = next(f for f in train["features"] if f["name"] == "body_mass_g")
    assert min(masses) <= body_mass["min"] <= body_mass["mean"] <= body_mass["max"] <= max(masses)
    schema = summary_of("SchemaGen", "schema")
    assert {f["name"] for f in schema["features"]} == set(rows[0])
    anomalies = summary_of("ExampleValidator", "anomalies")
    assert anomalies["splits"] == ["eval", "train"] and anomalies["anomalies"] == []


def test_evaluation_shows_slices_and_which_threshold_failed_against_the_baseline(
    view: ViewRuns, source: ViewSource
) -> None:
    first, second = view.run_ids
    evaluations = []
    for run_id in view.run_ids:
        run = source.run(DAG_ID, run_id)
        evaluator = next(node for node in run["nodes"] if node["node_id"] == "Evaluator")
        evaluations.append(source.evaluation(DAG_ID, evaluator["outputs"]["evaluation"][0]["id"]))
    passed, failed = evaluations
    slices = [s["slice"] for s in failed["slices"]]
    assert slices == ["Overall", "species:0", "species:1", "species:2"]

    assert passed["validation"]["ok"] and "baseline" not in passed["models"]
    assert {(c["kind"], c["passed"]) for c in passed["validation"]["checks"]} == {("value", True)}

    assert not failed["validation"]["ok"]
    assert set(failed["models"]) == {"candidate", "baseline"}
    checks = {(c["slice"], c["kind"]): c for c in failed["validation"]["checks"]}
    # The thresholds apply to the overall slice only; both fail for the 1-step model.
    assert set(checks) == {("Overall", "value"), ("Overall", "change")}
    assert checks[("Overall", "value")]["threshold"] == {"lowerBound": 0.9}
    assert (
        not checks[("Overall", "value")]["passed"] and not checks[("Overall", "change")]["passed"]
    )
    overall = failed["slices"][0]["metrics"]
    accuracy = "sparse_categorical_accuracy"
    # The baseline is run 1's model on the same data: run 1's candidate figures.
    assert overall["baseline"][accuracy] == pytest.approx(
        passed["slices"][0]["metrics"]["candidate"][accuracy]
    )
    assert overall["diff"][accuracy] == pytest.approx(
        overall["candidate"][accuracy] - overall["baseline"][accuracy], abs=1e-6
    )
    assert checks[("Overall", "change")]["value"] == pytest.approx(overall["diff"][accuracy])


def test_an_artifact_of_another_pipeline_or_none_is_not_found(
    view: ViewRuns, source: ViewSource
) -> None:
    run = source.run(DAG_ID, view.run_ids[0])
    schema_gen = next(node for node in run["nodes"] if node["node_id"] == "SchemaGen")
    artifact_id = schema_gen["outputs"]["schema"][0]["id"]
    assert source.artifact(DAG_ID, artifact_id)["id"] == artifact_id
    with pytest.raises(PageNotFound, match="has no artifact"):
        source.artifact("penguin_estimator", artifact_id)
    with pytest.raises(PageNotFound, match="has no artifact"):
        source.artifact(DAG_ID, 10**9)
    with pytest.raises(PageNotFound, match="no run"):
        source.run(DAG_ID, "manual__never")


def test_plot_draws_each_slice_for_candidate_and_baseline_with_the_threshold(
    view: ViewRuns, source: ViewSource
) -> None:
    run = source.run(DAG_ID, view.run_ids[1])
    evaluator = next(node for node in run["nodes"] if node["node_id"] == "Evaluator")
    evaluation = source.evaluation(DAG_ID, evaluator["outputs"]["evaluation"][0]["id"])
    assert "sparse_categorical_accuracy" in plots.metric_names(evaluation)
    svg = ET.fromstring(plots.metric_svg(evaluation, "sparse_categorical_accuracy"))
    ns = {"svg": "http://www.w3.org/2000/svg"}
    bars = svg.findall(".//svg:rect[@data-slice]", ns)
    drawn = {
        (bar.get("data-slice"), bar.get("class")): float(bar.get("data-value")) for bar in bars
    }
    expected = {
        (s["slice"], f"bar {model}"): s["metrics"][model]["sparse_categorical_accuracy"]
        for s in evaluation["slices"]
        for model in ("candidate", "baseline")
    }
    assert drawn == pytest.approx(expected, rel=1e-5)
    # An accuracy is drawn on the whole 0-1 scale: bar height proportional to the value.
    plot_height = plots.HEIGHT - plots.MARGIN["top"] - plots.MARGIN["bottom"]
    for bar in bars:
        expected_height = max(plot_height * float(bar.get("data-value")), 0.5)
        assert float(bar.get("height")) == pytest.approx(expected_height, abs=0.1)
    [threshold] = svg.findall(".//svg:line[@class='threshold']", ns)
    assert "lower bound 0.9" in ET.tostring(svg, encoding="unicode")
    assert threshold.get("stroke-dasharray")


def test_the_view_only_reads_ml_metadata(view: ViewRuns, source: ViewSource) -> None:
    before = _mlmd_checksums(view)
    source.pipeline(DAG_ID)
    for run_id in view.run_ids:
        source.run(DAG_ID, run_id)
    token = view.deployment.token()
    for path in (
        _path(""),
        _path("pipelines", DAG_ID),
        _path("pipelines", DAG_ID, "runs", view.run_ids[1]),
    ):
        assert view.get(path, token=token)[0] == 200
    assert _mlmd_checksums(view) == before


# -- the pages, through the api-server -------------------------------------------------


def test_the_plugin_is_loaded_by_the_api_server(view: ViewRuns) -> None:
    status, plugins = view.deployment.request("GET", "/api/v2/plugins")
    assert status == 200, plugins
    [plugin] = [p for p in plugins["plugins"] if p["name"] == "tfx_dags"]
    assert plugin["fastapi_apps"][0]["url_prefix"] == "/tfx"
    assert {v["destination"] for v in plugin["external_views"]} == {"nav", "dag", "dag_run"}
    status, errors = view.deployment.request("GET", "/api/v2/plugins/importErrors")
    assert status == 200 and errors["total_entries"] == 0, errors


@pytest.mark.parametrize(
    "path",
    [
        _path(""),
        _path("pipelines", DAG_ID),
        _path("pipelines", DAG_ID, "runs", "any"),
        _path("pipelines", DAG_ID, "evaluations", "1", "plots", "loss.svg"),
        _path("pipelines", DAG_ID, "artifacts", "1", "files", ""),
    ],
)
def test_an_unauthenticated_request_is_refused(view: ViewRuns, path: str) -> None:
    status, _, body = view.get(path)
    assert (status, json.loads(body)) == (401, {"detail": "Not authenticated"})
    status, _, _ = view.get(path, token="not-a-token")
    assert status == 403
    # A browser is sent to the login page, and back afterwards.
    status, headers, _ = view.get(path, accept="text/html")
    assert status == 303
    login, _, query = headers["location"].partition("?")
    assert login == "/auth/login"
    back = urllib.parse.parse_qs(query)["next"]
    assert back == [f"http://127.0.0.1:{view.deployment.port}{path}"]


def test_pages_show_runs_models_and_evaluation(view: ViewRuns) -> None:
    token = view.deployment.token()
    first, second = view.run_ids
    status, _, index = view.get(_path(""), token=token)
    assert status == 200 and f'href="/tfx/pipelines/{DAG_ID}"' in index
    status, _, page = view.get(_path("pipelines", DAG_ID), token=token)
    assert status == 200
    assert first in page and second in page
    assert re.search(r'id="serving">Model <b>#\d+</b>', page)
    assert page.count('class="state blessed">blessed') >= 1 and "not blessed" in page
    status, _, run_page = view.get(_path("pipelines", DAG_ID, "runs", second), token=token)
    assert status == 200
    assert 'id="validation-result">failed' in run_page
    assert 'id="node-Trainer"' in run_page and "Transform (cached)" in run_page
    plot_urls = re.findall(r'<img src="([^"]+\.svg)"', run_page)
    assert plot_urls
    for url in plot_urls:
        status, headers, svg = view.get(url, token=token)
        assert status == 200 and headers["content-type"] == "image/svg+xml"
        assert ET.fromstring(svg).tag == "{http://www.w3.org/2000/svg}svg"
    # The api-server read each DAG's compile from its own metadata DB session.
    assert "Airflow's metadata DB not read" not in view.deployment.logs_text()


def test_files_are_served_from_inside_the_artifact_only(view: ViewRuns, source: ViewSource) -> None:
    token = view.deployment.token()
    run = source.run(DAG_ID, view.run_ids[0])
    schema = next(n for n in run["nodes"] if n["node_id"] == "SchemaGen")["outputs"]["schema"][0]
    files = ("pipelines", DAG_ID, "artifacts", str(schema["id"]), "files")
    status, _, listing = view.get(_path(*files, ""), token=token)
    assert status == 200 and "schema.pbtxt" in listing
    status, headers, text = view.get(_path(*files, "schema.pbtxt"), token=token)
    assert status == 200 and headers["content-type"].startswith("text/plain")
    assert text == (Path(schema["uri"]) / "schema.pbtxt").read_text()
    # Out of the artifact, out of the pipeline root, through a link: all not found.
    outside = Path(view.deployment.env["TFX_DAGS_HOME"]) / "secret.txt"
    outside.write_text("not for the view")
    link = Path(schema["uri"]) / "escape"
    link.symlink_to(outside)
    try:
        for relative in ("../../../../secret.txt", "escape", "/etc/passwd", "%2e%2e/%2e%2e/x"):
            status, _, body = view.get(
                "/tfx/" + "/".join(files) + "/" + urllib.parse.quote(relative, safe=""), token=token
            )
            assert status == 404, relative
            assert "not for the view" not in body
    finally:
        link.unlink()


def test_each_tfx_task_links_to_its_artifacts_in_the_view(view: ViewRuns) -> None:
    token = view.deployment.token()
    run_id = view.run_ids[0]
    for task_id in ("Trainer", "Evaluator"):
        status, links = view.deployment.request(
            "GET", f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/{task_id}/links"
        )
        assert status == 200, links
        url = links["extra_links"]["TFX artifacts"]
        assert url.endswith(f"#node-{task_id}")
        page_path = urllib.parse.urlsplit(url).path
        status, _, page = view.get(page_path, token=token)
        assert status == 200 and f'id="node-{task_id}"' in page


# -- in a browser ------------------------------------------------------------------------


def test_browser_logs_in_and_sees_the_run_the_blessed_model_and_a_plot(view: ViewRuns) -> None:
    require_browser()
    base = f"http://127.0.0.1:{view.deployment.port}"
    browser = Browser(port=free_port(), log=view.deployment.home / "logs" / "chromedriver.log")
    try:
        # The UI's TFX entry (navigation) sends an anonymous browser to the login form.
        browser.open(f"{base}/plugin/tfx")
        browser.type(browser.find("input[name=username]"), "admin")
        browser.type(browser.find("input[name=password]"), ADMIN_PASSWORD)
        browser.click(browser.find("button[type=submit]"))
        browser.wait_until("return !location.pathname.startsWith('/auth')", what="the login")
        browser.open(f"{base}/plugin/tfx")
        # Airflow shows the view in an iframe of its own page.
        browser.enter_frame(browser.find("iframe"))
        browser.click(browser.find(f"a[href='/tfx/pipelines/{DAG_ID}']"))
        browser.find("#models")
        first = view.run_ids[0]
        text = browser.script("return document.body.innerText")
        assert first in text and "blessed" in text and "never" in text
        assert browser.script("return document.querySelector('#serving b') !== null")
        browser.leave_frames()
        browser.screenshot(ARTIFACTS / "tfx_view_pipeline.png")
        browser.enter_frame(browser.find("iframe"))
        browser.click(browser.find(f"#runs a[href$='{urllib.parse.quote(first, safe='')}']"))
        browser.find("#validation-result")
        loaded = browser.wait_until(
            "const imgs = Array.from(document.querySelectorAll('.plots img'));"
            "return imgs.length && imgs.every(i => i.complete && i.naturalWidth > 0)"
            " ? imgs.map(i => i.src) : null",
            what="the evaluation plots",
        )
        assert any(src.endswith("sparse_categorical_accuracy.svg") for src in loaded)
        assert browser.text(browser.find("#validation-result")) == "passed"
        browser.script("document.querySelector('#evaluation').scrollIntoView()")
        browser.leave_frames()
        shot = browser.screenshot(ARTIFACTS / "tfx_view_run.png")
        assert shot.stat().st_size > 10_000
        # The second run, from the DAG run's own TFX tab: rejected against the baseline.
        second = urllib.parse.quote(view.run_ids[1], safe="")
        browser.open(f"{base}/dags/{DAG_ID}/runs/{second}/plugin/tfx-run")
        browser.enter_frame(browser.find("iframe"))
        assert browser.text(browser.find("#validation-result")) == "failed"
        text = browser.script("return document.querySelector('table.checks').innerText")
        assert text.count("failed") == 2 and "candidate − baseline" in text
        browser.script("document.querySelector('#evaluation').scrollIntoView()")
        browser.leave_frames()
        browser.screenshot(ARTIFACTS / "tfx_view_rejected_run.png")
        print(f"screenshots: {ARTIFACTS}")
    finally:
        browser.close()


def test_an_unreachable_store_is_a_clear_error_without_the_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_TFX_DAGS_METADATA", "mysql://view:s3cret-pw@127.0.0.1:1/mlmd")
    where = "reading pipelines failed: ML Metadata at MySQL 127.0.0.1:1/mlmd: RuntimeError"
    with pytest.raises(ViewSourceError, match=where) as caught:
        ViewSource().pipelines()
    assert "s3cret-pw" not in str(caught.value)
