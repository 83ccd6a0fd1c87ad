"""The one gateway to InfluxDB: write readings, stream InfluxQL queries, list, delete, size.

Both InfluxDB 1.x and 2.x are reached through the v1 HTTP API (`/write`, `/query`, `/ping`);
2.x serves it as its v1-compatibility API with `Authorization: Token`. Only what the v1 API
cannot do differs per version and lives in the two small subclasses:

- create a database and its tiers: 1.x CREATE DATABASE / RETENTION POLICY; 2.x one bucket
  `db/rp` plus a DBRP mapping per tier;
- drop a database: 1.x DROP DATABASE; 2.x delete its buckets and mappings;
- delete a time range: 1.x InfluxQL DELETE; 2.x `/api/v2/delete` (DeleteApi);
- size on disk: 1.x SHOW STATS (shard `diskBytes`); 2.x `/metrics` (`storage_shard_disk_size`).

A database always has the tier `autogen` (infinite duration), as InfluxDB 1.x creates it; it
is the default unless another tier is marked default.

Times: every query asks for `epoch=ns`, so `Row.time_ns` is exact; `Row.time` is the same
instant as an aware UTC datetime (microseconds, like `Reading.time`).
"""

from __future__ import annotations

import codecs
import json
import os
import re
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import requests

from enrich.errors import Permanent, Transient
from enrich.readings import EPOCH, Reading

__all__ = [
    "InfluxAuthError",
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
    "TimeSeries",
    "TimeseriesError",
    "UnsafeDelete",
    "connect",
    "get_timeseries",
    "quote_ident",
    "quote_literal",
    "reset_timeseries",
]

DEFAULT_TIER = "autogen"


# --- Errors ------------------------------------------------------------------------------
class TimeseriesError(Exception):
    """Base of every error raised by this module."""


class InfluxUnavailable(TimeseriesError, Transient):
    """InfluxDB could not be reached or did not answer in time (transient: retry later)."""


class InfluxAuthError(TimeseriesError, Permanent):
    """InfluxDB refused the credentials (a person must act)."""


class InfluxQueryError(TimeseriesError, Permanent):
    """InfluxDB rejected a query; carries the server's message, the query and the database."""

    def __init__(self, server_message: str, query: str, database: str | None) -> None:
        self.server_message = server_message
        self.query = query
        self.database = database
        super().__init__(
            f"InfluxDB rejected the query on database {database!r}: {server_message}"
            f" -- query: {query}"
        )


class InfluxWriteError(TimeseriesError, Permanent):
    """InfluxDB rejected (part of) a write; carries the server's message."""

    def __init__(self, message: str, server_message: str, database: str) -> None:
        self.server_message = server_message
        self.database = database
        super().__init__(message)


class InfluxVersionMismatch(TimeseriesError, Permanent):
    """INFLUXDB_VERSION does not match the major version the server reports."""


class RetentionConflict(TimeseriesError, Permanent):
    """A retention tier exists with another duration and altering it was not asked for."""


class UnsafeDelete(TimeseriesError, Permanent):
    """A delete would remove data outside what was asked for (1.x: other retention policies)."""


# --- Values ------------------------------------------------------------------------------
_DURATION_PART = re.compile(r"(\d+)(ns|u|µ|ms|s|m|h|d|w)")
_DURATION = re.compile(rf"(?:{_DURATION_PART.pattern})+")
_UNIT_SECONDS = {"ns": 1e-9, "u": 1e-6, "µ": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600,
                 "d": 86400, "w": 604800}  # fmt: skip


def duration_seconds(duration: str) -> int | None:
    """Seconds of an InfluxQL duration ("7d", "1h30m", "168h0m0s"); None for infinite."""
    if duration.upper() == "INF":
        return None
    if not _DURATION.fullmatch(duration):
        raise ValueError(
            f"{duration!r} is not a retention duration; use e.g. '7d', '12h', '52w' or 'INF'"
        )
    total = sum(int(n) * _UNIT_SECONDS[u] for n, u in _DURATION_PART.findall(duration))
    if total == 0:
        return None  # InfluxDB reports an infinite duration as "0s"
    if total < 1:
        raise ValueError(f"retention duration {duration!r} is shorter than a second")
    return int(total)


def format_duration(seconds: int | None) -> str:
    """The shortest InfluxQL literal for whole seconds: 604800 -> '7d', None -> 'INF'."""
    if not seconds:
        return "INF"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


@dataclass(frozen=True)
class RetentionTier:
    """A retention policy (1.x) or bucket mapped as `db/rp` (2.x)."""

    name: str
    duration: str  # InfluxQL duration ("7d", "90d") or "INF"
    default: bool = False
    # Time span of one shard group ("52w"); None: InfluxDB's default for the duration (7 days
    # for INF). Applied when the tier is created; an existing tier keeps its own.
    shard_duration: str | None = None

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("a retention tier needs a name")
        duration_seconds(self.duration)  # validates: the duration is put into InfluxQL as is
        if self.shard_duration is not None and not duration_seconds(self.shard_duration):
            raise ValueError(f"shard_duration={self.shard_duration!r}: use a duration like 52w")

    @property
    def seconds(self) -> int | None:
        """Duration in seconds; None means kept forever."""
        return duration_seconds(self.duration)


