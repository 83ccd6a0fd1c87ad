"""Building a gateway: `connect()` from arguments (tests, bench, the first-run form), or
`get_timeseries()` from the INFLUXDB_* settings (credentials: `configured_credentials()`), one
per process, or the one a helper thread was given (`use_in_this_thread`); `stored_rows()` reads
what enrich wrote through it."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Mapping
from typing import Any

from enrich.influx.errors import InfluxQueryError
from enrich.influx.gateway import TimeSeries
from enrich.influx.rows import Row
from enrich.influx.v1 import Influx1
from enrich.influx.v2 import Influx2


def connect(url: str, version: str = "1", **options: Any) -> TimeSeries:
    """A gateway for the InfluxDB at `url`, without Django settings (tests, bench). `options`
    are the keywords of `TimeSeries`: timeout, username, password, token, org, ca_cert."""
    classes = {"1": Influx1, "2": Influx2}
    if str(version) not in classes:
        raise ValueError(f"INFLUXDB_VERSION={version!r} is not valid; use 1 or 2.")
    return classes[str(version)](url, **options)


def configured_credentials() -> dict[str, str]:
    """The INFLUXDB_* credentials as keywords of `connect()`: username and password (1.x),
    token and org (2.x)."""
    from django.conf import settings

    return {
        "username": settings.INFLUXDB_USERNAME,
        "password": settings.INFLUXDB_PASSWORD,
        "token": settings.INFLUXDB_TOKEN,
        "org": settings.INFLUXDB_ORG,
    }


def another_connection(gateway: TimeSeries) -> TimeSeries:
    """A new gateway to the same server as `gateway`, with the same options (a connection of
    its own for a helper thread: a requests session is not meant to be shared by threads)."""
    return connect(
        gateway.url, gateway.version, timeout=gateway.timeout, username=gateway.username,
        password=gateway.password, token=gateway.token, org=gateway.org,
        ca_cert=gateway.ca_cert,
    )  # fmt: skip


_per_process: dict[int, TimeSeries] = {}
_this_thread = threading.local()


def use_in_this_thread(gateway: TimeSeries | None) -> None:
    """Make `get_timeseries()` return `gateway` in the calling thread (None: the per-process
    one again); helper threads call it first with their `another_connection()`."""
    _this_thread.gateway = gateway


def get_timeseries() -> TimeSeries:
    """The gateway configured by the INFLUXDB_* settings, one per process (safe after fork),
    or the calling thread's own (`use_in_this_thread`)."""
    own = getattr(_this_thread, "gateway", None)
    if own is not None:
        return own
    pid = os.getpid()
    gateway = _per_process.get(pid)
    if gateway is None:
        from django.conf import settings

        gateway = connect(
            settings.INFLUXDB_URL,
            settings.INFLUXDB_VERSION,
            timeout=settings.INFLUXDB_TIMEOUT,
            ca_cert=settings.INFLUXDB_CA_CERT,
            **configured_credentials(),
        )
        _per_process.clear()  # a forked child must not reuse its parent's connections
        _per_process[pid] = gateway
    return gateway


def reset_timeseries() -> None:
    """Forget the cached gateway (after settings change, e.g. in tests)."""
    gateway = _per_process.pop(os.getpid(), None)
    if gateway is not None:
        gateway.close()


def stored_rows(influxql: str, params: Mapping[str, Any] | None = None) -> Iterator[Row]:
    """The rows of a query on enrich's own database (INFLUXDB_DATABASE), streamed; none while
    that database does not exist yet (nothing was written). Other errors propagate."""
    from django.conf import settings

    try:
        with get_timeseries().query(settings.INFLUXDB_DATABASE, influxql, params=params) as rows:
            yield from rows
    except InfluxQueryError as exc:
        if "database not found" not in exc.server_message:
            raise
