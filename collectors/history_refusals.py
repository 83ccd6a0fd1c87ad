"""History endpoints the account's plan refuses, remembered in Redis for a day.

An adapter reports a failed backfill in `FetchResult.history_error`. A refusal (HTTP 401/403
on the history call, while the latest-value calls with the same key worked) means the plan
does not include history: the pipeline remembers it here, per provider, target and account,
and leaves the backfill out of the next windows instead of asking (and failing) again. The
memory expires after a day, so a plan upgrade is picked up. Any other failure is not
remembered: the run is "partial" and the next run asks for the gap again.

    <prefix>:history-refused:<provider>:<target>:<account digest>  -> JSON, expires in a day
"""

import hashlib
import json
from datetime import datetime, timedelta

from enrich.http import AuthError, HttpError
from enrich.redis.client import get_redis, make_key, reachable
from enrich.wording import counted

REMEMBER = timedelta(days=1)


def account_of(api_key: str, username: str) -> str:
    """Who the plan belongs to, without the secret: 12 hex of the key's (or user's) SHA-256."""
    who = api_key or username
    return hashlib.sha256(who.encode()).hexdigest()[:12] if who else "public"


def _key(provider: str, target: str, account: str) -> str:
    return make_key("history-refused", provider, target, account)


MEMORY = "The history refusal memory"


def refused(provider: str, target: str, account: str) -> str:
    """Why the backfill is left out (the remembered refusal), or "" when it may be asked."""
    with reachable(MEMORY):
        raw = get_redis().get(_key(provider, target, account))
    try:
        record = json.loads(raw) if raw is not None else None
        status, at, until = record["status"], record["at"], record["until"]
    except (TypeError, ValueError, KeyError):
        return ""  # nothing remembered (or not written by settle): ask for history
    return (
        f"history skipped: {provider} refused its history endpoint (HTTP {status}) at {at}, "
        f"so this account's plan does not include it; asked again after {until}"
    )


def settle(provider: str, target: str, account: str, error: HttpError, now: datetime) -> bool:
    """Remember a refusal (True: the run is complete without history); False for a failure
    worth retrying (the run is partial)."""
    if not isinstance(error, AuthError):
        return False
    record = {
        "status": error.status,
        "at": now.isoformat(),
        "until": (now + REMEMBER).isoformat(),
        "error": str(error)[:300],
    }
    key = _key(provider, target, account)
    with reachable(MEMORY):
        get_redis().set(key, json.dumps(record), ex=int(REMEMBER.total_seconds()))
    return True


def note(error: HttpError, refusal: bool) -> str:
    """The run record's words for a failed backfill."""
    if refusal:
        return (
            f"history refused (HTTP {error.status}): the account's plan does not include it; "
            f"the backfill is skipped for {counted(REMEMBER.days, 'day')}, the latest values are "
            "written"
        )
    return (
        f"history failed ({type(error).__name__}: {error}); the latest values are written and "
        "the next run asks for the gap again"
    )
