"""The archive's own errors (the stores' are `retention.archive.store`'s)."""

from retention.busy import RunBusy


class ArchiveError(Exception):
    """An archive or restore step failed; nothing was deleted for the file concerned."""


class VerificationError(ArchiveError):
    """What was read back from the store is not what was uploaded."""


class ArchiveBusy(ArchiveError, RunBusy):
    """Another run holds the archive's lock (an archive run, an index rebuild, another
    restore, an hourly run's late points): a restore, or a late point of an archived day,
    waits for it instead of reading files that run replaces or deletes."""
