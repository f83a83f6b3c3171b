"""Development tooling, not part of the product: a self-contained local Airflow on SQLite
(``local_airflow``) for the demo, the tests and the benchmarks, and ``make demo``'s script
(``demo``). Nothing outside this folder imports it (tests/unit/test_import_boundaries.py).
"""
