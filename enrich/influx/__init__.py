"""The one door to InfluxDB 1.x and 2.x: write readings, stream InfluxQL queries, list,
delete, size. Callers import from here; the parts:

- `errors`: TimeseriesError and its Transient / Permanent subclasses;
- `influxql`: quoting, durations, times as ns, bound parameters;
- `policies`: retention tiers (1.x retention policies, 2.x buckets) and shards;
- `rows`: Row and the streamed query answers;
- `transport`: the HTTP session, network errors, the server's messages;
- `gateway`: TimeSeries, everything the v1 HTTP API does for both versions;
- `v1`, `v2`: what differs per version (databases and tiers, deletes, sizes);
- `connection`: `connect()`, the INFLUXDB_* `configured_credentials()`, the per-process
  `get_timeseries()` (or a helper thread's `another_connection()`, `use_in_this_thread()`)
  and `stored_rows()`;
- `bulk`: bulk reads as CSV and batched deletes (imported from there by the tiers).
"""

from enrich.influx.connection import (
    another_connection,
    configured_credentials,
    connect,
    get_timeseries,
    reset_timeseries,
    stored_rows,
    use_in_this_thread,
)
from enrich.influx.errors import (
    InfluxAuthError,
    InfluxCertificateError,
    InfluxPrivilegeError,
    InfluxQueryError,
    InfluxUnavailable,
    InfluxVersionMismatch,
    InfluxWriteError,
    RetentionConflict,
    TimeseriesError,
    UnsafeDelete,
)
from enrich.influx.gateway import TimeSeries
from enrich.influx.influxql import duration_seconds, quote_ident, quote_literal
from enrich.influx.policies import RetentionTier, Shard
from enrich.influx.rows import Row, RowStream
from enrich.influx.v1 import Influx1
from enrich.influx.v2 import Influx2

__all__ = [
    "InfluxAuthError",
    "InfluxCertificateError",
    "InfluxPrivilegeError",
    "InfluxQueryError",
    "InfluxUnavailable",
    "InfluxVersionMismatch",
    "InfluxWriteError",
    "Influx1",
    "Influx2",
    "RetentionConflict",
    "RetentionTier",
    "Row",
    "RowStream",
    "Shard",
    "TimeSeries",
    "TimeseriesError",
    "UnsafeDelete",
    "another_connection",
    "configured_credentials",
    "connect",
    "duration_seconds",
    "get_timeseries",
    "quote_ident",
    "quote_literal",
    "reset_timeseries",
    "stored_rows",
    "use_in_this_thread",
]
