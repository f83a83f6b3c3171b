"""Generate the taxi-style tabular data set: deterministic, seeded, sized by a parameter.

    python data/generate_taxi.py --rows 5000 --seed 7 --out data/taxi/taxi.csv

Nothing can be downloaded here, so this stands in for the Chicago taxi trips: one row per
trip, and a binary label, ``big_tipper``: whether the tip exceeded 20 % of the fare.

| column               | type                 | missing | how it is drawn                         |
|----------------------|----------------------|---------|-----------------------------------------|
| trip_start_hour      | int 0..23            | never   | busier in the day and the evening       |
| trip_miles           | float                | 3 %     | log-normal, median about 2.5 miles      |
| trip_seconds         | int                  | never   | miles at a speed that depends on hour   |
| fare                 | float                | never   | 3.25 + 2.25 per mile + noise            |
| payment_type         | string               | never   | Credit Card, Cash, Mobile, Prcard, ...  |
| company              | string               | 5 %     | one of 12 fleets                        |
| pickup_community_area| int 1..77            | 2 %     | uniform                                 |
| big_tipper           | int 0/1 (label)      | never   | the rule below                          |

The rule: a tip score of +2.4 for card payments (Credit Card, Mobile, Prcard), -2.6 for
Cash, -1 otherwise; +0.07 per dollar of fare above 12; +0.8 at night (hours 22..3); -0.6
for the three "stingy" fleets; then Gaussian noise (sd 0.8). big_tipper = score > 0. With
the default seed and 5000 rows the noise flips 1.5 % of labels against the noiseless rule
(measured), so no model can score above about 0.985 accuracy.
"""

from __future__ import annotations

import argparse
import csv
import math
import random
from pathlib import Path

COLUMNS = (
    "trip_start_hour",
    "trip_miles",
    "trip_seconds",
    "fare",
    "payment_type",
    "company",
    "pickup_community_area",
    "big_tipper",
)
PAYMENTS = (("Credit Card", 0.45), ("Cash", 0.38), ("Mobile", 0.07), ("Prcard", 0.05),
            ("No Charge", 0.03), ("Unknown", 0.02))  # fmt: skip
CARD_PAYMENTS = {"Credit Card", "Mobile", "Prcard"}
COMPANIES = tuple(f"Fleet {letter}" for letter in "ABCDEFGHIJKL")
STINGY_COMPANIES = {"Fleet C", "Fleet H", "Fleet K"}
HOUR_WEIGHTS = (2, 1, 1, 1, 1, 2, 3, 5, 7, 7, 6, 6, 7, 7, 7, 7, 8, 9, 9, 8, 7, 6, 5, 3)


def trip(rng: random.Random) -> dict[str, object]:
    hour = rng.choices(range(24), weights=HOUR_WEIGHTS)[0]
    miles = round(math.exp(rng.gauss(math.log(2.5), 0.8)), 2)
    speed_mph = 12 if 7 <= hour <= 19 else 20
    seconds = int(miles / speed_mph * 3600 + rng.uniform(60, 300))
    fare = round(3.25 + 2.25 * miles + rng.gauss(0, 1.0), 2)
    payment = rng.choices([p for p, _ in PAYMENTS], weights=[w for _, w in PAYMENTS])[0]
    company = rng.choice(COMPANIES)
    score = 2.4 if payment in CARD_PAYMENTS else -2.6 if payment == "Cash" else -1.0
    score += 0.07 * (fare - 12) + (0.8 if hour >= 22 or hour <= 3 else 0.0)
    score -= 0.6 if company in STINGY_COMPANIES else 0.0
    score += rng.gauss(0, 0.8)
    return {
        "trip_start_hour": hour,
        "trip_miles": "" if rng.random() < 0.03 else miles,
        "trip_seconds": seconds,
        "fare": fare,
        "payment_type": payment,
        "company": "" if rng.random() < 0.05 else company,
        "pickup_community_area": "" if rng.random() < 0.02 else rng.randint(1, 77),
        "big_tipper": int(score > 0),
    }


def generate(rows: int, seed: int, out: Path) -> None:
    rng = random.Random(seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        for _ in range(rows):
            writer.writerow(trip(rng))


def main() -> None:
    parser = argparse.ArgumentParser(description="Generate the taxi-style data set.")
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "taxi" / "taxi.csv")
    args = parser.parse_args()
    if args.rows < 1:
        parser.error("--rows must be at least 1")
    generate(args.rows, args.seed, args.out)


if __name__ == "__main__":
    main()
