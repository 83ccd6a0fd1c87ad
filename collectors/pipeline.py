"""One collection run for one (source, provider, target): cache -> budget -> adapter.fetch
-> write -> remember -> record run, and on any failure the last good answer is served (marked
stale, with its age) while the system keeps running. A run failing before the write writes no
points; one failing after it (caching, after_write) keeps what it wrote, recorded as failed
with the points it wrote (collectors.after_write)."""

import json
import logging
import time
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime, timedelta
from functools import partial

from collectors import after_write, cadence, circuit_keys, fetch_lock, history_refusals, rate_limits
from collectors.base import ConfigError, Credentials, FetchResult, SiteInfo, Target, Window
from collectors.freshness import describe_last_good, fresh, fresh_for
from collectors.models import CollectorRun
from collectors.registry import UnknownProvider, adapter_for
from collectors.served_store import withdraw, write_fetched
from collectors.spending import RESERVED, Spending
from enrich.crypto import SecretUnreadable, require_readable
from enrich.http import AuthError, HttpError, RateLimitedError
from enrich.influx import TimeseriesError
from enrich.models import ProviderConfig
from enrich.readings import Reading, unwritable_tag
from enrich.redis import outage
from enrich.redis.cache import ResponseCache
from enrich.redis.client import RedisUnavailable
from enrich.wording import counted

logger = logging.getLogger("collectors")

# The collect task's time limit (collectors.tasks): a run has ended by then, one way or another.
RUN_TIME_LIMIT_SECONDS = 150
# A fetch's waits (a 429's Retry-After, backoff) end by then, before the soft limit (30 s
# before the limit) stops a run mid-wait as "time limit ran out", the provider's wait lost.
FETCH_WAITS_END_SECONDS = RUN_TIME_LIMIT_SECONDS - 60
# Failures the pipeline turns into "serve last good and keep running".
EXPECTED_FAILURES = (HttpError, ConfigError, TimeseriesError, RedisUnavailable)


@dataclass
class Outcome:
    status: str
    points_written: int = 0
    served: str = ""
    error: str = ""  # as recorded: a failure's error class, then its message
    message: str = ""  # a failure's message alone, as a person reads it (the setup page)
    transient: bool = False  # the task may retry later
    by_measurement: dict[str, int] = field(default_factory=dict)  # the points written, by kind

    @property
    def said(self) -> str:  # as the setup and status pages show it: no error class, or the note
        return self.message or self.error


# SiteInfo's fields are named as the Site model's: what a site gives an adapter, copied here
# and by the dispatch's row query (collectors.tasks).
SITE_FIELDS = tuple(f.name for f in fields(SiteInfo))


def site_info(config: ProviderConfig) -> SiteInfo:
    return SiteInfo(*(getattr(config.site, name) for name in SITE_FIELDS))


def credentials(config: ProviderConfig, *, fetching: bool = False) -> Credentials:
    adapter = adapter_for(config.source, config.provider)
    try:
        # e.g. OAuth tokens kept outside ProviderConfig (Adapter.credentials)
        found = adapter.credentials(config, fetching=fetching)
        if found is None:
            require_readable(config, "api_key", "password")
            found = stored_credentials(
                config.username,
                config.password,
                config.api_key,
                config.options,
                config.saved_session(),
            )
    except SecretUnreadable as exc:
        # A secret no key decrypts fails this provider (its run record says which), no other.
        raise ConfigError(str(exc)) from None
    if fetching:
        # Credentials the adapter renews mid-fetch are saved, not only kept in its memory.
        kept = circuit_keys.load(config.site_id, f"{config.provider}/")
        found = replace(found, on_renewed=partial(adapter.on_renewed, config, found), kept=kept)
    return found


def stored_credentials(
    username: str, password: str, api_key: str, options: dict | None, session: dict
) -> Credentials:
    """Credentials from what a ProviderConfig stores (secrets already decrypted). Options that
    are no JSON object (a row written past the form, which refuses them) are a ConfigError
    naming them, not a ValueError in whatever reads the config (the admin's list, dispatch)."""
    if options and not isinstance(options, dict):
        raise ConfigError(
            f"options must be a JSON object, not {json.dumps(options)[:60]}; correct them in "
            "the admin (Provider configs)."
        )
    return Credentials(
        username=username,
        password=password,
        api_key=api_key,
        options=dict(options or {}),
        session=session,
    )


