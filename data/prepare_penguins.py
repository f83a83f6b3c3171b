"""Build penguins.csv from the Palmer penguins data shipped by the `palmerpenguins` package.

The committed penguins.csv is this script's output, so nothing is downloaded at run time.
Rows with a missing measurement are dropped (as TFX's own penguin example does) and the
species becomes the integer label: 0 Adelie, 1 Chinstrap, 2 Gentoo.

    python data/prepare_penguins.py palmerpenguins/data/penguins.csv > data/penguin/penguins.csv

Data: Gorman, Williams and Fraser (2014), Palmer Station LTER; CC0 licence.
"""

from __future__ import annotations

import csv
import sys

FEATURES = ("bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g")
SPECIES = {"Adelie": 0, "Chinstrap": 1, "Gentoo": 2}


def main(source: str) -> None:
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow((*FEATURES, "species"))
    with open(source, newline="") as handle:
        for row in csv.DictReader(handle):
            if any(row[key] in ("", "NA") for key in FEATURES):
                continue
            writer.writerow((*(float(row[key]) for key in FEATURES), SPECIES[row["species"]]))


if __name__ == "__main__":
    main(sys.argv[1])
