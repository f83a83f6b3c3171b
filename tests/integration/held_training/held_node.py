"""A one-node pipeline whose component, once TFX has registered its execution, says so in its
log and holds: a fault then strikes the node while ML Metadata has it RUNNING. (No
``from __future__ import annotations``: TFX's @component reads its annotations as types.)"""

import time
from typing import Any

from tfx import v1 as tfx

HOLDING = "held_node: holding"


@tfx.dsl.components.component
def Holds(seconds: tfx.dsl.components.Parameter[int] = 600) -> None:
    print(HOLDING, flush=True)
    time.sleep(seconds)


def create_pipeline(*, pipeline_name: str, pipeline_root: str, **_: Any) -> Any:
    return tfx.dsl.Pipeline(
        pipeline_name=pipeline_name, pipeline_root=pipeline_root, components=[Holds()]
    )
