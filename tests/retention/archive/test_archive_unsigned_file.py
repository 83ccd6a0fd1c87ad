"""An archive file in the bucket that carries no metadata (no SHA-256, no range: copied back by
hand from a local copy, `aws s3 cp` of a downloaded file) and that the index does not know, on
moto's S3 and the real InfluxDB. The index rebuild refuses it (it cannot be verified), and an
archive run planning a file at its key must not upload over it while it holds rows the plan
does not: those rows are in no other file and no longer in InfluxDB."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from retention.archive.index import rebuild_index
from retention.archive.run import run_archive
from retention.archive.verify import parsed_rows
from retention.models import ArchiveObject
from tests.support.archive import BUCKET, daily_rows
from tests.support.s3_requests import counting_s3

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 3, 15, 12, tzinfo=UTC)  # cutoff 2024-03-15: 2022 is a closed year
KEY = "archives/2022/data_2022-01-01.parquet"


def copied_back_without_metadata(tier, s3) -> bytes:
    """2022 of two entities archived (their rows gone from InfluxDB), then the file put back by
    hand without its metadata and the index lost; the file's bytes."""
    tier.write(daily_rows(2, date(2022, 1, 1), 365))
    assert run_archive(NOW).errors == [] and tier.rows() == []
    client = s3.client()
    data = client.get_object(Bucket=BUCKET, Key=KEY)["Body"].read()
    client.put_object(Bucket=BUCKET, Key=KEY, Body=data)  # no Metadata
    ArchiveObject.objects.all().delete()
    return data


def test_a_run_never_uploads_over_an_unsigned_file_holding_rows_it_does_not(tier, s3):
    data = copied_back_without_metadata(tier, s3)
    [refused] = rebuild_index().refused
    assert refused["key"] == KEY and "no sha256" in refused["why"]
    # Another entity's rows of 2022 (discovered later): a file planned at the same key.
    tier.write(daily_rows(1, date(2022, 1, 1), 365, seed=9)[:10])
    report = run_archive(NOW)
    # Before: the hand-copied file was taken for a damaged upload and replaced by one holding
    # the ten new rows: the two entities' year, in no other file and gone from InfluxDB, lost.
    assert report.status == "failed" and report.bytes_uploaded == 0
    [error] = report.errors
    assert error.startswith(f"{KEY}: ArchiveError: {KEY} "), error
    assert "no sha256" in error and "rows stay in InfluxDB" in error, error
    stored = s3.client().get_object(Bucket=BUCKET, Key=KEY)["Body"].read()
    assert stored == data and len(parsed_rows(stored)) == 2 * 365
    assert len(tier.rows()) == 10 and not ArchiveObject.objects.exists()
    # The dry run says the same, changing nothing.
    [planned] = run_archive(NOW, dry_run=True).errors
    assert planned == error.replace("ArchiveError: ", "", 1)


def test_the_unsigned_file_is_read_once_a_run(tier, s3, settings):
    """S3 bills each HEAD and GET: the run (and its dry run) reads the file's metadata and bytes
    once, though it looks at the object as the file at its key and as a file the index lacks.
    Counted at a proxy in front of moto's server."""
    copied_back_without_metadata(tier, s3)
    tier.write(daily_rows(1, date(2022, 1, 1), 365, seed=9)[:10])
    with counting_s3(settings, s3) as bucket:
        [error] = run_archive(NOW).errors
        # Before: HEAD and GET twice (as the file at the key, then as one without a SHA-256).
        assert (bucket.heads(KEY), bucket.gets(KEY)) == (1, 1)
        assert "no sha256" in error and bucket.lists() == ["archives/"]
        bucket.clear()
        [planned] = run_archive(NOW, dry_run=True).errors
        assert (bucket.heads(KEY), bucket.gets(KEY)) == (1, 1)
        assert planned == error.replace("ArchiveError: ", "", 1)
    assert len(tier.rows()) == 10 and not ArchiveObject.objects.exists()
