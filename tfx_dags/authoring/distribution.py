"""Helpers for trainer modules, run inside the Trainer task (TFX environment).

``distribution_strategy`` turns the pipeline's config into a ``tf.distribute`` strategy:
MirroredStrategy over every GPU (or, on a CPU-only machine, over ``cpu_replicas`` logical CPU
devices, which is how the tests exercise it), OneDeviceStrategy, or none. TensorFlow is
imported inside the functions: this module is importable without it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tfx_dags.common.errors import ConfigError

STRATEGIES = ("mirrored", "one_device", "none")


def strategy_settings(custom_config: Mapping[str, Any] | None) -> tuple[str, int]:
    """``(strategy, cpu_replicas)`` from a Trainer's custom_config, validated."""
    config = custom_config or {}
    name = config.get("distribution_strategy", "none")
    if name not in STRATEGIES:
        raise ConfigError(
            f"distribution_strategy={name!r} is not one of {', '.join(map(repr, STRATEGIES))}"
        )
    replicas = config.get("cpu_replicas", 1)
    if isinstance(replicas, bool) or not isinstance(replicas, int) or replicas < 1:
        raise ConfigError(f"cpu_replicas={replicas!r} must be an integer >= 1")
    return name, replicas


def distribution_strategy(name: str = "none", *, cpu_replicas: int = 1) -> Any:
    """The ``tf.distribute.Strategy`` to build and compile the model under.

    Args:
        name: ``"mirrored"``, ``"one_device"`` or ``"none"`` (TensorFlow's default strategy).
        cpu_replicas: with no GPU, split the CPU into this many logical devices so that
            MirroredStrategy has replicas to mirror over. Must run before TensorFlow
            initializes its devices, i.e. first thing in ``run_fn``/``trainer_fn``.
    """
    import tensorflow as tf
    from absl import logging

    strategy_settings({"distribution_strategy": name, "cpu_replicas": cpu_replicas})
    gpus = tf.config.list_physical_devices("GPU")
    if not gpus and cpu_replicas > 1:
        _split_cpu(tf, logging, cpu_replicas)
    if name == "none":
        return tf.distribute.get_strategy()
    device_type = "GPU" if gpus else "CPU"
    devices = tuple(device.name for device in tf.config.list_logical_devices(device_type))
    if name == "one_device":
        strategy = tf.distribute.OneDeviceStrategy(devices[0])
        devices = devices[:1]
    else:
        strategy = tf.distribute.MirroredStrategy(devices=list(devices))
    # bench/gpu_check.py reads this line: the devices, and whether TensorFlow saw a GPU.
    logging.info(
        "Using %s with devices %s; GPUs TensorFlow sees: %d",
        type(strategy).__name__,
        devices,
        len(gpus),
    )
    return strategy


def _split_cpu(tf: Any, logging: Any, replicas: int) -> None:
    [cpu] = tf.config.list_physical_devices("CPU")
    if len(tf.config.get_logical_device_configuration(cpu) or ()) == replicas:
        return
    try:
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(replicas)]
        )
    except RuntimeError as error:  # devices already initialized in this process
        logging.warning("cannot split the CPU into %d logical devices: %s", replicas, error)
