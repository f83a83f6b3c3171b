"""Native Keras trainer without Transform (GenericExecutor ``run_fn``).

Features come straight from the raw examples, with the feature spec derived from the schema;
a Normalization layer (statistics from the training data) does what Transform does
elsewhere. The ``serving_default`` signature parses raw serialized ``tf.Example``s.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf
from absl import logging
from tensorflow_metadata.proto.v0 import schema_pb2
from tensorflow_transform.tf_metadata import schema_utils
from tfx.utils import io_utils
from tfx_bsl.public import tfxio

from modules.penguin.features import FEATURE_KEYS, LABEL_KEY, NUM_CLASSES
from tfx_dags.authoring.distribution import distribution_strategy, strategy_settings

BATCH_SIZE = 32
STATISTICS_BATCHES = 20
HIDDEN_UNITS = (16, 16)
LEARNING_RATE = 1e-2


def _get_raw_feature_spec(schema: schema_pb2.Schema) -> dict[str, Any]:
    return schema_utils.schema_as_feature_spec(schema).feature_spec


def _input_fn(
    file_pattern: list[str], data_accessor: Any, schema: schema_pb2.Schema, batch_size: int
) -> tf.data.Dataset:
    return data_accessor.tf_dataset_factory(
        file_pattern,
        tfxio.TensorFlowDatasetOptions(batch_size=batch_size, label_key=LABEL_KEY),
        schema,
    ).repeat()


def _feature_statistics(dataset: tf.data.Dataset) -> dict[str, tuple[float, float]]:
    """Mean and variance of each feature over a sample of training batches."""
    columns: dict[str, list[np.ndarray]] = {key: [] for key in FEATURE_KEYS}
    for features, _ in dataset.take(STATISTICS_BATCHES):
        for key in FEATURE_KEYS:
            columns[key].append(features[key].numpy().reshape(-1))
    return {
        key: (float(np.mean(np.concatenate(v))), float(np.var(np.concatenate(v))) or 1.0)
        for key, v in columns.items()
    }


def _build_keras_model(statistics: dict[str, tuple[float, float]]) -> tf.keras.Model:
    inputs = [tf.keras.layers.Input(shape=(1,), name=key) for key in FEATURE_KEYS]
    normalized = [
        tf.keras.layers.Normalization(mean=statistics[key][0], variance=statistics[key][1])(layer)
        for key, layer in zip(FEATURE_KEYS, inputs, strict=True)
    ]
    hidden = tf.keras.layers.concatenate(normalized)
    for units in HIDDEN_UNITS:
        hidden = tf.keras.layers.Dense(units, activation="relu")(hidden)
    outputs = tf.keras.layers.Dense(NUM_CLASSES, activation="softmax")(hidden)
    model = tf.keras.Model(inputs=inputs, outputs=outputs)
    model.compile(
        optimizer=tf.keras.optimizers.Adam(LEARNING_RATE),
        loss=tf.keras.losses.SparseCategoricalCrossentropy(),
        metrics=[tf.keras.metrics.SparseCategoricalAccuracy()],
    )
    model.summary(print_fn=logging.info)
    return model


def _serving_signature(model: tf.keras.Model, schema: schema_pb2.Schema) -> Any:
    @tf.function(input_signature=[tf.TensorSpec(shape=[None], dtype=tf.string, name="examples")])
    def serve_tf_examples_fn(serialized_examples: tf.Tensor) -> dict[str, tf.Tensor]:
        feature_spec = _get_raw_feature_spec(schema)
        feature_spec.pop(LABEL_KEY)  # absent at serving time
        features = tf.io.parse_example(serialized_examples, feature_spec)
        return {"outputs": model(features)}

    return serve_tf_examples_fn


def run_fn(fn_args: Any) -> None:
    """Train on the raw examples and export the serving SavedModel."""
    name, cpu_replicas = strategy_settings(fn_args.custom_config)
    strategy = distribution_strategy(name, cpu_replicas=cpu_replicas)  # before any TF op
    batch_size = BATCH_SIZE * strategy.num_replicas_in_sync
    schema = io_utils.parse_pbtxt_file(fn_args.schema_file, schema_pb2.Schema())
    train_dataset = _input_fn(fn_args.train_files, fn_args.data_accessor, schema, batch_size)
    eval_dataset = _input_fn(fn_args.eval_files, fn_args.data_accessor, schema, batch_size)
    statistics = _feature_statistics(train_dataset)
    with strategy.scope():
        model = _build_keras_model(statistics)
    model.fit(
        train_dataset,
        steps_per_epoch=fn_args.train_steps,
        validation_data=eval_dataset,
        validation_steps=fn_args.eval_steps,
    )
    signatures = {"serving_default": _serving_signature(model, schema)}
    model.save(fn_args.serving_model_dir, save_format="tf", signatures=signatures)
