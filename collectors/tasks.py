"""Thin Celery tasks: beat calls one dispatch task per source; it fans out one `collect` per
(provider, target) that enabled sites need — sites sharing a region share one call. Beat also
runs `write_current_prices` every minute: the price point of the running slot, from the stored
slots, with no API call (collectors.pricing.now); and `write_current_forecasts`: the carbon
and occupancy points of what the API serves between fetches, from the stored forecasts and
predictions (collectors.served_points). While InfluxDB cannot be read or written these two
fail each minute, and the log says so once (`influx_outage`); while Redis cannot be reached,
in one line a run (enrich.redis.outage). Each night `delete_old_runs` deletes the run records
older than COLLECTOR_RUN_DAYS (collectors.run_records)."""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings

from collectors import pipeline, run_records, sharing
from collectors.pricing.now import write_current_points
from collectors.served_points import write_served_points
from collectors.sharing import record_failure
from enrich.api import influx_down
from enrich.database_down import DatabaseUnavailable
from enrich.deliveries import GuardedTask
from enrich.influx import TimeseriesError
from enrich.models import ProviderConfig
from enrich.redis.client import RedisUnavailable, make_key
from enrich.redis.outage import redis_outage
from enrich.wording import counted

logger = logging.getLogger("collectors")


def configs_by_target(
    source: str, *, record_failures: bool = True
) -> dict[tuple[str, str], ProviderConfig]:
    """One provider config per (provider, target key): the first enabled one wins (the fetch
    asks for what the others sharing its target ask for too: collectors.sharing). A config
    that cannot be collected is skipped, and with `record_failures` logged and recorded as a
    failed run. A config deleted (in the admin) since its row was read is passed over: the
    next one sharing its target is taken."""
    chosen: dict[tuple[str, str], list[int]] = {}
    for config_id, provider, key in sharing.keyed_rows(source):
        if isinstance(key, Exception):
            # One badly configured site must not stop the others.
            if not record_failures:
                continue
            try:
                config = sharing.whole(config_id)
            except ProviderConfig.DoesNotExist:
                continue
            logger.error("dispatch: %s cannot be collected: %s", config, key)
            record_failure(config, str(key), "nothing (configuration error)")
            continue
        chosen.setdefault((provider, key), []).append(config_id)
    rows = ProviderConfig.objects.select_related("site")
    configs = rows.in_bulk([ids[0] for ids in chosen.values()])
    if gone := [ids for ids in chosen.values() if ids[0] not in configs]:
        configs |= rows.in_bulk([config_id for ids in gone for config_id in ids[1:]])
    found = {target: next((i for i in ids if i in configs), None) for target, ids in chosen.items()}
    return {target: configs[config_id] for target, config_id in found.items() if config_id}


# What a failed run says when the pipeline did not end it: the worker log has the traceback.
UNEXPECTED = " (the collection stopped here: see the worker's log)"


class CollectTask(GuardedTask):
    def poisoned(self, message: str, args: tuple, kwargs: dict) -> None:
        """A collect refused after its worker died too often is a failed run of its config."""
        config = ProviderConfig.objects.filter(pk=kwargs.get("config_id", *args[:1])).first()
        if config is not None:
            record_failure(config, message, "nothing (the task was not run)", self.request.id)


def dispatch(source: str) -> int:
    chosen = configs_by_target(source)
    dispatched = datetime.now(UTC).isoformat()  # the cycle the runs are for
    for config in chosen.values():
        collect.delay(config.pk, dispatched)
    logger.info(
        "dispatch: %s: %s sent, one per target", source, counted(len(chosen), "collect task")
    )
    return len(chosen)


@shared_task(
    name="collectors.collect",
    base=CollectTask,
    bind=True,
    acks_late=True,
    soft_time_limit=pipeline.RUN_TIME_LIMIT_SECONDS - 30,
    time_limit=pipeline.RUN_TIME_LIMIT_SECONDS,
    max_retries=2,
)
def collect(self, config_id: int, dispatched: str | None = None) -> dict:
    # `dispatched` (ISO time of beat's dispatch, kept by retries): a late run's answer is fresh
    # only until its cycle ends, so the next beat fetches (pipeline.collect).
    try:
        config = ProviderConfig.objects.select_related("site").get(pk=config_id)
    except ProviderConfig.DoesNotExist:
        logger.warning("collect: provider config %s no longer exists; nothing to do", config_id)
        return {"status": "gone"}
    retries = self.request.retries
    retry_in = 60 * 2**retries if retries < self.max_retries else None
    try:
        when = datetime.fromisoformat(dispatched) if dispatched else None
        outcome = pipeline.collect(config, task_id=self.request.id or "", dispatched=when,
                                   retry=bool(retries), retry_in=retry_in)  # fmt: skip
    except Exception as exc:  # the time limit, or what no adapter expected: record, then fail
        timeout = isinstance(exc, SoftTimeLimitExceeded)
        why = "the task's time limit ran out" if timeout else exc
        # Its message (the status page's words) without the class where it says what happened;
        # an error no adapter expected keeps it (KeyError: 'zone'): the class is what names it.
        record_failure(config, f"{type(exc).__name__}: {why}"[:2000] + UNEXPECTED,
                       "nothing (the run stopped)", self.request.id or "",
                       message=f"{why}{UNEXPECTED}" if timeout else "")  # fmt: skip
        raise
    if outcome.transient and retry_in is not None:
        # A transient failure already served last-good; try again 60 s, then 120 s later (two
        # retries; not when the budget's reserve would refuse that run: pipeline.collect says so).
        raise self.retry(countdown=retry_in)
    return {
        "status": outcome.status,
        "points_written": outcome.points_written,
        "served": outcome.served,
        "error": outcome.error,
    }


