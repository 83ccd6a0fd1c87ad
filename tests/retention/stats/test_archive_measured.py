"""`archive_size_gb` is what the archive store holds of the recorded archive, listed from the
store (moto's S3 server), not the index's record: objects deleted or replaced in the bucket
outside enrich (by hand, by a lifecycle rule) are not counted and are named."""

from datetime import UTC, date, datetime

import pytest

from retention.archive.run import run_archive
from retention.models import ArchiveObject
from retention.stats import metrics
from tests.support.api import token_client
from tests.support.archive import BUCKET, daily_rows
from tests.support.replay import unused_url

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

NOW = datetime(2025, 3, 15, 12, tzinfo=UTC)
KEYS = ["archives/2022/data_2022-01-01.parquet", "archives/2023/data_2023-01-01.parquet"]


def test_objects_gone_from_the_bucket_are_not_counted_and_are_named(tier, s3, settings):
    tier.write(daily_rows(6, date(2022, 1, 1), 365 * 2 + 100))
    assert run_archive(NOW).status == "ok"
    client, bucket = token_client("stats"), s3.client()
    sizes = {o["Key"]: o["Size"] for o in bucket.list_objects_v2(Bucket=BUCKET)["Contents"]}
    assert sorted(sizes) == KEYS
    shown = client.get("/retention/stats").json()["archive_size_gb"]
    assert (shown["bytes"], shown["objects"]) == (sum(sizes.values()), 2)
    assert (shown["missing"], shown["changed"], "note" in shown) == ([], [], False)

    bucket.delete_object(Bucket=BUCKET, Key=KEYS[0])  # a lifecycle rule, or someone
    shown = client.get("/retention/stats").json()["archive_size_gb"]
    assert (shown["bytes"], shown["objects"], shown["missing"]) == (sizes[KEYS[1]], 1, KEYS[:1])
    bucket.put_object(Bucket=BUCKET, Key=KEYS[1], Body=b"not the archive")

    body = client.get("/retention/stats").json()
    shown = body["archive_size_gb"]
    assert (shown["value"], shown["bytes"], shown["objects"]) == (0, 0, 0)  # neither is the archive
    assert (shown["recorded_bytes"], shown["recorded_objects"]) == (sum(sizes.values()), 2)
    assert (shown["missing"], shown["changed"]) == ([KEYS[0]], [KEYS[1]])
    assert f"1 recorded object is not in {BUCKET} ({KEYS[0]}); " in shown["note"]
    assert (
        f"1 object of another size than recorded ({KEYS[1]}): deleted or replaced outside enrich"
        in shown["note"]
    )
    assert ArchiveObject.objects.filter(expired__isnull=True).count() == 2  # the index as it was

    point = metrics.metrics_reading(body, NOW)
    assert (point.fields["archive_size_bytes"], point.fields["archive_objects"]) == (0, 0)


def test_an_archive_store_out_of_reach_makes_the_archive_size_unknown(tier, s3, settings):
    tier.write(daily_rows(2, date(2022, 1, 1), 400))
    assert run_archive(NOW).status == "ok"
    recorded = list(ArchiveObject.objects.values_list("file_size", flat=True))
    settings.S3_ENDPOINT_URL = unused_url()

    body = token_client("stats").get("/retention/stats").json()

    shown = body["archive_size_gb"]
    assert shown["value"] is None and "bytes" not in shown
    assert shown["reason"].startswith("the archive store could not be listed: Cannot reach")
    assert (shown["recorded_bytes"], shown["recorded_objects"]) == (sum(recorded), len(recorded))
    cost = body["annual_cost_savings"]
    assert cost["value"] is None and cost["reason"].startswith("the archive's size is unknown")
    point = metrics.metrics_reading(body, NOW)
    assert "archive_size_bytes" not in point.fields
    assert "archive_size_gb: the archive store could not be listed" in point.fields["unmeasured"]
