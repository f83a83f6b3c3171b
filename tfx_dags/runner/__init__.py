"""Code that runs inside the TFX environment (.venv-tfx), one process per compile or node.

Never imported by DAG files, the factory or the scheduler: only these modules may import
TensorFlow, TFX or Beam.
"""
