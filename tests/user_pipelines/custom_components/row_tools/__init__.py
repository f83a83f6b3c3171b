"""A user's own package of TFX components: imported by the pipeline file beside it."""
