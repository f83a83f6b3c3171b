"""Development tooling of the checkout, not part of the product (never in the wheel): a
self-contained local Airflow on SQLite (``local_airflow``) for the demo, the tests and the
benchmarks, and ``make demo``'s script (``demo``). tfx_dags never imports it
(tests/unit/test_import_boundaries.py).
"""
