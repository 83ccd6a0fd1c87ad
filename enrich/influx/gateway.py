"""The gateway to InfluxDB: write readings, stream InfluxQL queries, list, delete, size.

Both InfluxDB 1.x and 2.x are reached through the v1 HTTP API (`/write`, `/query`, `/ping`);
2.x serves it as its v1-compatibility API with `Authorization: Token`. `TimeSeries` does all
of that; only what the v1 API cannot do differs per version and lives in the two small
subclasses (`enrich.influx.v1.Influx1`, `enrich.influx.v2.Influx2`):

- create a database and its tiers: 1.x CREATE DATABASE / RETENTION POLICY; 2.x one bucket
  `db/rp` plus a DBRP mapping per tier;
- drop a database: 1.x DROP DATABASE; 2.x delete its buckets and mappings;
- delete a time range: 1.x InfluxQL DELETE; 2.x `/api/v2/delete` (DeleteApi);
- size on disk: 1.x SHOW STATS (shard `diskBytes`); 2.x `/metrics` (`storage_shard_disk_size`).
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

import requests

from enrich.influx.errors import (
    InfluxQueryError,
    InfluxUnavailable,
    InfluxVersionMismatch,
    InfluxWriteError,
    disk_full,
    refused,
)
from enrich.influx.influxql import delete_window, query_form, quote_ident
from enrich.influx.policies import RetentionTier, Shard
from enrich.influx.rows import RowStream, text_blocks
from enrich.influx.shard_groups import ShardGroups
from enrich.influx.transport import frozen_session, network_errors, server_message, waited
from enrich.readings import Reading


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
        ca_cert: str = "",
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"INFLUXDB_URL={url!r} must start with http:// or https://")
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.username = username
        self.password = password
        self.token = token
        self.org = org
        self.ca_cert = ca_cert  # INFLUXDB_CA_CERT: the PEM file of the home's own CA, or ""
        self._session = frozen_session(self.url, ca_cert)
        self._shard_groups = ShardGroups(self.retention_policies)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r})"

    def close(self) -> None:
        self._session.close()

    # -- HTTP --
    def _network_errors(self, doing: str) -> AbstractContextManager[None]:
        return network_errors(self.url, self.timeout, doing)

    def _auth(self) -> dict[str, Any]:
        return {}

    def _request(self, method: str, path: str, doing: str, **kwargs: Any) -> requests.Response:
        wait = waited(self.url, self.timeout, doing)
        with network_errors(self.url, wait, doing):
            response = self._session.request(
                method,
                self.url + path,
                timeout=(wait, wait),
                **self._auth(),
                **kwargs,
            )
        if response.status_code in (401, 403):
            message = server_message(response)
            response.close()
            forbidden = response.status_code == 403  # signed in, but not allowed to do that
            who = self._who() if forbidden else "the credentials"
            hint = self._privilege_hint(message) if forbidden else self._credentials_hint()
            raise refused(
                forbidden, f"InfluxDB at {self.url} refused {who} while {doing}: {message}. {hint}"
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

    def _who(self) -> str:
        """Whom InfluxDB refused a privilege (HTTP 403), as the refusal names them."""
        return "the credentials"

    def _privilege_hint(self, message: str) -> str:
        """What to do about a privilege InfluxDB refused (HTTP 403) with `message`."""
        return self._credentials_hint()

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
        the batches before it stay written (the count is in the message). A batch with points
        in a shard group this gateway has not written to yet is sent holding a short Redis
        lock of the database (`enrich.influx.shard_groups`), and without it where Redis is
        out of reach.
        """
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        params = {"db": database, "precision": "ns"}
        if retention_policy:
            params["rp"] = retention_policy
        written = 0
        batch: list[str] = []
        times: list[int] = []
        for reading in readings:
            try:
                batch.append(reading.to_line())
                times.append(reading.time_ns)
            except ValueError as exc:  # a value line protocol cannot carry: named in exc
                raise InfluxWriteError(
                    f"{exc} Nothing of this batch was written; {written} points of earlier "
                    "batches were.",
                    str(exc),
                    database,
                ) from None
            if len(batch) >= batch_size:
                written += self._write_guarded(params, batch, times, written)
                batch, times = [], []
        if batch:
            written += self._write_guarded(params, batch, times, written)
        return written

    def _write_guarded(
        self, params: Mapping[str, str], lines: list[str], times: list[int], before: int
    ) -> int:
        """`_write_batch`, holding the lock of first writes into a shard group if it is one."""
        new = self._shard_groups.unwritten(params["db"], params.get("rp"), times)
        with self._shard_groups.first_write(params["db"], new):
            return self._write_batch(params, lines, before)

    def _write_batch(self, params: Mapping[str, str], lines: list[str], before: int) -> int:
        body = "\n".join(lines).encode()
        doing = f"writing {len(lines)} points to {params['db']!r}"
        response = self._request("POST", "/write", doing, params=params, data=body)
        response.close()
        if response.status_code in (200, 204):
            return len(lines)
        message = server_message(response)
        where = params["db"] + (f"/{params['rp']}" if "rp" in params else "")
        hint = {
            404: " Create the database first (`manage.py setup_influxdb`, which `make run` runs, "
            "creates the one INFLUXDB_DATABASE names).",
            413: " The batch is too large: lower batch_size.",
        }.get(response.status_code, "")
        if "partial write" in message:
            hint = " The other points of this batch were written."
        hint += disk_full(message, self.url)
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
        return RowStream(response, influxql, database, self._network_errors)

    def _post_query(self, database: str | None, influxql: str, params: Mapping[str, Any] | None,
                    chunk_size: int, retention_policy: str | None = None,
                    headers: Mapping[str, str] | None = None) -> requests.Response:  # fmt: skip
        """POST /query; the streamed response (200), else InfluxQueryError."""
        form = query_form(influxql, params)
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
            message = server_message(response)
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
        form = query_form(influxql, params)
        url_params = {"db": database, "chunked": "true", "chunk_size": str(chunk_size)}
        doing = f"querying {database!r} as CSV"
        response = self._request(
            "POST", "/query", doing, params=url_params, data=form, stream=True,
            headers={"Accept": "application/csv", "Accept-Encoding": "identity"},
        )  # fmt: skip
        try:
            if response.status_code != 200:
                message = response.headers.get("X-Influxdb-Error") or server_message(response)
                raise InfluxQueryError(message, influxql, database)
            with self._network_errors("reading a CSV query result"):
                yield from text_blocks(response)
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
        start_ns, end_ns = delete_window(start, end)
        self._delete(database, start_ns, end_ns, measurement, tags or {}, retention_policy)

    @abstractmethod
    def _delete(self, database: str, start_ns: int, end_ns: int, measurement: str | None,
                tags: Mapping[str, str], retention_policy: str | None) -> None:  # fmt: skip
        """`delete`, its window checked and in ns."""

    @abstractmethod
    def sizes(self) -> dict[tuple[str, str], int]:
        """(database, retention policy) -> bytes on disk, by InfluxDB's own accounting
        (TSM files plus WAL of every shard; it trails writes by up to a few seconds and
        shrinks only after compactions)."""

    def shard_sizes(self) -> dict[str, Shard]:
        """Shard id -> its database, retention policy, bytes on disk, bytes still in its cache
        and time range; {} where the server does not report shards (InfluxDB 2.x)."""
        return {}

    def compactions(self) -> dict[tuple[str, str], int] | None:
        """(database, retention policy) -> cache snapshots and TSM compactions running or
        planned in its shards (each changes `sizes` when it ends); None where the server
        does not report them (InfluxDB 2.x)."""
        return None
