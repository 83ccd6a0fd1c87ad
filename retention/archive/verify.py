"""Checking archive objects: read one back from the store after its upload (`verify_object`),
parse a stored file, and tell whether archived rows hold given rows value for value.
"""

from __future__ import annotations

import pyarrow as pa

from retention.archive import format as fmt
from retention.archive.errors import VerificationError
from retention.archive.store import (
    ArchiveStorage,
    ObjectInfo,
    sha256_hex,
    store_checksum_problem,
)


def parsed_rows(data: bytes) -> list[fmt.Row] | None:
    """The file's rows; None when it is no archive file (not Parquet, or other columns)."""
    try:
        table = fmt.from_parquet(data)
    except (pa.ArrowException, OSError):
        return None
    return None if fmt.table_problems(table) else fmt.table_rows(table)


def checked_rows(data: bytes, sha256: str | None) -> list[fmt.Row] | None:
    """The file's rows when its bytes have the SHA-256 `sha256` (hex) and it is an archive
    file: what a run may adopt; else None."""
    return parsed_rows(data) if sha256_hex(data) == sha256 else None


def holds(archived: list[fmt.Row], rows: list[fmt.Row]) -> bool:
    """Whether every row is in the archived rows, value for value."""
    index = fmt.row_index(archived)
    return all(index.get(key) == row for key, row in fmt.row_index(rows).items())


def verify_object(
    storage: ArchiveStorage, key: str, checksum: str, size: int, record_count: int
) -> ObjectInfo:
    """Read the object back: size and checksum by HEAD, SHA-256 of the GET bytes, and the
    parsed file's row count. Raises VerificationError on any difference."""
    info = storage.head(key)
    if info is None:
        raise VerificationError(f"{key} is not in {storage.location} after the upload.")
    problems = []
    if info.size != size:
        problems.append(f"size {info.size} instead of {size} bytes")
    if info.metadata.get("sha256") != checksum:
        problems.append(f"metadata sha256 {info.metadata.get('sha256')!r} instead of {checksum}")
    if problem := store_checksum_problem(info, checksum):
        problems.append(problem)
    body = storage.get(key)
    if sha256_hex(body) != checksum:
        problems.append(f"downloaded bytes have sha256 {sha256_hex(body)}")
    else:
        rows = fmt.from_parquet(body).num_rows
        if rows != record_count:
            problems.append(f"{rows} rows instead of {record_count}")
    if problems:
        raise VerificationError(
            f"{key} read back from {storage.location} differs from what was uploaded: "
            + "; ".join(problems)
            + ". Nothing was deleted from InfluxDB; the next run uploads it again."
        )
    return info
