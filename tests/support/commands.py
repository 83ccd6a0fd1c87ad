"""Running a management command that must refuse: its CommandError's words."""

import pytest
from django.core.management import CommandError, call_command


def refusal(*argv: str) -> str:
    """What `manage.py <argv>` says as it stops with a CommandError (the test fails if it does
    not stop so)."""
    with pytest.raises(CommandError) as refused:
        call_command(*argv)
    return str(refused.value)
