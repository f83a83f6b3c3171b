"""RowCounter: a custom (class-based) TFX component, its executor a Beam pipeline."""

from tfx.dsl.components.base import base_component, executor_spec
from tfx.types import channel_utils, component_spec, standard_artifacts

from row_tools import executor
from row_tools.artifacts import RowCounts


class RowCounterSpec(component_spec.ComponentSpec):
    PARAMETERS = {}
    INPUTS = {"examples": component_spec.ChannelParameter(type=standard_artifacts.Examples)}
    OUTPUTS = {"row_counts": component_spec.ChannelParameter(type=RowCounts)}


class RowCounter(base_component.BaseComponent):
    SPEC_CLASS = RowCounterSpec
    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(executor.Executor)

    def __init__(self, examples):
        row_counts = channel_utils.as_channel([RowCounts()])
        super().__init__(spec=RowCounterSpec(examples=examples, row_counts=row_counts))
