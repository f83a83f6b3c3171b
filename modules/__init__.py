"""TFX user code (pipelines, preprocessing_fn, run_fn), imported by dotted path in tasks."""
