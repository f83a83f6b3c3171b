"""The penguin pipeline as a DAG file written the way TFX's own Airflow integration is used.

TFX's examples (``penguin_pipeline_local``/``taxi_pipeline_airflow``) import ``tfx.v1`` and
build the pipeline at module level, and ``AirflowDagRunner.run(pipeline)`` turns it into
operators, all at DAG-parse time. ``AirflowDagRunner`` needs Airflow 2, which cannot load
beside Airflow 3, so this file does what it can of that work: the imports, building the
pipeline and compiling it (what the runner walks to make its operators). Its parse time is
therefore a lower bound of the real TFX-style file's. Run with .venv-tfx115's python.
"""

from pathlib import Path

from tfx import v1 as tfx  # noqa: F401 - what a TFX-style DAG file imports at parse time
from tfx.dsl.compiler import compiler

from modules.penguin.pipeline import create_pipeline

HOME = Path("/tmp/tfx-style-dag")
PIPELINE = create_pipeline(
    pipeline_name="penguin_tfx_style",
    pipeline_root=str(HOME / "pipelines" / "penguin_tfx_style"),
    data_root=str(Path(__file__).resolve().parents[1] / "data" / "penguin"),
    serving_model_dir=str(HOME / "serving"),
)
IR = compiler.Compiler().compile(PIPELINE)
