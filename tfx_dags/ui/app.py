"""The TFX view: a FastAPI app the Airflow api-server mounts at ``/tfx`` (see plugins/).

Every page needs Airflow's authentication, like the rest of the UI (the session cookie the
login sets, or a Bearer token); a pipeline's pages need read access to its DAG (the
pipeline name is the DAG id). A browser without a session is sent to the login page; any
other client gets 401. Nothing here writes: ML Metadata is read through
``tfx_dags.ui.source``, files only under the pipeline root.
"""

from __future__ import annotations

import datetime as dt
import mimetypes
from pathlib import Path
from typing import Any

from airflow.api_fastapi.core_api.security import GetUserDep, requires_access_dag
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
)
from jinja2 import Environment, PackageLoader, select_autoescape

from tfx_dags.common import settings
from tfx_dags.ui import plots
from tfx_dags.ui.links import URL_PREFIX
from tfx_dags.ui.source import PageNotFound, ViewSource, ViewSourceError

# Files larger than this are offered for download only, never shown inline.
INLINE_LIMIT = 2 * 1024 * 1024


def _when(epoch_ms: int | None) -> str:
    if not epoch_ms:
        return ""
    moment = dt.datetime.fromtimestamp(epoch_ms / 1000, tz=dt.UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def _templates() -> Environment:
    env = Environment(
        loader=PackageLoader("tfx_dags.ui", "templates"),
        autoescape=select_autoescape(["html"]),
    )
    env.filters["when"] = _when
    return env


def create_app(source: ViewSource | None = None) -> FastAPI:
    """The view's app; ``source`` answers its questions (default: ML Metadata via the TFX
    environment)."""
    pages = _Pages(source or ViewSource())
    app = FastAPI(title="TFX view", docs_url=None, redoc_url=None, openapi_url=None)
    app.exception_handler(HTTPException)(pages.refused)
    app.exception_handler(PageNotFound)(pages.not_found)
    app.exception_handler(ViewSourceError)(pages.source_failed)
    read_dag = [Depends(requires_access_dag("GET"))]
    app.get("/", response_class=HTMLResponse)(pages.index)
    app.get("/pipelines/{dag_id}", response_class=HTMLResponse, dependencies=read_dag)(
        pages.pipeline
    )
    app.get(
        "/pipelines/{dag_id}/runs/{run_id}", response_class=HTMLResponse, dependencies=read_dag
    )(pages.run)
    app.get(
        "/pipelines/{dag_id}/evaluations/{artifact_id}/plots/{metric}.svg",
        dependencies=read_dag,
    )(pages.plot)
    app.get(
        "/pipelines/{dag_id}/artifacts/{artifact_id}/files/{relative:path}", dependencies=read_dag
    )(pages.files)
    return app


class _Pages:
    """The view's pages and error pages, each answered from ``source``; ``create_app`` routes
    them (and checks read access to the DAG)."""

    def __init__(self, source: ViewSource) -> None:
        self.source = source
        self.templates = _templates()

    def page(
        self, request: Request, name: str, status_code: int = 200, /, **values: Any
    ) -> HTMLResponse:
        base = str(request.scope.get("root_path", "")).rstrip("/")
        values.setdefault("title", "TFX")
        html = self.templates.get_template(name).render(
            base=base, airflow=base.removesuffix(URL_PREFIX), **values
        )
        return HTMLResponse(html, status_code=status_code)

    # -- errors ---------------------------------------------------------------------------

    async def refused(self, request: Request, error: HTTPException) -> Response:
        # A browser (or the UI's iframe) without a session goes to the login page; an API
        # client gets the status. Either way nothing of the view is sent.
        if error.status_code == 401 and "text/html" in request.headers.get("accept", ""):
            from airflow.api_fastapi.app import get_auth_manager

            login = get_auth_manager().get_url_login(next_url=str(request.url))
            return RedirectResponse(login, status_code=303)
        return JSONResponse(
            {"detail": error.detail}, status_code=error.status_code, headers=error.headers
        )

    async def not_found(self, request: Request, error: PageNotFound) -> Response:
        return self.page(request, "error.html", 404, title="Not found", message=str(error))

    async def source_failed(self, request: Request, error: ViewSourceError) -> Response:
        return self.page(request, "error.html", 502, title="ML Metadata", message=str(error))

    # -- pages ----------------------------------------------------------------------------

    def index(self, request: Request, user: GetUserDep) -> HTMLResponse:
        from airflow.api_fastapi.app import get_auth_manager

        readable = get_auth_manager().get_authorized_dag_ids(user=user, method="GET")
        pipelines = [name for name in self.source.pipelines() if name in readable]
        return self.page(
            request,
            "index.html",
            title="TFX pipelines",
            pipelines=pipelines,
            lines={name: self.source.tfx_line(name) for name in pipelines},
            metadata=_metadata_description(),
        )

    def pipeline(self, request: Request, dag_id: str) -> HTMLResponse:
        summary = self.source.pipeline(dag_id)
        return self.page(
            request,
            "pipeline.html",
            title=dag_id,
            p=summary,
            serving=_serving(summary),
            dag_runs=_dag_runs(dag_id),
        )

    def run(self, request: Request, dag_id: str, run_id: str) -> HTMLResponse:
        summary = self.source.run(dag_id, run_id)
        return self.page(
            request,
            "run.html",
            title=f"{dag_id} {run_id}",
            r=summary,
            dag_run=_dag_runs(dag_id, run_id=run_id).get(run_id),
            **_sections(summary),
        )

    def plot(self, dag_id: str, artifact_id: int, metric: str) -> Response:
        evaluation = self.source.evaluation(dag_id, artifact_id)
        try:
            svg = plots.metric_svg(evaluation, metric)
        except plots.PlotError as error:
            raise PageNotFound(str(error)) from None
        return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "private"})

    def files(self, request: Request, dag_id: str, artifact_id: int, relative: str) -> Response:
        artifact = self.source.artifact(dag_id, artifact_id)
        target = _inside_artifact(self.source.root(dag_id), artifact, relative)
        if not target.is_dir():
            return _file_response(target)
        if relative and not relative.endswith("/"):
            return RedirectResponse(f"{request.url.path}/", status_code=307)
        entries = [
            {"name": p.name, "is_dir": p.is_dir(), "size": p.stat().st_size}
            for p in sorted(target.iterdir())
        ]
        return self.page(
            request,
            "files.html",
            title=f"artifact {artifact_id}",
            pipeline=dag_id,
            artifact=artifact,
            relative=relative.strip("/"),
            entries=entries,
        )