class Shard(NamedTuple):
    """One shard as InfluxDB 1.x reports it (times as RFC 3339 text, e.g. 2024-03-04T00:00:00Z)."""

    database: str
    retention_policy: str
    disk_bytes: int
    cache_bytes: int
    start: str
    end: str


def _shard_duration(shown: object) -> str | None:
    """SHOW RETENTION POLICIES' shardGroupDuration ("168h0m0s") as a tier's shard_duration."""
    seconds = duration_seconds(str(shown or "0s"))
    return format_duration(seconds) if seconds else None


def _shards_differ(wanted: RetentionTier, have: RetentionTier) -> bool:
    """True when `wanted` names a shard group duration other than the existing tier's."""
    if wanted.shard_duration is None or have.shard_duration is None:
        return False
    return duration_seconds(wanted.shard_duration) != duration_seconds(have.shard_duration)


@dataclass(frozen=True, slots=True)
class Row:
    """One row of a query result.

    `tags` are the series tags (what the query groups by, e.g. `GROUP BY *`); a plain
    `SELECT *` returns tag columns among `values`. `values` holds every other column (None
    where the point has no such field). SHOW statements have no time: `time` is then None.
    JSON does not keep the float/int distinction for whole numbers (2.0 arrives as 2).
    """

    measurement: str
    tags: dict[str, str]
    time: datetime | None
    values: dict[str, Any]
    time_ns: int | None = None


def quote_ident(name: str) -> str:
    """An InfluxQL identifier (database, measurement, tag or field key) in double quotes."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def quote_literal(value: str) -> str:
    """An InfluxQL string literal in single quotes."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _to_ns(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError(f"{moment!r} has no timezone; pass an aware datetime (UTC)")
    return (moment - EPOCH) // timedelta(microseconds=1) * 1000


