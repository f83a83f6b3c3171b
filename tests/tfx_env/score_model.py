"""Score a pushed SavedModel the way a serving client would; run with a TFX environment's python.

    score_model.py --model DIR --examples GLOB --label KEY [--signature S] [--output KEY]
                   [--evaluation DIR] [--tflite FILE --tflite-pixels PREFIX --tflite-scale X]

Reads the (gzipped TFRecord) examples, removes the label, serializes them and feeds them to
the signature's one string input; prints JSON with the input spec, the output shape and the
accuracy (argmax, or > 0.5 for one sigmoid column). With --evaluation: TFMA's metrics and
verdict. With --tflite: the TFLite model run on the examples' pixel features (sorted by name,
divided by --tflite-scale) and its agreement with the SavedModel.
"""

from __future__ import annotations

import argparse
import glob
import json

import numpy as np
import tensorflow as tf


def load_examples(pattern: str) -> list[tf.train.Example]:
    files = sorted(glob.glob(pattern))
    if not files:
        raise SystemExit(f"no examples match {pattern}")
    return [
        tf.train.Example.FromString(record.numpy())
        for record in tf.data.TFRecordDataset(files, compression_type="GZIP")
    ]


def predicted_classes(scores: np.ndarray) -> np.ndarray:
    return (scores[:, 0] > 0.5).astype(int) if scores.shape[1] == 1 else scores.argmax(axis=1)


def tfma_summary(evaluation: str) -> dict[str, object]:
    import tensorflow_model_analysis as tfma

    metrics = {}
    for slice_metrics in tfma.load_metrics(evaluation):
        for entry in slice_metrics.metric_keys_and_values:
            if entry.key.model_name in ("", "candidate") and not entry.key.is_diff:
                metrics[entry.key.name] = entry.value.double_value.value
    return {
        "metrics": metrics,
        "validation_ok": tfma.load_validation_result(evaluation).validation_ok,
    }


def tflite_scores(
    path: str, examples: list[tf.train.Example], prefix: str, scale: float
) -> np.ndarray:
    keys = sorted(k for k in examples[0].features.feature if k.startswith(prefix))
    pixels = np.array(
        [
            [float(e.features.feature[k].int64_list.value[0]) / scale for k in keys]
            for e in examples
        ],
        dtype=np.float32,
    )
    interpreter = tf.lite.Interpreter(model_path=path)
    [input_detail] = interpreter.get_input_details()
    interpreter.resize_tensor_input(input_detail["index"], pixels.shape)
    interpreter.allocate_tensors()
    interpreter.set_tensor(input_detail["index"], pixels)
    interpreter.invoke()
    return interpreter.get_tensor(interpreter.get_output_details()[0]["index"])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--examples", required=True)
    parser.add_argument("--label", required=True)
    parser.add_argument("--signature", default="serving_default")
    parser.add_argument("--output", default="outputs")
    parser.add_argument("--evaluation")
    parser.add_argument("--tflite")
    parser.add_argument("--tflite-pixels", default="pixel_")
    parser.add_argument("--tflite-scale", type=float, default=16.0)
    args = parser.parse_args()

    signature = tf.saved_model.load(args.model).signatures[args.signature]
    [(input_key, spec)] = signature.structured_input_signature[1].items()
    examples = load_examples(args.examples)
    labels = np.array([e.features.feature[args.label].int64_list.value[0] for e in examples])
    serialized = []
    for example in examples:
        stripped = tf.train.Example()
        stripped.CopyFrom(example)
        del stripped.features.feature[args.label]  # a serving client does not know it
        serialized.append(stripped.SerializeToString())
    scores = signature(**{input_key: tf.constant(serialized)})[args.output].numpy()
    report: dict[str, object] = {
        "input": {"name": input_key, "dtype": spec.dtype.name, "shape": spec.shape.as_list()},
        "examples": len(serialized),
        "scores_shape": list(scores.shape),
        "max_row_sum_error": float(np.abs(scores.sum(axis=1) - 1).max()),
        "accuracy": float((predicted_classes(scores) == labels).mean()),
    }
    if args.evaluation:
        report["tfma"] = tfma_summary(args.evaluation)
    if args.tflite:
        lite = tflite_scores(args.tflite, examples, args.tflite_pixels, args.tflite_scale)
        report["tflite"] = {
            "accuracy": float((predicted_classes(lite) == labels).mean()),
            "agreement": float((predicted_classes(lite) == predicted_classes(scores)).mean()),
            "max_abs_diff": float(np.abs(lite - scores).max()),
        }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
