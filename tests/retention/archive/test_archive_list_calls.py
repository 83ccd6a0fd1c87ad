"""What an archive run over many files asks of the bucket: S3 bills every LIST request (Glacier
Instant Retrieval too), so a run looking for files the index does not know lists the archive's
keys once, not once per file it writes. Counted at the S3 door's own boto3 client (botocore's
`before-call` event) against moto's S3 server, with the real InfluxDB."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from retention.archive.run import run_archive
from retention.models import ArchiveObject
from tests.support.archive import daily_rows

pytestmark = pytest.mark.django_db

# Cutoff = NOW - 365 days = 2024-03-15: every month of 2021..2023 and 2024-01/02 are due.
NOW = datetime(2025, 3, 15, 12, tzinfo=UTC)
MONTHS = 3 * 12 + 2


def counting_lists(storage) -> list[str]:
    """The prefixes of the LIST requests `storage` (an S3Storage) sends from now on."""
    prefixes: list[str] = []

    def count(params, **_):
        prefixes.append(params["query_string"].get("prefix", ""))

    storage._client.meta.events.register("before-call.s3.ListObjectsV2", count)
    return prefixes


def test_a_run_writing_a_file_a_month_for_years_lists_the_bucket_once(tier, s3, settings):
    settings.ARCHIVE_MIN_OBJECT_BYTES = 1  # every month its own file
    tier.write(daily_rows(4, date(2021, 1, 1), (date(2024, 3, 1) - date(2021, 1, 1)).days))
    storage = s3.storage()
    dry = counting_lists(storage)
    planned = run_archive(NOW, dry_run=True, storage=storage)
    assert planned.errors == [] and len(planned.objects) == MONTHS
    assert dry == ["archives/"]  # before: one LIST per planned month, 38
    storage = s3.storage()
    lists = counting_lists(storage)
    report = run_archive(NOW, storage=storage)
    assert report.errors == [] and len(report.objects) == MONTHS
    assert ArchiveObject.objects.filter(source_deleted__isnull=False).count() == MONTHS
    assert tier.rows(end=date(2024, 3, 1)) == []
    assert lists == ["archives/"]  # before: one LIST per month written, 38
