"""The ``tfx-dags`` command (Airflow environment): compile a DAG folder's pipelines ahead of
time, check a folder before deploying it, list and show pipelines, run one DAG locally.

``main`` parses the command line; each subcommand has its module. From the TFX environment
(where the console script is installed too) the command hands itself to the Airflow
environment's interpreter.
"""
