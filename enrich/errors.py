"""The two kinds of failure every door reports, and the only thing retries read.

`Transient`: the outside is down or busy (a timeout, a 5xx, InfluxDB, Redis or S3
unreachable). The same call later may well succeed, so tasks retry it with backoff.

`Permanent`: the request itself is wrong (refused credentials, a rejected query or field
type, a malformed answer, a missing setting). Retrying cannot help; the run fails at once
and its record says what a person must change.

Each door's errors (enrich.http, enrich.influx, enrich.redis.client, enrich.mqtt, the archive's S3
module) derive from one of these, next to their own base class, so a caller can still catch
"any InfluxDB error" while a retry decision asks only `isinstance(exc, Transient)`.
"""


class Transient(Exception):
    """Worth trying again later: the service was unreachable, overloaded or timed out."""


class Permanent(Exception):
    """Not worth trying again: a person must change a setting, a credential or a request."""
