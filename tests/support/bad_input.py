"""Hostile values for the bad-input matrix (tests/api/test_bad_input_matrix.py), written as they
travel in a query string or form body (percent-encoded: `%ff` is a byte that is no UTF-8,
`%00` a NUL), and what a refused request must leave as it was: run records, sites, tokens and
the tasks sent to Celery."""

from __future__ import annotations

from dataclasses import dataclass

from celery.signals import after_task_publish
from rest_framework.authtoken.models import Token

from enrich.models import Site
from retention.models import RetentionRun

SPACE, TAB = "%20", "%09"
LONG = "9" * 10_000
NUL, NOT_UTF8 = "1%00", "1%ff"
ARABIC_12 = "%D9%A1%D9%A2"  # ١٢: Python's int() reads 12
FULLWIDTH_12 = "%EF%BC%91%EF%BC%92"  # １２: so do float() and Django's form fields
UNDERSCORED = "1_0"  # int() and float() read 10
OTHER_DIGITS = [ARABIC_12, FULLWIDTH_12, UNDERSCORED]
NAN, INFINITY, TOO_BIG_FLOAT = "NaN", "Infinity", "1e309"
HUGE = "99999999999999999999"  # over 2^63 - 1
NO_ZONE = "2026-01-01T00:00:00"
ODD_OFFSET = "2026-01-01T00:00:00%2B25:00"
NO_SUCH_DAY = "2026-02-30"
YEAR_ZERO, LAST_DAY = "0000-01-01", "9999-12-31"

# What each kind of parameter must refuse (each a 400 naming it).
COMMON = [SPACE, TAB, LONG, NUL, NOT_UTF8, NAN, INFINITY]
WHOLE = [*COMMON, *OTHER_DIGITS, TOO_BIG_FLOAT, HUGE, "1.5", "0x10", "1e3", "true"]
POSITIVE_WHOLE = [*WHOLE, "-5", "-0", "0"]
POSITIVE = [*COMMON, *OTHER_DIGITS, "-Infinity", TOO_BIG_FLOAT, "-5", "1,5", "0x10"]
DURATION = [*COMMON, f"{ARABIC_12}h", "1e309h", f"{HUGE}d", "-5h", "0h", "24", "h"]
MOMENT = [*COMMON, ARABIC_12, NO_ZONE, ODD_OFFSET, f"{NO_SUCH_DAY}T00:00:00Z",
          f"{YEAR_ZERO}T00:00:00Z", f"{LAST_DAY}T23:59:59Z", "2026-01-01"]  # fmt: skip
DAY = [*COMMON, YEAR_ZERO, LAST_DAY, NO_SUCH_DAY, "20260101", "2026-1-1",
       "%D9%A2%D9%A0%D9%A2%D9%A6-01-01", "2026-01-01T00:00:00Z"]  # fmt: skip
DAY_OR_MOMENT = [*COMMON, YEAR_ZERO, LAST_DAY, NO_SUCH_DAY, NO_ZONE, ODD_OFFSET]
BOOLEAN = [*COMMON, "maybe", "2", "-0", "truee", "t%00rue"]
CHOICE = [SPACE, TAB, LONG, NUL, NOT_UTF8, "ARCHIVE", "ok%20"]
TEXT = [NUL, "sensor.a%00", NOT_UTF8, "sensor.k%FCche"]  # %FC: ü in Latin-1
# JSON values of the wrong type for a field of a POST body.
NOT_A_DAY = [[], {}, ["2024-01-01"], {"day": "2024-01-01"}, [[["2024-01-01"]]], 20240101, 1.5,
             True, "2024-01-01\x00", "x" * 10_000]  # fmt: skip
NOT_A_FLAG = [None, "", [], {}, [True], {"dry_run": True}, 2, -1, 1.5, "maybe", "x" * 10_000]


@dataclass(frozen=True)
class Counts:
    runs: int
    sites: int
    tokens: int
    sent: int


_sent: list[str] = []  # the names of the tasks this process handed to the Celery broker


@after_task_publish.connect(weak=False, dispatch_uid="tests.support.bad_input")
def _note_sent(sender: str | None = None, **_) -> None:
    _sent.append(str(sender))


def sent_tasks() -> int:
    """Tasks this process has handed to the Celery broker so far. The test client's requests
    are served here, so whatever one queues is counted, even once a worker took it off the
    queue. The queues' lengths would not do: another test run on the same Redis database (a
    second pytest on the machine, an xdist worker numbered onto it) queues and purges tasks
    there too, and a test whose requests queued nothing would fail when it did so."""
    return len(_sent)


def counts() -> Counts:
    """What a refused request must not change: run records (each queued task has one), sites,
    API tokens and the tasks sent to the workers."""
    return Counts(
        RetentionRun.objects.count(), Site.objects.count(), Token.objects.count(), sent_tasks()
    )
