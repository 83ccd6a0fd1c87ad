"""What the archive store holds of the archive enrich recorded: the objects the archive index
records (ArchiveObject rows, not expired) as a listing of the store finds them now.

The index alone does not say it: an object deleted from the bucket or the directory outside
enrich, expired by a lifecycle rule or replaced by other bytes keeps its row, and nothing but a
restore of its days would notice. The listing (one LIST request per 1,000 objects; none while
nothing is recorded) finds an object gone or of another size than recorded; one replaced by
other bytes of the same size is found by the archive run and the restore, which check its
SHA-256."""

from __future__ import annotations

from dataclasses import dataclass

from enrich.addresses import hidden
from enrich.wording import counted
from retention.archive.store import PREFIX, StorageError
from retention.archive.target import archive_configured, get_storage, not_configured
from retention.models import ArchiveObject

NAMED = 5  # keys a note names; it counts the rest


@dataclass(frozen=True)
class ArchiveSize:
    """`bytes`/`objects`: the recorded objects the store holds at their recorded size (bytes
    None: the store was not listed, `reason` says why); `recorded_*`: what the index records;
    `missing`: keys the store does not hold; `changed`: keys it holds with another size."""

    bytes: int | None
    objects: int
    recorded_bytes: int
    recorded_objects: int
    location: str = ""
    missing: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    reason: str = ""

    def note(self) -> str:
        """What the store lacks of the recorded archive ("" = nothing)."""
        said = []
        if gone := len(self.missing):
            said.append(f"{counted(gone, 'recorded object')} {'is' if gone == 1 else 'are'} "
                        f"not in {self.location} ({_named(self.missing)})")  # fmt: skip
        if self.changed:
            said.append(f"{counted(len(self.changed), 'object')} of another size than "
                        f"recorded ({_named(self.changed)})")  # fmt: skip
        if not said:
            return ""
        return (
            "; ".join(said) + ": deleted or replaced outside enrich (by hand, or by a lifecycle "
            "rule), so their days cannot be restored from them. Admin → Archive objects lists "
            "what the index records"
        )


def _named(keys: tuple[str, ...]) -> str:
    more = f" … and {len(keys) - NAMED} more" if len(keys) > NAMED else ""
    return ", ".join(keys[:NAMED]) + more


def measure_archive() -> ArchiveSize:
    """The recorded objects (not expired) as the archive store (`get_storage`) lists them now."""
    recorded = dict(
        ArchiveObject.objects.filter(expired__isnull=True).values_list("key", "file_size")
    )
    total = sum(recorded.values())
    if not recorded:
        return ArchiveSize(0, 0, 0, 0)
    if not archive_configured():
        reason = not_configured(f"the {len(recorded)} recorded archive objects were not measured")
        return ArchiveSize(None, 0, total, len(recorded), reason=reason)
    try:
        storage = get_storage()
        listed = {info.key: info.size for info in storage.list(PREFIX)}
    except StorageError as exc:
        reason = f"the archive store could not be listed: {hidden(str(exc))}"
        return ArchiveSize(None, 0, total, len(recorded), reason=reason)
    held = [key for key in recorded if listed.get(key) == recorded[key]]
    return ArchiveSize(
        sum(recorded[key] for key in held),
        len(held),
        total,
        len(recorded),
        storage.location,
        tuple(sorted(set(recorded) - set(listed))),
        tuple(sorted(k for k in recorded if k in listed and listed[k] != recorded[k])),
    )
