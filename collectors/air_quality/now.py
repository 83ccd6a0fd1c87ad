"""The air quality served now: the last fetch's observation, stale by its own age too.

An hourly observation appears 10-30 min past its hour and is fetched at :35 (at :55 when
AirNow published it later), so the one served is normally that of the hour before (at 10:05,
the 09:00 observation; at 10:40, the 10:00 one) and never older than `EXPECTED_AGE` from its
hour's start. AirNow keeps answering
with a monitor's last observation when the monitor stops reporting, so a fetch that succeeds
every hour can still bring the same 04:00 hour at noon: that value is served marked `stale`
with a `message` saying how old it is, as a value whose fetch failed is.
"""

import math
from datetime import datetime, timedelta
from typing import Any

from collectors import clock
from enrich.models import zone_or_utc

# The hour itself, 30 min to publication, the :35 fetch and one more hour of slack.
EXPECTED_AGE = timedelta(hours=3)
# Beat's runs of the air quality dispatch an hour (config/schedule.py): at :35, and at :55 for
# an hour or a pollutant AirNow published late (collectors.freshness); each calls once at most.
RUNS_AN_HOUR = 2


def scheduled_calls(period: float) -> int:
    """The most calls a location's scheduled fetches make in `period` seconds (a budget's):
    what the reserve kept from retries counts (collectors.spending.reserve_for)."""
    return RUNS_AN_HOUR * math.ceil(period / 3600)


def current_value(answer: Any, zone: str) -> dict[str, Any] | None:
    """The entry of GET /api/enrichment/current, or None: the cached answer is served as is;
    a stale one's message gives the hour on the home's clock (`zone`), as the prices' do."""
    value = answer.value if answer is not None else None
    if isinstance(value, dict) and value.get("withdrawn"):  # series.standing: nothing left
        hour = datetime.fromisoformat(value["withdrawn"]).astimezone(zone_or_utc(zone))
        return {"value": None, "message": nothing_left(hour.isoformat())}
    if not isinstance(value, dict) or not value.get("time"):
        return None  # no answer, or AirNow had no observation (the last good one is kept)
    observed = datetime.fromisoformat(value["time"])
    age = clock.utc_now() - observed
    entry = {
        "value": value,
        "time": value["time"],
        "fetched_at": answer.fetched_at.isoformat(),
        "stale": answer.stale or age > EXPECTED_AGE,
        "age_seconds": round(answer.age_seconds),
    }
    if age > EXPECTED_AGE:
        hours = age.total_seconds() / 3600
        # the location's time, not UTC's
        local = observed.astimezone(zone_or_utc(zone)).isoformat()
        entry["message"] = (
            f"the latest AirNow observation is of the hour starting {local}, "
            f"{hours:.1f} h ago (a current one is at most {EXPECTED_AGE.seconds // 3600} h old): "
            "AirNow has published none since for this location"
        )
    return entry


def nothing_left(hour: str) -> str:
    """Why no value is served once AirNow withdrew every value of the hour served (`hour`, ISO)
    and no earlier observation is stored."""
    return (
        f"AirNow withdrew the observation of the hour starting {hour} (AQI -1, no value, for "
        "every pollutant) and no earlier one is stored for this location"
    )
