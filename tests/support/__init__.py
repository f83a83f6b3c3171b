"""What the test modules and the benchmarks share: deployments of real Airflow, the runs
several modules assert on, the browser, process helpers. Imported as ``tests.support.*``
(the checkout is on every environment's path); test modules never import each other."""
