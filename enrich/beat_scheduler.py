"""The beat's scheduler: django-celery-beat's DatabaseScheduler, less the periodic tasks whose
crontab holds a time zone this host cannot load (enrich.beat_zones).

DatabaseScheduler looks every crontab's zone up by name each time it loads the schedules; one it
cannot load (written past the admin's form: SQL, a fixture, a database from a host whose zone
database had the name) would stop the beat as it starts (ZoneInfoNotFoundError), so no schedule
would run at all, and a beat already running would stop at its next reload. Such a crontab's tasks
are left out, each named in the beat's log with the zone and what to do, once per change; every
other schedule runs. Choosing a zone in admin → Crontabs brings them back at the next reload; until
then the status page lists them with the reason (enrich.liveness).

Each tick (at least every 5 s: DatabaseScheduler's longest sleep) is recorded in Redis
(enrich.redis.alive), so a beat that stopped or hangs shows: its healthcheck
(`manage.py check_beat`) fails and the status page says when it last ticked. A tick is also
where a beat told to stop (SIGTERM) does (enrich.beat_stop), and where a beat finds whether it
sends the periodic tasks or another beat on the same Redis does (enrich.beat_lead).

While the database cannot be reached (a PostgreSQL restarting), the beat goes on sending the
periodic tasks as it last read them, saying so once and again once the database answers; it saves
their last runs and reads them again then. DatabaseScheduler logged a traceback at each tick, and
its full read of the schedule, every 5 minutes, stopped the beat (and with it `make run`). A beat
started while the database cannot be reached (a host up before its PostgreSQL) waits for it,
where DatabaseScheduler's first read stopped it.
"""

import logging
import os
import socket
import time
from datetime import UTC, datetime

from celery.beat import SchedulingError
from celery.result import denied_join_result
from django.db.models import QuerySet
from django_celery_beat.models import CrontabSchedule, PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler
from kombu.exceptions import OperationalError

from enrich.beat_lead import Lead
from enrich.beat_stop import stop_if_asked
from enrich.beat_zones import UnknownZone, read_unknown_zones, unknown_zone
from enrich.database_down import ERRORS, answers, one_line, out_of_reach
from enrich.redis import alive
from enrich.redis.client import redacted_url

logger = logging.getLogger(__name__)


