"""The one layer through which tfx_dags reads ML Metadata (TFX environment).

``connection`` says which store a process uses and opens it (``PipelineStores``: which store
holds a pipeline). ``records`` is the read model (artifacts, executions, node runs, pipeline
runs, pushes), made by the query modules organised as TFX's ``portable/mlmd/``:
``contexts``, ``executions``, ``events``, ``artifacts``. The node runner, the query command
(``tfx_dags.queries.query``) and the TFX view's data (``tfx_dags.queries.view_data``) all go
through it; the latter two only render records. TFX's launcher writes its own records.
"""
