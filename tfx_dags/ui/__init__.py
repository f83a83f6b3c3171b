"""The TFX view of the Airflow UI (an Airflow 3 plugin, ``plugins/tfx_view.py``).

``source`` asks the TFX environment what ML Metadata knows (``tfx_dags.queries.view_data``),
``plots`` draws evaluation metrics as SVG, ``app`` serves the pages from the api-server,
``links`` puts a link to a node's artifacts on every TFX task.
"""
