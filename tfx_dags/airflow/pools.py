"""The Airflow pools the project provisions, and the check that DAGs use only those.

The pools file (TFX_DAGS_POOLS_FILE, default ``pools.json``) is in the format of
``airflow pools import``: ``{"name": {"slots": N, "description": "...", "include_deferred":
false}}``. It holds the slot counts; the DAGs name their pools through settings.

    python -m tfx_dags.airflow.pools provision    # import the pools file into Airflow's database
    python -m tfx_dags.airflow.pools check        # every pool a DAG in the dags folder names exists
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from tfx_dags.airflow.dag_config import KEY_PATTERN
from tfx_dags.common import settings
from tfx_dags.common.errors import ConfigError

# Airflow creates this pool itself; every database has it.
BUILTIN_POOLS = ("default_pool",)


def load_pools(path: Path | None = None) -> dict[str, int]:
    """{pool name: slots} from the pools file, validated."""
    path = path or settings.pools_file()
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise ConfigError(f"cannot read the pools file {path}: {error}") from None
    if not isinstance(data, Mapping):
        raise ConfigError(f"{path} must hold an object of pools by name")
    pools = {}
    for name, pool in data.items():
        if not KEY_PATTERN.match(name):
            raise ConfigError(f"{path}: pool name {name!r} must be letters, digits, '_.-'")
        slots = pool.get("slots") if isinstance(pool, Mapping) else None
        if isinstance(slots, bool) or not isinstance(slots, int) or slots < 1:
            raise ConfigError(f'{path}: pool {name!r} needs "slots": an integer >= 1')
        pools[name] = slots
    return pools


def provisioned_pool_names(path: Path | None = None) -> set[str]:
    return {*BUILTIN_POOLS, *load_pools(path)}


def unprovisioned_pools(dags: Iterable[Any], path: Path | None = None) -> list[str]:
    """One line per task naming a pool the pools file does not provision."""
    known = provisioned_pool_names(path)
    return [
        f"{dag.dag_id}.{task.task_id} uses pool {task.pool!r}, which {settings.pools_file()} "
        f"does not provision (known: {sorted(known)})"
        for dag in dags
        for task in dag.tasks
        if task.pool not in known
    ]


def provision(env: Mapping[str, str] | None = None, path: Path | None = None) -> dict[str, int]:
    """Create or update the pools in the Airflow database of ``env`` (default: this process);
    TFX_DAGS_GPU_POOL_SLOTS, if set, overrides the GPU pool's slots. Returns {pool: slots}."""
    path = path or settings.pools_file()
    load_pools(path)
    definitions = json.loads(path.read_text())
    slots = settings.gpu_pool_slots()
    if slots is not None:
        definitions.setdefault(settings.gpu_pool(), {"description": "TFX Trainer and Tuner"})
        definitions[settings.gpu_pool()]["slots"] = slots
    airflow = Path(sys.executable).parent / "airflow"
    with tempfile.TemporaryDirectory() as scratch:
        effective = Path(scratch) / "pools.json"
        effective.write_text(json.dumps(definitions))
        subprocess.run(
            [str(airflow), "pools", "import", str(effective)],
            env=dict(env) if env is not None else None,
            check=True,
            capture_output=True,
            text=True,
        )
    return {name: pool["slots"] for name, pool in definitions.items()}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args == ["provision"]:
        provisioned = provision()
        print(f"Pools provisioned from {settings.pools_file()}: {provisioned}")
        return 0
    if args == ["check"]:
        from airflow.dag_processing.dagbag import DagBag

        bag = DagBag()
        problems = [*(f"{f}: {e}" for f, e in bag.import_errors.items())]
        problems += unprovisioned_pools(bag.dags.values())
        for problem in problems:
            print(problem, file=sys.stderr)
        return 1 if problems else 0
    print("usage: python -m tfx_dags.airflow.pools provision|check", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
