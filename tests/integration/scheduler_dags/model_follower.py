"""An Airflow DAG downstream of scale_penguin_a's pushed model: its Asset event starts it."""

from pathlib import Path

from airflow.sdk import DAG, task

from tfx_dags import pushed_model_asset, settings

with DAG(
    dag_id="scale_model_follower",
    schedule=[pushed_model_asset(str(settings.serving_dir("scale_penguin_a")))],
    tags=["scale-out-test"],
):

    @task
    def check_pushed_model(**context: object) -> str:
        """Fail unless the event names a pushed SavedModel that exists."""
        events = context["triggering_asset_events"]
        pushed = [
            event.extra["pushed_destination"]
            for asset_events in events.values()  # type: ignore[attr-defined]
            for event in asset_events
            if "pushed_destination" in event.extra
        ]
        if not pushed:
            raise ValueError(f"no pushed-model event among {events!r}")
        destination = Path(pushed[-1])
        if not (destination / "saved_model.pb").is_file():
            raise FileNotFoundError(f"no SavedModel at {destination}")
        return str(destination)

    check_pushed_model()
