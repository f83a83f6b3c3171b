"""The deployment's TFX environments, by name: each is a Python interpreter that holds a TFX
line and this package's TFX side (a virtualenv, or the interpreter of a worker image).

``TFX_DAGS_TFX_ENVS`` declares them as a JSON object, or the path of a JSON file holding one:
``{"tfx115": "/venvs/tfx115/bin/python", "tfx116": {"python": "/venvs/tfx116/bin/python",
"env": {"TF_USE_LEGACY_KERAS": "1"}}}``. ``env`` holds variables the environment needs in every
process it runs (the compile, each node, its node server, its Beam workers), set before
TensorFlow is imported; a file's relative interpreter paths are from the file's folder.
``TFX_DAGS_DEFAULT_TFX_ENV`` names the one a DAG without ``tfx_env=`` uses (else the first
declared). Without ``TFX_DAGS_TFX_ENVS``, there is one environment, ``default``:
``TFX_DAGS_TFX_PYTHON``.

Standard library only: DAG files read this at parse time, so it imports nothing of TFX.
What an environment has installed is read from its site-packages folders (the
``*.dist-info`` names carry each distribution's version); where those folders are, the
interpreter is asked once (about 30 ms) and the answer is kept beside the compile cache.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from tfx_dags.common import settings
from tfx_dags.common.errors import ConfigError

DEFAULT_NAME = "default"
NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
# Distributions whose versions decide what a compile produces and how a node runs; a change
# of any other distribution (a new pytest) does not invalidate compiled pipelines.
KEY_DISTRIBUTIONS = (
    "tfx",
    "tensorflow",
    "tensorflow-cpu",
    "tf-keras",
    "keras",
    "apache-beam",
    "ml-metadata",
    "tfx-bsl",
    "tensorflow-transform",
    "tensorflow-model-analysis",
    "tensorflow-data-validation",
    "tensorflow-metadata",
    "protobuf",
)


@dataclass(frozen=True)
class TfxEnv:
    name: str
    python: Path
    # Set in every process of the environment, over the caller's environment.
    variables: Mapping[str, str] = field(default_factory=dict)

    def environ(self, base: Mapping[str, str]) -> dict[str, str]:
        """``base`` with the environment's own variables set."""
        return {**base, **self.variables}


def declared() -> dict[str, TfxEnv]:
    """Every TFX environment of the deployment, by name, in declaration order."""
    raw = settings.tfx_envs_declaration()
    if not raw:
        return {DEFAULT_NAME: TfxEnv(DEFAULT_NAME, settings.tfx_python())}
    source, folder = "TFX_DAGS_TFX_ENVS", Path.cwd()
    if not raw.lstrip().startswith("{"):
        path = Path(raw).expanduser()
        try:
            raw = path.read_text()
        except OSError as error:
            raise ConfigError(
                f"TFX_DAGS_TFX_ENVS={str(path)!r} is neither a JSON object nor a readable file "
                f"({error.strerror})"
            ) from None
        source, folder = str(path), path.absolute().parent
    try:
        entries = json.loads(raw)
    except ValueError as error:
        raise ConfigError(
            f"{source} is not JSON ({error}); give an object of environment name to "
            'interpreter, e.g. {"tfx115": "/venvs/tfx115/bin/python"}'
        ) from None
    if not isinstance(entries, dict) or not entries:
        raise ConfigError(
            f"{source} must be a non-empty JSON object of environment name to interpreter, "
            f"not {raw.strip()!r}"
        )
    return {name: _entry(source, folder, name, entry) for name, entry in entries.items()}


def _entry(source: str, folder: Path, name: str, entry: object) -> TfxEnv:
    python, variables = (
        (entry.get("python"), entry.get("env", {})) if isinstance(entry, dict) else (entry, {})
    )
    if not NAME.match(name) or not isinstance(python, str) or not python:
        raise ConfigError(
            f"{source}: {name!r}: {entry!r} must name an environment in letters, digits, "
            '\'_.-\' and give its interpreter\'s path (or an object with "python" and "env")'
        )
    if not isinstance(variables, dict) or not all(
        isinstance(key, str) and isinstance(value, str) for key, value in variables.items()
    ):
        raise ConfigError(
            f'{source}: {name!r}: "env" must be an object of variable name to string value, '
            f"not {variables!r}"
        )
    # Not resolved: a virtualenv's bin/python links to the base interpreter.
    interpreter = Path(os.path.abspath(folder / Path(python).expanduser()))
    return TfxEnv(name, interpreter, dict(variables))


