"""GPU check: each TFX line's penguin Keras Trainer on the GPU, through the node server.

    .venv-airflow/bin/python bench/gpu_check.py [--no-install] [--cpu-only] [--lines tfx116]
    make gpu-check [GPU_CHECK_ARGS=...]

For a host with an NVIDIA GPU (docs/gpu-host.md); the test suite never runs it. Per TFX
environment of the checkout (``tfx_dags.common.tfx_envs.declared()``):

1. The CUDA wheels of its TensorFlow (the ``tensorflow[and-cuda]`` extra of the version it
   has installed) go into ``var/gpu-check/cuda-<line>-tf<version>/`` with ``pip install
   --target``, once; the environment itself is left as it is. Its processes find them through
   ``LD_LIBRARY_PATH``, set when its node server starts. ``--no-install`` uses that folder as
   it is, or where it is missing, what TensorFlow finds by itself (CUDA wheels in the
   environment, a system CUDA).
2. The penguin_keras pipeline (MirroredStrategy) is compiled in that environment, and its
   nodes up to Transform run once, on the CPU, through a node server of its own.
3. Its Trainer runs twice, forked from that node server after TensorFlow was imported: with
   the GPU visible, then with ``CUDA_VISIBLE_DEVICES=""``. The node runner reuses a node's
   success within a run and the Trainer's inputs resolve within the run, so each of the two
   starts from a copy of ML Metadata as the upstream nodes left it.

The check fails unless each GPU Trainer ran in a forked node, TensorFlow saw a GPU, and
MirroredStrategy's devices and the model's variables include ``/GPU:0`` (the lines
``tfx_dags.authoring`` logs). It prints each Trainer's time, GPU against CPU. Without
``nvidia-smi`` it refuses to start; ``--cpu-only`` runs the same flow without installing or
asserting anything about a GPU (both Trainers then run on the CPU), to try it anywhere.
Everything else it writes goes to a temporary folder, removed after a pass (``--keep`` keeps it).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))

from packaging.requirements import Requirement  # noqa: E402

from tfx_dags.airflow.compile_cache import ensure_compiled  # noqa: E402
from tfx_dags.common import settings, tfx_envs  # noqa: E402
from tfx_dags.common.pipeline_ref import parse_pipeline_ref  # noqa: E402
from tfx_dags.node_server import client as node_client  # noqa: E402

PIPELINE = parse_pipeline_ref("modules.penguin.pipeline:create_pipeline")
PIPELINE_NAME = "penguin_keras"
UPSTREAM = ("CsvExampleGen", "StatisticsGen", "SchemaGen", "ExampleValidator", "Transform")
# As the factory sets for Trainer tasks (tfx_dags.airflow.factory.TRAINER_ENV).
TRAINER_ENV = {"TF_FORCE_GPU_ALLOW_GROWTH": "true"}
CUDA_HIDDEN = {"CUDA_VISIBLE_DEVICES": ""}
# TensorFlow 2.15 has no kernels built for Hopper (compute capability 9.0): the driver compiles
# them from PTX. Lazily, only the kernels used, and kept for the next check.
CUDA_CACHE = {"CUDA_MODULE_LOADING": "LAZY", "CUDA_CACHE_MAXSIZE": str(4 * 2**30)}
STRATEGY_LINE = re.compile(r"Using (\w+) with devices (\(.*?\)); GPUs TensorFlow sees: (\d+)")
TRAINED_LINE = re.compile(
    r"Trained with (\w+) over (\d+) replica\(s\); model variables on (\[.*?\])"
)
TIMINGS_LINE = re.compile(r"node Trainer timings: launch ([\d.]+) s, executor ([\d.]+) s")
PTX_JIT = "jit-compiled from PTX"
# TensorFlow's own words when it cannot use the GPU (libraries missing, driver too old).
CUDA_PROBLEM = re.compile(r"^.*(Cannot dlopen|failed call to cuInit|CUDA_ERROR_\w+).*$", re.M)


class CheckFailed(Exception):
    """A step of the check did not do what it must; the message says which and where."""


@dataclass
class Trial:
    line: str
    device: str
    wall_s: float = 0.0
    executor_s: float = 0.0
    forked: bool = False
    strategy: str = ""
    devices: str = ""
    gpus_seen: int = 0
    variables_on: str = ""
    ptx_jit: bool = False
    cuda_problem: str = ""
    failures: list[str] = field(default_factory=list)


def gpus_present() -> list[str]:
    """The GPUs ``nvidia-smi -L`` lists; CheckFailed where there is none."""
    if shutil.which("nvidia-smi") is None:
        raise CheckFailed(
            "no NVIDIA GPU: nvidia-smi is not on the PATH (install the NVIDIA driver, or give "
            "--cpu-only to try the flow without a GPU)"
        )
    listed = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True)
    gpus = [line for line in listed.stdout.splitlines() if line.startswith("GPU ")]
    if listed.returncode != 0 or not gpus:
        raise CheckFailed(
            f"nvidia-smi -L lists no GPU (exit {listed.returncode}: "
            f"{(listed.stderr or listed.stdout).strip()[:300]}); give --cpu-only to try the "
            "flow without a GPU"
        )
    return gpus


def cuda_requirements(env: tfx_envs.TfxEnv) -> list[str]:
    """The ``tensorflow[and-cuda]`` requirements of the TensorFlow installed in ``env``."""
    listed = subprocess.run(
        [
            str(env.python),
            "-I",
            "-c",
            "import importlib.metadata as m, json; print(json.dumps(m.requires('tensorflow')))",
        ],
        capture_output=True,
        text=True,
    )
    if listed.returncode != 0:
        raise CheckFailed(f"{env.name}: {env.python} has no tensorflow: {listed.stderr[-300:]}")
    requirements = []
    for text in json.loads(listed.stdout):
        requirement = Requirement(text)
        marker = requirement.marker
        if marker is not None and marker.evaluate({"extra": "and-cuda"}):
            if not marker.evaluate({"extra": ""}):
                requirement.marker = None
                requirements.append(str(requirement))
    if not requirements:
        raise CheckFailed(f"{env.name}: its tensorflow declares no 'and-cuda' extra")
    return sorted(requirements)


def cuda_folder(env: tfx_envs.TfxEnv, base: Path) -> Path:
    return base / f"cuda-{env.name}-tf{tfx_envs.installed(env).get('tensorflow', 'unknown')}"


def install_cuda(env: tfx_envs.TfxEnv, folder: Path) -> float:
    """pip-install the CUDA wheels of ``env``'s TensorFlow into ``folder`` (not into the
    environment) unless a complete install of the same list is there; seconds it took."""
    requirements = cuda_requirements(env)
    stamp = folder / ".requirements.json"
    if stamp.is_file() and json.loads(stamp.read_text()) == requirements:
        return 0.0
    print(f"{env.name}: installing {len(requirements)} CUDA wheels into {folder}", flush=True)
    start = time.perf_counter()
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    # Every wheel of the extra is listed and pinned, so no resolution of their dependencies.
    command = [str(env.python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    command += ["--no-deps", "--target", str(partial), *requirements]
    if subprocess.run(command).returncode != 0:
        raise CheckFailed(f"{env.name}: pip could not install {' '.join(requirements)}")
    (partial / stamp.name).write_text(json.dumps(requirements))
    shutil.rmtree(folder, ignore_errors=True)
    partial.rename(folder)
    return time.perf_counter() - start


def cuda_environ(folder: Path, base: Mapping[str, str]) -> dict[str, str]:
    """Variables that make the wheels in ``folder`` TensorFlow's CUDA: its libraries for the
    dynamic loader (read when a process starts: the node server gets them), ptxas and
    libdevice for XLA."""
    libraries = sorted(str(path) for path in (folder / "nvidia").glob("*/lib") if path.is_dir())
    nvcc = folder / "nvidia" / "cuda_nvcc"
    found = [value for value in (base.get("LD_LIBRARY_PATH"),) if value]
    return {
        "LD_LIBRARY_PATH": ":".join(libraries + found),
        "PATH": f"{nvcc / 'bin'}:{base.get('PATH', os.defpath)}",
        "XLA_FLAGS": f"--xla_gpu_cuda_data_dir={nvcc} {base.get('XLA_FLAGS', '')}".strip(),
        "CUDA_CACHE_PATH": str(folder.parent / "compute-cache"),
    }


def run_node(
    env: tfx_envs.TfxEnv,
    ir: Path,
    node_id: str,
    run_id: str,
    environ: Mapping[str, str],
    *,
    log: Path,
    timeout_s: float,
) -> tuple[bool, float, str]:
    """Run one node as a task would (through the node server); whether it was forked from
    the server, its wall seconds and its output (also written to ``log``)."""
    command = [str(env.python), "-m", "tfx_dags.runner.node", "--pipeline-ir", str(ir)]
    command += ["--node-id", node_id, "--run-id", run_id]
    start = time.perf_counter()
    process = node_client.start(command, env=environ)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(process.output()), daemon=True)
    reader.start()
    try:
        returncode = process.wait(timeout=timeout_s)
    except TimeoutError:
        process.terminate(grace_s=5)
        returncode = None
    reader.join(timeout=10)
    wall = time.perf_counter() - start
    output = "\n".join(lines)
    log.write_text(output)
    if returncode != 0:
        why = f"ran past {timeout_s:.0f} s" if returncode is None else f"exit {returncode}"
        tail = "\n".join(lines[-15:])
        raise CheckFailed(f"{env.name}: {node_id} failed ({why}); log {log}:\n{tail}")
    return isinstance(process, node_client.ServedProcess), wall, output


def read_trainer(trial: Trial, output: str) -> None:
    """What the Trainer's log says about its devices and time."""
    if match := STRATEGY_LINE.search(output):
        trial.strategy, trial.devices, trial.gpus_seen = match[1], match[2], int(match[3])
    if match := TRAINED_LINE.search(output):
        trial.variables_on = match[3]
    if match := TIMINGS_LINE.search(output):
        trial.executor_s = float(match[2])
    trial.ptx_jit = PTX_JIT in output
    if match := CUDA_PROBLEM.search(output):
        trial.cuda_problem = match[0].strip()


