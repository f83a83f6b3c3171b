"""RowCounter's executor: counts the TFRecords of each split of an Examples artifact, one
file per Beam element (on the runner the node's Beam args name).

With ROW_TOOLS_ENVIRONMENT_DIR set, the executor and every Beam worker that counts a file
write down the environment they run in, there: what a user's code gets to see.
"""

import gzip
import json
import os
import struct

import apache_beam as beam
from tfx.dsl.components.base import base_beam_executor
from tfx.types import artifact_utils

ENVIRONMENT_DIR = "ROW_TOOLS_ENVIRONMENT_DIR"


def count_records(path):
    """TFRecord framing: 8-byte length, 4-byte CRC, data, 4-byte CRC."""
    count = 0
    with gzip.open(path, "rb") as records:
        while header := records.read(12):
            (length,) = struct.unpack("<Q", header[:8])
            records.seek(length + 4, os.SEEK_CUR)
            count += 1
    return count


def record_environment(folder, name):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, f"{name}.json"), "w") as handle:
        json.dump({"pid": os.getpid(), "environ": dict(os.environ)}, handle)


def count_file(split, path, environment_dir=None):
    """Runs in a Beam worker."""
    if environment_dir:
        record_environment(environment_dir, f"worker-{os.getpid()}")
    return split, count_records(path)


class Executor(base_beam_executor.BaseBeamExecutor):
    def Do(self, input_dict, output_dict, exec_properties):
        # Read here, handed to the workers: they record even where the variable is missing.
        environment_dir = os.environ.get(ENVIRONMENT_DIR)
        if environment_dir:
            record_environment(environment_dir, "executor")
        examples = artifact_utils.get_single_instance(input_dict["examples"])
        splits = artifact_utils.decode_split_names(examples.split_names)
        files = []
        for split in splits:
            folder = artifact_utils.get_split_uri([examples], split)
            files += [(split, os.path.join(folder, name)) for name in sorted(os.listdir(folder))]
        [output] = output_dict["row_counts"]
        os.makedirs(output.uri, exist_ok=True)
        per_split = os.path.join(output.uri, "counts-per-split.jsonl")
        with self._make_beam_pipeline() as pipeline:
            _ = (
                pipeline
                | "Files" >> beam.Create(files)
                | "Count" >> beam.MapTuple(count_file, environment_dir)
                | "PerSplit" >> beam.CombinePerKey(sum)
                | "Json" >> beam.MapTuple(lambda split, count: json.dumps([split, count]))
                | "Write" >> beam.io.WriteToText(per_split, shard_name_template="")
            )
        counts = dict.fromkeys(splits, 0)
        with open(per_split) as lines:
            counts.update(json.loads(line) for line in lines)
        os.remove(per_split)
        with open(os.path.join(output.uri, "counts.json"), "w") as handle:
            json.dump(counts, handle)
        output.set_int_custom_property("total", sum(counts.values()))
