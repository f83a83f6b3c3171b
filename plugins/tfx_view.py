"""Airflow plugin: the TFX view (ML Metadata runs, artifacts, evaluations, blessed models).

Loaded from the deployment's plugins folder (``[core] plugins_folder``, this folder). The
api-server mounts the view at /tfx and the UI shows it in the navigation, as a tab of each
DAG and DAG run. The "TFX artifacts" link on each TFX task comes with the operator
(``TfxNodeOperator.operator_extra_links``), so it needs no registration here.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from tfx_dags.ui.app import create_app
from tfx_dags.ui.links import URL_PREFIX


class TfxViewPlugin(AirflowPlugin):
    name = "tfx_dags"
    fastapi_apps = [{"app": create_app(), "url_prefix": URL_PREFIX, "name": "TFX view"}]
    external_views = [
        {"name": "TFX", "href": f"{URL_PREFIX}/", "destination": "nav", "url_route": "tfx"},
        {
            "name": "TFX",
            "href": f"{URL_PREFIX}/pipelines/{{DAG_ID}}",
            "destination": "dag",
            "url_route": "tfx-pipeline",
        },
        {
            "name": "TFX",
            "href": f"{URL_PREFIX}/pipelines/{{DAG_ID}}/runs/{{RUN_ID}}",
            "destination": "dag_run",
            "url_route": "tfx-run",
        },
    ]
