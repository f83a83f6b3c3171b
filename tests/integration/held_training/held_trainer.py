"""``modules.penguin.keras_raw``'s ``run_fn``, held while ``$TFX_DAGS_TEST_TRAINER_HOLDS/<train
steps>`` exists. TFX has logged "Training model." by then and the node is inside the user's
training code, where a kill lands in the real thing; no CPU is spent waiting."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from absl import logging

from modules.penguin import keras_raw


def run_fn(fn_args: Any) -> None:
    holds = os.environ.get("TFX_DAGS_TEST_TRAINER_HOLDS")
    hold = Path(holds) / str(fn_args.train_steps) if holds else None
    if hold is not None and hold.exists():
        logging.info("held_trainer: holding while %s exists", hold)
        while hold.exists():
            time.sleep(0.2)
    keras_raw.run_fn(fn_args)