def target_for(config: ProviderConfig) -> Target:
    """The config's target; first a ConfigError for an option its adapter refuses (as saved)."""
    adapter, given = adapter_for(config.source, config.provider), credentials(config)
    adapter.check_options(given.options)
    return adapter.target(site_info(config), given)


def settings_problem(sender: object, config: ProviderConfig, **_: object) -> str:
    """Receiver of enrich.models.collect_check: the error a collection with `config`'s
    settings would fail with before any call ("" when none)."""
    try:
        target_for(config)
    except (ConfigError, UnknownProvider) as exc:
        return str(exc)
    return ""


def forget_login(sender: object, config: ProviderConfig, **_: object) -> list[str]:
    """Receiver of enrich.models.secrets_cleared: the logins the config's adapter removed."""
    return adapter_for(config.source, config.provider).forget_login(config)


def _window(config: ProviderConfig, target: Target, now: datetime) -> Window:
    """Normally the last interval; after an outage, back to the last success (as far as the
    API keeps history), so the gap is filled — unless the account's plan was seen refusing
    history lately: then no backfill, and `history_skipped` tells the adapter not to ask."""
    adapter = adapter_for(config.source, config.provider)
    start = now - timedelta(seconds=config.interval_seconds)
    if adapter.history:
        start = max(start, now - adapter.history)  # a fetch window past what the API keeps
        account = history_refusals.account_of(config.api_key, config.username)
        skipped = history_refusals.refused(config.provider, target.key, account)
        if skipped:  # no growing gap, no call bound to be refused again
            return Window(start=start, end=now, now=now, history_skipped=skipped)
        last_ok = (
            CollectorRun.objects.filter(
                source=config.source, provider=config.provider, target=target.key, status="ok"
            )
            .values_list("started", flat=True)
            .first()
        )
        if last_ok and last_ok < start:
            start = max(last_ok, now - adapter.history)
    return Window(start=start, end=now, now=now)


def _sharing():
    from collectors import sharing  # it reads the targets through this module

    return sharing


