"""The archive store in a local directory: `LocalStorage`, with the key layout and interface
of `retention.archive.store`; each object's metadata is kept in a hidden JSON file next to it.
Each file is written whole (`write_whole`, which a restore's --output file uses too).
"""

from __future__ import annotations

import errno
import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from retention.archive.store import (
    PREFIX,
    ArchiveStorage,
    LifecycleStatus,
    ObjectInfo,
    StorageRefused,
)


def staged(path: Path, data: bytes, mode: int | None = None) -> Path:
    """`data` written and synced into a hidden temporary file next to `path`, for `os.replace`
    to put at `path` (OSError, and no temporary file left, when it cannot be written whole).
    `mode`: the file's permissions (else the temporary file's: its owner's only)."""
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", delete=False) as tmp:
        try:
            if mode is not None:
                os.fchmod(tmp.fileno(), mode)
            tmp.write(data)
            tmp.flush()
            os.fsync(tmp.fileno())
        except OSError:
            Path(tmp.name).unlink(missing_ok=True)
            raise
    return Path(tmp.name)


def write_whole(path: Path, data: bytes, mode: int | None = None) -> None:
    """Write `data` next to `path`, then rename it there: a crash or a full disk never leaves
    half a file, and a file at `path` stays as it was until the new one is whole (OSError)."""
    tmp = staged(path, data, mode)
    try:
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise


class LocalStorage(ArchiveStorage):
    """A directory with the same key layout; metadata in a hidden `.<name>.meta.json` file."""

    target = "local"

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self.location = str(self.root)

    def __repr__(self) -> str:
        return f"LocalStorage({self.location!r})"

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root.resolve()) or key.endswith(".meta.json"):
            raise StorageRefused(f"{key!r} is not a valid archive key.")
        return path

    @staticmethod
    def _meta_path(path: Path) -> Path:
        return path.with_name(f".{path.name}.meta.json")

    def _store(
        self, key: str, body: bytes, metadata: dict[str, str], storage_class: str, sse: str
    ) -> None:
        """Both files staged before either is renamed into place: a disk with room for the
        metadata alone (full) changes neither, so the metadata's SHA-256 stays its file's."""
        path = self._path(key)
        meta = json.dumps(metadata, sort_keys=True).encode()
        files: list[Path] = []
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            files = [staged(self._meta_path(path), meta)]
            files.append(staged(path, body))
            for tmp, final in zip(files, (self._meta_path(path), path), strict=True):
                os.replace(tmp, final)  # the metadata first: a merge names what it `replaces`
        except OSError as exc:
            for tmp in files:
                tmp.unlink(missing_ok=True)
            raise StorageRefused(self._unwritable(key, exc)) from exc

    def _unwritable(self, key: str, exc: OSError) -> str:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return (
                f"The archive directory {self.location!r} (ARCHIVE_LOCAL_DIR) is full: {key} "
                f"could not be written ({exc.strerror}). Free space on its disk, or set "
                "ARCHIVE_LOCAL_DIR to a directory on a larger one."
            )
        return (
            f"Cannot write {exc.filename or self.root / key}: {exc}. Check ARCHIVE_LOCAL_DIR "
            "and its permissions."
        )

    def head(self, key: str) -> ObjectInfo | None:
        path = self._path(key)
        try:
            stat = path.stat()
        except FileNotFoundError:
            return None
        meta_path = self._meta_path(path)
        metadata = json.loads(meta_path.read_text()) if meta_path.exists() else {}
        return ObjectInfo(
            key=key,
            size=stat.st_size,
            etag=f"{stat.st_mtime_ns:x}-{stat.st_size:x}",
            last_modified=datetime.fromtimestamp(stat.st_mtime, UTC),
            metadata=metadata,
        )

    def get(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise StorageRefused(f"{key} is not in the archive directory {self.root}.") from None

    def delete(self, key: str) -> None:
        path = self._path(key)
        path.unlink(missing_ok=True)
        self._meta_path(path).unlink(missing_ok=True)

    def absent(self) -> str:
        """The directory missing (the first archive run makes it) or a file, in words."""
        if self.root.is_dir():
            return ""
        state = "is no directory" if self.root.exists() else "does not exist"
        return f"The archive directory {self.location!r} (ARCHIVE_LOCAL_DIR) {state}"

    def list(self, prefix: str = "") -> list[ObjectInfo]:
        if not self.root.exists():
            return []
        infos = []
        for path in sorted(self.root.rglob("*")):
            key = path.relative_to(self.root).as_posix()
            if path.is_file() and not path.name.startswith(".") and key.startswith(prefix):
                info = self.head(key)
                if info is not None:
                    infos.append(info)
        return infos

    def check_lifecycle(self, prefix: str = PREFIX, years: int = 5) -> LifecycleStatus:
        return LifecycleStatus(
            False,
            False,
            message=f"A local directory has no lifecycle rules; enrich expires objects older "
            f"than {years} years itself.",
        )
