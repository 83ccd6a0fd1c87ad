"""The answers of enrich.api's own endpoints, as docs/api.md describes them."""

from config.queues import QUEUES
from enrich.api.shapes import (
    BOOLEAN,
    INTEGER,
    NUMBER,
    STRING,
    TIME,
    choice,
    listing,
    nullable,
    shape,
)
from enrich.health import CHECKS
from enrich.schedules import ENTRY_NAMES

# The site an answer is for (enrich.api.site: `site`, optional with one site).
FOR_SITE = shape({"id": INTEGER, "name": STRING})
# Anyone gets each service's `ok`; a signed-in caller also its `detail` (its version, or the
# error) and `ms` (how long the check took).
SERVICE = shape({"ok": BOOLEAN}, {"detail": STRING, "ms": NUMBER})


def health(ok: bool) -> dict:
    """GET /api/health/'s answer: all services answering (200), or not all (503)."""
    return shape(
        {"ok": choice([ok], BOOLEAN), "services": shape({name: SERVICE for name in CHECKS})}
    )


# GET /api/processes/ (enrich.liveness.processes): with Redis not answering, `beat`, `workers`
# and `queues` are null and `detail` says why.
PROCESSES = shape(
    {
        "ok": BOOLEAN,
        "detail": STRING,
        "beat": nullable(
            shape(
                {
                    "ok": BOOLEAN,
                    "last_tick": nullable(TIME),
                    "age_seconds": nullable(NUMBER),
                    "host": nullable(STRING),
                    "detail": STRING,
                }
            )
        ),
        "workers": nullable(
            listing(
                shape(
                    {
                        "node": STRING,
                        "queues": listing(STRING),
                        "ok": BOOLEAN,
                        "last_seen": TIME,
                        "age_seconds": NUMBER,
                        "detail": STRING,
                    }
                )
            )
        ),
        "queues": nullable(
            listing(
                shape(
                    {
                        "name": choice(QUEUES),
                        "workers": listing(STRING),
                        "ok": BOOLEAN,
                        "detail": STRING,
                    }
                )
            )
        ),
        "skipped_schedules": listing(
            shape({"task": STRING, "crontab": INTEGER, "timezone": STRING, "reason": STRING})
        ),
        "disabled_schedules": listing(
            shape({"task": choice(sorted(ENTRY_NAMES)), "reason": STRING})
        ),
    }
)