def check_trial(trial: Trial, log: Path, *, gpu: bool) -> None:
    """Record what the trial failed to show: a forked node, and for ``gpu``, training on it."""
    failures = [] if trial.forked else ["the Trainer did not run forked from the node server"]
    if gpu and trial.gpus_seen < 1:
        failures.append(f"TensorFlow saw no GPU ({trial.cuda_problem or 'see its log'})")
    elif gpu:
        if trial.strategy != "MirroredStrategy" or "GPU:0" not in trial.devices:
            failures.append(
                f"MirroredStrategy's devices lack /GPU:0 ({trial.strategy} {trial.devices or '?'})"
            )
        if "GPU:0" not in trial.variables_on:
            failures.append(f"the model's variables are not on GPU:0 ({trial.variables_on})")
    trial.failures = [f"{trial.line} {trial.device}: {what} (log {log})" for what in failures]


def check_line(
    env: tfx_envs.TfxEnv, scratch: Path, *, cuda: Mapping[str, str], args: argparse.Namespace
) -> list[Trial]:
    """Compile, run the upstream nodes once and the Trainer on each device; its trials."""
    home = scratch / env.name
    logs = home / "logs"
    logs.mkdir(parents=True)
    base = dict(os.environ)
    # This line's settings and CUDA in this process too: the compile cache reads them, and
    # the compile would otherwise start the node server without the CUDA libraries' paths.
    os.environ.update(
        {
            **cuda,
            "TFX_DAGS_HOME": str(home),
            "TFX_DAGS_COMPILED_DIR": str(home / "compiled"),
            "TFX_DAGS_NODE_SERVER_DIR": str(home / "node-server"),
        }
    )
    try:
        return _check_line(env, home, logs, args)
    finally:
        node_client.stop_servers()
        os.environ.clear()
        os.environ.update(base)


