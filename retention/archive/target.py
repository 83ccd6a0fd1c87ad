"""Which store an archive run writes to, chosen explicitly: an S3 bucket or a named folder.

An archive run deletes the rows it archived from InfluxDB once their file is verified, so its
target has to outlive the process: S3_ARCHIVE_BUCKET, else ARCHIVE_LOCAL_DIR (which, in a
container, must be on a volume). With neither set there is no default folder: a folder inside a
container is lost when the container is recreated, together with the only copy of those rows.
Runs, restores and index rebuilds refuse with `ArchiveNotConfigured` instead.
"""

from django.conf import settings

from enrich.errors import Permanent
from retention.archive.local import LocalStorage
from retention.archive.s3 import S3Storage
from retention.archive.store import ArchiveStorage, StorageError

NOTHING_ARCHIVED = "nothing was archived or deleted"
NOTHING_RESTORED = "there is no archive to restore from and nothing was restored"
NOTHING_INDEXED = "there is no archive to index and nothing was indexed"


def not_configured(outcome: str = NOTHING_ARCHIVED) -> str:
    """What to set when no archive target is; `outcome`: what was (not) done meanwhile."""
    return (
        f"No archive target is set, so {outcome}. Set S3_ARCHIVE_BUCKET (with "
        "AWS_ACCESS_KEY/AWS_SECRET_KEY, or S3_ENDPOINT_URL for MinIO) or ARCHIVE_LOCAL_DIR to a "
        "directory on persistent storage (under docker compose: a mounted volume). make run "
        "sets ARCHIVE_LOCAL_DIR=var/archive in .env."
    )


class ArchiveNotConfigured(StorageError, Permanent):
    """Neither a bucket nor a local archive directory is configured (a person must set one)."""


def archive_configured() -> bool:
    return bool(settings.S3_ARCHIVE_BUCKET or settings.ARCHIVE_LOCAL_DIR)


def get_storage(outcome: str = NOTHING_ARCHIVED) -> ArchiveStorage:
    """S3 when S3_ARCHIVE_BUCKET is set, else the ARCHIVE_LOCAL_DIR folder; else refuse
    (`outcome`: what the refusal says was not done)."""
    if settings.S3_ARCHIVE_BUCKET:
        return S3Storage(
            settings.S3_ARCHIVE_BUCKET,
            endpoint_url=settings.S3_ENDPOINT_URL,
            region=settings.S3_REGION,
            access_key=settings.AWS_ACCESS_KEY,
            secret_key=settings.AWS_SECRET_KEY,
            kms_key_id=settings.S3_SSE_KMS_KEY_ID,
        )
    if settings.ARCHIVE_LOCAL_DIR:
        return LocalStorage(settings.ARCHIVE_LOCAL_DIR)
    raise ArchiveNotConfigured(not_configured(outcome))
