"""Sense (unofficial cloud API): the adapter (adapter.py), the login and its session
(auth.py), the realtime feed (realtime.py), the trends (history.py).

Our own client, not the sense_energy library (Home Assistant's; 0.15.0 read): its API and
websocket roots are module constants (`API_URL`, `WS_URL`, copied into `senseable` by a star
import), so there is no per-account base URL and tests could reach the replay server only by
rewriting a process-wide global. It calls through its own `requests` session with its own
timeout and no retry; handing it the session of `enrich.http` would not help, since the door's
retries, error classes and scrubbed call log live in its call function, not in the session.
Its errors are not ours: any refused login (a 5xx too) is "check username and password", a
404 is an authentication error, a connection failure at login a bare Exception. Its realtime
reading asks `app/monitors/<id>/status` for the firmware version, then reads
`app/<id>/realtime_update` or a msgpack websocket opened with certificate checks off, and its
trends read `app/monitors/<id>/history/usage`: no documented payload covers those answers,
while the documented JSON frames and `app/history/trends` are what the replay tests serve.
(Its synchronous `Senseable` could run inside the Celery task; that is not what blocks.)"""

PROVIDER = "sense"
