"""The penguin pipeline (no Transform) whose Trainer holds at the start of training while the
test says so (held_trainer.py beside this file): a fault then hits a Trainer mid-training at
a moment the test chooses, and the retry trains its few steps."""

from __future__ import annotations

from typing import Any


def create_pipeline(**kwargs: Any) -> Any:
    from modules.penguin.pipeline import create_pipeline as penguin_pipeline

    return penguin_pipeline(trainer_module="held_trainer", use_transform=False, **kwargs)
