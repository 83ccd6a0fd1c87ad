"""What an archive store is: the interface both stores share (`ArchiveStorage`), what they say
of an object, and their errors. The stores: an S3 bucket (`retention.archive.s3`, AWS, MinIO or
any S3 endpoint) and a local directory (`retention.archive.local`); `retention.archive.target`
picks one.

Both keep one key layout (`archives/{year}/data_{date}.parquet`) and offer:

- `put(key, data, storage_class, sse, metadata)` stores bytes (or a file's bytes);
- `head(key)` -> `ObjectInfo` (size, etag, metadata, storage class, encryption, created) or
  None when there is no such object;
- `get(key)` -> the object's bytes; `delete(key)`; `list(prefix)` -> `ObjectInfo`s;
- `check_lifecycle(prefix, years)` -> whether the store itself expires old objects.

Every object carries its SHA-256 (hex) in its metadata as `sha256`: `put` adds it.

Errors: `StorageUnavailable` (cannot reach the store: retry later; `enrich.errors.Transient`)
and `StorageRefused` (the store refused: a person must act; the message says what to fix;
`Permanent`), both `StorageError`s.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol

from enrich.errors import Permanent, Transient

PREFIX = "archives/"  # where every archive object's key starts (the layout above)


class StorageError(Exception):
    """Any failure of the archive store: refused (`StorageRefused`) or out of reach
    (`StorageUnavailable`)."""


class StorageRefused(StorageError, Permanent):
    """The store answered, and said no: a missing bucket, a bad key, a denied permission."""


class StorageUnavailable(StorageError, Transient):
    """The archive store could not be reached or did not answer (transient: retry later)."""


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    etag: str
    last_modified: datetime
    metadata: dict[str, str] = field(default_factory=dict)
    storage_class: str = ""
    sse: str = ""
    checksum_sha256: str = ""  # S3's base64 ChecksumSHA256 of the whole bytes, when returned
    # Uploaded in this many parts (an S3 multipart upload, e.g. `aws s3 cp` above 8 MB): its
    # ChecksumSHA256 is then of its parts' checksums, not of the bytes, and is not kept above.
    parts: int = 0


@dataclass(frozen=True)
class LifecycleStatus:
    """Whether the store expires `prefix` objects by itself after at least `years`."""

    applicable: bool  # False for stores without lifecycle rules (the local directory)
    expires: bool
    rule_id: str = ""
    days: int | None = None
    message: str = ""
    # A versioned bucket keeps deleted and replaced objects as noncurrent versions, and no rule
    # expires them: they are billed for ever (the message says what to add).
    versions_kept: bool = False


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def merged_version(storage: ArchiveStorage, key: str, recorded: str) -> str | None:
    """The SHA-256 of the stored `key` when it is a later version an archive run wrote (a merge
    of late rows: its metadata `replaces` a checksum) other than `recorded`, else None."""
    info = storage.head(key)
    metadata = info.metadata if info is not None else {}
    sha256 = metadata.get("sha256")
    return sha256 if metadata.get("replaces") and sha256 not in (None, recorded) else None


def store_checksum_problem(info: ObjectInfo, sha256: str) -> str | None:
    """Why the store's own SHA-256 of the object contradicts `sha256` (hex, of the bytes read);
    None when it agrees or the store has none of the whole bytes (`ObjectInfo.parts`): then the
    bytes are checked against the metadata's `sha256` and their rows alone."""
    if not info.checksum_sha256:
        return None
    try:
        stored = base64.b64decode(info.checksum_sha256, validate=True)
    except binascii.Error:
        return f"the store's ChecksumSHA256 {info.checksum_sha256!r} is not base64"
    if stored != bytes.fromhex(sha256):
        return "the store's ChecksumSHA256 does not match its bytes"
    return None


class ArchiveStorage(Protocol):
    """The stores subclass it and inherit `put`; each writes the bytes in its `_store`."""

    target: str  # "s3" or "local"
    location: str  # bucket name or directory

    def put(
        self,
        key: str,
        data: bytes | Path,
        storage_class: str = "",
        sse: str = "",
        metadata: dict[str, str] | None = None,
    ) -> ObjectInfo:
        """Store the bytes with their SHA-256 added to `metadata`; what HEAD then finds."""
        body = data if isinstance(data, bytes) else Path(data).read_bytes()
        meta = {**(metadata or {}), "sha256": sha256_hex(body)}
        self._store(key, body, meta, storage_class, sse)
        info = self.head(key)
        if info is None:
            raise StorageRefused(
                f"{key} was uploaded to {self.location!r} but HEAD does not find it."
            )
        return info

    def _store(
        self, key: str, body: bytes, metadata: dict[str, str], storage_class: str, sse: str
    ) -> None: ...

    def head(self, key: str) -> ObjectInfo | None: ...

    def get(self, key: str) -> bytes: ...

    def delete(self, key: str) -> None: ...

    def list(self, prefix: str = "") -> list[ObjectInfo]: ...

    def absent(self) -> str:
        """Why the store holds no archive at all, else "" (a missing bucket: its listing says)."""
        return ""

    def check_lifecycle(self, prefix: str = PREFIX, years: int = 5) -> LifecycleStatus: ...
