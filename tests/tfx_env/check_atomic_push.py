"""Exercise tfx_dags.runner.atomic_pusher.push_atomically; run with a TFX environment's python.

    check_atomic_push.py WORKDIR

Prints JSON: the folders under the serving base after a good push, after a push that fails
half-way through its copy, and after two pushes within one second.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

from tfx_dags.runner import atomic_pusher


def listing(base: Path) -> list[str]:
    return sorted(path.name for path in base.iterdir())


def main(workdir: Path) -> None:
    model = workdir / "model"
    (model / "variables").mkdir(parents=True)
    for name in ("saved_model.pb", "fingerprint.pb", "variables/variables.index"):
        (model / name).write_text(name)
    base = workdir / "serving"
    report = {}

    version, path = atomic_pusher.push_atomically(str(model), str(base))
    report["good"] = {
        "listing": listing(base),
        "version": version,
        "files": sorted(str(p.relative_to(path)) for p in Path(path).rglob("*") if p.is_file()),
    }

    copied = []
    real_copy = shutil.copyfile

    def failing_copy(source: str, target: str, **kwargs: object) -> object:
        if len(copied) == 2:
            raise OSError(28, "No space left on device")
        copied.append(target)
        return real_copy(source, target, **kwargs)

    shutil.copyfile = failing_copy  # type: ignore[assignment]
    try:
        atomic_pusher.push_atomically(str(model), str(base))
        report["failed"] = {"raised": None}
    except OSError as error:
        report["failed"] = {"raised": str(error), "copied_before": len(copied)}
    finally:
        shutil.copyfile = real_copy  # type: ignore[assignment]
    report["failed"]["listing"] = listing(base)

    first, _ = atomic_pusher.push_atomically(str(model), str(base))
    second, _ = atomic_pusher.push_atomically(str(model), str(base))
    report["twice"] = {"versions": [first, second], "listing": listing(base)}
    print(json.dumps(report))


if __name__ == "__main__":
    os.umask(0o022)
    main(Path(sys.argv[1]))