def _check_line(
    env: tfx_envs.TfxEnv, home: Path, logs: Path, args: argparse.Namespace
) -> list[Trial]:
    environ = dict(os.environ)
    started = time.perf_counter()
    node_client.connect_server(env.python, env=environ).close()
    server_s = time.perf_counter() - started
    pipeline_root = settings.pipeline_root(PIPELINE_NAME)
    started = time.perf_counter()
    compiled = ensure_compiled(
        cache_name=PIPELINE_NAME,
        ref=PIPELINE,
        kwargs={
            "pipeline_name": PIPELINE_NAME,
            "pipeline_root": str(pipeline_root),
            "data_root": str(PROJECT_ROOT / "data" / "penguin"),
            "serving_model_dir": str(settings.serving_dir(PIPELINE_NAME)),
            "train_steps": args.train_steps,
            "distribution_strategy": "mirrored",
            "cpu_replicas": 2,  # on the CPU only: MirroredStrategy takes every GPU
            "enable_cache": False,
        },
        tfx_env=env.name,
    )
    compile_s = time.perf_counter() - started
    print(f"{env.name}: node server up in {server_s:.1f} s, compiled in {compile_s:.1f} s")
    run_id = f"gpu-check-{time.strftime('%Y%m%dT%H%M%S')}"
    started = time.perf_counter()
    for node_id in UPSTREAM:
        run_node(
            env,
            compiled.ir_path,
            node_id,
            run_id,
            {**environ, **CUDA_HIDDEN},
            log=logs / f"{node_id}.log",
            timeout_s=args.node_timeout,
        )
    print(f"{env.name}: {', '.join(UPSTREAM)} in {time.perf_counter() - started:.1f} s (CPU)")
    metadata = settings.metadata_sqlite_path()
    snapshot = home / "metadata-upstream.sqlite"
    shutil.copyfile(metadata, snapshot)
    trials = []
    for device, hide in (("GPU", {}), ("CPU", CUDA_HIDDEN)):
        trial = Trial(env.name, device)
        shutil.copyfile(snapshot, metadata)
        log = logs / f"Trainer-{device}.log"
        trial.forked, trial.wall_s, output = run_node(
            env,
            compiled.ir_path,
            "Trainer",
            run_id,
            {**environ, **TRAINER_ENV, **hide},
            log=log,
            timeout_s=args.node_timeout,
        )
        # Out of the way of the next trial, which gets the same execution id.
        (pipeline_root / "Trainer").rename(home / f"Trainer-{device}")
        read_trainer(trial, output)
        check_trial(trial, log, gpu=device == "GPU" and not args.cpu_only)
        print(
            f"{env.name}: Trainer ({device}) {trial.wall_s:.1f} s, "
            f"{trial.strategy} on {trial.devices}",
            flush=True,
        )
        trials.append(trial)
    return trials


