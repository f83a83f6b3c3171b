"""Every setting of tfx_dags, read from the environment at call time, with its default.

Read at call time (not import time) so that tests and tools can point one process at another
home. Both environments import this module, so it must stay free of Airflow and TFX imports.

| variable                       | default (in a checkout)          | what                         |
|--------------------------------|----------------------------------|------------------------------|
| TFX_DAGS_HOME                  | <project>/var                    | artifacts, ML Metadata, push |
| TFX_DAGS_TFX_PYTHON            | <project>/.venv-tfx115/bin/python | the one TFX interpreter     |
| TFX_DAGS_TFX_ENVS              | <project>/tfx-envs.json          | TFX environments by name     |
| TFX_DAGS_DEFAULT_TFX_ENV       | (the first declared)             | environment without tfx_env= |
| TFX_DAGS_COMPILED_DIR          | <project>/var/compiled           | compiled-pipeline cache      |
| TFX_DAGS_COMPILE_TIMEOUT       | 300 (seconds)                    | bound on one pipeline compile|
| TFX_DAGS_METADATA_SQLITE       | $TFX_DAGS_HOME/metadata.sqlite   | ML Metadata SQLite file      |
| TFX_DAGS_KILL_GRACE            | 10 (seconds)                     | SIGTERM -> SIGKILL on a kill |
| TFX_DAGS_POOLS_FILE            | <project>/pools.json             | pools the DAGs may use       |
| TFX_DAGS_GPU_POOL              | tfx_gpu                          | pool of Trainer/Tuner tasks  |
| TFX_DAGS_GPU_POOL_SLOTS        | (pools file: 1)                  | slots of the GPU pool        |
| TFX_DAGS_GPU_QUEUE             | gpu                              | queue of Trainer/Tuner tasks |
| TFX_DAGS_GPU_EXECUTOR          | (none: the main executor)        | executor of Trainer/Tuner    |
| TFX_DAGS_BEAM_QUEUE            | default (in a checkout)          | queue of Beam-backed nodes   |
| TFX_DAGS_DEFAULT_QUEUE         | default (in a checkout)          | queue of the other nodes     |
| TFX_DAGS_EXTRA_QUEUES          | (none)                           | more queues workers consume  |
| TFX_DAGS_WORKER_NAME           | (the machine's: socket.getfqdn)  | worker_hostname()'s answer   |
| TFX_DAGS_AIRFLOW_PYTHON        | <project>/.venv-airflow/bin/python | interpreter of `tfx-dags`  |
| TFX_DAGS_METADATA_CONN_ID      | tfx_dags_metadata                | Airflow connection to MLMD   |
| TFX_DAGS_BEAM_DIRECT_MODE      | auto (by input rows, per node)   | default DirectRunner mode    |
| TFX_DAGS_BEAM_MULTI_PROCESSING_ROWS | 100000                      | auto: multi_processing from |
| TFX_DAGS_BEAM_ARGS             | (none)                           | Beam args, after pipeline's  |
| TFX_DAGS_NODE_SERVER           | on                               | fork nodes from a warm server|
| TFX_DAGS_NODE_SERVER_DIR       | /tmp/tfx-dags-<uid>              | the node server's socket     |
| TFX_DAGS_NODE_SERVER_IDLE      | 900 (seconds)                    | idle server exits after      |
| TFX_DAGS_NODE_ENV_ALLOW        | (none)                           | more variables nodes see     |

``<project>`` is the checkout tfx_dags runs from (``make setup`` installs it editable;
``checkout()`` tells it by its files). Installed from a wheel, nothing assumes a checkout:
TFX_DAGS_HOME defaults to ``$AIRFLOW_HOME/tfx-dags`` (Airflow's home, ``~/airflow`` unset),
TFX_DAGS_COMPILED_DIR to ``$TFX_DAGS_HOME/compiled``, TFX_DAGS_POOLS_FILE to the package's
``airflow/default_pools.json``, TFX_DAGS_AIRFLOW_PYTHON to the running interpreter, and
TFX_DAGS_TFX_ENVS (or TFX_DAGS_TFX_PYTHON) must be set: without it a DAG fails to import
with a ConfigError that says so.
"""

from __future__ import annotations

import os
import re
import socket
import sys
from collections.abc import Mapping
from pathlib import Path

from tfx_dags.common.errors import ConfigError

