"""The archive's bucket (S3_ARCHIVE_BUCKET) and the S3 storage class of its uploads
(S3_STORAGE_CLASS), read by config.settings: only a class whose objects read back at once will
do, as every archive run reads its upload back before it deletes anything
(retention.archive.run)."""

import re

from django.core.exceptions import ImproperlyConfigured

from config.environment import env, text

# What boto3 sends as a bucket: a name of these characters, or an access point's ARN.
BUCKET = re.compile(r"[a-zA-Z0-9.\-_]{1,255}|arn:.+")


def bucket() -> str:
    """S3_ARCHIVE_BUCKET (empty: none); a value boto3 refuses to send stops the process: each
    archive run said it could not reach the store, to be repeated."""
    value = text("S3_ARCHIVE_BUCKET")
    if value and not BUCKET.fullmatch(value):
        raise ImproperlyConfigured(
            f"S3_ARCHIVE_BUCKET={value!r} is no bucket name: give the name alone (letters, "
            "digits, '.', '-' and '_'), e.g. enrich-archive; the endpoint is S3_ENDPOINT_URL."
        )
    return value


# What botocore takes as a region (botocore.utils.validate_region_name: a host label).
REGION = re.compile(r"(?![0-9]+$)(?!-)[a-zA-Z0-9-]{1,63}(?<!-)")


def region() -> str:
    """S3_REGION, else AWS_DEFAULT_REGION, else us-east-1; one botocore refuses stops the
    process: S3_REGION="eu central 1" failed each archive run (InvalidRegionError from boto3)."""
    value = text("S3_REGION") or text("AWS_DEFAULT_REGION", default="us-east-1")
    if not REGION.fullmatch(value):
        name = "S3_REGION" if text("S3_REGION") else "AWS_DEFAULT_REGION"
        raise ImproperlyConfigured(
            f"{name}={value!r} is no region name: give one such as eu-central-1 (letters, "
            "digits and '-')."
        )
    return value


# Of the classes in botocore's StorageClass enum, those read back at once; the others need a
# restore job (GLACIER, DEEP_ARCHIVE) or name FSx's and AWS Backup's data, not uploads.
READABLE_STORAGE_CLASSES = (
    "GLACIER_IR",
    "STANDARD",
    "STANDARD_IA",
    "ONEZONE_IA",
    "INTELLIGENT_TIERING",
    "REDUCED_REDUNDANCY",
    "EXPRESS_ONEZONE",
    "OUTPOSTS",
    "SNOW",
)


def storage_class() -> str:
    """S3_STORAGE_CLASS in upper case (glacier_ir is GLACIER_IR; empty: no class is sent, so
    the store's default, STANDARD on AWS and MinIO). Any other value stops the process: a typo
    such as GLACIER-IR failed each archive run's first upload with the store's
    InvalidStorageClass, maybe a year after the start."""
    raw = env.str("S3_STORAGE_CLASS", default="GLACIER_IR")
    value = raw.strip().upper()
    if value in ("GLACIER", "DEEP_ARCHIVE"):
        raise ImproperlyConfigured(
            f"S3_STORAGE_CLASS={value} objects cannot be read without an S3 restore job, so no "
            "archive run could verify its upload (and none would ever delete): use GLACIER_IR "
            "(instant retrieval, the default) or STANDARD_IA."
        )
    if value and value not in READABLE_STORAGE_CLASSES:
        raise ImproperlyConfigured(
            f"S3_STORAGE_CLASS={raw!r} is not an S3 storage class whose objects read back at "
            "once, as each archive run's check of its upload needs: use one of "
            f"{', '.join(READABLE_STORAGE_CLASSES)} (MinIO: STANDARD or REDUCED_REDUNDANCY)."
        )
    return value
