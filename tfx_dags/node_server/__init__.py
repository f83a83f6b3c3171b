"""The node server: one warm TFX-environment process that forks every node, compile and Beam
SDK worker, so that each pays no 6-9 s of imports.

- ``client`` starts or reaches the server and runs one node through it, or as a fresh
  process when the server is off (imported by the Airflow side, and by ``beam_workers``);
- ``protocol``, the wire format and process signalling both sides share;
- ``server`` (TFX environment): ``python -m tfx_dags.node_server.server``;
- ``beam_workers`` (TFX environment): Beam's SDK worker command, forked by the server too.

``client`` and ``protocol`` use the standard library only; ``server`` and ``beam_workers`` run
in the TFX environment and never import Airflow.
"""
