"""The start of a run that is under way, held from one publication to the next.

While running now is the best window, a plan made at each publication starts at that very
moment, so a start published as it comes would follow the clock: Home Assistant would record
the sensor (a recorder row, an InfluxDB point) and fire its state triggers every minute while
nothing but the clock moved. So the start published last time is held while the plan still
says "run now" and the window that began then is still the one the planner chooses from that
moment and has not ended (`earlier` gives it; the builders plan again from it and compare).
A start at or before now still reads "start now" to an automation (`now() >= start`). Any
other plan, a later window first of all, is published at once and held from then on.

The starts published are kept in Redis by the publisher (`collectors.ha_mqtt.publisher`), like
the set of published entities, so a restarted worker or another process holds them too.
"""

from collections.abc import Mapping
from datetime import datetime, timedelta

# No window is longer (a load's hours and MQTT_CHEAPEST_WINDOW_HOURS are at most 24 h): a start
# older than this began a run that is over.
LONGEST = timedelta(hours=24)


class HeldStarts:
    """The starts published last time, by `<site id>/<entity key>`, and those published now."""

    def __init__(self, before: Mapping[str, str]) -> None:
        self.before = dict(before)
        self.published: dict[str, str] = {}

    def earlier(self, key: str, now: datetime) -> datetime | None:
        """The start published last time for `key` when it lies before now, within a window's
        length of it (else None: nothing to hold)."""
        try:
            start = datetime.fromisoformat(self.before.get(key) or "")
        except ValueError:
            return None
        if start.tzinfo is None or not now - LONGEST < start < now:
            return None
        return start

    def publish(self, key: str, start: str) -> None:
        self.published[key] = start

    def keep_site(self, site_id: int) -> None:
        """A site that could not be read whole keeps the starts it had, where none is
        published now."""
        prefix = f"{site_id}/"
        kept = {k: v for k, v in self.before.items() if k.startswith(prefix)}
        self.published = kept | self.published


def held_key(site_id: int, entity_key: str) -> str:
    return f"{site_id}/{entity_key}"
