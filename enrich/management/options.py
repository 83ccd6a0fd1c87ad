"""What the commands' options share: an option given empty (an unset shell variable, as in
`--database $DB`) is refused naming it, never read as the option left out, which would do
what nobody asked (restore into the default database, run over every day)."""

from django.core.management.base import CommandError


def not_empty(option: str, text: str | None, expected: str, left_out: str = "") -> str | None:
    """`text` as given (None when the option was left out); empty or blank, a CommandError
    naming `option` that says to give `expected` or leave it out (`left_out`: what that means,
    e.g. "RESTORE_INFLUXDB_DATABASE")."""
    if text is not None and not text.strip():
        meaning = f" ({left_out})" if left_out else ""
        raise CommandError(f"{option} {text!r} is empty: give {expected}, or leave {option} "
                           f"out{meaning}.")  # fmt: skip
    return text
