"""The node server's client and wire protocol: what both environments share.

The server itself is TFX-side (``tfx_dags.server.node_server``: one warm TFX-environment
process that forks every node, compile and Beam SDK worker, so that each pays no 6-9 s of
imports; ``tfx_dags.server.beam_workers``: Beam's SDK worker command, forked by it too).

- ``client`` starts or reaches the server and runs one node through it, or as a fresh
  process when the server is off (imported by the Airflow side);
- ``protocol``, the wire format and process signalling both sides share.

Both use the standard library only: no import climbs from here into either side.
"""