def collect(
    config: ProviderConfig,
    *,
    now: datetime | None = None,
    task_id: str = "",
    dispatched: datetime | None = None,
    retry: bool = False,
    retry_in: float | None = None,
) -> Outcome:
    """Run the pipeline for the target of this provider config; never raises for the
    failures users and APIs cause — they are logged and recorded. `dispatched`: when beat
    dispatched the cycle this run is for (see fresh_for); `retry`: the task's run again of
    a failed fetch, which may not spend the budget's reserve (collectors.spending);
    `retry_in`: seconds until the task would run again after a transient failure (None: it
    will not), which is not asked for when the reserve would refuse that run."""
    now = now or datetime.now(UTC)
    started = time.monotonic()
    source, provider = config.source, config.provider
    target_key = f"site:{config.site_id}"
    cache = ResponseCache()
    window = None
    creds = None  # what the fetch started with, once known
    limited = None  # whom the provider's rate limit covers (Adapter.budget_key), once known
    lock = spend = calls = None
    reached = True  # Redis answered the run (or was not needed)
    try:
        target = target_for(config)
        target_key = target.key
        if fresh(cache, source, provider, target.key, now):
            outcome = Outcome("cached", served="fresh cached answer")
        else:
            plain = _sharing().shared(config, target.key, credentials(config))
            spend, slower, calls = _sharing().spend_for(config, target, plain)
            limited = (spend.scope,)
            if wait := rate_limits.waiting(provider, *limited):
                served = describe_last_good(cache.last_good(source, provider, target.key))
                logger.warning("collect: %s/%s %s: %s", source, provider, target.key, wait)
                outcome = Outcome("budget", served=f"{wait}; served {served}")
            elif slower and cadence.too_soon(source, provider, target.key, slower, now):
                served = describe_last_good(cache.last_good(source, provider, target.key))
                logger.info("collect: %s/%s %s: %s", source, provider, target.key, slower.note)
                outcome = Outcome("budget", served=f"{slower.note}; served {served}")
            elif not fetch_lock.acquire(lock := fetch_lock.lock_for(source, provider, target.key)):
                holder = lock.holder() or "another run"
                served = f"nothing new: {holder} is fetching this target now"
                outcome = Outcome("cached", served=served)
            elif fresh(cache, source, provider, target.key, now):  # it just finished fetching
                outcome = Outcome("cached", served="fresh cached answer")
            elif refused := spend.reserve_calls(calls, retry=retry):
                served = describe_last_good(cache.last_good(source, provider, target.key))
                logger.warning("collect: %s/%s %s: %s; served %s", source, provider,
                               target.key, refused, served)  # fmt: skip
                why = f"{refused}; served " if refused.startswith(RESERVED) else ""
                outcome = Outcome("budget", served=f"{why}{served}")
            else:
                window = replace(_window(config, target, now), calls=calls)
                again = adapter_for(source, provider).asked_again(target, window)
                window = replace(window, again=again)
                creds = _sharing().shared(config, target.key, credentials(config, fetching=True))
                waits = FETCH_WAITS_END_SECONDS - (time.monotonic() - started)
                spend.seconds = waits
                ttl = fresh_for(cache.ttl_for(source), now, dispatched)
                fetch = partial(_fetch_and_write, target=target, window=window, cache=cache,
                                now=now, fresh_seconds=ttl)  # fmt: skip
                outcome = _sharing().fetch_trying_keys(config, target, creds, spend, retry=retry,
                                                       fetch=fetch)  # fmt: skip
                if slower:
                    outcome.served = f"{outcome.served}; {slower.note}"
    except (*EXPECTED_FAILURES, after_write.WrittenThenFailed) as exc:
        served = "nothing"
        try:
            served = describe_last_good(cache.last_good(source, provider, target_key))
        except RedisUnavailable:
            served = "nothing (Redis unavailable)"
        if isinstance(exc, AuthError):
            adapter_for(source, provider).on_auth_failure(config, exc, creds)
        if isinstance(exc, RateLimitedError) and limited is not None:
            try:  # no run, on any worker, calls before the wait ends
                rate_limits.remember(provider, *limited, exc)
            except RedisUnavailable:
                pass  # the failure below is logged and recorded all the same
        outcome = Outcome("failed", served=served, **after_write.recorded(exc))
        cause = exc.cause if isinstance(exc, after_write.WrittenThenFailed) else exc
        reached = not isinstance(cause, RedisUnavailable)
        who = f"collect: {source}/{provider} {target_key}"
        if isinstance(exc, RedisUnavailable):  # one line a run of the target while it lasts
            outage.unreachable(who, logger, f"this run fails and serves {served}", exc)
        else:
            # A failure already reported at ERROR (e.g. "needs reconnect") is repeated as WARNING.
            level = logging.WARNING if getattr(exc, "already_reported", False) else logging.ERROR
            logger.log(level, "%s failed: %s; served %s", who, outcome.error, served)
    finally:
        if lock is not None:
            lock.release_quietly()
    if reached:  # after a Redis outage this target's runs met, the line that it answers
        outage.answered(f"collect: {source}/{provider} {target_key}", logger)
    if outcome.transient and retry_in is not None and spend is not None:
        if refused := spend.retry_refused(calls or 1, retry_in):  # it would run, call nothing
            outcome.transient, why = False, f"; the task's retry in {retry_in:.0f} s: {refused}"
            recorded = (outcome.error, outcome.message)  # the message too, if the failure has one
            outcome.error, outcome.message = (text and text + why for text in recorded)
    duration_ms = int((time.monotonic() - started) * 1000)
    backfill_from = (
        window.start
        if window and window.start < now - timedelta(seconds=config.interval_seconds)
        else None
    )
    CollectorRun.objects.create(
        source=source,
        provider=provider,
        target=target_key,
        started=now,
        duration_ms=duration_ms,
        status=outcome.status,
        points_written=outcome.points_written,
        backfill_from=backfill_from,
        served=outcome.served[:200],
        error=outcome.error,
        message=outcome.said,
        task_id=task_id,
    )
    return outcome


