"""Sense (unofficial cloud API): the adapter (adapter.py), the login and its session
(auth.py), the realtime feed (realtime.py), the trends (history.py).

Why not the sense_energy library: its API and websocket roots are module constants (no
per-account base_url, so tests could reach it only by rewriting globals), it calls through its
own requests session outside `enrich.http`, 0.15 reads realtime from REST endpoints or from
msgpack websocket frames (opened with certificate checks off) that no documented payload
covers, and it reports a 404 as a wrong password."""

PROVIDER = "sense"
