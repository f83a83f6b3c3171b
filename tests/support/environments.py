"""What a worker's environment holds: Airflow's secrets, which no user's code may see, and
what TFX, TensorFlow, Beam and Python need."""

from __future__ import annotations

from tfx_dags.common.contract import URI_ENV

# What an Airflow worker's environment holds that no user's code may see.
SECRETS = {
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "postgresql://airflow:db-secret@db/airflow",
    "AIRFLOW__CORE__FERNET_KEY": "fernet-secret",
    "AIRFLOW__API_AUTH__JWT_SECRET": "jwt-secret",
    "AIRFLOW__CELERY__BROKER_URL": "redis://:broker-secret@redis:6379/0",
    "AIRFLOW_CONN_WAREHOUSE": "postgresql://etl:conn-secret@warehouse/dw",
    "AIRFLOW_VAR_API_TOKEN": "var-secret",
    "AIRFLOW_CTX_DAG_ID": "penguin",
    "AIRFLOW_HOME": "/opt/airflow",
    "_AIRFLOW_PROCESS_CONTEXT": "server",
    "DATABASE_URL": "postgresql://app:app-secret@db/app",
}
# What TFX, TensorFlow, Beam and Python need.
NEEDED = {
    "PATH": "/usr/bin:/bin",
    "HOME": "/home/ml",
    "USER": "ml",
    "TMPDIR": "/scratch",
    "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
    "TZ": "UTC",
    "https_proxy": "http://proxy:3128",
    "NO_PROXY": "localhost",
    "PYTHONPATH": "/srv/user-code",
    "LD_LIBRARY_PATH": "/usr/local/cuda/lib64",
    "TF_CPP_MIN_LOG_LEVEL": "1",
    "CUDA_VISIBLE_DEVICES": "0",
    "XLA_FLAGS": "--xla_gpu_cuda_data_dir=/usr/local/cuda",
    "GRPC_ENABLE_FORK_SUPPORT": "1",
    "TFX_DAGS_HOME": "/srv/tfx-dags",
    URI_ENV: "mysql://mlmd:mlmd-secret@mlmd/mlmd",
}
