"""An energy meter's avg_power and peak_power in daily_energy_by_device (docs/storage.md,
"Energy"), from its day's pieces as `retention.rollups.energy` cuts them (raw windows within
UTC hours, hourly tier rows, or the day's daily tier row).

A meter's day counts from its first reading (the day's start when its value is carried in
from the day before) to the day's end, `now` for the open day. A gap after the first reading
(unavailable) is time: the growth across it is counted at the reading after it and was used
during it. avg_power is the day's growth over that time; peak_power the highest hour's growth
over the hour's part of it, an hour inside a gap (no piece) having grown nothing. avg_power is
so the time-weighted mean of the hours' averages and never exceeds peak_power, raw and tiered
days alike (the tiers keep each hour's growth). Nothing is known of the time before the
meter's first reading: it does not count.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from retention.rollups.inputs import HOUR
from retention.timeutil import floor_hour

if TYPE_CHECKING:
    from retention.rollups.energy import Piece


def meter_power(
    day_start: datetime, pieces: Sequence[Piece], total: float, until: datetime
) -> tuple[float | None, float | None]:
    """(avg_power, peak_power) in W of a meter's day starting at `day_start` from its pieces
    with a growth (`total`: their sum), its time ending at `until`; no peak for a day read
    from the daily tier alone, which keeps no hours."""
    first = min(pieces, key=lambda piece: piece.start)
    since = max(day_start, first.known_from or day_start)
    seconds = (until - since).total_seconds()
    avg = total / (seconds / 3600) * 1000 if seconds > 0 else None
    per_hour: dict[datetime, float] = defaultdict(float)
    for piece in pieces:
        if piece.end > floor_hour(piece.start) + HOUR:
            return avg, None  # a daily tier row
        per_hour[floor_hour(piece.start)] += piece.aggregate.total_energy
    rates = []
    hour = floor_hour(since)
    while hour < until:
        if (known := (min(hour + HOUR, until) - max(hour, since)).total_seconds()) > 0:
            rates.append(per_hour[hour] / (known / 3600) * 1000)
        hour += HOUR
    return avg, max(rates, default=None)
