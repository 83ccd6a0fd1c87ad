"""API tokens in the admin (Auth Token → Tokens, DRF's), named by the first characters of
their key, never by the whole of it: a key is its user's password, and staff read every
user's tokens. The admin names an object by its text wherever it shows one (the change,
history and delete pages' titles, its messages and its log of changes; a user's delete page
lists the user's token), so a token's text is its key's start; the list shows that start.

The key is shown once, to whoever adds the token in the admin, in the message after saving it
(`manage.py create_token` prints it instead). Its user is chosen on the add page and read-only
on its change page: whoever knows a key could otherwise give the token to another user (a
superuser) and act as that user. The search finds a token by its user's name, as DRF's does,
not by its key: a search by the key's start would tell its characters one by one.
"""

from django.contrib import admin, messages
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

    def response_add(self, request, obj, post_url_continue=None):
        self.message_user(
            request,
            f"The token of {obj.user.get_username()} is {obj.key} — copy it now: it is shown "
            f"this once, and the admin shows only its first {SHOWN} characters from now on. "
            "Send it as the header  Authorization: Token <key>.",
            messages.WARNING,
        )
        return super().response_add(request, obj, post_url_continue)


admin.site.unregister(TokenProxy)
admin.site.register(TokenProxy, ApiTokenAdmin)
