"""The clock tests' two moves: set the moment the read-time answers are for, and read what
InfluxDB readers (Grafana, Home Assistant's InfluxDB sensor) take as "now": the newest point
of a series up to that moment."""

from datetime import datetime

from collectors import clock
from enrich.influx import get_timeseries


def at(monkeypatch, moment: datetime) -> None:
    monkeypatch.setattr(clock, "utc_now", lambda: moment)


def newest_per_series(database: str, measurement: str, now: datetime, **tags: str) -> list:
    """The newest point up to `now` of each series of `measurement` with these tag values."""
    where = "".join(f' AND "{key}" = ${key}' for key in tags)
    query = (
        f'SELECT * FROM "{measurement}" WHERE time <= $now{where} '
        "GROUP BY * ORDER BY time DESC LIMIT 1"
    )
    return list(get_timeseries().query(database, query, params={"now": now, **tags}))