def report(trials: list[Trial], *, cpu_only: bool) -> None:
    cpu = {trial.line: trial for trial in trials if trial.device == "CPU"}
    print()
    print(
        f"{'line':8} {'device':7} {'Trainer s':>10} {'executor s':>11} {'vs CPU':>7}  "
        f"{'TF GPUs':>7}  strategy devices"
    )
    for trial in trials:
        baseline = cpu[trial.line].wall_s if trial.line in cpu else float("nan")
        device = f"{trial.device}*" if cpu_only and trial.device == "GPU" else trial.device
        print(
            f"{trial.line:8} {device:7} {trial.wall_s:10.1f} {trial.executor_s:11.1f} "
            f"{trial.wall_s / baseline:6.2f}x  {trial.gpus_seen:7d}  {trial.devices}"
        )
    print(
        "Trainer s: the node from its start to its end (fork, TensorFlow's devices, training, "
        "the SavedModel); executor s: the Trainer's executor alone."
    )
    if cpu_only:
        print("* --cpu-only: the CUDA_VISIBLE_DEVICES-unset run, on a host without a GPU.")
    if any(trial.ptx_jit for trial in trials):
        print(
            "TensorFlow compiled CUDA kernels from PTX for this GPU (no kernels built for its "
            "compute capability); the next check reads them from the CUDA cache."
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--lines", help="comma-separated TFX environments (default: every declared one)"
    )
    parser.add_argument("--train-steps", type=int, default=200, help="default 200, as the DAG")
    parser.add_argument(
        "--no-install", action="store_true", help="use the CUDA wheels already there"
    )
    parser.add_argument(
        "--cpu-only", action="store_true", help="no GPU needed, none installed or asserted"
    )
    parser.add_argument(
        "--cuda-dir",
        type=Path,
        default=PROJECT_ROOT / "var" / "gpu-check",
        help="where each line's CUDA wheels go (default var/gpu-check)",
    )
    parser.add_argument("--node-timeout", type=float, default=300.0, help="seconds per node")
    parser.add_argument("--keep", action="store_true", help="keep the pipeline roots and logs")
    args = parser.parse_args()
    started = time.perf_counter()
    try:
        if not args.cpu_only:
            for gpu in gpus_present():
                print(gpu)
        envs = tfx_envs.declared()
        names = args.lines.split(",") if args.lines else list(envs)
        unknown = sorted(set(names) - set(envs))
        if unknown:
            raise CheckFailed(f"--lines {unknown}: not declared TFX environments ({list(envs)})")
        cuda: dict[str, dict[str, str]] = {}
        for name in names if not args.cpu_only else ():
            folder = cuda_folder(envs[name], args.cuda_dir)
            if not args.no_install:
                install_cuda(envs[name], folder)
            if (folder / "nvidia").is_dir():
                cuda[name] = {**CUDA_CACHE, **cuda_environ(folder, os.environ)}
            else:
                print(f"{name}: no {folder}: TensorFlow finds CUDA by itself (--no-install)")
                cuda[name] = dict(CUDA_CACHE)
        scratch = Path(tempfile.mkdtemp(prefix="tfx-dags-gpu-check-"))
        print(f"Pipeline roots, ML Metadata and logs: {scratch}", flush=True)
        trials: list[Trial] = []
        for name in names:
            trials += check_line(envs[name], scratch, cuda=cuda.get(name, {}), args=args)
    except CheckFailed as error:
        print(f"gpu-check: {error}", file=sys.stderr)
        return 1
    report(trials, cpu_only=args.cpu_only)
    failures = [failure for trial in trials for failure in trial.failures]
    print(f"Whole check: {time.perf_counter() - started:.0f} s")
    if failures or args.keep:
        print(f"Kept: {scratch}")
    else:
        shutil.rmtree(scratch, ignore_errors=True)
    for failure in failures:
        print(f"gpu-check: FAILED: {failure}", file=sys.stderr)
    if not failures:
        print("gpu-check: passed" + (" (--cpu-only: no GPU asserted)" if args.cpu_only else ""))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
