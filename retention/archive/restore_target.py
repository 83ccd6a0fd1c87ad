"""Where a restore may write: RESTORE_INFLUXDB_DATABASE or a database listed in
RESTORE_ALLOWED_DATABASES — never Home Assistant's database, the tier database or enrich's own
database, whatever the lists say, because archived rows written there mix with live data."""

from django.conf import settings


class RestoreTargetRefused(ValueError):
    """The requested database is not one a restore may write into; the message says why."""


def _protected() -> list[tuple[str, str]]:
    # In this order: by default the tier database *is* Home Assistant's, and the tier reason
    # is the one that matters for a restore.
    return [
        (settings.TIER_DATABASE, "the tier database (TIER_DATABASE), which the archive "
         "empties: restored rows there would be deleted by the next archive run"),
        (settings.HA_INFLUXDB_DATABASE, "Home Assistant's database (HA_INFLUXDB_DATABASE)"),
        (settings.INFLUXDB_DATABASE, "enrich's own database (INFLUXDB_DATABASE)"),
    ]  # fmt: skip


def restore_database(requested: str | None = None) -> str:
    """The database a restore writes into: `requested` if allowed, else RestoreTargetRefused;
    none requested means RESTORE_INFLUXDB_DATABASE."""
    name = requested or settings.RESTORE_INFLUXDB_DATABASE
    allowed = [settings.RESTORE_INFLUXDB_DATABASE, *settings.RESTORE_ALLOWED_DATABASES]
    protected = _protected()
    for database, what in protected:
        if name == database:
            usable = [a for a in allowed if a not in {d for d, _ in protected}]
            raise RestoreTargetRefused(
                f"{name!r} is {what}; restore into another database "
                f"({', '.join(map(repr, usable)) or 'set RESTORE_INFLUXDB_DATABASE'})."
            )
    if name not in allowed:
        raise RestoreTargetRefused(
            f"{name!r} is not a restore database: use RESTORE_INFLUXDB_DATABASE "
            f"({settings.RESTORE_INFLUXDB_DATABASE!r}) or add it to RESTORE_ALLOWED_DATABASES."
        )
    return name
