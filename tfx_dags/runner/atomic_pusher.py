"""TFX's Pusher, with a push to a filesystem destination that is atomic.

TFX copies the model file by file into ``<base>/<version>``: a failure half-way (a full disk,
a kill) leaves a half-written version folder that a model server watching ``<base>`` may load.
Here the model is copied into a hidden staging folder beside it and renamed into place, so
the version folder appears complete or not at all; a failed copy removes its staging folder.
Other destinations keep TFX's behaviour.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from typing import Any

from absl import logging
from tfx.components.pusher import executor as pusher_executor
from tfx.proto import pusher_pb2
from tfx.types import artifact_utils, standard_component_specs
from tfx.utils import io_utils, proto_utils

STAGING_PREFIX = ".staging-"


class AtomicPusherExecutor(pusher_executor.Executor):
    def Do(  # TFX's executor interface
        self,
        input_dict: dict[str, list[Any]],
        output_dict: dict[str, list[Any]],
        exec_properties: dict[str, Any],
    ) -> None:
        destination = pusher_pb2.PushDestination()
        proto_utils.json_to_proto(
            exec_properties[standard_component_specs.PUSH_DESTINATION_KEY], destination
        )
        base = destination.filesystem.base_directory
        if destination.WhichOneof("destination") != "filesystem" or "://" in base:
            super().Do(input_dict, output_dict, exec_properties)
            return
        self._log_startup(input_dict, output_dict, exec_properties)
        model_push = artifact_utils.get_single_instance(
            output_dict[standard_component_specs.PUSHED_MODEL_KEY]
        )
        if not self.CheckBlessing(input_dict):
            self._MarkNotPushed(model_push)
            return
        model_path = self.GetModelPath(input_dict)
        version, serving_path = push_atomically(model_path, base)
        io_utils.copy_dir(model_path, model_push.uri)
        self._MarkPushed(model_push, pushed_destination=serving_path, pushed_version=version)
        logging.info("Model pushed to %s.", model_push.uri)


def push_atomically(model_path: str, base: str) -> tuple[str, str]:
    """Copy ``model_path`` to ``base/<unix time>`` through a staging folder; return the
    version and its path. An existing version folder is never touched: a push in the same
    second as another takes the next number."""
    os.makedirs(base, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=base)
    try:
        shutil.copytree(model_path, staging, dirs_exist_ok=True)
        version = int(time.time())
        while True:
            serving_path = os.path.join(base, str(version))
            if not os.path.exists(serving_path):
                try:
                    os.rename(staging, serving_path)  # atomic on one filesystem
                    break
                except OSError:  # another push took this version meanwhile
                    pass
            version += 1
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    logging.info("Model written atomically to serving path %s.", serving_path)
    return str(version), serving_path
