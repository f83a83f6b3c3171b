"""Boot one Beam SDK worker: fetch the job's staged code, install it, start the harness.

Beam's SDK containers start each worker through a boot program (the "container contract"):
it asks the runner's provision service for the job's options and dependencies, fetches the
staged artifacts from the artifact service, installs them, and runs the SDK harness. This is
that program for workers that run the TFX environment without a container: Beam's worker
pool starts it (``worker_pool_main --container_executable tfx-dags-sdk-boot``), and so does a
PROCESS environment (``{"command": "tfx-dags-sdk-boot"}``)::

    tfx-dags-sdk-boot --id=ID --provision_endpoint=HOST:PORT --artifact_endpoint=HOST:PORT \\
        --logging_endpoint=HOST:PORT --control_endpoint=HOST:PORT

Staged wheels (the user's code: TFX's ``module_file=`` wheels, tfx_dags' dotted-path
wheels) are pure Python: unpacked once per content into ``staged-code/<sha256>`` under the
working directory, and put first on the worker's ``PYTHONPATH``; other packages (sdists,
a requirements file) go through ``pip install --target``. Beam's own SDK copy is skipped:
the worker has the Beam of the TFX lock. Each worker writes its log to
``sdk-workers/<id>.log`` (the pool never reads a worker's output: a full pipe would stall it).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import traceback
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tfx_dags.common.locks import folder_lock

SDK_WORKER = "apache_beam.runners.worker.sdk_worker_main"
# What Beam stages besides the user's packages, and how the worker treats it.
MAIN_SESSION = "pickled_main_session"
# (extra_packages.txt lists the extra packages, which are staged themselves.)
BEAM_OWN = (
    "dataflow_python_sdk.tar",
    "submission_environment_dependencies.txt",
    "extra_packages.txt",
    MAIN_SESSION,
)
REQUIREMENTS = "requirements.txt"
RPC_TIMEOUT_S = 60
ARTIFACT_TIMEOUT_S = 600


def parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--id", default="")
    for name in ("provision", "artifact", "logging", "control"):
        parser.add_argument(f"--{name}_endpoint", required=name in ("provision", "control"))
    parser.add_argument("--semi_persistent_directory", default="")
    args, _ = parser.parse_known_args(argv)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    here = Path.cwd()
    worker = args.id or f"pid{os.getpid()}"
    logs = here / "sdk-workers"
    logs.mkdir(parents=True, exist_ok=True)
    log = os.open(logs / f"{worker}.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    semi_persistent = Path(args.semi_persistent_directory or logs / worker)
    staged = semi_persistent / "staged"
    info, files, paths = None, [], []
    try:
        info = provision_info(args.provision_endpoint, worker)
        # A worker id can come again (a restarted job service): nothing of an earlier job's.
        shutil.rmtree(staged, ignore_errors=True)
        staged.mkdir(parents=True)
        files = fetch_artifacts(info, args.artifact_endpoint or args.provision_endpoint, staged)
        paths = install(files, here / "staged-code")
    except Exception:  # noqa: BLE001 - the harness still starts, so the job fails, not hangs
        # Beam's runner waits for the worker without a deadline: a boot that gave up here
        # would hang the job. Started without the staged code, the harness fails the job
        # with the import error instead, where the node's log shows it.
        traceback.print_exc()
        print(f"tfx_dags boot: worker {worker}: staging failed, harness started without it")
    options = pipeline_options(info) if info is not None else {}
    print(
        f"tfx_dags boot: worker {worker} (pid {os.getpid()}) of job "
        f"{options.get('job_name', '?')}: staged {sorted(path.name for path in files)}, "
        f"on PYTHONPATH {[str(path) for path in paths]}",
        flush=True,
    )
    env = worker_environment(args, info, semi_persistent, paths, worker)
    os.execve(sys.executable, [sys.executable, "-m", SDK_WORKER], env)
    return 1  # not reached


def provision_info(endpoint: str, worker: str) -> Any:
    import grpc
    from apache_beam.portability.api import beam_provision_api_pb2, beam_provision_api_pb2_grpc

    with grpc.insecure_channel(endpoint) as channel:
        grpc.channel_ready_future(channel).result(timeout=60)
        stub = beam_provision_api_pb2_grpc.ProvisionServiceStub(channel)
        response = stub.GetProvisionInfo(
            beam_provision_api_pb2.GetProvisionInfoRequest(),
            metadata=[("worker_id", worker)],
            timeout=RPC_TIMEOUT_S,
        )
    return response.info


def fetch_artifacts(info: Any, endpoint: str, folder: Path) -> list[Path]:
    """The job's staged files, by the names they were staged under."""
    import grpc
    from apache_beam.portability import common_urns
    from apache_beam.portability.api import (
        beam_artifact_api_pb2,
        beam_artifact_api_pb2_grpc,
        beam_runner_api_pb2,
    )

    files = []
    with grpc.insecure_channel(endpoint) as channel:
        stub = beam_artifact_api_pb2_grpc.ArtifactRetrievalServiceStub(channel)
        for artifact in info.dependencies:
            if artifact.role_urn != common_urns.artifact_roles.STAGING_TO.urn:
                continue
            role = beam_runner_api_pb2.ArtifactStagingToRolePayload.FromString(
                artifact.role_payload
            )
            name = os.path.basename(role.staged_name)
            request = beam_artifact_api_pb2.GetArtifactRequest(artifact=artifact)
            partial = folder / f".{name}.{os.getpid()}.part"
            with partial.open("wb") as out:
                for chunk in stub.GetArtifact(request, timeout=ARTIFACT_TIMEOUT_S):
                    out.write(chunk.data)
            partial.rename(folder / name)
            files.append(folder / name)
    return files


