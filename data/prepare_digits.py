"""Build digits/digits.csv from the 8x8 handwritten digits that scikit-learn ships.

The committed digits.csv is this script's output, so nothing is downloaded at run time:

    python data/prepare_digits.py sklearn/datasets/data/digits.csv.gz > data/digits/digits.csv

(the .gz file is inside the scikit-learn package or wheel). One row per image: 64 pixel
intensities 0..16, row by row (pixel_00 top left .. pixel_63 bottom right), then the digit.
Data: UCI ML hand-written digits (Alpaydin and Kaynak, 1998), as bundled by scikit-learn
(BSD licence).
"""

from __future__ import annotations

import csv
import gzip
import sys

PIXELS = tuple(f"pixel_{i:02d}" for i in range(64))


def main(source: str) -> None:
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow((*PIXELS, "digit"))
    with gzip.open(source, "rt") as handle:
        for row in csv.reader(handle):
            values = [int(float(value)) for value in row]
            if len(values) != 65:
                raise SystemExit(f"expected 65 values per row, got {len(values)}")
            writer.writerow(values)


if __name__ == "__main__":
    main(sys.argv[1])
