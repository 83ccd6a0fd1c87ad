"""Whether enrich as a whole is publishing: one retained status topic and one last will, shared
by every process.

Many processes publish (each Celery worker child has a connection of its own) and any one may
stop while the others go on: a child killed at its hard time limit, one recycled after
max-tasks-per-child, a worker restarted while other workers run. A last will on each of their
connections would tell Home Assistant "offline" for every entity each time. So no publishing
connection carries a will (enrich.mqtt.broker); the will lives in one MQTT 5 session instead,
named after the status topic (client id `enrich-online-<hash>`) and taken up by whichever
process has just published:

- `renew()` resumes that session, publishes `online` (retained) and leaves with "disconnect
  with will message": the broker keeps the will `offline` pending for `offline_after` seconds
  (its will delay interval, and the session's expiry interval as long);
- the next renewal, from any process, resumes the session before that, and a resumed
  session's pending will is dropped (MQTT 5.0, 3.1.2.5): nothing reaches Home Assistant;
- when nobody renews for `offline_after` seconds (every worker stopped, or none can publish)
  the broker publishes `offline` (retained) and every entity turns unavailable. A process
  killed while it holds the session leaves the same pending will, never an immediate one.

Nothing per process stays on the broker: no topic, no retained message, and no session after
`offline_after` seconds. The broker must speak MQTT 5 (Mosquitto 1.6 or later, as Home
Assistant's add-on).
"""

import hashlib

from enrich.mqtt.broker import Endpoint, visit_session

ONLINE, OFFLINE = "online", "offline"


def session_id(topic: str) -> str:
    """The one client id every process uses for `topic`'s will (23 characters, MQTT's safe
    length)."""
    return f"enrich-online-{hashlib.sha256(topic.encode()).hexdigest()[:9]}"


def renew(endpoint: Endpoint, topic: str, offline_after: int) -> bool:
    """`topic` is `online` now and turns `offline` `offline_after` seconds from now unless
    renewed before; False (logged) when the broker could not be told."""
    return visit_session(
        endpoint,
        session_id(topic),
        expiry=offline_after,
        will=(topic, OFFLINE),
        message=(topic, ONLINE),
    )


def release(endpoint: Endpoint, topic: str) -> bool:
    """Drop the pending will of `topic` and its session, publishing nothing."""
    return visit_session(endpoint, session_id(topic), expiry=0, will=None, message=None)
