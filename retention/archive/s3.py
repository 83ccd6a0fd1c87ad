"""The archive store in an S3 bucket (AWS, MinIO, any S3 endpoint): `S3Storage`.

The ONLY module that imports boto3; the interface and errors it shares with the local
directory are `retention.archive.store`'s.

Every object carries its SHA-256 twice: as user metadata `sha256` (hex, survives any
S3-compatible store) and as S3's own `ChecksumSHA256` (the store checks the upload against
it and returns it on HEAD with ChecksumMode). An object copied in with a multipart upload
(`aws s3 cp` above 8 MB) has a composite ChecksumSHA256 instead, the SHA-256 of its parts'
SHA-256s ("<base64>-<parts>"), which no SHA-256 of the whole bytes can match: HEAD reports its
parts (`ObjectInfo.parts`) and no whole-object checksum.
"""

from __future__ import annotations

import base64
import re
from contextlib import closing
from dataclasses import replace
from typing import Any

from enrich.deadline import NoAnswer, missed, wait_at_most
from retention.archive.store import (
    PREFIX,
    ArchiveStorage,
    LifecycleStatus,
    ObjectInfo,
    StorageError,
    StorageRefused,
    StorageUnavailable,
)

DAYS_PER_YEAR = 365
MISSING = ("404", "NoSuchKey", "NotFound")  # what S3 answers for a key that is not there
PARTS = re.compile(r"-(\d+)$")  # how the ETag and the checksum of a multipart upload end
SERVICE = "the archive store"  # its name for enrich.deadline


