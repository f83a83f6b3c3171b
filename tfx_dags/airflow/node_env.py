"""The environment of every process the Airflow side starts in a TFX environment.

A compile (at DAG parse time), a node (in a task), a TFX view or ``tfx-dags`` query: each
runs users' code, or may. A pipeline file, a ``module_file=``, a ``@component``, every
library they import and the Beam workers they start see the process's environment. The
Airflow side's own holds Airflow's secrets: its database (``AIRFLOW__DATABASE__
SQL_ALCHEMY_CONN``), its keys (``AIRFLOW__CORE__FERNET_KEY``, ``AIRFLOW__API_AUTH__
JWT_SECRET``), its broker, its connections and variables (``AIRFLOW_CONN_*``,
``AIRFLOW_VAR_*``). None of that is the user's code's business.

So the rule is an allow-list, not a deny-list (a deny-list misses the secret nobody thought
of): a TFX-side process gets only

- what TFX, TensorFlow, Beam and Python need to run: ``PATH``, ``HOME``, the user's name,
  temporary folders, locale and time zone, proxies and CA bundles, ``PYTHONPATH`` and
  Python's run-time switches, ``LD_LIBRARY_PATH``, and the variables of TensorFlow, CUDA,
  XLA, gRPC and the thread pools (``TF_*``, ``CUDA_*``, ``XLA_FLAGS``, ``GRPC_*``,
  ``OMP_*`` ...): ``ALLOWED_NAMES`` and ``ALLOWED_PATTERNS`` below;
- ``TFX_*``, this package's settings (``TFX_DAGS_*``) included. The one of them that holds a
  password, ``TFX_DAGS_METADATA_URI``, is the node's own ML Metadata store, which it needs;
  ``TFX_DAGS_HOME`` is set when the Airflow side has it from its default (``$AIRFLOW_HOME``
  is not passed on);
- what the deployment adds with ``TFX_DAGS_NODE_ENV_ALLOW`` (names or globs, e.g. cloud
  credentials: ``GOOGLE_APPLICATION_CREDENTIALS,AWS_*``); never Airflow's own variables,
  whatever the glob;

and, set over that by whoever starts the process: the variables its TFX environment declares
(``TFX_DAGS_TFX_ENVS``), the node's ML Metadata connection and what the DAG's
``task_overrides`` ``env`` declares (``TfxNodeOperator``).

Beam's workers get theirs from the node: the DirectRunner's SDK workers inherit the node's
environment, and those the node server forks carry the environment of the stand-in the
runner started (``tfx_dags.server.beam_workers``). A portable runner's workers run in
their worker pool's or cluster's environment, which the deployment sets when it starts them.

The allow-list keeps Airflow's secrets out of the environment, not out of reach: a node runs
as the worker's user and can read what that user can read (``airflow.cfg`` included). Where
that matters, keep secrets in a secrets backend, not in files the worker's user reads.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from fnmatch import fnmatchcase

from tfx_dags.common import settings

ALLOWED_NAMES = frozenset(
    {
        "PATH",
        "HOME",
        "USER",
        "LOGNAME",
        "TMPDIR",
        "TMP",
        "TEMP",
        "LANG",
        "LANGUAGE",
        "TZ",
        # Proxies, in both spellings (curl and Python read the lower-case ones, others the
        # upper), and the CA bundles of a proxy or a private registry.
        "http_proxy",
        "https_proxy",
        "no_proxy",
        "all_proxy",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "NO_PROXY",
        "ALL_PROXY",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "REQUESTS_CA_BUNDLE",
        "CURL_CA_BUNDLE",
        # The user's folders reach a node (and its subprocesses) through PYTHONPATH
        # (tfx_dags.tfx_process.user_code), as the worker's own entries always have.
        "PYTHONPATH",
        "PYTHONHASHSEED",
        "PYTHONUNBUFFERED",
        "PYTHONWARNINGS",
        "PYTHONDONTWRITEBYTECODE",
        "PYTHONIOENCODING",
        "PYTHONUTF8",
        "PYTHONFAULTHANDLER",
        # CUDA's libraries, where an image puts them outside the linker's default path.
        "LD_LIBRARY_PATH",
        "PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION",
        "KERAS_BACKEND",
        "KERAS_HOME",
        # A Flink or Spark job server that a portable runner starts from its jar.
        "JAVA_HOME",
    }
)
ALLOWED_PATTERNS = (
    "LC_*",
    "XDG_*",
    # TFX's and this package's (TFX_DAGS_*) settings.
    "TFX_*",
    # TensorFlow (TF_CPP_MIN_LOG_LEVEL, TF_CONFIG, TF_USE_LEGACY_KERAS ...), TF Hub, XLA.
    "TF_*",
    "TFHUB_*",
    "XLA_*",
    # GPUs: which devices, and how their libraries behave.
    "CUDA_*",
    "CUDNN_*",
    "NVIDIA_*",
    "NCCL_*",
    # gRPC: Beam's workers and the portable runners speak it (GRPC_ENABLE_FORK_SUPPORT ...).
    "GRPC_*",
    # Thread pools of the numeric libraries.
    "OMP_*",
    "MKL_*",
    "OPENBLAS_*",
)
HOME_ENV = "TFX_DAGS_HOME"


def is_airflows(name: str) -> bool:
    """Whether ``name`` is one of Airflow's own variables (settings, connections, variables,
    the task context, Airflow's private ``_AIRFLOW_*``): never passed on."""
    return name.lstrip("_").upper().startswith("AIRFLOW")


def passes(name: str, more: Iterable[str] = ()) -> bool:
    """Whether the variable ``name`` reaches a TFX-side process: allow-listed (built in, or
    one of the patterns ``more``) and not Airflow's own."""
    if is_airflows(name):
        return False
    if name in ALLOWED_NAMES:
        return True
    return any(fnmatchcase(name, pattern) for pattern in (*ALLOWED_PATTERNS, *more))


def allowed(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The variables of ``environ`` (default: this process's) that a TFX-side process may
    see, with ``TFX_DAGS_HOME`` set where only this process's default tells it. ConfigError
    for a bad ``TFX_DAGS_NODE_ENV_ALLOW``."""
    more = settings.node_env_allow()
    source = os.environ if environ is None else environ
    env = {name: value for name, value in source.items() if passes(name, more)}
    if environ is None and HOME_ENV not in env:
        # Installed, the home defaults to $AIRFLOW_HOME/tfx-dags, and AIRFLOW_HOME stays
        # behind: the node learns the home the Airflow side uses from this.
        env[HOME_ENV] = str(settings.home())
    return env
