"""Two penguin DAGs for the real-scheduler tests (Airflow DAG files built by tfx_dags).

scale_penguin_a  triggered by hand (REST API, CLI) with run parameters; TFX 1.16 (tfx116)
scale_penguin_b  scheduled on its input data's Asset: an Asset event starts it; TFX 1.15

The same Keras pipeline on two TFX lines, run at once in one deployment and one ML Metadata
store. The test later moves a DAG to another line, as a team would edit its ``tfx_env=``,
through ``moved_dags.json`` in the deployment's TFX_DAGS_HOME.
"""

import json
from datetime import timedelta
from pathlib import Path

from tfx_dags import RunParam, pipeline_dag, settings

DATA_DIR = Path(__file__).resolve().parents[3] / "data"
DATA_ROOT = DATA_DIR / "penguin"
RUN_PARAMS = {
    "train_steps": RunParam(description="Trainer steps", minimum=1, maximum=100_000),
    "data_root": RunParam(description="CSV folder under data/", path_root=str(DATA_DIR)),
}

TFX_ENVS = {"scale_penguin_a": "tfx116", "scale_penguin_b": "tfx115"}
MOVED = settings.home() / "moved_dags.json"
if MOVED.is_file():
    TFX_ENVS.update(json.loads(MOVED.read_text()))

for dag_id, schedule_assets in (
    ("scale_penguin_a", ()),
    ("scale_penguin_b", (f"file://{DATA_ROOT}",)),
):
    globals()[dag_id] = pipeline_dag(
        dag_id=dag_id,
        pipeline="modules.penguin.pipeline:create_pipeline",
        pipeline_kwargs={
            "data_root": str(DATA_ROOT),
            "serving_model_dir": str(settings.serving_dir(dag_id)),
            "trainer_module": "modules.penguin.keras_raw",
            "use_transform": False,
            "train_steps": 1000,
        },
        run_params=RUN_PARAMS,
        tfx_env=TFX_ENVS[dag_id],
        schedule_assets=schedule_assets,
        owner="ml-platform",
        tags=("tfx", "scale-out-test"),
        # A task of a killed worker (test_celery_executor) retries soon after it failed.
        retry_delay=timedelta(seconds=5),
    )
