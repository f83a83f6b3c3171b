"""Write the curated schema of the taxi-style data (run with .venv-tfx115's python).

    python data/make_taxi_schema.py [--csv data/taxi/taxi.csv] [--out data/schemas/taxi.pbtxt]

Infers a schema from the CSV with TFDV, then states what the data must satisfy beyond what
one sample shows: hours 0-23, community areas 1-77, a 0/1 label; features with empty fields
may have no value. Pipelines import it
(ImportSchemaGen), so ExampleValidator flags data that drifts: a missing column, a new
payment type, an hour of 27.
"""

from __future__ import annotations

import argparse
from pathlib import Path

HERE = Path(__file__).resolve().parent
INT_DOMAINS = {"trip_start_hour": (0, 23), "pickup_community_area": (1, 77), "big_tipper": (0, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", type=Path, default=HERE / "taxi" / "taxi.csv")
    # Not beside the CSV: CsvExampleGen reads every file of its input folder.
    parser.add_argument("--out", type=Path, default=HERE / "schemas" / "taxi.pbtxt")
    args = parser.parse_args()

    import tensorflow_data_validation as tfdv

    statistics = tfdv.generate_statistics_from_csv(str(args.csv))
    schema = tfdv.infer_schema(statistics)
    missing = _features_with_missing_values(statistics)
    for feature in schema.feature:
        # CsvExampleGen writes an empty value list for an empty CSV field: "one value per
        # example" would flag the data the schema was made from.
        if feature.name in missing:
            feature.ClearField("value_count")
            feature.ClearField("shape")
        if feature.name in INT_DOMAINS:
            feature.int_domain.min, feature.int_domain.max = INT_DOMAINS[feature.name]
    tfdv.write_schema_text(schema, str(args.out))
    print(f"wrote {args.out}")


def _features_with_missing_values(statistics: object) -> set[str]:
    names = set()
    for feature in statistics.datasets[0].features:  # type: ignore[attr-defined]
        kind = feature.WhichOneof("stats")
        if getattr(feature, kind).common_stats.num_missing > 0:
            names.add(feature.path.step[0])
    return names


if __name__ == "__main__":
    main()
