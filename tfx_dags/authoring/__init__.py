"""Helpers that users' pipeline definitions and trainer modules import (TFX environment).

- ``pipelines``: the standard training pipeline (ExampleGen ... Pusher) in one call;
- ``trainer_executors``: picks TFX's Trainer executor from a module's ``run_fn``/``trainer_fn``;
- ``distribution``: ``tf.distribute`` strategies for the trainer, from the task's settings;
- ``keras_export``, ``estimators``: serving signatures that parse ``tf.Example``s and apply
  Transform, for native Keras and Estimator trainers;
- ``beam_args``: Beam pipeline args for the DirectRunner, Dataflow, Flink and Spark.

They never import Airflow; TensorFlow and TFX are imported inside the functions that need them.
"""
