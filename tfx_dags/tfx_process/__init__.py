"""What both TFX-side commands, the compile and the node runner, need (TFX environment).

``user_code`` packages and loads users' ``module_file=``s and files as TFX's runners do;
``runner_stand_ins`` records the pipeline a file hands to a TFX runner instead of running it;
``error_report`` states a failure for the task log and the reply; ``lifetime`` ties a
process and its temporary files to the task that started it.

May import TensorFlow, TFX, Beam and ``tfx_dags.common``; never Airflow, nor the folders of
the processes that use it.
"""
