"""A versioned bucket, against moto's S3 server on loopback and the real InfluxDB: S3 keeps what
a delete or an overwrite removes as a noncurrent version, so without a lifecycle rule with
NoncurrentVersionExpiration every expired or merged archive stays billed for ever. The archive
run's lifecycle check says so, naming the fix; with the rule docs/storage.md gives it is quiet."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from retention.archive.run import run_archive
from retention.models import ArchiveObject
from tests.support.archive import BUCKET, daily_rows

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 3, 15, 12, tzinfo=UTC)  # cutoff 2024-03-15: 2019 and 2020 are closed
KEYS = ["archives/2019/data_2019-01-01.parquet", "archives/2020/data_2020-01-01.parquet"]
EXPIRE = {"ID": "expire-archives", "Status": "Enabled", "Filter": {"Prefix": "archives/"},
          "Expiration": {"Days": 1826}}  # fmt: skip
NONCURRENT = {"NoncurrentVersionExpiration": {"NoncurrentDays": 30}}


def rules(s3, *rules: dict) -> None:
    s3.client().put_bucket_lifecycle_configuration(
        Bucket=BUCKET, LifecycleConfiguration={"Rules": list(rules)}
    )


def versioning(s3, status: str) -> None:
    s3.client().put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": status})


def test_expired_archives_stay_as_noncurrent_versions_and_the_run_says_so(tier, s3, settings):
    versioning(s3, "Enabled")
    rules(s3, EXPIRE)
    tier.write(daily_rows(2, date(2019, 1, 1), 365 * 2))
    assert [o["key"] for o in run_archive(NOW).objects] == KEYS
    ArchiveObject.objects.update(created=datetime(2023, 1, 1, tzinfo=UTC))
    settings.ARCHIVE_RETENTION_YEARS = 5

    report = run_archive(datetime(2026, 1, 10, tzinfo=UTC))  # both ended before 2021-01-10
    assert sorted(report.expired) == KEYS and report.errors == []
    client = s3.client()
    assert "Contents" not in client.list_objects_v2(Bucket=BUCKET)  # gone from the listing...
    versions = client.list_object_versions(Bucket=BUCKET)
    assert sorted(v["Key"] for v in versions["Versions"] if not v["IsLatest"]) == KEYS  # ...kept
    assert report.lifecycle == (
        "Lifecycle rule 'expire-archives' expires archives/* after 1826 days. Warning: bucket "
        f"'{BUCKET}' has versioning enabled and no enabled lifecycle rule expires noncurrent "
        "versions of archives/: every archive deleted (the 5-year expiry) or replaced (a merge "
        "of late rows) stays as a noncurrent version, billed for ever. Add "
        'NoncurrentVersionExpiration (e.g. {"NoncurrentDays": 30}) to a lifecycle rule for '
        "archives/ (docs/storage.md, Expiry)."
    )

    rules(s3, EXPIRE | NONCURRENT)  # the rule docs/storage.md gives
    status = s3.storage().check_lifecycle("archives/", 5)
    assert (status.expires, status.versions_kept) == (True, False)
    assert status.message == "Lifecycle rule 'expire-archives' expires archives/* after 1826 days."


def only(prefix: str = "archives/", **conditions) -> dict:
    """A rule expiring noncurrent versions only (no Expiration of current ones)."""
    rule_filter = {"And": {"Prefix": prefix, **conditions}} if conditions else {"Prefix": prefix}
    return {"ID": "old-versions", "Status": "Enabled", "Filter": rule_filter, **NONCURRENT}


@pytest.mark.parametrize(
    ("status", "lifecycle", "kept"),
    [
        ("Enabled", [], True),  # no lifecycle rules at all
        ("Suspended", [EXPIRE], True),  # versions written while it was on stay
        ("Enabled", [EXPIRE, only("archives/2022/")], True),  # part of archives/ only
        ("Enabled", [EXPIRE, only(Tags=[{"Key": "tier", "Value": "x"}])], True),  # tagged only
        ("Enabled", [EXPIRE, {**only(""), "Status": "Disabled"}], True),
        ("Enabled", [EXPIRE, only("")], False),  # the whole bucket
        ("Enabled", [only()], False),
        ("Suspended", [EXPIRE | NONCURRENT], False),
        (None, [EXPIRE], False),  # never versioned: a delete deletes
    ],
)
def test_the_noncurrent_version_check(s3, status, lifecycle, kept):
    if status:
        versioning(s3, status)
    if lifecycle:
        rules(s3, *lifecycle)
    found = s3.storage().check_lifecycle("archives/", 5)
    assert found.versions_kept is kept
    assert ("NoncurrentVersionExpiration" in found.message) is kept
    if kept:
        assert f"has versioning {status.lower()}" in found.message


def test_a_rule_for_tagged_archive_objects_only_is_not_taken_for_their_expiry(s3):
    """A rule with a tag condition expires only the objects carrying the tag; enrich's archives
    carry none, so it expires none of them. The check said such a rule expires archives/* all
    the same. (A size condition is read the same way; moto's server does not keep one.)"""
    tagged = {"And": {"Prefix": "archives/", "Tags": [{"Key": "tier", "Value": "cold"}]}}
    rules(s3, EXPIRE | {"Filter": tagged})
    status = s3.storage().check_lifecycle("archives/", 5)
    assert status.expires is False
    assert status.message == (
        f"No enabled expiration rule for archives/ in {BUCKET!r}; enrich expires objects older "
        "than 5 years itself."
    )
