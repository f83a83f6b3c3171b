"""The compile process (TFX environment, ``python -m tfx_dags.compiler.compile``).

``compile`` loads a pipeline definition and writes its IR and manifest; ``definitions``
imports users' pipeline definitions (a dotted function, a function in a file, a file that
hands its pipeline to a TFX runner); ``line_errors`` says what a pipeline written for another
TFX line uses that this one removed.

May import TensorFlow, TFX, Beam, ``tfx_dags.common``, ``tfx_dags.mlmd`` and
``tfx_dags.tfx_process``; never Airflow.
"""
