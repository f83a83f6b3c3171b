"""Write the curated schema of the taxi-style data (run with .venv-tfx's python).

    python data/taxi/make_schema.py [--csv data/taxi/taxi.csv] [--out data/taxi/schema.pbtxt]

Infers a schema from the CSV with TFDV, then states what the data must satisfy beyond what
one sample shows: hours 0-23, community areas 1-77, a 0/1 label. Pipelines import it
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
    parser.add_argument("--csv", type=Path, default=HERE / "taxi.csv")
    parser.add_argument("--out", type=Path, default=HERE / "schema.pbtxt")
    args = parser.parse_args()

    import tensorflow_data_validation as tfdv

    statistics = tfdv.generate_statistics_from_csv(str(args.csv))
    schema = tfdv.infer_schema(statistics)
    for feature in schema.feature:
        if feature.name in INT_DOMAINS:
            feature.int_domain.min, feature.int_domain.max = INT_DOMAINS[feature.name]
    tfdv.write_schema_text(schema, str(args.out))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
