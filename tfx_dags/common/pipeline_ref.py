"""Where a pipeline definition comes from, as a DAG file names it.

Read by the factory (Airflow environment) and by the compile step (TFX environment).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tfx_dags.common.errors import ConfigError

# What the factory passes a pipeline function besides its pipeline_kwargs (a DAG file's
# pipeline_kwargs may not set them).
FACTORY_ARGUMENTS = ("pipeline_name", "pipeline_root")
_DOTTED = r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*"
_PIPELINE_REF = re.compile(
    rf"^(?:(?P<module>{_DOTTED})|(?P<file>/.+\.py))(?::(?P<function>[A-Za-z_]\w*))?$"
)


@dataclass(frozen=True)
class PipelineRef:
    """Where a pipeline comes from: a function in a dotted module or in an absolute ``.py``
    path, or (no function) the pipeline a file hands to a TFX runner (``LocalDagRunner``,
    ``AirflowDagRunner``, ...)."""

    module: str
    function: str = ""

    @property
    def is_file(self) -> bool:
        return self.module.endswith(".py")

    @property
    def is_runner_file(self) -> bool:
        """A file that hands its pipeline to a TFX runner: it builds its pipeline itself."""
        return self.is_file and not self.function

    def __str__(self) -> str:
        return f"{self.module}:{self.function}" if self.function else self.module


def parse_pipeline_ref(value: str) -> PipelineRef:
    """Parse ``package.module:function``, ``/abs/path/file.py:function`` or, for a file that
    hands its pipeline to a TFX runner (``LocalDagRunner().run(...)``, ...),
    ``/abs/path/file.py``."""
    match = _PIPELINE_REF.match(value) if isinstance(value, str) else None
    if match is None or (match["module"] and not match["function"]):
        raise ConfigError(
            f"pipeline={value!r} is not a pipeline reference; use 'package.module:function' "
            "or '/absolute/path/file.py:function' naming a function that returns a tfx Pipeline"
            " (or '/absolute/path/file.py' for a file that hands its pipeline to a TFX runner)"
        )
    return PipelineRef(match["module"] or match["file"], match["function"] or "")
