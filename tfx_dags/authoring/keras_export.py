"""Serving signatures for Keras models trained on Transform's output (TFX environment).

``serving_default`` takes serialized raw ``tf.Example``s (``examples``, tf.string, [None]),
applies the Transform graph through ``TransformFeaturesLayer`` and returns the model's
output under ``outputs``; ``transform_features`` returns the transformed features, for TFMA.
TensorFlow is imported inside the functions: the module imports without it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from tfx_dags.authoring.distribution import distribution_strategy, strategy_settings


def transform_signatures(model: Any, tf_transform_output: Any, *, label_key: str) -> dict[str, Any]:
    """``{"serving_default": ..., "transform_features": ...}`` for ``model.save``."""
    import tensorflow as tf

    # Tracked on the model so that model.save() exports the Transform graph's assets with it.
    model.tft_layer = tf_transform_output.transform_features_layer()
    examples = tf.TensorSpec(shape=[None], dtype=tf.string, name="examples")

    @tf.function(input_signature=[examples])
    def serve_tf_examples_fn(serialized_examples: Any) -> dict[str, Any]:
        raw_feature_spec = tf_transform_output.raw_feature_spec()
        raw_feature_spec.pop(label_key)  # absent at serving time
        raw_features = tf.io.parse_example(serialized_examples, raw_feature_spec)
        return {"outputs": model(model.tft_layer(raw_features))}

    @tf.function(input_signature=[examples])
    def transform_features_fn(serialized_examples: Any) -> dict[str, Any]:
        raw_features = tf.io.parse_example(
            serialized_examples, tf_transform_output.raw_feature_spec()
        )
        return model.tft_layer(raw_features)

    return {"serving_default": serve_tf_examples_fn, "transform_features": transform_features_fn}


def transformed_dataset(
    file_pattern: list[str],
    data_accessor: Any,
    tf_transform_output: Any,
    *,
    label_key: str,
    batch_size: int,
) -> Any:
    """Repeating batches of (transformed features, label) for step-based training."""
    from tfx_bsl.public import tfxio

    return data_accessor.tf_dataset_factory(
        file_pattern,
        tfxio.TensorFlowDatasetOptions(batch_size=batch_size, label_key=label_key),
        tf_transform_output.transformed_metadata.schema,
    ).repeat()


def fit_and_export(
    fn_args: Any,
    build_model: Callable[[], Any],
    *,
    label_key: str,
    transformed_label_key: str,
    batch_size: int,
    callbacks: Sequence[Any] = (),
) -> Any:
    """The body of a Keras ``run_fn`` on Transform's output; returns the trained model.

    Builds the model under the strategy that ``fn_args.custom_config`` names (before any
    TensorFlow op, so logical CPU devices can still be made), fits it for
    ``fn_args.train_steps`` steps with ``batch_size`` examples per replica, and saves it to
    ``fn_args.serving_model_dir`` with ``transform_signatures``.
    """
    import tensorflow_transform as tft

    name, cpu_replicas = strategy_settings(fn_args.custom_config)
    strategy = distribution_strategy(name, cpu_replicas=cpu_replicas)
    tf_transform_output = tft.TFTransformOutput(fn_args.transform_output)

    def dataset(files: list[str]) -> Any:
        return transformed_dataset(
            files,
            fn_args.data_accessor,
            tf_transform_output,
            label_key=transformed_label_key,
            batch_size=batch_size * strategy.num_replicas_in_sync,
        )

    with strategy.scope():
        model = build_model()
    model.fit(
        dataset(fn_args.train_files),
        steps_per_epoch=fn_args.train_steps,
        validation_data=dataset(fn_args.eval_files),
        validation_steps=fn_args.eval_steps,
        callbacks=list(callbacks),
    )
    from absl import logging

    # Where training ran (bench/gpu_check.py asserts a GPU here): each replica's variables.
    logging.info(
        "Trained with %s over %d replica(s); model variables on %s",
        type(strategy).__name__,
        strategy.num_replicas_in_sync,
        variable_devices(model),
    )
    signatures = transform_signatures(model, tf_transform_output, label_key=label_key)
    model.save(fn_args.serving_model_dir, save_format="tf", signatures=signatures)
    return model


def variable_devices(model: Any) -> list[str]:
    """The devices that hold the model's variables: every replica's copy of a mirrored one."""
    return sorted(
        {
            part.device
            for variable in model.variables
            for part in getattr(variable, "values", (variable,))
        }
    )