# The folder above the package: a checkout of this project when ``checkout()`` finds its
# files there (the tests, the benchmarks and the checkout's dev/ use it as the checkout).
PROJECT_ROOT = Path(__file__).resolve().parents[2]
# What tells a checkout: an installed wheel has neither beside its package.
CHECKOUT_FILES = ("setup.cfg", "tfx-envs.json")
# The pools of the defaults below (the GPU pool, one slot), shipped with the package.
PACKAGED_POOLS_FILE = Path(__file__).resolve().parents[1] / "airflow" / "default_pools.json"
# A variable name, or a shell-style glob of one (fnmatch: '*', '?', '[...]').
ENV_PATTERN = re.compile(r"^[A-Za-z0-9_*?\[\]!]+$")
NO_TFX_ENVIRONMENT = (
    "no TFX environment is declared: set TFX_DAGS_TFX_ENVS to the deployment's TFX "
    """environments by name, e.g. TFX_DAGS_TFX_ENVS='{"tfx116": "/venvs/tfx116/bin/python"}' """
    "(or the path of a JSON file holding that), or TFX_DAGS_TFX_PYTHON to its one TFX "
    "interpreter"
)


def checkout() -> Path | None:
    """The checkout of this project that tfx_dags runs from (``make setup`` installs it
    editable), told by its files; None when tfx_dags is installed from a wheel. The one
    place the defaults learn which."""
    if all((PROJECT_ROOT / name).is_file() for name in CHECKOUT_FILES):
        return PROJECT_ROOT
    return None


def airflow_home() -> Path:
    """Airflow's home as Airflow reads it: AIRFLOW_HOME, default ~/airflow."""
    return _absolute(os.environ.get("AIRFLOW_HOME") or "~/airflow")


def _path(variable: str, default: Path) -> Path:
    value = os.environ.get(variable)
    return Path(value).expanduser().resolve() if value else default


def _interpreter(variable: str, default: Path) -> Path:
    """An interpreter's path, absolute but not resolved: a virtualenv's ``bin/python`` is a
    link to the base interpreter, and only the link's path runs with the virtualenv."""
    value = os.environ.get(variable)
    return _absolute(value) if value else default


def _absolute(path: str) -> Path:
    return Path(os.path.abspath(Path(path).expanduser()))


def _positive_seconds(variable: str, default: float) -> float:
    value = os.environ.get(variable)
    if not value:
        return default
    try:
        seconds = float(value)
    except ValueError:
        raise ConfigError(f"{variable}={value!r} is not a number of seconds") from None
    if seconds <= 0:
        raise ConfigError(f"{variable}={value!r} must be a positive number of seconds")
    return seconds


def home() -> Path:
    """Root of everything a pipeline writes: pipeline roots, ML Metadata, pushed models.
    Default: the checkout's ``var/``; installed, ``tfx-dags/`` in Airflow's home (the
    Airflow side and the nodes it starts share AIRFLOW_HOME, so they agree)."""
    root = checkout()
    return _path("TFX_DAGS_HOME", root / "var" if root else airflow_home() / "tfx-dags")


def tfx_python() -> Path:
    """The TFX environment's interpreter, which runs the compile step and every node.
    Default: the checkout's ``.venv-tfx115``; installed, there is none (ConfigError)."""
    value = os.environ.get("TFX_DAGS_TFX_PYTHON")
    if value:
        return _absolute(value)
    root = checkout()
    if root is None:
        raise ConfigError(NO_TFX_ENVIRONMENT)
    return root / ".venv-tfx115" / "bin" / "python"


def tfx_envs_declaration() -> str:
    """TFX_DAGS_TFX_ENVS (a JSON object or a JSON file's path); in a checkout of this project
    without it and without TFX_DAGS_TFX_PYTHON, the checkout's tfx-envs.json (the TFX lines
    `make setup` builds)."""
    value = os.environ.get("TFX_DAGS_TFX_ENVS", "").strip()
    if value or os.environ.get("TFX_DAGS_TFX_PYTHON"):
        return value
    root = checkout()
    return str(root / "tfx-envs.json") if root else ""


def compiled_dir() -> Path:
    """Cache of compiled pipelines. Entries are keyed by content, so homes can share it.
    Default: the checkout's ``var/compiled``; installed, ``compiled/`` in the home."""
    root = checkout()
    return _path(
        "TFX_DAGS_COMPILED_DIR", root / "var" / "compiled" if root else home() / "compiled"
    )