DISPATCH = {"acks_late": True, "soft_time_limit": 60, "time_limit": 90}


def _dispatch_task(name: str) -> None:
    """Register beat's task `collectors.dispatch_<source>`: one collect per target of <source>."""
    source = name.removeprefix("collectors.dispatch_")

    @shared_task(name=name, **DISPATCH)
    def dispatch_source() -> int:
        return dispatch(source)


# One dispatch task per source, each named literally (beat's table names them; grep finds them).
_dispatch_task("collectors.dispatch_carbon_intensity")
_dispatch_task("collectors.dispatch_electricity_pricing")
_dispatch_task("collectors.dispatch_air_quality")
_dispatch_task("collectors.dispatch_occupancy")
_dispatch_task("collectors.dispatch_smart_meter")


@shared_task(name="collectors.delete_old_runs", acks_late=True, soft_time_limit=120, time_limit=150)
def delete_old_runs() -> int:
    days = settings.COLLECTOR_RUN_DAYS
    deleted = run_records.delete_before(datetime.now(UTC) - timedelta(days=days))
    logger.info("delete_old_runs: %s older than %s days deleted", counted(deleted, "run"), days)
    return deleted


@contextmanager
def influx_outage(task: str) -> Iterator[None]:
    """Run a minute task's reads and writes of InfluxDB. When one fails the task still fails
    (its result in Flower names the error; beat runs it again the next minute, its retry), but
    the worker's log says it once, when InfluxDB first cannot be read or written (again when
    the kind of error changes), and once when it answers again: not a traceback (the tasks'
    `throws`), nor a line per target, every minute. Reads that fall back on the cached answer
    (collectors.carbon.now) are gathered: the task could not write what it serves."""
    with influx_down.gathered() as problems:
        try:
            yield
        except TimeseriesError as exc:
            problems.append(exc)
    turn = influx_down.turned(make_key("influx_unread", task), problems[0] if problems else None)
    if turn == influx_down.DOWN:
        logger.error(
            "%s: InfluxDB cannot be read or written; the task fails each minute until it "
            "answers again (its result says why), and this is not logged again: %s",
            task,
            problems[0],
        )
    elif turn == influx_down.BACK:
        logger.info("%s: InfluxDB answers again", task)
    if problems:
        raise problems[0]


# The minute tasks: an InfluxDB or Redis error is expected while it is down (Celery logs the
# task's failure without its traceback; `outages` logs the outage).
MINUTE = {"acks_late": True, "soft_time_limit": 45, "time_limit": 55,
          "throws": (TimeseriesError, RedisUnavailable, DatabaseUnavailable)}  # fmt: skip
# What a minute task's run costs while Redis cannot be reached (enrich.redis.outage).
FAILS = "this run fails (its result says why; beat runs the task again the next minute)"


@contextmanager
def outages(task: str) -> Iterator[None]:
    """A minute task's run, InfluxDB's and Redis's outages logged (`influx_outage`, whose
    record of InfluxDB's state is in Redis, and enrich.redis.outage)."""
    with redis_outage(task, logger, FAILS), influx_outage(task):
        yield


@shared_task(name="collectors.write_current_prices", **MINUTE)
def write_current_prices() -> dict:
    # The hourly dispatch already records configs that cannot be collected; not every minute.
    configs = configs_by_target("electricity_pricing", record_failures=False)
    with outages("write_current_prices"):
        return write_current_points(configs.values())


# The sources whose value now comes from what their fetch stored ahead (forecast slots,
# predictions at event edges): collectors.served_points.
FORECAST_SOURCES = ("carbon_intensity", "occupancy")


@shared_task(name="collectors.write_current_forecasts", **MINUTE)
def write_current_forecasts() -> dict:
    # The dispatches already record configs that cannot be collected; not every minute.
    with outages("write_current_forecasts"):
        return {
            source: write_served_points(configs_by_target(source, record_failures=False).values())
            for source in FORECAST_SOURCES
        }
