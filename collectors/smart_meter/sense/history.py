"""Sense's trends (`app/history/trends`, the documented call): today's consumption, and the
backfill of an outage.

`GET app/history/trends?monitor_id=..&device_id=always_on&scale=DAY&start=<a moment>` answers
the account-local day that holds the moment: `start`, `end`, `steps` (24 hours; 23 or 25 on a
DST day) and `consumption` = {`total` (kWh of the day so far), `totals` (kWh of each step so
far, one per elapsed hour), `devices`}; a value may also be a bare number (sense_energy's
get_stat reads both); a total is stored only at a moment its day holds (total_at). The
realtime feed has no past, so after an outage these are what Sense
can give: each complete hour of the gap -> `hour_kwh` at the hour's start, each complete day
-> its `daily_kwh` at the day's last minute. Both are Sense's own figures at their own times;
writing them again is an overwrite, never a second point.
"""

import logging
from datetime import datetime, timedelta
from typing import Any

from collectors.answers import Answer
from collectors.smart_meter.common import MEASUREMENT
from collectors.smart_meter.sense import PROVIDER
from enrich.http import MalformedResponse
from enrich.readings import Reading

logger = logging.getLogger(__name__)


def daily_total(url: str, body: Any) -> float | None:
    """The day's consumption in kWh; None (field left out) when the answer has none."""
    answer = Answer(PROVIDER, url)
    try:
        consumption = answer.get(body, "consumption", "the trends answer")
        if isinstance(consumption, dict):
            return answer.number(consumption, "total", "consumption")
        return answer.number({"total": consumption}, "total", "consumption")
    except MalformedResponse as error:
        logger.warning("sense: daily_kwh left out: %s", error)
        return None


def day_of(url: str, body: Any) -> tuple[datetime, datetime] | None:
    """The day (`start`, `end`) a DAY answer is of; None when it does not say (an answer whose
    `start` or `end` is no time is logged)."""
    if not (isinstance(body, dict) and "start" in body and "end" in body):
        return None
    answer = Answer(PROVIDER, url)
    try:
        return answer.when(body, "start", "the trends answer"), answer.when(body, "end")
    except MalformedResponse as error:
        logger.warning("sense: the trends answer gives no day: %s", error)
        return None


def total_at(url: str, body: Any, moment: datetime) -> float | None:
    """daily_total, for `moment` only: where the answer's `start` and `end` give a day that does
    not hold it (Sense read `start` as another day's time), None, so that day's total is never
    stored at this minute."""
    day = day_of(url, body)
    if day is not None and not day[0] <= moment < day[1]:
        logger.warning(
            "sense: daily_kwh left out: the trends answered the day %s..%s, not the one holding %s",
            day[0].isoformat(),
            day[1].isoformat(),
            moment.isoformat(),
        )
        return None
    return daily_total(url, body)


def gap_readings(
    url: str, body: Any, tag_set: dict[str, str], since: datetime, now: datetime
) -> tuple[list[Reading], datetime]:
    """The complete hours (and the day, once complete) of one DAY answer that end after
    `since` and by `now`, and the day's end (where the next day starts)."""
    answer = Answer(PROVIDER, url)
    start = answer.when(body, "start", "the trends answer")
    end = answer.when(body, "end", "the trends answer")
    steps = answer.number(body, "steps", "the trends answer")
    minutes = (end - start) / timedelta(minutes=1)
    # whole steps of at least a minute each
    if end <= start or not 1 <= steps <= minutes or not steps.is_integer():
        raise answer.bad(f"the trends answer: a day from {start} to {end} in {steps:g} steps", body)
    step = (end - start) / int(steps)
    consumption = answer.get(body, "consumption", "the trends answer")
    totals = consumption.get("totals") if isinstance(consumption, dict) else None
    found: list[Reading] = []
    for i, kwh in enumerate(totals if isinstance(totals, list) else []):
        hour = start + i * step
        if isinstance(kwh, bool) or not isinstance(kwh, int | float) or i >= steps:
            continue  # not known (yet): left out
        if since < hour + step <= now:
            value = answer.a_number(kwh, f"the trends answer: consumption.totals[{i}]")
            found.append(Reading(MEASUREMENT, {"hour_kwh": value}, hour, dict(tag_set)))
    total = daily_total(url, body)
    if total is not None and since < end <= now:
        last_minute = end - timedelta(minutes=1)
        found.append(Reading(MEASUREMENT, {"daily_kwh": total}, last_minute, dict(tag_set)))
    return found, end