def install(files: Sequence[Path], cache: Path) -> list[Path]:
    """Each staged package into a folder of its own (one per content: workers and jobs with
    the same code share it); the folders to put on PYTHONPATH."""
    paths = []
    for path in files:
        beams_own = path.name in BEAM_OWN or path.name.startswith("apache_beam")
        package = path.suffix in (".whl", ".gz", ".zip", ".tar") or path.name == REQUIREMENTS
        if beams_own or not package:
            continue
        paths.append(_installed(path, cache))
    return paths


def _installed(path: Path, cache: Path) -> Path:
    target = cache / hashlib.sha256(path.read_bytes()).hexdigest()[:32]
    if target.is_dir():
        return target
    with folder_lock(cache):
        if target.is_dir():
            return target
        partial = cache / f".{target.name}.{os.getpid()}"
        shutil.rmtree(partial, ignore_errors=True)
        if path.suffix == ".whl" and _pure(path):
            with zipfile.ZipFile(path) as wheel:
                wheel.extractall(partial)
        else:
            # A requirements file's packages are staged beside it (Beam's requirements
            # cache), as Beam's own boot installs them: no index.
            requirement = ["-r", str(path)] if path.name == REQUIREMENTS else [str(path)]
            requirement += ["--no-index", "--find-links", str(path.parent)]
            subprocess.run(
                [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps"]
                + ["--disable-pip-version-check", "--target", str(partial), *requirement],
                check=True,
            )
        partial.rename(target)
    return target


def _pure(wheel: Path) -> bool:
    return wheel.name.endswith("-none-any.whl")


def pipeline_options(info: Any) -> dict[str, Any]:
    from google.protobuf import json_format

    options = json_format.MessageToDict(info.pipeline_options)
    options = options.get("options", options)
    return {key.removeprefix("beam:option:").removesuffix(":v1"): v for key, v in options.items()}


def worker_environment(
    args: argparse.Namespace, info: Any, semi_persistent: Path, paths: Sequence[Path], worker: str
) -> dict[str, str]:
    from google.protobuf import json_format

    env = dict(os.environ)
    kept = [entry for entry in env.get("PYTHONPATH", "").split(os.pathsep) if entry]
    env.update(
        {
            "WORKER_ID": worker,
            "SEMI_PERSISTENT_DIRECTORY": str(semi_persistent),
            "CONTROL_API_SERVICE_DESCRIPTOR": f'url: "{args.control_endpoint}"',
            "PYTHONPATH": os.pathsep.join([*map(str, paths), *kept]),
        }
    )
    if info is not None:
        env["PIPELINE_OPTIONS"] = json_format.MessageToJson(info.pipeline_options)
        env["RUNNER_CAPABILITIES"] = " ".join(info.runner_capabilities)
    logging_endpoint = args.logging_endpoint or (info.logging_endpoint.url if info else "")
    if logging_endpoint:
        env["LOGGING_API_SERVICE_DESCRIPTOR"] = f'url: "{logging_endpoint}"'
    return env


if __name__ == "__main__":
    sys.exit(main())
