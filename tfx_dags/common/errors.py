"""The package's exceptions: one base class, so callers can catch everything we raise."""

from __future__ import annotations


class TfxDagsError(Exception):
    """Base class of every error raised by tfx_dags."""


class ConfigError(TfxDagsError, ValueError):
    """A DAG file or a setting holds a value the factory cannot use; the message names it."""


class ManifestError(TfxDagsError):
    """A compiled pipeline's manifest is malformed (unknown node, cycle, wrong format)."""


class PipelineCompileError(TfxDagsError):
    """The pipeline definition could not be built or compiled to TFX's pipeline IR."""