def _from_ns(ns: int) -> datetime:
    return EPOCH + timedelta(microseconds=ns // 1000)


def _rfc3339_ns(ns: int) -> str:
    seconds, fraction = divmod(ns, 1_000_000_000)
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{fraction:09d}Z"


def _server_message(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text.strip() or f"HTTP {response.status_code}"
    if isinstance(body, dict):
        for key in ("error", "message"):
            if body.get(key):
                return str(body[key])
        for result in body.get("results", []):
            if result.get("error"):
                return str(result["error"])
    return response.text.strip()


# --- The streamed query result -----------------------------------------------------------
class RowStream(Iterator[Row]):
    """Rows of a chunked query, parsed one newline-delimited JSON chunk at a time.

    Only the current chunk is held in memory. `chunks` counts the chunks parsed so far.
    Close it (or use `with`) when not consuming it to the end, to free the connection.
    """

    def __init__(
        self, gateway: TimeSeries, response: requests.Response, query: str, database: str | None
    ) -> None:
        self.chunks = 0
        self._gateway = gateway
        self._response = response
        self._query = query
        self._database = database
        self._rows = self._generate()
        # Read the first chunk now, so an error of the statement surfaces in query().
        self._first: Row | None = next(self._rows, None)

    def __iter__(self) -> RowStream:
        return self

    def __next__(self) -> Row:
        if self._first is not None:
            row, self._first = self._first, None
            return row
        return next(self._rows)

    def __enter__(self) -> RowStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._rows.close()
        self._response.close()

    def _lines(self) -> Iterator[bytes]:
        pending: list[bytes] = []  # pieces of the line not yet complete
        with self._gateway._unavailable_on_network_error("reading a query result"):
            for block in self._response.iter_content(chunk_size=256 * 1024):
                *complete, rest = block.split(b"\n")
                if complete:
                    complete[0] = b"".join([*pending, complete[0]])
                    pending = []
                    yield from complete
                pending.append(rest)
        yield b"".join(pending)

    def _generate(self) -> Iterator[Row]:
        try:
            for line in self._lines():
                if not line.strip():
                    continue
                chunk = json.loads(line)
                self.chunks += 1
                if chunk.get("error"):
                    raise InfluxQueryError(chunk["error"], self._query, self._database)
                for result in chunk.get("results", []):
                    if result.get("error"):
                        raise InfluxQueryError(result["error"], self._query, self._database)
                    for series in result.get("series", []):
                        yield from _series_rows(series)
        finally:
            self._response.close()


def _series_rows(series: Mapping[str, Any]) -> Iterator[Row]:
    name = series.get("name", "")
    tags = dict(series.get("tags") or {})
    columns = series.get("columns", [])
    has_time = "time" in columns
    for values in series.get("values") or []:
        record = dict(zip(columns, values, strict=True))
        if not has_time:
            yield Row(name, dict(tags), None, record)
        else:
            ns = record.pop("time")
            yield Row(name, dict(tags), _from_ns(ns), record, ns)


def _text_blocks(response: requests.Response) -> Iterator[str]:
    """A streamed text answer in blocks of whole lines (read 1 MB at a time)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    pending = ""
    for block in response.iter_content(chunk_size=1 << 20):
        text = pending + decoder.decode(block)
        cut = text.rfind("\n") + 1
        pending = text[cut:]
        if cut:
            yield text[:cut]
    if pending := pending + decoder.decode(b"", final=True):
        yield pending + "\n"


# --- The gateway -------------------------------------------------------------------------
class TimeSeries(ABC):
    """What every InfluxDB version offers; build one with `connect()` or `get_timeseries()`."""

    version = ""

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 30.0,
        username: str = "",
        password: str = "",
        token: str = "",
        org: str = "",
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"INFLUXDB_URL={url!r} must start with http:// or https://")
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.username = username
        self.password = password
        self.token = token
        self.org = org
        from enrich.influx.bulk import frozen_session  # a helper of this door

        self._session = frozen_session(self.url)

    @staticmethod
    def from_url(url: str, version: str = "1", **options: Any) -> TimeSeries:
        """Same as `connect()`."""
        return connect(url, version, **options)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r})"

    def close(self) -> None:
        self._session.close()

    # -- HTTP --
    @contextmanager
    def _unavailable_on_network_error(self, doing: str) -> Iterator[None]:
        try:
            yield
        except requests.Timeout as exc:
            raise InfluxUnavailable(
                f"InfluxDB at {self.url} did not answer within {self.timeout:g} s while "
                f"{doing} (INFLUXDB_TIMEOUT). Check INFLUXDB_URL and that influxd is running "
                "and not overloaded."
            ) from exc
        except requests.RequestException as exc:
            raise InfluxUnavailable(
                f"Cannot reach InfluxDB at {self.url} while {doing}: {type(exc).__name__}: "
                f"{exc}. Check INFLUXDB_URL and that influxd is running."
            ) from exc

    def _auth(self) -> dict[str, Any]:
        return {}

    def _request(self, method: str, path: str, doing: str, **kwargs: Any) -> requests.Response:
        with self._unavailable_on_network_error(doing):
            response = self._session.request(
                method,
                self.url + path,
                timeout=(self.timeout, self.timeout),
                **self._auth(),
                **kwargs,
            )
        if response.status_code in (401, 403):
            message = _server_message(response)
            response.close()
            raise InfluxAuthError(
                f"InfluxDB at {self.url} refused the credentials while {doing}: {message}. "
                f"{self._credentials_hint()}"
            )
        if response.status_code in (502, 503, 504):
            response.close()
            raise InfluxUnavailable(
                f"InfluxDB at {self.url} answered HTTP {response.status_code} while {doing}; "
                "it is starting, overloaded or behind a failing proxy. Retry later."
            )
        return response

    def _credentials_hint(self) -> str:
        return "Check INFLUXDB_USERNAME and INFLUXDB_PASSWORD."

    # -- Version --
    def ping(self) -> str:
        """The server's version string (e.g. '1.8.10', 'v2.7.4'), from `/ping`."""
        response = self._request("GET", "/ping", "pinging")
        response.close()
        version = response.headers.get("X-Influxdb-Version")
        if not response.ok or not version:
            raise InfluxUnavailable(
                f"{self.url}/ping answered HTTP {response.status_code} without an "
                "X-Influxdb-Version header: is INFLUXDB_URL pointing at InfluxDB?"
            )
        return version

    def check_version(self) -> None:
        """Raise InfluxVersionMismatch unless the server's major version is INFLUXDB_VERSION."""
        reported = self.ping()
        major = re.match(r"v?(\d+)", reported)
        if major is None or major.group(1) != self.version:
            found = major.group(1) if major else "unknown"
            advice = (
                f"Set INFLUXDB_VERSION={found}"
                + (" (and INFLUXDB_TOKEN, INFLUXDB_ORG)" if found == "2" else "")
                if found in ("1", "2")
                else "Only InfluxDB 1.x and 2.x are supported"
            )
            raise InfluxVersionMismatch(
                f"INFLUXDB_VERSION={self.version} but the InfluxDB at {self.url} reports "
                f"version {reported!r} (major {found}). {advice}."
            )

    # -- Write --
    def write(
        self,
        database: str,
        readings: Iterable[Reading],
        retention_policy: str | None = None,
        batch_size: int = 5000,
    ) -> int:
        """Write readings as line protocol (ns precision) in batches; return points written.

        Points with the same measurement, tags and time overwrite each other, so writing
        the same readings again changes nothing. A rejected batch raises InfluxWriteError;
        the batches before it stay written (the count is in the message).
        """
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        params = {"db": database, "precision": "ns"}
        if retention_policy:
            params["rp"] = retention_policy
        written = 0
        batch: list[str] = []
        for reading in readings:
            batch.append(reading.to_line())
            if len(batch) >= batch_size:
                written += self._write_batch(params, batch, written)
                batch = []
        if batch:
            written += self._write_batch(params, batch, written)
        return written

    def _write_batch(self, params: Mapping[str, str], lines: list[str], before: int) -> int:
        body = "\n".join(lines).encode()
        doing = f"writing {len(lines)} points to {params['db']!r}"
        response = self._request("POST", "/write", doing, params=params, data=body)
        response.close()
        if response.status_code in (200, 204):
            return len(lines)
        message = _server_message(response)
        where = params["db"] + (f"/{params['rp']}" if "rp" in params else "")
        hint = {
            404: " Create the database first (TimeSeries.create_database).",
            413: " The batch is too large: lower batch_size.",
        }.get(response.status_code, "")
        if "partial write" in message:
            hint = " The other points of this batch were written."
        raise InfluxWriteError(
            f"InfluxDB rejected a write of {len(lines)} points to {where!r} "
            f"(HTTP {response.status_code}): {message}.{hint} "
            f"{before} points of earlier batches were written.",
            message,
            params["db"],
        )

    # -- Query --
    def query(
        self,
        database: str | None,
        influxql: str,
        params: Mapping[str, Any] | None = None,
        chunk_size: int = 10000,
        retention_policy: str | None = None,
    ) -> RowStream:
        """Run InfluxQL and stream the rows, `chunk_size` points per chunk.

        Put values in as `$name` placeholders bound through `params` (strings, numbers,
        booleans; datetimes are sent as exact ns), never by formatting them into the text;
        names go through `quote_ident`. An error of the first statement raises
        InfluxQueryError here; one met later in the stream raises while iterating.
        `database=None` runs server-wide statements (SHOW DATABASES, SHOW STATS).
        """
        response = self._post_query(database, influxql, params, chunk_size, retention_policy)
        return RowStream(self, response, influxql, database)

    def _post_query(self, database: str | None, influxql: str, params: Mapping[str, Any] | None,
                    chunk_size: int, retention_policy: str | None = None,
                    headers: Mapping[str, str] | None = None) -> requests.Response:  # fmt: skip
        """POST /query; the streamed response (200), else InfluxQueryError."""
        form: dict[str, str] = {"q": influxql}
        if params:
            bound = {k: _to_ns(v) if isinstance(v, datetime) else v for k, v in params.items()}
            form["params"] = json.dumps(bound)
        url_params = {"epoch": "ns", "chunked": "true", "chunk_size": str(chunk_size)}
        if database:
            url_params["db"] = database
        if retention_policy:
            url_params["rp"] = retention_policy
        doing = f"querying {database!r}" if database else "querying"
        response = self._request(
            "POST", "/query", doing, params=url_params, data=form, headers=headers, stream=True
        )
        if response.status_code != 200:
            message = _server_message(response)
            response.close()
            raise InfluxQueryError(message, influxql, database)
        return response

    def query_csv(
        self,
        database: str,
        influxql: str,
        params: Mapping[str, Any] | None = None,
        chunk_size: int = 10000,
    ) -> Iterator[str]:
        """Run one SELECT and stream its answer as CSV text (`Accept: application/csv`), in
        blocks of whole lines ending in a newline; the first line is the header (name, tags,
        time in ns, then the columns). InfluxDB writes CSV about 3x faster than JSON, which
        matters for reads of millions of points; parse it with `csv.reader` (or, when no
        value can hold a comma or quote, by splitting).

        CSV has two blind spots, so the caller must cover them: null and "" are both empty
        (select only float/integer fields), and InfluxDB 1.x drops errors from a CSV answer
        (a missing database answers 200 with no rows): check the count of rows some other way,
        e.g. a COUNT() through `query`."""
        form: dict[str, str] = {"q": influxql}
        if params:
            bound = {k: _to_ns(v) if isinstance(v, datetime) else v for k, v in params.items()}
            form["params"] = json.dumps(bound)
        url_params = {"db": database, "chunked": "true", "chunk_size": str(chunk_size)}
        doing = f"querying {database!r} as CSV"
        response = self._request(
            "POST", "/query", doing, params=url_params, data=form, stream=True,
            headers={"Accept": "application/csv", "Accept-Encoding": "identity"},
        )  # fmt: skip
        try:
            if response.status_code != 200:
                message = response.headers.get("X-Influxdb-Error") or _server_message(response)
                raise InfluxQueryError(message, influxql, database)
            with self._unavailable_on_network_error("reading a CSV query result"):
                yield from _text_blocks(response)
        finally:
            response.close()

    def execute(self, database: str | None, influxql: str) -> None:
        """Run statements that return no rows (CREATE, DROP, ALTER, DELETE)."""
        with self.query(database, influxql) as rows:
            for _ in rows:
                pass

    # -- Listings --
    def databases(self) -> list[str]:
        return sorted(row.values["name"] for row in self.query(None, "SHOW DATABASES"))

    def measurements(self, database: str) -> list[str]:
        return sorted(row.values["name"] for row in self.query(database, "SHOW MEASUREMENTS"))

    def tag_keys(self, database: str, measurement: str) -> list[str]:
        q = f"SHOW TAG KEYS FROM {quote_ident(measurement)}"
        return sorted(row.values["tagKey"] for row in self.query(database, q))

    def tag_values(self, database: str, measurement: str, key: str) -> list[str]:
        q = f"SHOW TAG VALUES FROM {quote_ident(measurement)} WITH KEY = {quote_ident(key)}"
        return sorted(row.values["value"] for row in self.query(database, q))

    def field_keys(self, database: str, measurement: str) -> dict[str, str]:
        """Field name -> type ('float', 'integer', 'string', 'boolean'); a field written
        with different types in different shards shows them joined, e.g. 'float,integer'."""
        types: dict[str, set[str]] = {}
        for row in self.query(database, f"SHOW FIELD KEYS FROM {quote_ident(measurement)}"):
            types.setdefault(row.values["fieldKey"], set()).add(row.values["fieldType"])
        return {key: ",".join(sorted(kinds)) for key, kinds in sorted(types.items())}

    # -- Version-specific --
    @abstractmethod
    def create_database(
        self, database: str, tiers: Sequence[RetentionTier] = (), alter: bool = False
    ) -> None:
        """Create the database and its retention tiers; idempotent.

        A tier that exists with another duration raises RetentionConflict unless `alter`
        is true (shortening a tier deletes data older than the new duration).
        """

    @abstractmethod
    def drop_database(self, database: str) -> None:
        """Drop the database with all its tiers and data; no error when it does not exist."""

    @abstractmethod
    def retention_policies(self, database: str) -> list[RetentionTier]:
        """The database's tiers, durations normalised ('168h0m0s' -> '7d')."""

    @abstractmethod
    def delete(
        self,
        database: str,
        start: datetime,
        end: datetime,
        measurement: str | None = None,
        tags: Mapping[str, str] | None = None,
        retention_policy: str | None = None,
    ) -> None:
        """Delete the points with start <= time < end, optionally of one measurement and
        with tags equal to `tags`. Without `retention_policy` every tier of the database
        is affected. With it, only that tier: 1.x cannot delete from one retention policy,
        so there the delete raises UnsafeDelete (and deletes nothing) when another retention
        policy of the database holds points it would remove."""

    @abstractmethod
    def sizes(self) -> dict[tuple[str, str], int]:
        """(database, retention policy) -> bytes on disk, by InfluxDB's own accounting
        (TSM files plus WAL of every shard; it trails writes by up to a few seconds and
        shrinks only after compactions)."""

    def shard_sizes(self) -> dict[str, Shard]:
        """Shard id -> its database, retention policy, bytes on disk, bytes still in its cache
        and time range; {} where the server does not report shards (InfluxDB 2.x)."""
        return {}

    def _check_delete_args(self, start: datetime, end: datetime) -> tuple[int, int]:
        start_ns, end_ns = _to_ns(start), _to_ns(end)
        if end_ns <= start_ns:
            raise ValueError(f"delete window is empty: end {end} is not after start {start}")
        return start_ns, end_ns

    @staticmethod
    def _check_tiers(tiers: Sequence[RetentionTier]) -> tuple[list[RetentionTier], bool]:
        """The tiers to ensure, and whether `autogen` was added implicitly (then it becomes
        the default only in a database that has no default yet)."""
        names = [t.name for t in tiers]
        if len(set(names)) != len(names):
            raise ValueError(f"retention tiers named twice: {names}")
        if sum(t.default for t in tiers) > 1:
            raise ValueError("at most one retention tier can be the default")
        if DEFAULT_TIER in names:
            return list(tiers), False
        # InfluxDB 1.x always has it; 2.x gets it too, so both behave alike.
        has_default = any(t.default for t in tiers)
        return [RetentionTier(DEFAULT_TIER, "INF", default=not has_default), *tiers], True


class Influx1(TimeSeries):
    """InfluxDB 1.x through its native v1 API (optional basic auth)."""

    version = "1"

    def _auth(self) -> dict[str, Any]:
        return {"auth": (self.username, self.password)} if self.username else {}

    def create_database(
        self, database: str, tiers: Sequence[RetentionTier] = (), alter: bool = False
    ) -> None:
        tiers, implicit = self._check_tiers(tiers)
        db = quote_ident(database)
        self.execute(None, f"CREATE DATABASE {db}")
        existing = {t.name: t for t in self.retention_policies(database)}
        for tier in tiers:
            spec = f"{quote_ident(tier.name)} ON {db} DURATION {tier.duration}"
            have = existing.get(tier.name)
            if have is None:
                default = " DEFAULT" if tier.default else ""
                shards = f" SHARD DURATION {tier.shard_duration}" if tier.shard_duration else ""
                self.execute(None, f"CREATE RETENTION POLICY {spec} REPLICATION 1{shards}{default}")
                continue
            if have.seconds != tier.seconds:
                if not alter:
                    raise RetentionConflict(
                        f"Retention policy {tier.name!r} of {database!r} keeps data for "
                        f"{have.duration}, not {tier.duration}. Pass alter=True to change it "
                        "(a shorter duration deletes older data)."
                    )
                self.execute(None, f"ALTER RETENTION POLICY {spec}")
            if _shards_differ(tier, have):
                # Only shard groups created from now on get it; existing ones keep theirs.
                self.execute(
                    None,
                    f"ALTER RETENTION POLICY {quote_ident(tier.name)} ON {db} "
                    f"SHARD DURATION {tier.shard_duration}",
                )
            if tier.default and not have.default and not (implicit and tier.name == DEFAULT_TIER):
                self.execute(
                    None, f"ALTER RETENTION POLICY {quote_ident(tier.name)} ON {db} DEFAULT"
                )

    def drop_database(self, database: str) -> None:
        self.execute(None, f"DROP DATABASE {quote_ident(database)}")

    def retention_policies(self, database: str) -> list[RetentionTier]:
        rows = self.query(database, f"SHOW RETENTION POLICIES ON {quote_ident(database)}")
        return [
            RetentionTier(
                r.values["name"],
                format_duration(duration_seconds(r.values["duration"])),
                bool(r.values["default"]),
                _shard_duration(r.values.get("shardGroupDuration")),
            )
            for r in rows
        ]

    def delete(
        self,
        database: str,
        start: datetime,
        end: datetime,
        measurement: str | None = None,
        tags: Mapping[str, str] | None = None,
        retention_policy: str | None = None,
    ) -> None:
        start_ns, end_ns = self._check_delete_args(start, end)
        where = f"time >= {start_ns} AND time < {end_ns}" + "".join(
            f" AND {quote_ident(k)} = {quote_literal(v)}" for k, v in sorted((tags or {}).items())
        )
        source = quote_ident(measurement) if measurement else None
        if retention_policy:
            self._refuse_cross_policy_delete(database, retention_policy, source, where)
        statement = f"DELETE FROM {source} WHERE {where}" if source else f"DELETE WHERE {where}"
        # InfluxDB 1.x answers "engine is closed" when a shard is opened or closed meanwhile
        # (seen while another database is dropped); a DELETE is idempotent, so it is tried again.
        for attempt in range(3):
            try:
                self.execute(database, statement)
                return
            except InfluxQueryError as exc:
                if "engine is closed" not in exc.server_message or attempt == 2:
                    raise
                time.sleep(0.5 * (attempt + 1))

    def _refuse_cross_policy_delete(
        self, database: str, rp: str, source: str | None, where: str
    ) -> None:
        # 1.x DELETE spans every retention policy of the database: go ahead only when no
        # other policy holds a point the delete would also remove.
        names = [t.name for t in self.retention_policies(database)]
        if rp not in names:
            raise TimeseriesError(
                f"Retention policy {rp!r} does not exist in {database!r} (it has: {names})."
            )
        for other in names:
            if other == rp:
                continue
            target = f"{quote_ident(database)}.{quote_ident(other)}.{source or '/.*/'}"
            with self.query(database, f"SELECT * FROM {target} WHERE {where} LIMIT 1") as rows:
                found = next(rows, None)
            if found is not None:
                raise UnsafeDelete(
                    f"InfluxDB 1.x deletes from every retention policy at once, and "
                    f"{database!r}.{other!r} also holds points in this window "
                    f"(e.g. {found.measurement} at {found.time}). Nothing was deleted. "
                    f"Delete without retention_policy to remove them from all policies, "
                    f"or narrow the measurement/tags."
                )

    def sizes(self) -> dict[tuple[str, str], int]:
        totals: dict[tuple[str, str], int] = {}
        for row in self.query(None, "SHOW STATS FOR 'shard'"):
            key = (row.tags.get("database", ""), row.tags.get("retentionPolicy", ""))
            totals[key] = totals.get(key, 0) + int(row.values.get("diskBytes") or 0)
        return totals

    def shard_sizes(self) -> dict[str, Shard]:
        cached: dict[str, int] = {}
        for row in self.query(None, "SHOW STATS FOR 'tsm1_cache'"):
            shard = str(row.tags.get("path", "")).rstrip("/").rsplit("/", 1)[-1]
            cached[shard] = cached.get(shard, 0) + int(row.values.get("memBytes") or 0)
        spans = {
            str(row.values.get("id")): (str(row.values["start_time"]), str(row.values["end_time"]))
            for row in self.query(None, "SHOW SHARDS")
        }
        found = {}
        for row in self.query(None, "SHOW STATS FOR 'shard'"):
            shard = str(row.tags.get("id", ""))
            start, end = spans.get(shard, ("", ""))
            found[shard] = Shard(
                row.tags.get("database", ""),
                row.tags.get("retentionPolicy", ""),
                int(row.values.get("diskBytes") or 0),
                cached.get(shard, 0),
                start,
                end,
            )
        return found


class _Bucket(NamedTuple):
    id: str
    name: str
    database: str
    retention_policy: str
    default: bool
    seconds: int | None


class Influx2(TimeSeries):
    """InfluxDB 2.x: v1-compatibility API for data, influxdb-client for buckets/deletes."""

    version = "2"

    def __init__(self, url: str, **kwargs: Any) -> None:
        super().__init__(url, **kwargs)
        if not (self.token and self.org):
            raise ValueError(
                "InfluxDB 2.x needs INFLUXDB_TOKEN and INFLUXDB_ORG (a token with read/write "
                "access to the organisation's buckets)."
            )
        self._session.headers["Authorization"] = f"Token {self.token}"
        self._client: Any = None
        self._org_id: str | None = None

    def _credentials_hint(self) -> str:
        return "Check INFLUXDB_TOKEN (and that it grants access to INFLUXDB_ORG)."

    def close(self) -> None:
        super().close()
        if self._client is not None:
            self._client.close()

    # -- influxdb-client plumbing --
    def _api(self, doing: str, call: Any, *args: Any, **kwargs: Any) -> Any:
        """Call influxdb-client, turning its errors into ours."""
        from influxdb_client.rest import ApiException
        from urllib3.exceptions import HTTPError

        if self._client is None:
            from influxdb_client import InfluxDBClient

            ms = int(self.timeout * 1000)
            self._client = InfluxDBClient(
                url=self.url, token=self.token, org=self.org, timeout=(ms, ms), retries=False
            )
        try:
            return call(self._client, *args, **kwargs)
        except ApiException as exc:
            message = getattr(exc, "message", None) or str(exc)
            if exc.status in (401, 403):
                raise InfluxAuthError(
                    f"InfluxDB at {self.url} refused the token while {doing}: {message}. "
                    f"{self._credentials_hint()}"
                ) from exc
            if exc.status in (502, 503, 504):
                raise InfluxUnavailable(
                    f"InfluxDB at {self.url} answered HTTP {exc.status} while {doing}."
                ) from exc
            raise TimeseriesError(
                f"InfluxDB at {self.url} refused {doing} (HTTP {exc.status}): {message}"
            ) from exc
        except HTTPError as exc:
            raise InfluxUnavailable(
                f"Cannot reach InfluxDB at {self.url} while {doing}: {exc}. "
                "Check INFLUXDB_URL and that influxd is running."
            ) from exc

    def _org(self) -> str:
        if self._org_id is None:
            orgs = self._api(
                f"looking up organisation {self.org!r}",
                lambda c: c.organizations_api().find_organizations(org=self.org),
            )
            if not orgs:
                raise TimeseriesError(
                    f"Organisation {self.org!r} not found at {self.url}: check INFLUXDB_ORG."
                )
            self._org_id = orgs[0].id
        return self._org_id

    def _mappings(self, database: str | None = None) -> list[Any]:
        from influxdb_client.service.dbr_ps_service import DBRPsService

        filters = {"db": database} if database else {}
        result = self._api(
            "listing database/retention policy mappings",
            lambda c: DBRPsService(c.api_client).get_dbr_ps(org_id=self._org(), **filters),
        )
        return [m for m in (result.content or []) if not getattr(m, "virtual", False)]

    def _buckets(self) -> list[Any]:
        return self._api(
            "listing buckets",
            lambda c: list(c.buckets_api().find_buckets_iter(org_id=self._org(), limit=100)),
        )

    def _tiers(self) -> list[_Bucket]:
        """Every bucket of the organisation as a (database, retention policy): explicit
        mappings first, else the name as InfluxDB maps it by itself ('db/rp', or 'db' for
        its default tier 'autogen')."""
        mapped = {m.bucket_id: m for m in self._mappings()}
        tiers = []
        for bucket in self._buckets():
            db, _, rp = bucket.name.partition("/")
            tier = (db, rp or DEFAULT_TIER, not rp)
            if (m := mapped.get(bucket.id)) is not None:
                tier = (m.database, m.retention_policy, bool(m.default))
            tiers.append(_Bucket(bucket.id, bucket.name, *tier, self._every_seconds(bucket)))
        return tiers

    @staticmethod
    def _every_seconds(bucket: Any) -> int | None:
        rules = [r for r in (bucket.retention_rules or []) if r.type == "expire"]
        return (rules[0].every_seconds or None) if rules else None

    # -- Operations --
    def create_database(
        self, database: str, tiers: Sequence[RetentionTier] = (), alter: bool = False
    ) -> None:
        from influxdb_client import BucketRetentionRules
        from influxdb_client.domain.dbrp_create import DBRPCreate
        from influxdb_client.domain.dbrp_update import DBRPUpdate
        from influxdb_client.service.dbr_ps_service import DBRPsService

        org_id = self._org()
        mappings = {m.retention_policy: m for m in self._mappings(database)}
        tiers, implicit = self._check_tiers(tiers)
        has_default = any(m.default for m in mappings.values())
        for tier in tiers:
            keep_default = implicit and tier.name == DEFAULT_TIER and has_default
            make_default = tier.default and not keep_default
            name = f"{database}/{tier.name}"
            shards = duration_seconds(tier.shard_duration) if tier.shard_duration else None
            rules = [
                BucketRetentionRules(
                    type="expire",
                    every_seconds=tier.seconds or 0,
                    shard_group_duration_seconds=shards,
                )
            ]
            buckets = self._api(
                f"looking up bucket {name!r}",
                lambda c, n=name: c.buckets_api().find_buckets(name=n, org_id=org_id).buckets,
            )
            if not buckets:
                bucket = self._api(
                    f"creating bucket {name!r}",
                    lambda c, n=name, r=rules: c.buckets_api().create_bucket(
                        bucket_name=n, retention_rules=r, org=org_id
                    ),
                )
            else:
                bucket = buckets[0]
                have = self._every_seconds(bucket)
                rule = next((r for r in bucket.retention_rules or [] if r.type == "expire"), None)
                if have == tier.seconds and shards and rule is not None:
                    if (rule.shard_group_duration_seconds or 0) != shards:
                        bucket.retention_rules = rules  # new shard groups only; data stays
                        self._api(
                            f"updating bucket {name!r}",
                            lambda c, b=bucket: c.buckets_api().update_bucket(b),
                        )
                if have != tier.seconds:
                    if not alter:
                        raise RetentionConflict(
                            f"Bucket {name!r} keeps data for {format_duration(have)}, not "
                            f"{tier.duration}. Pass alter=True to change it (a shorter "
                            "duration deletes older data)."
                        )
                    bucket.retention_rules = rules
                    self._api(
                        f"updating bucket {name!r}",
                        lambda c, b=bucket: c.buckets_api().update_bucket(b),
                    )
            mapping = mappings.get(tier.name)
            if mapping is None:
                create = DBRPCreate(
                    org_id=org_id,
                    bucket_id=bucket.id,
                    database=database,
                    retention_policy=tier.name,
                    default=make_default,
                )
                self._api(
                    f"mapping {name!r}",
                    lambda c, d=create: DBRPsService(c.api_client).post_dbrp(dbrp_create=d),
                )
            elif make_default and not mapping.default:
                self._api(
                    f"making {name!r} the default",
                    lambda c, m=mapping: DBRPsService(c.api_client).patch_dbrpid(
                        m.id, DBRPUpdate(default=True), org_id=org_id
                    ),
                )

    def drop_database(self, database: str) -> None:
        from influxdb_client.service.dbr_ps_service import DBRPsService

        buckets = [b for b in self._tiers() if b.database == database]
        for mapping in self._mappings(database):
            self._api(
                f"removing mapping {database}/{mapping.retention_policy}",
                lambda c, m=mapping: DBRPsService(c.api_client).delete_dbrpid(
                    m.id, org_id=self._org()
                ),
            )
        for bucket in buckets:
            self._api(
                f"deleting bucket {bucket.name!r}",
                lambda c, b=bucket: c.buckets_api().delete_bucket(b.id),
            )

    def retention_policies(self, database: str) -> list[RetentionTier]:
        return sorted(
            (
                RetentionTier(b.retention_policy, format_duration(b.seconds), b.default)
                for b in self._tiers()
                if b.database == database
            ),
            key=lambda t: t.name,
        )

    def delete(
        self,
        database: str,
        start: datetime,
        end: datetime,
        measurement: str | None = None,
        tags: Mapping[str, str] | None = None,
        retention_policy: str | None = None,
    ) -> None:
        start_ns, end_ns = self._check_delete_args(start, end)
        terms = [("_measurement", measurement)] if measurement else []
        terms += sorted((tags or {}).items())
        # The predicate grammar takes double-quoted identifiers on both sides of "=".
        predicate = " AND ".join(f"{quote_ident(k)}={quote_ident(v)}" for k, v in terms)
        buckets = [
            b
            for b in self._tiers()
            if b.database == database and retention_policy in (None, b.retention_policy)
        ]
        if not buckets:
            where = database + (f"/{retention_policy}" if retention_policy else "")
            raise TimeseriesError(f"No bucket is mapped to {where!r}; nothing to delete.")
        for bucket in buckets:
            # /api/v2/delete includes both bounds: stop one nanosecond before `end`.
            self._api(
                f"deleting from bucket {bucket.name!r}",
                lambda c, b=bucket: c.delete_api().delete(
                    _rfc3339_ns(start_ns),
                    _rfc3339_ns(end_ns - 1),
                    predicate,
                    bucket=b.name,
                    org=self.org,
                ),
            )

    def sizes(self) -> dict[tuple[str, str], int]:
        response = self._request("GET", "/metrics", "reading /metrics")
        text = response.text
        response.close()
        if response.status_code != 200:
            raise TimeseriesError(
                f"{self.url}/metrics answered HTTP {response.status_code}; sizes need the "
                "metrics endpoint (influxd --metrics-disabled must not be set)."
            )
        per_bucket: dict[str, float] = {}
        for bucket_id, value in re.findall(
            r'^storage_shard_disk_size\{[^}]*\bbucket="([^"]+)"[^}]*\}\s+(\S+)', text, re.M
        ):
            per_bucket[bucket_id] = per_bucket.get(bucket_id, 0.0) + float(value)
        tiers = {b.id: (b.database, b.retention_policy) for b in self._tiers()}
        totals: dict[tuple[str, str], int] = {}
        for bucket_id, size in per_bucket.items():
            key = tiers.get(bucket_id, (bucket_id, DEFAULT_TIER))  # a bucket deleted meanwhile
            totals[key] = totals.get(key, 0) + int(size)
        return totals


# --- Construction ------------------------------------------------------------------------
def connect(
    url: str,
    version: str = "1",
    *,
    timeout: float = 30.0,
    username: str = "",
    password: str = "",
    token: str = "",
    org: str = "",
) -> TimeSeries:
    """A gateway for the InfluxDB at `url`, without Django settings (tests, bench)."""
    classes = {"1": Influx1, "2": Influx2}
    if str(version) not in classes:
        raise ValueError(f"INFLUXDB_VERSION={version!r} is not valid; use 1 or 2.")
    return classes[str(version)](
        url, timeout=timeout, username=username, password=password, token=token, org=org
    )


_per_process: dict[int, TimeSeries] = {}


def get_timeseries() -> TimeSeries:
    """The gateway configured by the INFLUXDB_* settings, one per process (safe after fork)."""
    pid = os.getpid()
    gateway = _per_process.get(pid)
    if gateway is None:
        from django.conf import settings

        gateway = connect(
            settings.INFLUXDB_URL,
            settings.INFLUXDB_VERSION,
            timeout=settings.INFLUXDB_TIMEOUT,
            username=settings.INFLUXDB_USERNAME,
            password=settings.INFLUXDB_PASSWORD,
            token=settings.INFLUXDB_TOKEN,
            org=settings.INFLUXDB_ORG,
        )
        _per_process.clear()  # a forked child must not reuse its parent's connections
        _per_process[pid] = gateway
    return gateway


def reset_timeseries() -> None:
    """Forget the cached gateway (after settings change, e.g. in tests)."""
    gateway = _per_process.pop(os.getpid(), None)
    if gateway is not None:
        gateway.close()
