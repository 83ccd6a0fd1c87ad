"""The archive's own errors (the stores' are `retention.archive.store`'s)."""


class ArchiveError(Exception):
    """An archive or restore step failed; nothing was deleted for the file concerned."""


class VerificationError(ArchiveError):
    """What was read back from the store is not what was uploaded."""
