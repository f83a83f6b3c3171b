"""The "TFX artifacts" extra link of every TFX task: that node's artifacts in the TFX view.

Airflow 3 computes extra links on the worker when the task ends and keeps them in XCom, so
the link is known for every finished attempt (failed ones too) without the api-server
importing the operator. Imported at DAG parse time: keep it light.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from airflow.sdk import BaseOperatorLink

URL_PREFIX = "/tfx"


def artifacts_url(*, base_url: str, dag_id: str, run_id: str, node_id: str) -> str:
    """The view's page of one run, opened at one node's artifacts."""
    return (
        f"{base_url.rstrip('/')}{URL_PREFIX}/pipelines/{quote(dag_id, safe='')}"
        f"/runs/{quote(run_id, safe='')}#node-{quote(node_id, safe='')}"
    )


class TfxArtifactsLink(BaseOperatorLink):
    """Opens the TFX view at the node's inputs, outputs and their properties."""

    name = "TFX artifacts"

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        from airflow.configuration import conf

        # The api-server's public address where it is configured; else a link relative to
        # the UI's own origin.
        base_url = conf.get("api", "base_url", fallback="") or ""
        node_id = getattr(operator, "tfx_node_id", ti_key.task_id)
        return artifacts_url(
            base_url=base_url, dag_id=ti_key.dag_id, run_id=ti_key.run_id, node_id=node_id
        )
