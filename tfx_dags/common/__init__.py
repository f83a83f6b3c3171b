"""What both environments import: settings, errors, the pipeline graph read from a compiled
manifest, pipeline references and the contract between a task and the process it starts.

Standard library only: no Airflow, no TensorFlow, TFX, Beam or ML Metadata, and nothing else of
tfx_dags outside this folder (tests/unit/test_import_boundaries.py).
"""