def variables_of(python: Path) -> dict[str, str]:
    """The variables declared for the environment whose interpreter is ``python`` (none for
    an interpreter no declaration names): for code that starts a process of an interpreter
    it was handed, like the node client."""
    for env in declared().values():
        if env.python == python:
            return dict(env.variables)
    return {}


def resolve(name: str | None = None) -> TfxEnv:
    """The environment called ``name``, or the deployment's default one."""
    envs = declared()
    if name is None:
        name = os.environ.get("TFX_DAGS_DEFAULT_TFX_ENV") or next(iter(envs))
        if name not in envs:
            raise ConfigError(
                f"TFX_DAGS_DEFAULT_TFX_ENV={name!r} is not a declared TFX environment "
                f"(declared: {sorted(envs)})"
            )
    if name not in envs:
        raise ConfigError(
            f"tfx_env={name!r} is not a TFX environment of this deployment (declared: "
            f"{sorted(envs)}); declare it in TFX_DAGS_TFX_ENVS"
        )
    return envs[name]


def for_line(line: str) -> TfxEnv:
    """The first declared environment whose TFX is of ``line`` ("1.16"), else the default
    one (a line no longer installed is still read by the default's ML Metadata)."""
    for env in declared().values():
        version = installed(env).get("tfx", "")
        if version == line or version.startswith(line + "."):
            return env
    return resolve()


def tfx_version() -> str | None:
    """The TFX version installed where this process runs (``1.16.0``); None where there is
    none (the Airflow environment). The TFX side names it in its errors and records its line
    on the pipelines it runs (``tfx_dags.mlmd.tfx_lines``)."""
    try:
        return metadata.version("tfx")
    except metadata.PackageNotFoundError:
        return None


def installed(env: TfxEnv) -> dict[str, str]:
    """Versions of the environment's KEY_DISTRIBUTIONS, as its site-packages list them."""
    found = {}
    for folder in _site_packages(env.python):
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        for entry in names:
            if not entry.endswith(".dist-info"):
                continue
            name, _, version = entry[: -len(".dist-info")].partition("-")
            canonical = name.lower().replace("_", "-")
            if canonical in KEY_DISTRIBUTIONS:
                found[canonical] = version
    return dict(sorted(found.items()))


def installed_digest(env: TfxEnv) -> str:
    """What a compiled pipeline depends on in the environment: its name and key versions."""
    text = json.dumps({"env": env.name, "installed": installed(env)}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _site_packages(python: Path) -> list[Path]:
    """The interpreter's site-packages folders: asked of it once, then kept on disk (keyed
    by its path and its file's identity, so a rebuilt environment is asked again)."""
    try:
        python.stat()
        stat = python.lstat()
    except OSError:
        raise ConfigError(
            f"the TFX environment's interpreter {python} does not exist; build it (make "
            "setup) or fix TFX_DAGS_TFX_ENVS / TFX_DAGS_TFX_PYTHON"
        ) from None
    identity = f"{python}|{stat.st_ino}|{stat.st_mtime_ns}"
    record = (
        settings.compiled_dir()
        / ".environments"
        / (hashlib.sha256(identity.encode()).hexdigest()[:20] + ".json")
    )
    try:
        return [Path(folder) for folder in json.loads(record.read_text())]
    except (OSError, ValueError):
        pass
    probe = "import json, site, sysconfig; p = sysconfig.get_paths(); " + (
        "print(json.dumps(sorted({p['purelib'], p['platlib'], *site.getsitepackages()})))"
    )
    try:
        output = subprocess.run(
            [str(python), "-I", "-c", probe], capture_output=True, text=True, check=True, timeout=60
        ).stdout
        folders = [str(folder) for folder in json.loads(output)]
    except (OSError, ValueError, subprocess.SubprocessError) as error:
        raise ConfigError(f"cannot ask {python} for its site-packages: {error}") from None
    try:
        record.parent.mkdir(parents=True, exist_ok=True)
        partial = record.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(json.dumps(folders))
        os.replace(partial, record)
    except OSError:
        pass  # a read-only cache (a baked image): the interpreter is asked again next time
    return [Path(folder) for folder in folders]