class S3Storage(ArchiveStorage):
    """An S3 bucket through boto3 (AWS, or `endpoint_url` for MinIO and other stores)."""

    target = "s3"

    def __init__(
        self,
        bucket: str,
        *,
        endpoint_url: str = "",
        region: str = "us-east-1",
        access_key: str = "",
        secret_key: str = "",
        kms_key_id: str = "",
        timeout: float = 30.0,
    ) -> None:
        import boto3
        from botocore.config import Config

        if not bucket:
            raise StorageRefused("S3_ARCHIVE_BUCKET is empty: name the bucket to archive to.")
        self.bucket = self.location = bucket
        self.endpoint_url = endpoint_url
        # In a web request the waits end within WEB_TIMEOUT (enrich.deadline): one try, its
        # connecting and its reading each at most half the time the request has left.
        attempts, left = 3, self._left("connecting")
        if left is not None:
            timeout, attempts = min(timeout, left / 2), 1
        self.kms_key_id = kms_key_id
        credentials = (
            {"aws_access_key_id": access_key, "aws_secret_access_key": secret_key}
            if access_key
            else {}
        )
        self._client = boto3.client(
            "s3",
            endpoint_url=endpoint_url or None,
            region_name=region or None,
            config=Config(
                connect_timeout=timeout,
                read_timeout=timeout,
                retries={"max_attempts": attempts, "mode": "standard"},
                # MinIO and moto serve buckets as paths, not as host names.
                s3={"addressing_style": "path"} if endpoint_url else {},
            ),
            **credentials,
        )

    def __repr__(self) -> str:
        where = f" at {self.endpoint_url}" if self.endpoint_url else ""
        return f"S3Storage({self.bucket!r}{where})"

    def _left(self, doing: str) -> float | None:
        """The seconds the current web request has left to wait for the store (None outside
        one); StorageUnavailable when it has none, or the store did not answer earlier in it."""
        try:
            return wait_at_most(SERVICE, None)
        except NoAnswer as exc:
            raise StorageUnavailable(
                f"The archive store {self.endpoint_url or 'AWS S3'} does not answer ({exc}) "
                f"while {doing}; try again later."
            ) from None

    def _call(
        self,
        doing: str,
        method: str,
        missing: Any = ...,
        absent: tuple = MISSING,
        read_body: bool = False,
        **kwargs: Any,
    ) -> Any:
        """Call boto3, turning its errors into ours; an answer with an error code in `absent`
        (a missing key) returns `missing` if given; `read_body`: the answer's body is read and
        returned, its errors (it streams after the answer's head) the call's."""
        from botocore.exceptions import (
            BotoCoreError,
            ClientError,
            ConnectTimeoutError,
            EndpointConnectionError,
            NoCredentialsError,
            ReadTimeoutError,
        )

        self._left(doing)
        try:
            answer = getattr(self._client, method)(Bucket=self.bucket, **kwargs)
            if not read_body:
                return answer
            with closing(answer["Body"]) as body:
                return body.read()
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if missing is not ... and code in absent:
                return missing
            raise self._refused(doing, exc) from exc
        except NoCredentialsError as exc:
            # A setting to fix, not the store out of reach: retrying changes nothing.
            raise StorageRefused(
                f"No AWS credentials for bucket {self.bucket!r} while {doing}: {exc}. Set "
                "AWS_ACCESS_KEY/AWS_SECRET_KEY, or give boto3's credential chain some (an "
                "instance role, ~/.aws/credentials)."
            ) from exc
        except (EndpointConnectionError, BotoCoreError) as exc:
            where = self.endpoint_url or "AWS S3"
            if isinstance(exc, ConnectTimeoutError | ReadTimeoutError):
                missed(SERVICE)  # the rest of a web request does not wait for it again
            raise StorageUnavailable(
                f"Cannot reach the archive store {where} while {doing}: {exc}. Check "
                "S3_ENDPOINT_URL and the network, then try again (a run can simply be repeated)."
            ) from exc

    def _refused(self, doing: str, exc: Any) -> StorageError:
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        message = error.get("Message", "") or str(exc)
        if code in ("NoSuchBucket",):
            hint = f"Create the bucket {self.bucket!r} or correct S3_ARCHIVE_BUCKET."
        elif code == "InvalidObjectState":
            # GLACIER or DEEP_ARCHIVE (a lifecycle rule moved it, or someone changed its class):
            # unlike Glacier Instant Retrieval, it is read only after a restore job.
            hint = (
                "The object is in an archive storage class that needs a restore before it can "
                "be read: start one (aws s3api restore-object, or the S3 console), wait until "
                "it is done (hours), then repeat; keep archives in GLACIER_IR (S3_STORAGE_CLASS) "
                "and check the bucket's lifecycle rules for a transition."
            )
        elif code in ("InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied") or status in (
            401,
            403,
        ):
            hint = (
                "Check AWS_ACCESS_KEY/AWS_SECRET_KEY and that they may read and write "
                f"{self.bucket!r}."
            )
        elif code == "InvalidStorageClass":
            hint = "This store does not offer S3_STORAGE_CLASS; MinIO needs STANDARD."
        elif "encryption" in message.lower() or "kms" in message.lower():
            hint = "This store cannot encrypt as S3_SSE asks; set S3_SSE=none or configure KMS."
        elif status >= 500 or code in ("SlowDown", "ServiceUnavailable", "InternalError"):
            return StorageUnavailable(
                f"The archive store answered {code or status} while {doing}: {message}. "
                "Retry later."
            )
        else:
            hint = "See the store's message."
        return StorageRefused(
            f"The archive store refused {doing} in bucket {self.bucket!r} "
            f"({code or status}): {message}. {hint}"
        )

    def _store(
        self, key: str, body: bytes, metadata: dict[str, str], storage_class: str, sse: str
    ) -> None:
        extra: dict[str, Any] = {}
        if storage_class:
            extra["StorageClass"] = storage_class
        if sse:
            extra["ServerSideEncryption"] = sse
            if sse == "aws:kms" and self.kms_key_id:
                extra["SSEKMSKeyId"] = self.kms_key_id
        self._call(
            f"uploading {key}",
            "put_object",
            Key=key,
            Body=body,
            Metadata=metadata,
            ChecksumAlgorithm="SHA256",
            ChecksumSHA256=base64.b64encode(bytes.fromhex(metadata["sha256"])).decode(),
            ContentType="application/vnd.apache.parquet",
            **extra,
        )

    def head(self, key: str) -> ObjectInfo | None:
        answer = self._call(
            f"reading {key}'s metadata", "head_object", None, Key=key, ChecksumMode="ENABLED"
        )
        if answer is None:
            return None
        etag = str(answer.get("ETag", "")).strip('"')
        checksum = str(answer.get("ChecksumSHA256", ""))
        # Some stores (moto) leave the "-<parts>" off the checksum; the ETag still has it.
        parts = _parts(checksum) or _parts(etag)
        whole = not parts or answer.get("ChecksumType") == "FULL_OBJECT"
        return ObjectInfo(
            key=key,
            size=int(answer["ContentLength"]),
            etag=etag,
            last_modified=answer["LastModified"],
            metadata=dict(answer.get("Metadata") or {}),
            # S3 leaves StorageClass out of HEAD for STANDARD objects.
            storage_class=answer.get("StorageClass", "STANDARD"),
            sse=answer.get("ServerSideEncryption", ""),
            checksum_sha256=checksum if whole else "",
            parts=parts,
        )

    def get(self, key: str) -> bytes:
        return self._call(f"downloading {key}", "get_object", Key=key, read_body=True)

    def delete(self, key: str) -> None:
        self._call(f"deleting {key}", "delete_object", Key=key)

    def list(self, prefix: str = "") -> list[ObjectInfo]:
        objects = []
        token: dict[str, str] = {}
        while True:
            page = self._call(
                f"listing {prefix or 'the bucket'}", "list_objects_v2", Prefix=prefix, **token
            )
            for item in page.get("Contents", []):
                objects.append(
                    ObjectInfo(
                        key=item["Key"],
                        size=int(item["Size"]),
                        etag=str(item.get("ETag", "")).strip('"'),
                        last_modified=item["LastModified"],
                        storage_class=item.get("StorageClass", "STANDARD"),
                    )
                )
            if not page.get("IsTruncated"):
                return objects
            token = {"ContinuationToken": page["NextContinuationToken"]}

    def check_lifecycle(self, prefix: str = PREFIX, years: int = 5) -> LifecycleStatus:
        answer = self._call(
            "reading the bucket's lifecycle rules",
            "get_bucket_lifecycle_configuration",
            None,
            absent=("NoSuchLifecycleConfiguration",),
        )
        rules = [r for r in (answer or {}).get("Rules", []) if r.get("Status") == "Enabled"]
        status = self._expiration(rules, answer is not None, prefix, years)
        if kept := self._versions_kept(rules, prefix, years):
            return replace(status, versions_kept=True, message=f"{status.message} {kept}")
        return status

    def _expiration(
        self, rules: list[dict[str, Any]], configured: bool, prefix: str, years: int
    ) -> LifecycleStatus:
        """Whether an enabled rule expires `prefix` objects, and not before `years`."""
        need = years * DAYS_PER_YEAR
        if not configured:  # NoSuchLifecycleConfiguration
            return LifecycleStatus(
                True,
                False,
                message=f"Bucket {self.bucket!r} has no lifecycle rules; enrich expires "
                f"objects older than {years} years itself.",
            )
        # Every enabled expiration rule whose prefix overlaps `prefix` deletes some of its
        # objects; where rules overlap, S3 honours the shorter expiration.
        expiring = sorted(
            (
                (int(rule["Expiration"]["Days"]), _rule_prefix(rule), rule)
                for rule in rules
                if (rule.get("Expiration") or {}).get("Days") is not None
            ),
            key=lambda found: found[0],
        )
        overlapping = [r for r in expiring if prefix.startswith(r[1]) or r[1].startswith(prefix)]
        if overlapping and overlapping[0][0] < need:
            days, rule_prefix, rule = overlapping[0]
            return LifecycleStatus(
                True,
                False,
                rule.get("ID", ""),
                days,
                f"Lifecycle rule {rule.get('ID', '')!r} expires {rule_prefix or '/'}* after "
                f"{days} days, before the {years} years (>= {need} days) archives are "
                "kept: lengthen it.",
            )
        for days, rule_prefix, rule in overlapping:
            if _covers(rule, prefix):  # a tag or size condition leaves (some) archives out
                return LifecycleStatus(
                    True,
                    True,
                    rule.get("ID", ""),
                    days,
                    f"Lifecycle rule {rule.get('ID', '')!r} expires {rule_prefix or '/'}* "
                    f"after {days} days.",
                )
        return LifecycleStatus(
            True,
            False,
            message=f"No enabled expiration rule for {prefix} in {self.bucket!r}; enrich "
            f"expires objects older than {years} years itself.",
        )

    def _versions_kept(self, rules: list[dict[str, Any]], prefix: str, years: int) -> str:
        """What to fix when the bucket keeps old versions of `prefix` objects for ever: with
        versioning on (or suspended), a delete (enrich's expiry, a lifecycle Expiration) only
        adds a delete marker and an overwrite (a merge of late rows) keeps the old bytes; both
        stay, billed, as noncurrent versions until NoncurrentVersionExpiration removes them."""
        try:
            answer = self._call("reading the bucket's versioning", "get_bucket_versioning")
        except StorageError as exc:  # e.g. not allowed: the expiration report still stands
            return (
                f"Whether old versions of archives are kept is unknown ({exc}); allow "
                "s3:GetBucketVersioning to have it checked."
            )
        versioning = answer.get("Status", "")
        if versioning not in ("Enabled", "Suspended"):
            return ""
        if any(rule.get("NoncurrentVersionExpiration") and _covers(rule, prefix) for rule in rules):
            return ""
        return (
            f"Warning: bucket {self.bucket!r} has versioning {versioning.lower()} and no "
            f"enabled lifecycle rule expires noncurrent versions of {prefix}: every archive "
            f"deleted (the {years}-year expiry) or replaced (a merge of late rows) stays as a "
            "noncurrent version, billed for ever. Add NoncurrentVersionExpiration (e.g. "
            f'{{"NoncurrentDays": 30}}) to a lifecycle rule for {prefix} (docs/storage.md, '
            "Expiry)."
        )


def _parts(value: str) -> int:
    match = PARTS.search(value)
    return int(match.group(1)) if match else 0


def _covers(rule: dict[str, Any], prefix: str) -> bool:
    """Whether the rule applies to every object under `prefix` (no tag or size condition)."""
    rule_filter = rule.get("Filter") or {}
    conditions = {**rule_filter, **(rule_filter.get("And") or {})}
    narrowed = any(value for name, value in conditions.items() if name not in ("Prefix", "And"))
    return prefix.startswith(_rule_prefix(rule)) and not narrowed


def _rule_prefix(rule: dict[str, Any]) -> str:
    if "Prefix" in rule:  # the older rule form
        return rule["Prefix"] or ""
    rule_filter = rule.get("Filter") or {}
    if "Prefix" in rule_filter:
        return rule_filter["Prefix"] or ""
    return (rule_filter.get("And") or {}).get("Prefix", "") or ""
