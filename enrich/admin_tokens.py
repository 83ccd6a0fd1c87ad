"""API tokens in the admin (Auth Token → Tokens, DRF's), named by the first characters of
their key, never by the whole of it: a key is its user's password, and staff read every
user's tokens. The admin names an object by its text wherever it shows one (the change,
history and delete pages' titles, its messages and its log of changes; a user's delete page
lists the user's token), so a token's text is its key's start; the list shows that start.

The key is shown once, to whoever adds the token in the admin, in the message after saving it
(`manage.py create_token` prints it instead). Its user is chosen on the add page and read-only
on its change page: whoever knows a key could otherwise give the token to another user (a
superuser) and act as that user. The search finds a token by its user's name, as DRF's does,
not by its key: a search by the key's start would tell its characters one by one. So would a
filter in a list's address (?key__startswith=3f, or ?auth_token__key__startswith=3f on the
users' list): each is refused (400), as Django refuses one by a user's password.
"""

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.db.models.constants import LOOKUP_SEP
from rest_framework.authtoken.admin import TokenAdmin
from rest_framework.authtoken.models import Token, TokenProxy

SHOWN = 8  # characters of a key the admin shows: enough to tell a user's tokens apart


def key_start(token: Token) -> str:
    return f"{token.key[:SHOWN]}…" if token.key else ""


# TokenProxy, which the admin lists, inherits it; DRF's own text is the whole key.
setattr(Token, "__str__", key_start)  # noqa: B010 (an assignment reads as unused to vulture)


class ApiTokenAdmin(TokenAdmin):
    list_display = ("key_start", "user", "created")

    @admin.display(description=f"key (its first {SHOWN} characters)")
    def key_start(self, token: Token) -> str:
        return key_start(token)

    def get_fields(self, request, obj=None):
        return ("user",) if obj is None else ("user", "key_start")

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else ("user", "key_start")

    def lookup_allowed(self, lookup, value, request=None) -> bool:
        return not _through(lookup, "key", "pk") and super().lookup_allowed(lookup, value, request)

    def response_add(self, request, obj, post_url_continue=None):
        self.message_user(
            request,
            f"The token of {obj.user.get_username()} is {obj.key} — copy it now: it is shown "
            f"this once, and the admin shows only its first {SHOWN} characters from now on. "
            "Send it as the header  Authorization: Token <key>.",
            messages.WARNING,
        )
        return super().response_add(request, obj, post_url_continue)


class UserWithTokenAdmin(UserAdmin):
    def lookup_allowed(self, lookup, value, request=None) -> bool:
        return not _through(lookup, "auth_token") and super().lookup_allowed(lookup, value, request)


def _through(lookup: str, *names: str) -> bool:
    """Whether a list's filter `lookup` starts with one of `names` (a token's key)."""
    return lookup.split(LOOKUP_SEP, 1)[0] in names


admin.site.unregister(TokenProxy)
admin.site.register(TokenProxy, ApiTokenAdmin)
admin.site.unregister(get_user_model())
admin.site.register(get_user_model(), UserWithTokenAdmin)
