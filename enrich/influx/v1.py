"""InfluxDB 1.x: what its native v1 API does beyond the shared gateway (databases and retention
policies in InfluxQL, DELETE, SHOW STATS for sizes), with optional basic auth."""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from typing import Any

from enrich.influx.errors import (
    InfluxQueryError,
    RetentionConflict,
    TimeseriesError,
    UnsafeDelete,
)
from enrich.influx.gateway import TimeSeries
from enrich.influx.influxql import duration_seconds, format_duration, quote_ident, quote_literal
from enrich.influx.policies import (
    DEFAULT_TIER,
    RetentionTier,
    Shard,
    check_tiers,
    shards_differ,
    shown_shard_duration,
)

# How often a DELETE is sent when InfluxDB answers "engine is closed" (Influx1.execute_delete).
DELETE_TRIES = 5


class Influx1(TimeSeries):
    """InfluxDB 1.x through its native v1 API (optional basic auth)."""

    version = "1"

    def _auth(self) -> dict[str, Any]:
        return {"auth": (self.username, self.password)} if self.username else {}

    def _credentials_hint(self) -> str:
        if self.username:
            return super()._credentials_hint()
        return (
            "It asks for credentials and INFLUXDB_USERNAME is not set: set INFLUXDB_USERNAME "
            "and INFLUXDB_PASSWORD (the privileges enrich needs: docs/deployment.md)."
        )

    def _who(self) -> str:
        return f"INFLUXDB_USERNAME={self.username!r}"

    def _privilege_hint(self, message: str) -> str:
        # 1.x names what is missing: "requires admin privilege", "requires WRITE on db",
        # '"user" user is not authorized to write to database "db"'.
        user = quote_ident(self.username)
        if "admin privilege" in message:
            return (
                "That needs an InfluxDB admin: set INFLUXDB_USERNAME and INFLUXDB_PASSWORD to an "
                f"admin user, or make this one an admin (as an admin: GRANT ALL PRIVILEGES TO "
                f"{user}). The privileges enrich needs: docs/deployment.md."
            )
        named = re.search(r'requires \w+ on (\S+)|database "([^"]+)"', message)
        database = quote_ident(next(filter(None, named.groups()))) if named else "<database>"
        return (
            f"Give this user READ and WRITE on that database (as an admin: GRANT ALL ON "
            f"{database} TO {user}), or use an admin user. The privileges enrich needs: "
            "docs/deployment.md."
        )

    def create_database(
        self, database: str, tiers: Sequence[RetentionTier] = (), alter: bool = False
    ) -> None:
        tiers, implicit = check_tiers(tiers)
        db = quote_ident(database)
        self.execute(None, f"CREATE DATABASE {db}")
        existing = {t.name: t for t in self.retention_policies(database)}
        has_default = any(t.default for t in existing.values())
        for tier in tiers:
            spec = f"{quote_ident(tier.name)} ON {db} DURATION {tier.duration}"
            have = existing.get(tier.name)
            if have is None:
                # An implicit autogen leaves the default a database already has (check_tiers).
                keep = implicit and tier.name == DEFAULT_TIER and has_default
                default = " DEFAULT" if tier.default and not keep else ""
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
            if shards_differ(tier, have):
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
        self._shard_groups.forget(database)

    def retention_policies(self, database: str) -> list[RetentionTier]:
        rows = self.query(database, f"SHOW RETENTION POLICIES ON {quote_ident(database)}")
        return [
            RetentionTier(
                r.values["name"],
                format_duration(duration_seconds(r.values["duration"])),
                bool(r.values["default"]),
                shown_shard_duration(r.values.get("shardGroupDuration")),
            )
            for r in rows
        ]

    def _delete(self, database: str, start_ns: int, end_ns: int, measurement: str | None,
                tags: Mapping[str, str], retention_policy: str | None) -> None:  # fmt: skip
        where = f"time >= {start_ns} AND time < {end_ns}" + "".join(
            f" AND {quote_ident(k)} = {quote_literal(v)}" for k, v in sorted(tags.items())
        )
        source = quote_ident(measurement) if measurement else None
        if retention_policy:
            self._refuse_cross_policy_delete(database, retention_policy, source, where)
        statement = f"DELETE FROM {source} WHERE {where}" if source else f"DELETE WHERE {where}"
        self.execute_delete(database, statement)

    def execute_delete(self, database: str, statement: str) -> None:
        """Run a DELETE statement. InfluxDB 1.x answers "engine is closed" when a shard is
        opened or closed meanwhile: while any other database is dropped, one DELETE in 40 met
        it here (one in 5 while three were). A DELETE is idempotent, so it is tried again,
        DELETE_TRIES times in all, after 0.1 s, 0.2 s, ..."""
        for attempt in range(DELETE_TRIES):
            try:
                self.execute(database, statement)
                return
            except InfluxQueryError as exc:
                if "engine is closed" not in exc.server_message or attempt == DELETE_TRIES - 1:
                    raise
                time.sleep(0.1 * 2**attempt)

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
        others = [name for name in names if name != rp]

        def first(policies: list[str]):  # a point of `policies` the delete would remove
            targets = ", ".join(
                f"{quote_ident(database)}.{quote_ident(p)}.{source or '/.*/'}" for p in policies
            )
            with self.query(database, f"SELECT * FROM {targets} WHERE {where} LIMIT 1") as rows:
                return next(rows, None)

        if not others or first(others) is None:  # one query over all the other policies
            return
        for other in others:  # one per policy, to name the one that holds the point
            found = first([other])
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

    def compactions(self) -> dict[tuple[str, str], int]:
        busy: dict[tuple[str, str], int] = {}
        for row in self.query(None, "SHOW STATS FOR 'tsm1_engine'"):
            key = (row.tags.get("database", ""), row.tags.get("retentionPolicy", ""))
            running = (v for k, v in row.values.items() if k.endswith(("Active", "Queue")))
            busy[key] = busy.get(key, 0) + sum(int(v or 0) for v in running)
        return busy

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
