"""What Emporia's guidance of about 2,000 requests a day per account allows, and a fetch's count.

A fetch calls, in this order: the device list (when older than DEVICES_TTL: devices.py keeps
it in Redis for every worker process), the minute usage
(`getDeviceListUsages` 1MIN, asked again up to NULL_TRIES - 1 times while channels answer
null), the day total (every 15 minutes: day_ends.TodayTotals), then one mains chart
(`getChartUsage`) per top-level Vue. The pipeline reserves `most_calls` from the account's budget before the fetch, the fetch
counts what it really calls (Calls) and the rest is given back (a fetch that fails keeps only
the requests it sent: collectors/spending.py). Calls counts Emporia's API calls only: the AWS
Cognito login requests (sent under Emporia's name) are not what Emporia's guidance counts, so
a successful fetch is not charged them; a failed one, with no count, is charged all it sent,
logins included. A re-sent call after a refused token may pass the reservation: the pipeline
then takes it from the budget too, as far as calls are left. Within a fetch, retries and the day total only
use calls the charts do not need; a chart that does not fit is asked by the next fetch (its
window reaches back to the last success).

Planning: with V Vues, fetching every I seconds costs (1 + V) calls a fetch plus the day total
and the device list, i.e. 696 a day for one Vue every 5 minutes, plus the total of the day that
ended, once a day for each zone the devices count their days in (days.py: 697 for one zone,
699 for three; zones whose days end at one minute share the call, and are counted each).
Today's total is asked by the first fetch 15 minutes (less day_ends.EARLY) after the one that
last asked it (today_every): every third fetch at 5 minutes (96 a day), every second at 10
(72 a day: 385 calls for one Vue in one zone), every fetch from 14.5 minutes on; a fetch asks one day
total at most, so the ended day takes the place of a today's total that is due (asked by the
next fetch), or adds a call. `calls_per_period` adds RETRY_SHARE for the null retries;
when that passes the budget (six Vues in one zone: 2,244 a day), the pipeline lowers the
account's cadence (collectors/cadence.py). The pause before a null retry
(options.null_retry_seconds) is checked here too.
"""

import math
from collections.abc import Mapping
from typing import Any

from collectors.smart_meter import common
from collectors.smart_meter.day_ends import EARLY, TODAY_EVERY

DEVICES_TTL = 3600.0
DAY = 86400.0
NULL_TRIES = 3
NULL_RETRY_SECONDS = 1.0  # options.null_retry_seconds: the first pause, doubled for the next
MOST_NULL_RETRY = 30.0  # at most: the pauses of one fetch then add up to 90 s
RETRY_SHARE = 0.05  # of the planned calls, kept for the retries of not-ready values


def vues_of(devices: Mapping[int, Any]) -> int:
    """The top-level Vues among `devices` (usage.Device by gid): one mains chart each."""
    return sum(1 for device in devices.values() if device.top_level)


def most_calls(vues: int) -> int:
    """What one fetch may call: device list, minute usage and its retries, day total, charts."""
    return 1 + NULL_TRIES + 1 + vues


def today_every(interval_seconds: float) -> int:
    """Every how many fetches today's total is asked (day_ends.TodayTotals)."""
    return max(1, math.ceil((TODAY_EVERY - EARLY) / interval_seconds))


def calls_per_period(vues: int, zones: int, interval_seconds: float, period: float) -> int:
    """Calls over `period` seconds for an account with `vues` top-level Vues whose devices
    count their days in `zones` zones (one ended day a day each)."""
    fetches = period / interval_seconds
    day_totals = fetches / today_every(interval_seconds) + zones * period / DAY
    planned = fetches * (1 + vues) + min(fetches, day_totals) + period / DEVICES_TTL
    return math.ceil(planned * (1 + RETRY_SHARE))


class Calls:
    """One fetch's Emporia calls, within what the pipeline reserved (`allowed` None: no limit)."""

    def __init__(self, allowed: int | None) -> None:
        self.allowed = allowed
        self.made = 0

    def spare(self, keep: int = 0) -> bool:
        """Whether one more call still leaves `keep` calls for what must come after it."""
        return self.allowed is None or self.made + 1 + keep <= self.allowed

    def count(self) -> None:
        self.made += 1


# options.null_retry_seconds (0 or more, at most MOST_NULL_RETRY); a ConfigError names it.
NULL_RETRY = common.Seconds("null_retry_seconds", NULL_RETRY_SECONDS, MOST_NULL_RETRY,
                            who="Emporia Vue", zero=True)  # fmt: skip
