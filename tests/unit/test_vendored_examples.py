"""TFX's example files in tests/tfx_examples are TFX 1.15.1's, byte for byte, and those in
tests/tfx116_examples TFX 1.16.0's."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
# Git blob ids of tensorflow/tfx at tags v1.15.1 and v1.16.0, under tfx/examples/.
TAXI = "tfx_examples/chicago_taxi_pipeline"
TAXI_116 = "tfx116_examples/chicago_taxi_pipeline"
PENGUIN = "tfx_examples/penguin"
TFX_BLOBS = {
    # TFX 1.16.0's AirflowDagRunner example (Keras: TFX 1.16 has no Estimator executor).
    f"{TAXI_116}/taxi_pipeline_simple.py": "5e5faf18effc895040e8e5e1d5a4441797c85f77",
    f"{TAXI_116}/taxi_utils.py": "214aa29de9cbcd0b5dc2573c678e8d97b0b4776d",
    f"{TAXI_116}/taxi_utils_native_keras.py": "41b7791dcf0d79d0efaa9657c24edfeff326d17c",
    # TFX 1.15.1's.
    f"{TAXI}/data/simple/data.csv": "5bcad92acc30cd2272a5e3cb0ee2e9a468fb56dc",
    f"{TAXI}/taxi_pipeline_native_keras.py": "a0d509c036d533635da5c40527666194a26a4b4d",
    f"{TAXI}/taxi_pipeline_simple.py": "0e2fc2624972f46740cfe71a3c75ce2d0eb8dae9",
    f"{TAXI}/taxi_utils.py": "4a6ade3b4b8e8aa529db0b8ec951ca692e0dad11",
    f"{TAXI}/taxi_utils_native_keras.py": "d113e89c515f7575047735f84ca3547e8504cd3a",
    f"{PENGUIN}/data/labelled/penguins_processed.csv": "794f034ff3b13afd4b0f9acedd6a57ceae71e3e9",
    f"{PENGUIN}/penguin_pipeline_local.py": "940665a9eba3b1b39501b9c5155bfcd25aa7784c",
    f"{PENGUIN}/penguin_utils_keras.py": "9ff5d969be61ce754ed909e19e22b4068edd9322",
    f"{PENGUIN}/schema/user_provided/schema.pbtxt": "e80e00e32129ac5736d5ad10dfeb8d950a92066a",
}


def git_blob_id(path: Path) -> str:
    content = path.read_bytes()
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


@pytest.mark.parametrize("name", sorted(TFX_BLOBS))
def test_the_vendored_file_is_tfxs_own(name: str) -> None:
    assert git_blob_id(TESTS / name) == TFX_BLOBS[name]


@pytest.mark.parametrize("name", [name for name in sorted(TFX_BLOBS) if name.endswith(".py")])
def test_the_vendored_file_keeps_its_license_header(name: str) -> None:
    assert "Licensed under the Apache License, Version 2.0" in (TESTS / name).read_text()
