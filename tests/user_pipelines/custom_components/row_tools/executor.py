"""RowCounter's executor: counts the TFRecords of each split of an Examples artifact."""

import gzip
import json
import os
import struct

from tfx.dsl.components.base import base_executor
from tfx.types import artifact_utils


def count_records(path):
    """TFRecord framing: 8-byte length, 4-byte CRC, data, 4-byte CRC."""
    count = 0
    with gzip.open(path, "rb") as records:
        while header := records.read(12):
            (length,) = struct.unpack("<Q", header[:8])
            records.seek(length + 4, os.SEEK_CUR)
            count += 1
    return count


class Executor(base_executor.BaseExecutor):
    def Do(self, input_dict, output_dict, exec_properties):
        examples = artifact_utils.get_single_instance(input_dict["examples"])
        counts = {}
        for split in artifact_utils.decode_split_names(examples.split_names):
            folder = artifact_utils.get_split_uri([examples], split)
            counts[split] = sum(
                count_records(os.path.join(folder, name)) for name in sorted(os.listdir(folder))
            )
        [output] = output_dict["row_counts"]
        os.makedirs(output.uri, exist_ok=True)
        with open(os.path.join(output.uri, "counts.json"), "w") as handle:
            json.dump(counts, handle)
        output.set_int_custom_property("total", sum(counts.values()))
