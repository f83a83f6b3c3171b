"""The flat layout's module names (tfx-dags 0.1) keep working after the re-layout: users' DAG
files, trainer modules, compiled pipelines and ``python -m`` commands name them."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from tfx_dags._moved import MOVED


def run_python(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args] if args else [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_every_old_name_imports_the_moved_module_itself_with_a_deprecation_warning() -> None:
    result = run_python(f"""
        import importlib, json, warnings
        found = {{}}
        for old, new in {MOVED!r}.items():
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                module = importlib.import_module(old)
            found[old] = {{
                "same": module is importlib.import_module(new),
                "warnings": [f"{{w.category.__name__}}: {{w.message}}" for w in caught],
            }}
        print(json.dumps(found))
    """)
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    for old, new in MOVED.items():
        assert found[old]["same"], f"{old} is not {new}"
        [warning] = found[old]["warnings"]
        assert warning.startswith(f"DeprecationWarning: {old} moved to {new}")


def test_names_imported_from_an_old_module_are_the_new_ones() -> None:
    result = run_python("""
        import warnings
        warnings.simplefilter("ignore")
        from tfx_dags import settings
        from tfx_dags.config import PipelineDagConfig
        from tfx_dags.factory import pipeline_dag
        from tfx_dags.params import RunParam
        import tfx_dags.airflow.dag_config as dag_config
        import tfx_dags.airflow.factory as factory
        import tfx_dags.common.settings as new_settings
        assert settings is new_settings
        assert PipelineDagConfig is dag_config.PipelineDagConfig
        assert pipeline_dag is factory.pipeline_dag
        import tfx_dags.airflow.params as params
        assert RunParam is params.RunParam
        print("ok")
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_python_dash_m_with_an_old_name_runs_the_moved_module() -> None:
    result = run_python("", "-W", "always::DeprecationWarning", "-m", "tfx_dags.pools", "wrong")
    assert "tfx_dags.pools moved to tfx_dags.airflow.pools" in result.stderr
    assert "usage: python -m tfx_dags.airflow.pools" in result.stderr + result.stdout


def test_the_package_offers_the_dag_files_names_without_importing_airflow() -> None:
    result = run_python("""
        import sys
        import tfx_dags
        assert "airflow" not in sys.modules, "import tfx_dags imported Airflow"
        from tfx_dags import PipelineDagConfig, RunParam, pipeline_dag
        from tfx_dags.airflow.factory import pipeline_dag as factory_pipeline_dag
        assert pipeline_dag is factory_pipeline_dag
        print(PipelineDagConfig.__module__, RunParam.__module__)
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["tfx_dags.airflow.dag_config", "tfx_dags.airflow.params"]


def test_settings_is_offered_as_a_module_without_a_warning() -> None:
    result = run_python("""
        import warnings
        warnings.simplefilter("error")
        from tfx_dags import settings
        import tfx_dags.common.settings as common_settings
        assert settings is common_settings
        print(settings.gpu_pool())
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "tfx_gpu"
