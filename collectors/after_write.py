"""A run's steps once its points are in InfluxDB (collectors.pipeline): the answer is cached
(Redis) and the adapter's after-write work runs (Adapter.after_write: AirNow's overall of an
hour made again, a meter's watch). A failure of either leaves the points where they are: it is
raised as WrittenThenFailed, and the run is recorded as failed with the points it wrote, its
error saying they were written and which step failed after."""

from datetime import datetime

from collectors.base import Adapter, FetchResult, Target
from enrich.errors import Transient
from enrich.redis.cache import ResponseCache
from enrich.wording import counted


class WrittenThenFailed(Exception):
    """`cause`, a failure the pipeline expects, met by `step` after `written` points were
    written (`by_measurement`: them by measurement, FetchResult.by_measurement)."""

    def __init__(
        self, cause: Exception, step: str, written: int, by_measurement: dict[str, int]
    ) -> None:
        self.cause, self.written, self.by_measurement = cause, written, by_measurement
        self.note = f"{counted(written, 'point')} written to InfluxDB, then {step} failed"
        super().__init__(f"{self.note}: {cause}")


def finish(
    adapter: Adapter,
    cache: ResponseCache,
    target: Target,
    result: FetchResult,
    written: int,
    *,
    ttl: int,
    fetched_at: datetime,
    failures: tuple[type[Exception], ...],
) -> None:
    """Cache the answer, then the adapter's after-write work; one of `failures` (the
    pipeline's expected ones) on the way is raised as WrittenThenFailed."""
    step = "caching the answer"
    try:
        cache.put(target.source, target.provider, target.key, result.current,
                  ttl=ttl, fetched_at=fetched_at)  # fmt: skip
        step = f"{adapter.provider}'s after-write step"
        adapter.after_write(target, result)
    except failures as exc:
        raise WrittenThenFailed(exc, step, written, result.by_measurement()) from exc


def recorded(exc: Exception) -> dict:
    """A failed run's Outcome fields for `exc`: its error (class, then message), its message,
    whether the task tries again; for a WrittenThenFailed the points written too, and the
    error and message starting with what was written and which step failed after."""
    if not isinstance(exc, WrittenThenFailed):
        error = f"{type(exc).__name__}: {exc}"
        return {"error": error, "message": str(exc), "transient": isinstance(exc, Transient)}
    cause = exc.cause
    return {
        "points_written": exc.written,
        "by_measurement": exc.by_measurement,
        "error": f"{exc.note}: {type(cause).__name__}: {cause}",
        "message": str(exc),
        "transient": isinstance(cause, Transient),
    }
