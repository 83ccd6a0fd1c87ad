"""What the commands' options share: an option given empty (an unset shell variable, as in
`--database $DB`) is refused naming it, never read as the option left out, which would do
what nobody asked (restore into the default database, run over every day); an option given
twice is refused naming it (`once_each`), never read as its last value."""

import argparse

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


class _Once(argparse._StoreAction):
    """argparse's `store`, refusing an option given a second time: argparse keeps the last
    value (`--start 2024-01-01 --start 2024-02-01` would run from February), and which was meant
    is not known, as the API's `?days=1&days=30` is not."""

    def __call__(self, parser, namespace, values, option_string=None):
        if getattr(self, "_given_to", None) is namespace:  # this parse has it already
            raise argparse.ArgumentError(
                self, f"given twice ({getattr(namespace, self.dest)!r}, then {values!r}): give "
                "it once."
            )  # fmt: skip
        self._given_to = namespace
        super().__call__(parser, namespace, values, option_string)


def once_each(parser: argparse.ArgumentParser) -> None:
    """Make every option `parser` is given after this (a command's add_arguments) refuse to be
    given twice, naming it: "argument --start: given twice ('2024-01-01', then '2024-02-01')"."""
    parser.register("action", None, _Once)
    parser.register("action", "store", _Once)