class SaidOnce(logging.Filter):
    """DatabaseScheduler's own record of the database out of reach ("Database error while
    sync", "Database gave error", with a traceback), met between the beat's check and its read
    or save: left out, the beat saying it in one line (Scheduler._database)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and out_of_reach(record.exc_info[1]))


logging.getLogger("django_celery_beat.schedulers").addFilter(SaidOnce())

# How often a beat started while the database cannot be reached asks it again.
WAIT_SECONDS = 2


def unloadable_crontabs() -> dict[int, str]:
    """{crontab id: its stored zone name} of the crontabs whose zone this host cannot load."""
    read_unknown_zones()
    return {c.pk: zone for c in CrontabSchedule.objects.order_by("pk") if (zone := unknown_zone(c))}


def skipped_tasks(unloadable: dict[int, str] | None = None) -> set[tuple[str, int, str]]:
    """(name, crontab id, zone) of each enabled periodic task the beat leaves out."""
    unloadable = unloadable_crontabs() if unloadable is None else unloadable
    skipped = PeriodicTask.objects.enabled().filter(crontab__in=list(unloadable))
    return {(task.name, task.crontab_id, unloadable[task.crontab_id]) for task in skipped}


class Scheduler(DatabaseScheduler):
    _skipped_said: frozenset[tuple[str, int, str]] = frozenset()
    _recorder: alive.Recorder | None = None
    _broker_lost: datetime | None = None  # since when due tasks cannot be sent
    _lead: Lead | None = None
    _stood_by = False  # another beat sent the tasks at a tick of this one
    _database_lost = False  # the database did not answer at the last tick

    def setup_schedule(self) -> None:
        while True:  # nothing read yet, nothing to send: wait (stopping when told to)
            stop_if_asked()
            if self._answers():
                break
            time.sleep(WAIT_SECONDS)
        super().setup_schedule()

    @property
    def schedule(self):
        # The database out of reach: the schedule as last read (read again once it answers).
        if self._database_lost and self._schedule is not None:
            return self._schedule
        return super().schedule

    def all_as_schedule(self):
        try:
            return super().all_as_schedule()
        except ERRORS as exc:  # lost since this tick's check
            if self._schedule is None:
                raise  # at start: nothing read yet to go on with
            self._database(exc)
            return self._schedule

    def sync(self) -> None:
        # The runs sent while the database cannot be reached stay to save (self._dirty), also
        # those a save the database went away in dropped (DatabaseScheduler keeps none).
        if self._database_lost or not self._answers():
            return
        saving = set(self._dirty)
        super().sync()
        if not self._answers():
            self._dirty |= saving

    def _answers(self) -> bool:
        """Whether the database answers (asked before what DatabaseScheduler reads or saves,
        which logs a traceback when it cannot)."""
        try:
            answers()
        except ERRORS as exc:
            self._database(exc)
            return False
        self._database(None)
        return True

    def _database(self, lost: Exception | None) -> None:
        """Say once that the database cannot be reached (`lost`), and once that it answers."""
        if lost is not None and not self._database_lost:
            does = (
                "waits for it to read the periodic tasks"
                if self._schedule is None
                else "goes on sending the periodic tasks as it last read them, and reads them "
                "again once it answers"
            )
            logger.error("Beat: the database (DATABASE_URL) cannot be reached; the beat %s: %s",
                         does, one_line(lost))  # fmt: skip
        elif lost is None and self._database_lost:
            logger.info("Beat: the database answers again; the periodic tasks are read from it")
        self._database_lost = lost is not None

    def apply_async(self, entry, producer=None, advance=True, **kwargs):
        # The beat never waits for a result; Celery's Redis result store subscribed to each
        # sent task's result all the same, which, Redis out of reach, it tried 20 times a
        # second apart (an ERROR line each, then a CRITICAL "must be restarted") per due task.
        with denied_join_result():
            try:
                result = super().apply_async(entry, producer, advance, **kwargs)
            except SchedulingError as exc:
                if not isinstance(exc.__context__, OperationalError):
                    raise
                self._not_sent(entry.name, exc.__context__)
                return None
        if self._broker_lost is not None:
            self._broker_lost = None
            logger.info("Beat: the Celery broker answers again; due tasks are sent")
        return result

    def _not_sent(self, name: str, exc: OperationalError) -> None:
        """One line per due task the broker out of reach kept from being sent (not Celery's
        "Message Error" and traceback); the whole error the first time."""
        if self._broker_lost is None:
            self._broker_lost = datetime.now(UTC)
            broker = redacted_url(self.app.conf.broker_url)
            logger.error("Beat: %r was not sent: the Celery broker (%s) cannot be reached; each "
                         "due task says so in one line until it answers again (beat sends each "
                         "at its next due time): %s", name, broker, exc)  # fmt: skip
        else:
            since = f"{self._broker_lost:%Y-%m-%d %H:%M:%S}"
            logger.warning("Beat: %r was not sent: the Celery broker still cannot be reached "
                           "(since %s UTC)", name, since)  # fmt: skip

    def enabled_models_qs(self) -> QuerySet:
        unloadable = unloadable_crontabs()
        self._say_skipped(skipped_tasks(unloadable))
        return super().enabled_models_qs().exclude(crontab__in=list(unloadable))

    def tick(self, *args, **kwargs):
        # A signal that came within the last tick stops the beat here (enrich.beat_stop).
        stop_if_asked()
        self._lead = self._lead or Lead()
        if not self._lead.held():
            self._stood_by = True
            return self.max_interval
        self._answers()
        if self._stood_by:
            # What the other beat sent, as it saved it: the schedule read afresh, not as at
            # this beat's start, and the heap built from it at this tick (a reload within the
            # tick built it again at the next one, from entries not advanced: sent twice).
            self._stood_by = False
            self.schedule_changed()  # noted: read below, not again within the tick
            self._last_full_sync = datetime.min
            self.schedule  # noqa: B018 (reads it)
            self._heap, self._heap_invalidated = None, False
        interval = super().tick(*args, **kwargs)
        self._recorder = self._recorder or alive.Recorder("Beat")
        self._recorder(lambda: alive.record_beat(host=socket.gethostname(), pid=os.getpid()))
        stop_if_asked()
        return interval

    def close(self) -> None:
        super().close()
        if self._lead is not None:
            self._lead.release()

    def _get_unique_timezone_names(self):
        # The zones whose crontabs' hours are compared with the server's: the loadable ones
        # (the tasks of the others are left out above).
        names = super()._get_unique_timezone_names()
        return [name for name in names if not isinstance(name, UnknownZone)]

    def _say_skipped(self, skipped: set[tuple[str, int, str]]) -> None:
        """Log the periodic tasks left out, when they differ from the last load's."""
        if frozenset(skipped) == self._skipped_said:
            return
        self._skipped_said = frozenset(skipped)
        for name, crontab, zone in sorted(skipped):
            logger.error(
                "Beat: periodic task %r is not scheduled: its crontab %s has the time zone %r, "
                "which this host's zone database cannot load. Choose its time zone in admin → "
                "Crontabs; the other schedules run.",
                name, crontab, zone,
            )  # fmt: skip
