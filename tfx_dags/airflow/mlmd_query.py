"""Ask ML Metadata from the Airflow side: one command of the TFX side, run in a DAG's TFX
environment. No TFX import here.

ML Metadata's client exists in the TFX environments only. The TFX view (``ui/source``),
``tfx-dags show`` and ``tfx-dags run`` (``cli/``) and the local Airflow of the demo and the
tests (``dev/local_airflow``) all ask it this way: ``python -m <module> <args> --reply FILE``
in the environment, forked by the node server like a node (a few hundred milliseconds once
the server is warm; a fresh interpreter where it is off), with the ML Metadata connection
the tasks use. The answer is the command's reply in FILE (``tfx_dags.common.reply``), so
that whatever TensorFlow prints never mixes into it. The modules: ``tfx_dags.queries.query`` and
``tfx_dags.queries.view_data``, which read; ``tfx_dags.queries.close_execution``, which closes
what a node killed on its task's last try left open (the operator's failure callback).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tfx_dags.airflow import node_env
from tfx_dags.common import settings, tfx_envs
from tfx_dags.common.contract import URI_ENV
from tfx_dags.common.errors import TfxDagsError
from tfx_dags.common.reply import NoReply, Outcome, Reply
from tfx_dags.node_server import client as node_client

QUERY_TIMEOUT_S = 120.0


class MetadataQueryError(TfxDagsError):
    """The TFX environment gave no answer: the command failed, wrote no reply, or did not
    finish in time."""


class MetadataNotFound(MetadataQueryError):
    """What the command was asked for is not in ML Metadata (its reply says ``not_found``)."""


def metadata_uri() -> str | None:
    """ML Metadata's URI from the Airflow connection the tasks use
    (``TFX_DAGS_METADATA_CONN_ID``), read from this process's Airflow (the api-server, the
    CLI); None where it does not exist (the SQLite file then)."""
    from airflow.exceptions import AirflowNotFoundException
    from airflow.models.connection import Connection

    try:
        connection = Connection.get_connection_from_secrets(settings.metadata_conn_id())
    except AirflowNotFoundException:
        return None
    return str(connection.get_uri())


def ask_reply(
    module: str,
    *args: str,
    tfx_env: tfx_envs.TfxEnv | str | None = None,
    environ: Mapping[str, str] | None = None,
    connection: bool = True,
    timeout: float = QUERY_TIMEOUT_S,
) -> Reply:
    """Run ``python -m module *args --reply FILE`` in the TFX environment ``tfx_env`` (an
    environment or its name; default the deployment's default) and return its reply.

    ``environ``: the environment the command starts from, default this process's; a local
    Airflow of the tests passes its own. ``connection``: set the Airflow connection's URI
    over it (default); ``False`` where ``environ`` already says which store to read.
    MetadataQueryError when there is no reply (the command was killed or died first, with
    its last lines; or it did not finish in time)."""
    env = tfx_env if isinstance(tfx_env, tfx_envs.TfxEnv) else tfx_envs.resolve(tfx_env)
    # The allow-listed environment (tfx_dags.airflow.node_env): none of Airflow's secrets.
    variables = env.environ(node_env.allowed(environ))
    uri = metadata_uri() if connection else None
    if uri:
        variables[URI_ENV] = uri
    command = [str(env.python), "-m", module, *args]
    try:
        _, reply = node_client.call(command, env=variables, timeout=timeout, tail=3)
    except TimeoutError:
        raise MetadataQueryError(
            f"ML Metadata did not answer {_query(module, args)!r} within {timeout:g} s"
        ) from None
    except NoReply as error:
        raise MetadataQueryError(
            f"reading ML Metadata ({_query(module, args)}) failed with {error}"
        ) from None
    return reply


def ask(
    module: str,
    *args: str,
    tfx_env: tfx_envs.TfxEnv | str | None = None,
    environ: Mapping[str, str] | None = None,
    connection: bool = True,
    timeout: float = QUERY_TIMEOUT_S,
) -> Any:
    """The result of the command's ``ok`` reply (``ask_reply``, the same arguments);
    MetadataQueryError for any other, with its message (MetadataNotFound for
    ``not_found``)."""
    reply = ask_reply(
        module, *args, tfx_env=tfx_env, environ=environ, connection=connection, timeout=timeout
    )
    if reply.ok:
        return reply.result
    error = MetadataNotFound if reply.outcome is Outcome.NOT_FOUND else MetadataQueryError
    raise error(f"reading ML Metadata ({_query(module, args)}) failed: {reply.message}")


def _query(module: str, args: tuple[str, ...]) -> str:
    return " ".join([module.rpartition(".")[2], *args[:1]])
