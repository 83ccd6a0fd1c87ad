"""The InfluxDB door's errors: each one either Transient (retry later) or Permanent (a person
must act), below `TimeseriesError`, which callers catch for "InfluxDB failed"."""

from __future__ import annotations

from enrich.errors import Permanent, Transient


class TimeseriesError(Exception):
    """Base of every error raised by the InfluxDB door."""


class InfluxUnavailable(TimeseriesError, Transient):
    """InfluxDB could not be reached or did not answer in time (transient: retry later)."""


class InfluxCertificateError(TimeseriesError, Permanent):
    """InfluxDB's TLS certificate could not be verified (a person must act: INFLUXDB_CA_CERT,
    or the server's certificate)."""


def certificate_refused(url: str, doing: str, reason: object) -> InfluxCertificateError:
    """The error of an https:// InfluxDB whose certificate failed the check while `doing`."""
    return InfluxCertificateError(
        f"InfluxDB at {url}: its TLS certificate could not be verified while {doing} "
        f"({reason}). Where the home signs its own certificates, set INFLUXDB_CA_CERT to the "
        "PEM file of the certificate authority that signed InfluxDB's certificate; check too "
        "that the certificate names INFLUXDB_URL's host and has not expired."
    )


class InfluxAuthError(TimeseriesError, Permanent):
    """InfluxDB refused the credentials (a person must act)."""


class InfluxPrivilegeError(InfluxAuthError):
    """InfluxDB accepted the credentials but its user lacks a privilege (HTTP 403; a person
    must act: grant it, or use another user)."""


def refused(forbidden: bool, text: str) -> InfluxAuthError:
    """The error of InfluxDB's 401 (the credentials) or, `forbidden`, its 403 (a privilege)."""
    return InfluxPrivilegeError(text) if forbidden else InfluxAuthError(text)


def disk_full(server_message: str, url: str = "") -> str:
    """What to do, as sentences starting with a space, when InfluxDB (at `url`) answered that
    its disk is full ("no space left on device" writing its WAL, data or meta directory: a
    write, a DELETE's tombstone, a new retention policy or shard group), else "". Permanent, as
    the errors carrying it: trying again cannot help until a person frees space; and InfluxDB
    1.x, once a write to a shard's WAL failed, refuses every later write to that shard with the
    same words, however much space is free, until influxd restarts."""
    said = server_message.lower()
    if "no space left on device" not in said:
        return ""
    at = f" at {url}" if url else ""
    text = (
        f" InfluxDB{at} cannot write to its disk: it is full. Free space on the disk holding "
        "the file it names (InfluxDB's data, WAL or meta directory)"
    )
    if "wal" in said:
        return (
            f"{text}, then restart InfluxDB: once a write to a shard's WAL failed, InfluxDB 1.x "
            "refuses every write to that shard until it restarts, however much space is free."
        )
    return f"{text}."


class InfluxQueryError(TimeseriesError, Permanent):
    """InfluxDB rejected a query; carries the server's message, the query and the database."""

    def __init__(self, server_message: str, query: str, database: str | None) -> None:
        self.server_message = server_message
        self.query = query
        self.database = database
        full = disk_full(server_message)
        super().__init__(
            f"InfluxDB rejected the query on database {database!r}: {server_message}"
            f"{full and '.' + full} -- query: {query}"
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
