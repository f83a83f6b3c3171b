"""What runs on a Beam worker host (TFX environment): the SDK harness boot that a Beam worker
pool or a PROCESS environment starts for each SDK worker (``boot``).

May import Beam and the standard library; never Airflow, nor other tfx_dags folders than
``common`` (a worker host has the TFX environment and tfx_dags, nothing of the deployment).
"""
