"""What a query answers: `Row`, the rows of a streamed JSON answer (`RowStream`), and the
blocks of a streamed CSV answer.

Times: every query asks for `epoch=ns`, so `Row.time_ns` is exact; `Row.time` is the same
instant as an aware UTC datetime (microseconds, like `Reading.time`).
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import requests

from enrich.influx.errors import InfluxQueryError
from enrich.influx.influxql import from_ns


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


class RowStream(Iterator[Row]):
    """Rows of a chunked query, parsed one newline-delimited JSON chunk at a time.

    Only the current chunk is held in memory. `chunks` counts the chunks parsed so far.
    Close it (or use `with`) when not consuming it to the end, to free the connection.
    """

    def __init__(
        self,
        response: requests.Response,
        query: str,
        database: str | None,
        network_errors: Callable[[str], AbstractContextManager[None]],
    ) -> None:
        self.chunks = 0
        self._response = response
        self._query = query
        self._database = database
        self._network_errors = network_errors  # the gateway's, given what it was doing
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
        with self._network_errors("reading a query result"):
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
            yield Row(name, dict(tags), from_ns(ns), record, ns)


def text_blocks(response: requests.Response) -> Iterator[str]:
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