def _inside_artifact(pipeline_root: Path, artifact: dict[str, Any], relative: str) -> Path:
    """The file or folder ``relative`` to the artifact, refused (404) unless it resolves,
    links and ``..`` followed, inside both the artifact and the pipeline root."""
    if not artifact.get("readable"):
        raise PageNotFound(f"artifact {artifact['id']} lies outside the pipeline root")
    root = pipeline_root.resolve()
    base = Path(artifact["uri"]).resolve()
    target = (base / relative).resolve()
    if not (target.is_relative_to(base) and target.is_relative_to(root)) or not target.exists():
        raise PageNotFound(f"artifact {artifact['id']} has no file {relative!r}")
    return target


def _file_response(path: Path) -> Response:
    """Text shown as plain text (never as HTML: artifact files are data, not pages);
    anything else, or anything large, as a download."""
    size = path.stat().st_size
    guessed = mimetypes.guess_type(path.name)[0] or ""
    headers = {"X-Content-Type-Options": "nosniff"}
    if size <= INLINE_LIMIT:
        data = path.read_bytes()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        if text is not None and "\x00" not in text:
            return Response(text, media_type="text/plain; charset=utf-8", headers=headers)
    return FileResponse(
        path,
        media_type=guessed if guessed.startswith("image/") else "application/octet-stream",
        filename=path.name,
        headers=headers,
    )


def _serving(summary: dict[str, Any]) -> dict[str, Any] | None:
    """The model of the newest push: what a model server picks up."""
    pushes = [(push, model) for model in summary["models"] for push in model["pushes"]]
    if not pushes:
        return None
    push, model = max(pushes, key=lambda pair: pair[0]["id"])
    return {"push": push, "model": model}


def _sections(summary: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The run's readable artifacts, grouped for the page: evaluations (with their blessing
    and plottable metrics), statistics, anomalies."""
    sections: dict[str, list[dict[str, Any]]] = {
        "evaluations": [],
        "statistics": [],
        "anomalies": [],
    }
    for node in summary["nodes"]:
        blessing = next(iter(node["outputs"].get("blessing", [])), None)
        for key, artifacts in node["outputs"].items():
            for artifact in artifacts:
                found = summary["summaries"].get(str(artifact["id"]))
                if found is None:
                    continue
                item = {"node": node["node_id"], "key": key, "artifact": artifact, "summary": found}
                if found["kind"] == "evaluation":
                    item.update(blessing=blessing, metrics=plots.metric_names(found))
                    sections["evaluations"].append(item)
                elif found["kind"] in ("statistics", "anomalies"):
                    sections[found["kind"]].append(item)
    return sections


def _dag_runs(dag_id: str, *, run_id: str | None = None, limit: int = 100) -> dict[str, Any]:
    """Airflow's side of the runs, newest first: state, type and start, by run id (the TFX
    pipeline run id)."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select

    columns = (DagRun.run_id, DagRun.state, DagRun.run_type, DagRun.start_date)
    query = select(*columns).where(DagRun.dag_id == dag_id)
    if run_id is not None:
        query = query.where(DagRun.run_id == run_id)
    with create_session() as session:
        rows = session.execute(query.order_by(DagRun.id.desc()).limit(limit)).all()
    return {
        row.run_id: {
            "state": str(row.state),
            "run_type": str(row.run_type),
            "started": row.start_date.strftime("%Y-%m-%d %H:%M:%S UTC") if row.start_date else "",
        }
        for row in rows
    }


def _metadata_description() -> str:
    from tfx_dags.airflow.mlmd_query import metadata_uri

    uri = metadata_uri()
    if uri is None:
        return f"SQLite {settings.metadata_sqlite_path()}"
    from urllib.parse import urlsplit

    parts = urlsplit(uri)  # never the password
    return f"{parts.scheme} {parts.hostname}:{parts.port or 3306}{parts.path}"