def _writable(readings: list[Reading]) -> tuple[list[Reading], list[str]]:
    """The readings whose tags line protocol can carry, and a note for each tag that kept
    others out. Such a tag is a name from the provider's side (a device, circuit or person
    renamed in its app, e.g. with a line break): the rest of the answer is written, so one such
    name does not fail every run and lose the whole site's points."""
    kept, left_out = [], {}
    for reading in readings:
        if why := unwritable_tag(reading):
            left_out[why] = left_out.get(why, 0) + 1
        else:
            kept.append(reading)
    notes = [
        f"left out {counted(n, 'point')} whose tag {why} InfluxDB cannot store (a name from the "
        "provider's side; its points are written once it is renamed there)"
        for why, n in left_out.items()
    ]
    return kept, notes


def _fetch_and_write(
    config,
    target: Target,
    creds: Credentials,
    window: Window,
    cache: ResponseCache,
    now: datetime,
    spend: Spending,
    fresh_seconds: int,
) -> Outcome:
    adapter = adapter_for(config.source, config.provider)
    # Every retry is paid for from the budget before it goes out; a failure keeps only the
    # calls it sent of its reservation.
    with spend.counted():
        result: FetchResult = adapter.fetch(target, creds, window)
    spend.settle(result)
    if _sharing().deleted_meanwhile(config, target.key):  # in the admin, while it fetched
        said = (f"provider config {config.pk} (site {config.site.name}) was deleted during the "
                f"run: its answer ({counted(len(result.readings), 'point')}) is not written")  # fmt: skip
        logger.warning("collect: %s/%s %s: %s", config.source, config.provider, target.key, said)
        served = describe_last_good(cache.last_good(config.source, config.provider, target.key))
        return Outcome("failed", served=served, error=said)
    circuit_keys.save(config.site_id, result.kept)  # before the write: no point under a key lost
    notes, status = [window.history_skipped, *result.notes], "ok"
    if result.history_error is not None:
        account = history_refusals.account_of(config.api_key, config.username)
        refusal = history_refusals.settle(
            config.provider, target.key, account, result.history_error, now
        )
        notes.append(history_refusals.note(result.history_error, refusal))
        status = "ok" if refusal else "partial"  # partial: the next window keeps the gap
    readings, left_out = _writable(result.readings)
    notes.extend(left_out)
    note = "; ".join(n for n in notes if n)
    if left_out and not readings:  # every point: nothing to write, and no "no data" either
        logger.error("collect: %s/%s %s: %s", config.source, config.provider, target.key, note)
        served = describe_last_good(cache.last_good(config.source, config.provider, target.key))
        return Outcome("failed", served=served, error=note)
    result = replace(result, readings=readings)
    if not result.readings:
        if result.replaces:  # stored values it withdrew go, and are no longer served
            withdraw(adapter, cache, config.source, target, result)
        said = result.current.get("message", "empty answer")
        besides = "; ".join(n for n in notes if n and n != said)  # the message said once
        logger.log(
            logging.WARNING if result.warn else logging.INFO,
            "collect: %s/%s %s: the API had no data (%s)%s",
            config.source,
            config.provider,
            target.key,
            said,
            f"; {besides}" if besides else "",
        )
        return Outcome(
            "no_data",
            served=describe_last_good(cache.last_good(config.source, config.provider, target.key)),
            error=note,
        )
    # A point the minute task wrote at a time of this fetch is replaced whole, not merged.
    written = write_fetched(adapter, result.readings, result.replaces)
    served = "fresh answer"
    if result.current.get("no_data"):  # readings, but no value for now (FetchResult.current)
        status = "partial"
        served = describe_last_good(cache.last_good(config.source, config.provider, target.key))
    else:
        after_write.finish(adapter, cache, target, result, written, ttl=fresh_seconds,
                           fetched_at=now, failures=EXPECTED_FAILURES)  # fmt: skip
    logger.log(
        logging.WARNING if status == "partial" or left_out else logging.INFO,
        "collect: %s/%s %s: wrote %s (window %s .. %s)%s",
        config.source,
        config.provider,
        target.key,
        counted(written, "point"),
        window.start.isoformat(),
        window.end.isoformat(),
        f"; {note}" if note else "",
    )
    return Outcome(status, written, served, note, by_measurement=result.by_measurement())
