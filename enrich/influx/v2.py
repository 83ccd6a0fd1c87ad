"""InfluxDB 2.x: data through its v1-compatibility API (the shared gateway), and through
influxdb-client what that API cannot do: buckets named `db/rp` with a DBRP mapping per tier,
deletes (`/api/v2/delete`), and sizes from `/metrics`."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from enrich.influx.errors import (
    InfluxAuthError,
    InfluxUnavailable,
    RetentionConflict,
    TimeseriesError,
    certificate_refused,
)
from enrich.influx.gateway import TimeSeries
from enrich.influx.influxql import duration_seconds, format_duration, quote_ident, rfc3339_ns
from enrich.influx.policies import DEFAULT_TIER, RetentionTier, check_tiers


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
                url=self.url, token=self.token, org=self.org, timeout=(ms, ms), retries=False,
                ssl_ca_cert=self.ca_cert or None,
            )  # fmt: skip
        try:
            return call(self._client, *args, **kwargs)
        except ApiException as exc:
            said = str(exc.reason or "")
            if exc.status == 0 and said.startswith("SSLError"):  # influxdb-client's TLS failure
                found = re.search(r"certificate verify failed: [^(\n]*", said)
                reason = found[0].strip() if found else said.replace("\n", " ")
                raise certificate_refused(self.url, doing, reason) from exc
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
        from influxdb_client.domain.dbrp_create import DBRPCreate
        from influxdb_client.domain.dbrp_update import DBRPUpdate
        from influxdb_client.service.dbr_ps_service import DBRPsService

        org_id = self._org()
        mappings = {m.retention_policy: m for m in self._mappings(database)}
        tiers, implicit = check_tiers(tiers)
        has_default = any(m.default for m in mappings.values())
        for tier in tiers:
            keep_default = implicit and tier.name == DEFAULT_TIER and has_default
            make_default = tier.default and not keep_default
            name = f"{database}/{tier.name}"
            bucket = self._ensure_bucket(name, tier, alter, org_id)
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

    def _ensure_bucket(self, name: str, tier: RetentionTier, alter: bool, org_id: str) -> Any:
        """The bucket `name` with the tier's retention: created, else updated where its shard
        group duration differs or (with `alter`) its duration."""
        from influxdb_client import BucketRetentionRules

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
            lambda c: c.buckets_api().find_buckets(name=name, org_id=org_id).buckets,
        )
        if not buckets:
            return self._api(
                f"creating bucket {name!r}",
                lambda c: c.buckets_api().create_bucket(
                    bucket_name=name, retention_rules=rules, org=org_id
                ),
            )
        bucket = buckets[0]
        have = self._every_seconds(bucket)
        rule = next((r for r in bucket.retention_rules or [] if r.type == "expire"), None)
        if have != tier.seconds:
            if not alter:
                raise RetentionConflict(
                    f"Bucket {name!r} keeps data for {format_duration(have)}, not "
                    f"{tier.duration}. Pass alter=True to change it (a shorter "
                    "duration deletes older data)."
                )
            self._set_rules(name, bucket, rules)
        elif shards and rule is not None and (rule.shard_group_duration_seconds or 0) != shards:
            self._set_rules(name, bucket, rules)  # new shard groups only; data stays
        return bucket

    def _set_rules(self, name: str, bucket: Any, rules: list[Any]) -> None:
        bucket.retention_rules = rules
        self._api(f"updating bucket {name!r}", lambda c: c.buckets_api().update_bucket(bucket))

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

    def _delete(self, database: str, start_ns: int, end_ns: int, measurement: str | None,
                tags: Mapping[str, str], retention_policy: str | None) -> None:  # fmt: skip
        terms = [("_measurement", measurement)] if measurement else []
        terms += sorted(tags.items())
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
                    rfc3339_ns(start_ns),
                    rfc3339_ns(end_ns - 1),
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
