"""The one layer through which tfx_dags reads ML Metadata (TFX environment).

``connection`` says which store a process uses and opens it; ``lineage`` knows TFX's context
types, a node's executions in a run, events by input/output key and artifact properties. The
node runner, the query command (``tfx_dags.runner.query``) and the TFX view's data
(``tfx_dags.runner.view_data``) all go through it. TFX's launcher writes its own records.
"""
