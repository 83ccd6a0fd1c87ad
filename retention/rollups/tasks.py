"""Celery tasks of the materialized views: the periodic incremental refresh, the rebuild of a
range that `POST /api/views/<name>/rebuild` queues, and the follow-up of the entity registry's
edits that a save in the admin, a discovery or an import of Home Assistant's areas queues
(`queue_follow_ups`, retention.rollups.follow).

Registered through `config/celery.py` (autodiscovery of `retention.rollups.tasks`); the refresh is
scheduled by the beat entry "Refresh materialized views" (every 4 hours, editable in the admin).

None is tried again: a run that fails (InfluxDB out of reach; Redis out of reach, the store of
the view's lock, before it takes the lock or writes: retention.rollups.lock) is recorded failed
with nothing written, saying when the work comes next: the next refresh, or a rebuild asked
again. Either stops the refresh of the views at the first view it meets
(retention.rollups.refresh).
"""

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from celery import shared_task
from django.db import transaction

from retention.models import RetentionRun
from retention.queued import queued_run, send
from retention.rollups.follow import follow_edits, pending
from retention.rollups.lock import LOCK_SECONDS, failure
from retention.rollups.materialized import ENERGY, VIEWS, rebuild_view
from retention.rollups.refresh import in_turn
from retention.task_records import recorded

logger = logging.getLogger(__name__)


# A first refresh reads the whole history; later ones a few hours. Below the 3 h expiry.
@shared_task(**recorded("retention.refresh_views", RetentionRun.Operation.VIEW_REFRESH))
def refresh_views() -> dict:
    """Refresh each view in turn (retention.rollups.refresh); a view that fails is reported and
    the others still run, but for Redis or InfluxDB out of reach (or InfluxDB refusing): the
    refresh stops and its one failed run names the views left (one outage, one run failed, one
    alert), as `manage.py refresh_views` does."""
    result: dict[str, dict] = {}
    for turn in in_turn(list(VIEWS)):
        name, run = turn.view, turn.run
        if turn.stops:  # the views left are not tried: the run that stopped answers for them
            done = {"status": "failed", "error": run.errors, "run": run.pk}
            result.update({view: dict(done) for view in [name, *turn.left]})
        elif turn.error is not None:  # the run record holds the details
            result[name] = {"status": "failed", "error": failure(turn.error, name, "incremental")}
        else:
            _edits_left(name, run)
            result[name] = {"status": run.status, "rows": run.records_processed, "run": run.pk}
    return result


@shared_task(**recorded("retention.rebuild_view", RetentionRun.Operation.VIEW_REFRESH))
def rebuild(
    name: str, start: str, end: str, run_id: int | None = None, allow_fewer_points: bool = False
) -> dict:
    """Recompute view `name` for the local days start..end (ISO dates, both included), in the
    run the API created (`run_id`); `allow_fewer_points`: as `rebuild_view`'s."""
    run = RetentionRun.objects.filter(pk=run_id).first() if run_id else None
    first, last = date.fromisoformat(start), date.fromisoformat(end)
    run = rebuild_view(name, first, last, run=run, allow_fewer_points=allow_fewer_points)
    _edits_left(name, run)
    return {"status": run.status, "rows": run.records_processed, "run": run.pk}


@shared_task(**recorded("retention.follow_view_edits", RetentionRun.Operation.VIEW_REFRESH))
def follow_view_edits(name: str, run_id: int | None = None) -> dict:
    """Compute again the parts of view `name` that entity edits changed, in the run the save
    created (`run_id`)."""
    run = RetentionRun.objects.filter(pk=run_id).first() if run_id else None
    run = follow_edits(name, run=run)
    if run is None:
        return {"status": "ok", "rows": 0, "run": None}
    _edits_left(name, run)
    return {"status": run.status, "rows": run.records_processed, "run": run.pk}