def compile_timeout_s() -> float:
    return _positive_seconds("TFX_DAGS_COMPILE_TIMEOUT", 300.0)


def kill_grace_s() -> float:
    """How long a killed node gets to stop after SIGTERM before its process group is SIGKILLed."""
    return _positive_seconds("TFX_DAGS_KILL_GRACE", 10.0)


def _name(variable: str, default: str) -> str:
    value = os.environ.get(variable, "").strip()
    if value and not value.replace("_", "").replace("-", "").replace(".", "").isalnum():
        raise ConfigError(f"{variable}={value!r} must be letters, digits, '_', '-' and '.'")
    return value or default


def pools_file() -> Path:
    """The pools the project provisions (Airflow's ``pools import`` format); the slot counts
    live there. Default: the checkout's ``pools.json``; installed, the package's own (the
    GPU pool, one slot)."""
    root = checkout()
    return _path("TFX_DAGS_POOLS_FILE", root / "pools.json" if root else PACKAGED_POOLS_FILE)


def gpu_pool() -> str:
    """Pool of Trainer and Tuner tasks; one slot in pools.json, so trainings never overlap."""
    return _name("TFX_DAGS_GPU_POOL", "tfx_gpu")


def gpu_pool_slots() -> int | None:
    """Slots of the GPU pool when provisioned, overriding the pools file (e.g. one per GPU
    worker); None keeps the file's count."""
    value = os.environ.get("TFX_DAGS_GPU_POOL_SLOTS", "").strip()
    if not value:
        return None
    if not value.isdigit() or int(value) < 1:
        raise ConfigError(f"TFX_DAGS_GPU_POOL_SLOTS={value!r} must be an integer >= 1")
    return int(value)


def gpu_queue() -> str:
    """Executor queue of Trainer and Tuner tasks: the GPU workers consume it."""
    return _name("TFX_DAGS_GPU_QUEUE", "gpu")


def gpu_executor() -> str | None:
    """Executor of Trainer and Tuner tasks (Airflow's per-task ``executor=``), e.g.
    ``EdgeExecutor`` for an Edge worker on a GPU host that reaches the api-server over HTTP
    only. It must be one of Airflow's ``[core] executor`` list (class name, module path or
    alias), else the DAG fails to import. None (the default): the main executor, the first
    of that list. See docs/gpu-host.md."""
    return _name("TFX_DAGS_GPU_EXECUTOR", "") or None


def beam_queue() -> str:
    """Executor queue of Beam-backed nodes (ExampleGen, StatisticsGen, Transform, Evaluator)."""
    return _name("TFX_DAGS_BEAM_QUEUE", "default")


def default_queue() -> str:
    """Executor queue of every other node (Airflow's own default queue is ``default``)."""
    return _name("TFX_DAGS_DEFAULT_QUEUE", "default")


def declared_queues() -> set[str]:
    """The queues workers consume: the three above, Airflow's ``default``, and
    TFX_DAGS_EXTRA_QUEUES (comma-separated) for queues DAGs name in task_overrides."""
    extra = os.environ.get("TFX_DAGS_EXTRA_QUEUES", "")
    names = {name.strip() for name in extra.split(",") if name.strip()}
    return {gpu_queue(), beam_queue(), default_queue(), "default", *names}


def worker_hostname() -> str:
    """Airflow's ``[core] hostname_callable`` for several workers on one machine
    (``AIRFLOW__CORE__HOSTNAME_CALLABLE=tfx_dags.common.settings.worker_hostname``):
    TFX_DAGS_WORKER_NAME names each, so that task instances record which worker ran them.
    Unset, the machine's name (``socket.getfqdn()``, as Airflow's default). Airflow calls it
    in every worker, so this module stays free of Airflow and TFX imports."""
    return os.environ.get("TFX_DAGS_WORKER_NAME", "").strip() or socket.getfqdn()


def airflow_python() -> Path:
    """The Airflow environment's interpreter (``tfx-dags`` run from the TFX environment
    hands itself over to it). Default: the checkout's ``.venv-airflow``; installed, this
    interpreter (an image with Airflow runs ``tfx-dags`` there)."""
    root = checkout()
    default = root / ".venv-airflow" / "bin" / "python" if root else Path(sys.executable)
    return _interpreter("TFX_DAGS_AIRFLOW_PYTHON", default)


