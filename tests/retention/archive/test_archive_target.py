"""The archive target is explicit: with no bucket and no ARCHIVE_LOCAL_DIR, archive runs,
restores and the API refuse and say what to set; nothing is written and nothing is deleted."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from django.core.management import CommandError, call_command

from retention.archive.local import LocalStorage
from retention.archive.restore import restore_from_archive
from retention.archive.run import run_archive
from retention.archive.target import ArchiveNotConfigured, get_storage
from retention.models import ArchiveObject, RetentionRun
from tests.support.archive import daily_rows

pytestmark = pytest.mark.django_db
NOW = datetime(2025, 3, 15, 12, tzinfo=UTC)
SAYS_WHAT_TO_SET = ("S3_ARCHIVE_BUCKET", "ARCHIVE_LOCAL_DIR", "nothing was archived or deleted")


@pytest.fixture(name="no_target")
def no_target_fixture(settings):
    settings.S3_ARCHIVE_BUCKET = ""
    settings.ARCHIVE_LOCAL_DIR = None


def test_a_run_without_target_refuses_is_recorded_and_deletes_nothing(tier, no_target):
    tier.write(daily_rows(2, date(2022, 1, 1), 365))
    with pytest.raises(ArchiveNotConfigured) as refused:
        run_archive(NOW)
    assert all(words in str(refused.value) for words in SAYS_WHAT_TO_SET)
    run = RetentionRun.objects.get(operation="archive")
    assert run.status == "failed" and "ArchiveNotConfigured" in run.errors
    assert "ARCHIVE_LOCAL_DIR" in run.errors
    assert len(tier.rows()) == 2 * 365
    assert not ArchiveObject.objects.exists()


def test_the_command_refuses_with_the_message(tier, no_target):
    tier.write(daily_rows(1, date(2022, 1, 1), 365))
    with pytest.raises(CommandError, match="S3_ARCHIVE_BUCKET.*ARCHIVE_LOCAL_DIR"):
        call_command("archive_to_s3")
    assert len(tier.rows()) == 365


def test_the_api_answers_409_naming_what_to_set_and_queues_nothing(client, no_target):  # noqa: F811
    for body in ({}, {"dry_run": True}):
        response = client.post("/retention/archive", body, format="json")
        assert response.status_code == 409, body
        assert all(words in response.json()["detail"] for words in SAYS_WHAT_TO_SET)
    response = client.post(
        "/retention/restore", {"start_date": "2022-01-01", "end_date": "2022-01-31"}, format="json"
    )
    assert response.status_code == 409
    assert "ARCHIVE_LOCAL_DIR" in response.json()["detail"]
    assert not RetentionRun.objects.exists()


def test_an_explicit_folder_is_the_target(settings, tmp_path):
    settings.S3_ARCHIVE_BUCKET = ""
    settings.ARCHIVE_LOCAL_DIR = tmp_path / "archive"
    storage = get_storage()
    assert isinstance(storage, LocalStorage) and storage.location == str(tmp_path / "archive")


def test_the_restore_409_says_nothing_was_restored(client, no_target):  # noqa: F811
    """It said "nothing was archived or deleted", the archive's words, of a restore."""
    response = client.post(
        "/retention/restore", {"start_date": "2022-01-01", "end_date": "2022-01-31"}, format="json"
    )
    assert response.status_code == 409
    detail = response.json()["detail"]
    assert detail.startswith(
        "No archive target is set, so there is no archive to restore from and nothing was "
        "restored. Set S3_ARCHIVE_BUCKET"
    ), detail
    assert "archived or deleted" not in detail and "ARCHIVE_LOCAL_DIR" in detail
    assert not RetentionRun.objects.exists()


def test_a_restore_without_target_says_nothing_was_restored(no_target):
    with pytest.raises(ArchiveNotConfigured, match="nothing was restored") as refused:
        restore_from_archive(date(2022, 1, 1), date(2022, 1, 31))
    assert "archived or deleted" not in str(refused.value)


def test_an_index_rebuild_without_target_says_nothing_was_indexed(no_target):
    """It said "nothing was archived or deleted", the archive's words, of an index rebuild."""
    for flags in ([], ["--dry-run"]):
        with pytest.raises(CommandError) as refused:
            call_command("rebuild_archive_index", *flags)
        said = str(refused.value)
        assert said.startswith(
            "No archive target is set, so there is no archive to index and nothing was indexed. "
            "Set S3_ARCHIVE_BUCKET"
        ), said
        assert "archived or deleted" not in said and "ARCHIVE_LOCAL_DIR" in said
