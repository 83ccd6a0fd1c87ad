"""Is every part of enrich alive? What the status page's *Processes* shows (/api/processes/):

- the beat: when it last ticked (enrich.beat_scheduler records each tick, at most 5 s apart);
  not within BEAT_LATE_AFTER seconds: it stopped or hangs, and no schedule runs;
- the workers: each one heard from in the last day, with its queues (enrich.worker_alive records
  them every 10 s); one not heard from within WORKER_LATE_AFTER seconds was killed or hangs;
- the queues: each of config.queues with the workers consuming it; none: its tasks wait;
- the periodic tasks the beat leaves out because their crontab's time zone cannot be loaded
  on this host (enrich.beat_scheduler), each with the reason and what to do;
- enrich's own entries disabled in the admin (their values go stale, their runs do not come).
"""

import logging
import time
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

from django_celery_beat.models import PeriodicTask

from config.queues import QUEUES
from enrich.addresses import hidden
from enrich.beat_scheduler import skipped_tasks
from enrich.redis import alive
from enrich.redis.client import RedisUnavailable
from enrich.schedules import ENTRY_NAMES

BEAT_LATE_AFTER = 60  # seconds; the beat's healthcheck in docker-compose.yml says the same
WORKER_LATE_AFTER = 60
FORGET_WORKER_AFTER = 24 * 3600

logger = logging.getLogger(__name__)


def age_text(seconds: float) -> str:
    """An age as the status page writes one (Status.age in dashboard/static/dashboard/common.js):
    "42 s", "3 min", "5.0 h", "8.0 d"."""
    if seconds < 120:
        return f"{_half_up(seconds, '1')} s"
    if seconds < 7200:
        return f"{_half_up(seconds / 60, '1')} min"
    if seconds < 172800:
        return f"{_half_up(seconds / 3600, '0.1')} h"
    return f"{_half_up(seconds / 86400, '0.1')} d"


def _half_up(value: float, step: str) -> Decimal:
    """`value` rounded to `step` as JavaScript's Math.round and toFixed do (halves up)."""
    return Decimal(value).quantize(Decimal(step), rounding=ROUND_HALF_UP)


def _when(at: float) -> dict:
    age = max(0.0, time.time() - at)
    return {"at": datetime.fromtimestamp(at, UTC).isoformat(), "age_seconds": round(age, 1)}


def beat_state(late_after: float | None = None) -> dict:
    """{"ok", "last_tick", "age_seconds", "host", "detail"} of the beat, late after `late_after`
    seconds (default BEAT_LATE_AFTER); raises RedisUnavailable."""
    late_after = BEAT_LATE_AFTER if late_after is None else late_after
    tick = alive.last_beat()
    if tick is None:
        return {"ok": False, "last_tick": None, "age_seconds": None, "host": None,
                "detail": "No beat tick is recorded: the beat has not run with this Redis "
                "(REDIS_URL), so no schedule runs."}  # fmt: skip
    when = _when(tick["at"])
    state = {"ok": when["age_seconds"] <= late_after, "last_tick": when["at"],
             "age_seconds": when["age_seconds"], "host": tick.get("host"), "detail": ""}  # fmt: skip
    if not state["ok"]:
        state["detail"] = (
            f"No tick for {age_text(when['age_seconds'])} (last at {when['at']}): the beat has "
            f"stopped or hangs, so no schedule runs. It ticks at least every 5 s."
        )
    return state


def _workers() -> tuple[list[dict], list[dict]]:
    """The workers heard from in the last day, and each queue with the live ones consuming it."""
    workers = []
    for node, said in sorted(alive.workers(FORGET_WORKER_AFTER).items()):
        when = _when(said["at"])
        ok = when["age_seconds"] <= WORKER_LATE_AFTER
        detail = "" if ok else (
            f"Not heard from for {age_text(when['age_seconds'])} (last at {when['at']}): it was "
            "killed or hangs."
        )  # fmt: skip
        workers.append({"node": node, "queues": said["queues"], "ok": ok,
                        "last_seen": when["at"], "age_seconds": when["age_seconds"],
                        "detail": detail})  # fmt: skip
    queues = []
    for name in QUEUES:
        serving = [w["node"] for w in workers if w["ok"] and name in w["queues"]]
        detail = "" if serving else "No live worker consumes it: its tasks wait in Redis."
        queues.append({"name": name, "workers": serving, "ok": bool(serving), "detail": detail})
    return workers, queues


def _skipped() -> list[dict]:
    return [
        {"task": name, "crontab": crontab, "timezone": zone,
         "reason": f"Not scheduled: its crontab {crontab} has the time zone {zone!r}, which this "
         "host's zone database cannot load. Choose its time zone in admin → Crontabs."}
        for name, crontab, zone in sorted(skipped_tasks())
    ]  # fmt: skip


def _disabled() -> list[dict]:
    """enrich's own beat entries (config/schedule.py) disabled in the admin: an operator's
    choice, so not a fault (`ok` stays), but their work is not done while they are."""
    entries = PeriodicTask.objects.filter(name__in=ENTRY_NAMES, enabled=False).order_by("name")
    return [{"task": name, "reason": "Disabled in admin → Periodic tasks: not run until it is "
             "enabled again."} for name in entries.values_list("name", flat=True)]  # fmt: skip


def processes() -> dict:
    """The beat, workers, queues and skipped schedules, with "ok" when all of them are, and the
    schedules disabled in the admin."""
    schedules = {"skipped_schedules": _skipped(), "disabled_schedules": _disabled()}
    try:
        beat = beat_state()
        workers, queues = _workers()
    except RedisUnavailable as exc:  # Redis' address to the log, as for run records
        logger.error("%s", exc)
        return {"ok": False, "detail": hidden(str(exc)), "beat": None, "workers": None,
                "queues": None, **schedules}  # fmt: skip
    ok = beat["ok"] and all(q["ok"] for q in queues) and all(w["ok"] for w in workers)
    return {"ok": ok and not schedules["skipped_schedules"], "detail": "", "beat": beat,
            "workers": workers, "queues": queues, **schedules}  # fmt: skip
