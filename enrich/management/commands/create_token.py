"""manage.py create_token --read-only NAME (or --operator NAME): a user and its API token."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from rest_framework.authtoken.models import Token

from enrich.access import TRIGGER_PERMISSION, may_trigger, username_problem


def trigger_permission() -> Permission:
    app_label, codename = TRIGGER_PERMISSION.split(".")
    return Permission.objects.get(content_type__app_label=app_label, codename=codename)


class Command(BaseCommand):
    help = (
        "Create an API user NAME (no password: it logs in with its token only) and print its "
        "token. --read-only: it may read every endpoint and change nothing (use this for Home "
        "Assistant). --operator: it may also change data and start work (permission "
        f"{TRIGGER_PERMISSION}). An existing user keeps its token unless --rotate."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="user name, e.g. home-assistant")
        kind = parser.add_mutually_exclusive_group(required=True)
        kind.add_argument("--read-only", action="store_true", help="may only read")
        kind.add_argument("--operator", action="store_true", help="may also trigger work")
        parser.add_argument("--rotate", action="store_true", help="replace an existing token")

    @transaction.atomic
    def handle(self, *args, name: str, read_only: bool, operator: bool, rotate: bool,
               **options) -> None:  # fmt: skip
        if problem := username_problem(name):
            raise CommandError(f"NAME {name!r}: {problem}")
        User = get_user_model()
        user = User.objects.filter(username=name).first()
        created = user is None
        if created:
            user = User.objects.create_user(username=name)  # no usable password
        if read_only and may_trigger(user):
            raise CommandError(
                f"User {name!r} is staff or has {TRIGGER_PERMISSION}, so its token could "
                "change data. Choose another name for the read-only token."
            )
        if operator and not may_trigger(user):
            user.user_permissions.add(trigger_permission())
        if rotate:
            Token.objects.filter(user=user).delete()
        token, fresh = Token.objects.get_or_create(user=user)
        rights = "read only" if read_only else f"read, change and trigger ({TRIGGER_PERMISSION})"
        state = "new token" if fresh else "existing token (--rotate replaces it)"
        self.stdout.write(
            f"{'Created user' if created else 'User'} {name!r}, {rights}; {state}:\n"
            f"{token.key}\n"
            f"Send it as the header  Authorization: Token {token.key}"
        )
