"""The answer of GET /api/enrichment/current (collectors.api), as docs/api.md describes it."""

from collectors.models import CollectorRun
from enrich.api.schemas import FOR_SITE
from enrich.api.shapes import (
    BOOLEAN,
    INTEGER,
    STRING,
    TIME,
    choice,
    listing,
    mapping,
    nullable,
    one_of,
    shape,
)
from enrich.models import SOURCES

STATUS = choice(CollectorRun.Status.values)
LAST_RUN = shape(
    {
        "status": STATUS,
        "status_label": STRING,
        "started": TIME,
        "served": STRING,
        "error": STRING,
        "message": STRING,
    },
    description="The provider's last run; null before the first.",
)
BUDGET = one_of(
    shape(
        {
            "spec": STRING,
            "limit": INTEGER,
            "period_seconds": INTEGER,
            "used": INTEGER,
            "remaining": INTEGER,
        }
    ),
    shape({"spec": STRING, "error": STRING}, description="A budget that cannot be read."),
)
RUNS_TODAY = shape(
    {"since": TIME, "total": INTEGER, "by_status": mapping(INTEGER, "status: runs")},
    description="Runs since the start of the site's day in its time zone.",
)
CONNECTION = shape(
    {"status": STRING, "status_label": STRING},
    {
        "message": STRING,
        "account": STRING,
        "calendars": listing(nullable(STRING)),
        "token_expiry": nullable(TIME),
    },
    description="Google Calendar's OAuth connection.",
)
PROVIDER = shape(
    {
        "provider": STRING,
        "last_run": nullable(LAST_RUN),
        "runs_today": RUNS_TODAY,
        "value": nullable(
            mapping({}, "The source's own fields; null when no value is known (see `message`).")
        ),
    },
    {
        "target": STRING,
        "budget": nullable(BUDGET),
        "connection": CONNECTION,
        "time": nullable(TIME),
        "fetched_at": nullable(TIME),
        "stale": BOOLEAN,
        "age_seconds": nullable(INTEGER),
        "message": STRING,
    },
)
SOURCE = one_of(
    shape({"configured": choice([True], BOOLEAN), "providers": listing(PROVIDER)}),
    shape({"configured": choice([False], BOOLEAN), "message": STRING}),
)
CURRENT = shape(
    {
        "site": FOR_SITE,
        "now": TIME,
        "sources": shape({source: SOURCE for source in SOURCES}),
    }
)