# --- Queueing the follow-up of edits ---------------------------------------------------------
@dataclass
class Queued:
    """The follow-up of a view's edits: its run, and whether it could be queued."""

    view: str
    keys: list[str]
    run: RetentionRun | None  # None: not even recorded (the database refused)
    waiting: bool = False  # a run queued earlier (not started yet) takes these edits up too
    error: str = ""  # the task could not be queued: the next refresh takes the edits up

    @property
    def what(self) -> str:
        """The rows followed, as people read them: "hourly_room_activity (areas Hall)"."""
        named = "entities" if self.view == ENERGY else "areas"
        return f"{self.view} ({named} {', '.join(self.keys)})"

    def __str__(self) -> str:
        if self.error:
            return (
                f"The views cannot follow the changes now ({self.error}): their rows of "
                f"{self.what} are computed again at the next refresh of the views (every 4 "
                "hours, or manage.py refresh_views once Redis, the Celery broker, runs)."
            )
        waiting = " (queued by an earlier change, not started yet)" if self.waiting else ""
        return (
            f"The views follow the changes: the rows of {self.what} are computed again on the "
            f"retention worker in run {self.run.pk}{waiting}."
        )

    def as_dict(self) -> dict:
        run = self.run.pk if self.run is not None else None
        return {"view": self.view, "keys": self.keys, "run": run, "waiting": self.waiting,
                "error": self.error}  # fmt: skip


def _waiting_run(name: str) -> RetentionRun | None:
    """A follow-up of the view queued and not started yet (a worker sets `queued_at`)."""
    return (
        RetentionRun.objects.filter(
            operation=RetentionRun.Operation.VIEW_REFRESH,
            status=RetentionRun.Status.RUNNING,
            details__view=name,
            details__mode="edits",
            started__gte=datetime.now(UTC) - timedelta(seconds=LOCK_SECONDS),
        )
        .exclude(details__has_key="queued_at")
        .order_by("-pk")
        .first()
    )


def queue_follow_ups(parts: dict[str, set[str]], queued_by: str) -> list[Queued]:
    """Queue `follow_view_edits` for each view in `parts` (view -> keys), unless one is
    waiting already: several edits in a row are followed by one run."""
    queued = []
    for name, keys in sorted(parts.items()):
        waiting = _waiting_run(name)
        if waiting is not None:
            queued.append(Queued(name, sorted(keys), waiting, waiting=True))
            continue
        run = queued_run(
            RetentionRun.Operation.VIEW_REFRESH, queued_by, details={"view": name, "mode": "edits"}
        )
        reason = ""
        if send(follow_view_edits, run, name=name) is None:
            reason = run.errors.rstrip(".")
            run.errors = (
                f"{reason}. The edits stay noted: the next refresh of the view takes them up."
            )
            run.save(update_fields=["errors"])
            logger.warning("view %s: the follow-up of entity edits: %s", name, run.errors)
        queued.append(Queued(name, sorted(keys), run, error=reason))
    return queued


def follow_up(noted: dict[str, set[str]], queued_by: str) -> list[Queued]:
    """`queue_follow_ups` once the edits are committed, never failing the work that made them:
    an edit whose follow-up cannot be queued stays noted for the next refresh."""
    try:
        return queue_follow_ups(noted, queued_by)
    except Exception as exc:
        logger.exception("the follow-up of entity edits could not be queued")
        return [Queued(view, sorted(keys), None, error=str(exc)) for view, keys in noted.items()]


def follow_up_on_commit(noted: dict[str, set[str]], queued_by: str) -> list[Queued]:
    """`follow_up` once the caller's transaction commits (at once outside one): the list it
    returns is filled then."""
    queued: list[Queued] = []
    if noted:
        transaction.on_commit(lambda: queued.extend(follow_up(noted, queued_by)))
    return queued


def _edits_left(name: str, run: RetentionRun) -> None:
    """Edits noted while this run held the view (their own follow-up found it busy): queued
    now that it is free. A run that was skipped leaves them to the run it made way for."""
    if run.status != RetentionRun.Status.SKIPPED and pending(name):
        queue_follow_ups({name: set()}, "retention worker (edits noted while the view was busy)")
