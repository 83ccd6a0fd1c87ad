"""One helper thread with an InfluxDB connection of its own (`Side`): the hourly tier's reader
thread (`tier_reader.Prefetch`), and the reads the main thread would otherwise wait for one
after the other although neither depends on the other (`retention.tiers.hourly`):

- while the day's rows are read back, the day's raw points are counted, and the series the
  delete would touch are checked;
- while the day's chunk is recorded "deleted", what the delete left is counted.

Each call runs exactly as it would on the main thread, only through the helper's connection
(`enrich.influx.use_in_this_thread`): a requests session is not shared by threads.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from enrich.influx import TimeSeries, another_connection, get_timeseries, use_in_this_thread


class Side:
    """One thread, started on first use, with its own InfluxDB connection; `submit` queues a
    call, `close` cancels the queued calls not started, waits for the running one and closes
    the connection."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._pool: ThreadPoolExecutor | None = None
        self._gateway: TimeSeries | None = None

    def submit(self, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Future:
        if self._pool is None:
            self._gateway = another_connection(get_timeseries())
            self._pool = ThreadPoolExecutor(
                max_workers=1, thread_name_prefix=self.name,
                initializer=use_in_this_thread, initargs=(self._gateway,),
            )  # fmt: skip
        return self._pool.submit(call, *args, **kwargs)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        if self._gateway is not None:
            self._gateway.close()
            self._gateway = None
