"""Score a pushed SavedModel the way a serving client would; run with .venv-tfx's python.

    score_model.py --model DIR --examples GLOB --label species [--evaluation DIR]

Reads the (gzipped TFRecord) examples, removes the label, serializes them and feeds them to
the ``serving_default`` signature; prints JSON: the signature's input spec, the output shape,
the accuracy, and with --evaluation, TFMA's accuracy and validation verdict.
"""

from __future__ import annotations

import argparse
import glob
import json

import numpy as np
import tensorflow as tf


def raw_examples(pattern: str, label: str) -> tuple[list[bytes], np.ndarray]:
    files = sorted(glob.glob(pattern))
    if not files:
        raise SystemExit(f"no examples match {pattern}")
    serialized, labels = [], []
    for record in tf.data.TFRecordDataset(files, compression_type="GZIP"):
        example = tf.train.Example.FromString(record.numpy())
        labels.append(example.features.feature[label].int64_list.value[0])
        del example.features.feature[label]  # a serving client does not know it
        serialized.append(example.SerializeToString())
    return serialized, np.array(labels)


def tfma_summary(evaluation: str) -> dict[str, object]:
    import tensorflow_model_analysis as tfma

    metrics = {}
    for slice_metrics in tfma.load_metrics(evaluation):
        for entry in slice_metrics.metric_keys_and_values:
            metrics[entry.key.name] = entry.value.double_value.value
    validation = tfma.load_validation_result(evaluation)
    return {"metrics": metrics, "validation_ok": validation.validation_ok}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--examples", required=True)
    parser.add_argument("--label", required=True)
    parser.add_argument("--evaluation")
    args = parser.parse_args()
    serve = tf.saved_model.load(args.model).signatures["serving_default"]
    spec = serve.structured_input_signature[1]["examples"]
    serialized, labels = raw_examples(args.examples, args.label)
    scores = serve(examples=tf.constant(serialized))["outputs"].numpy()
    report = {
        "input": {"name": "examples", "dtype": spec.dtype.name, "shape": spec.shape.as_list()},
        "inputs": sorted(serve.structured_input_signature[1]),
        "examples": len(serialized),
        "scores_shape": list(scores.shape),
        "max_row_sum_error": float(np.abs(scores.sum(axis=1) - 1).max()),
        "accuracy": float((scores.argmax(axis=1) == labels).mean()),
    }
    if args.evaluation:
        report["tfma"] = tfma_summary(args.evaluation)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