def beam_direct_mode() -> str:
    """Running mode of the default DirectRunner args. ``auto`` (default) leaves it to each
    Beam-backed node at launch: ``in_memory`` below TFX_DAGS_BEAM_MULTI_PROCESSING_ROWS input
    rows (starting SDK workers costs more than it saves there), ``multi_processing`` from
    there (tfx_dags.runner.beam_launch); a mode named here is every node's."""
    mode = os.environ.get("TFX_DAGS_BEAM_DIRECT_MODE", "").strip() or "auto"
    modes = ("auto", "in_memory", "multi_threading", "multi_processing")
    if mode not in modes:
        raise ConfigError(f"TFX_DAGS_BEAM_DIRECT_MODE={mode!r} must be one of {modes}")
    return mode


def beam_multi_processing_rows() -> int:
    """Input rows from which a node whose DirectRunner mode is not set runs
    ``multi_processing``: the crossover of bench/scale_curve.py (bench/RESULTS.md, 3)."""
    value = os.environ.get("TFX_DAGS_BEAM_MULTI_PROCESSING_ROWS", "").strip() or "100000"
    if not value.isdigit() or int(value) < 1:
        raise ConfigError(
            f"TFX_DAGS_BEAM_MULTI_PROCESSING_ROWS={value!r} must be a whole number of rows >= 1"
        )
    return int(value)


def node_server(environ: Mapping[str, str] | None = None) -> bool:
    """Whether tasks fork their node from a warm node server (``tfx_dags.server.node_server``:
    TensorFlow, TFX and Beam imported once per worker) rather than start a fresh interpreter;
    ``off`` for one process per node, e.g. where each task is its own container. ``environ``:
    a node's environment (a node's ``env`` override can turn it off), default this process's."""
    environ = os.environ if environ is None else environ
    value = environ.get("TFX_DAGS_NODE_SERVER", "").strip().lower() or "on"
    if value not in ("on", "off"):
        raise ConfigError(f"TFX_DAGS_NODE_SERVER={value!r} must be 'on' or 'off'")
    return value == "on"


def node_server_dir() -> Path:
    """Folder of the node server's socket, lock and log; created private to the user."""
    return _path("TFX_DAGS_NODE_SERVER_DIR", Path("/tmp") / f"tfx-dags-{os.getuid()}")


def node_server_idle_s() -> float:
    return _positive_seconds("TFX_DAGS_NODE_SERVER_IDLE", 900.0)


def node_env_allow() -> tuple[str, ...]:
    """More variables of the deployment's environment that reach the processes of the TFX
    environment (compiles, nodes, queries): comma-separated names or shell-style globs
    (``GOOGLE_APPLICATION_CREDENTIALS,AWS_*``), after the built-in allow-list
    (``tfx_dags.airflow.node_env``). Airflow's own variables never pass: a pattern that names
    only them is refused."""
    value = os.environ.get("TFX_DAGS_NODE_ENV_ALLOW", "")
    patterns = tuple(pattern.strip() for pattern in value.split(",") if pattern.strip())
    for pattern in patterns:
        if not ENV_PATTERN.match(pattern):
            raise ConfigError(
                f"TFX_DAGS_NODE_ENV_ALLOW: {pattern!r} is not a variable name or a glob of "
                "one (letters, digits, '_', and the wildcards '*', '?', '[...]'), e.g. "
                "'GOOGLE_APPLICATION_CREDENTIALS,AWS_*'"
            )
        if pattern.lstrip("_").upper().startswith("AIRFLOW"):
            raise ConfigError(
                f"TFX_DAGS_NODE_ENV_ALLOW: {pattern!r} names Airflow's own settings, which "
                "never reach a node (they hold its database, keys and connections); give the "
                "node what it needs under a name of its own, or as a task_overrides env value"
            )
    return patterns


def metadata_conn_id() -> str:
    """Airflow connection (``mysql://user:password@host:port/database``) of ML Metadata; when
    it does not exist, nodes use the SQLite file."""
    return _name("TFX_DAGS_METADATA_CONN_ID", "tfx_dags_metadata")


def pipeline_root(pipeline_name: str) -> Path:
    return home() / "pipelines" / pipeline_name


def serving_dir(pipeline_name: str) -> Path:
    """Where a pipeline's Pusher writes blessed models, one timestamped folder per push."""
    return home() / "serving" / pipeline_name


def metadata_sqlite_path() -> Path:
    return _path("TFX_DAGS_METADATA_SQLITE", home() / "metadata.sqlite")
