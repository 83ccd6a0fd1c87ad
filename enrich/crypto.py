"""Secrets at rest: API keys, passwords and tokens are Fernet-encrypted in the database.

FIELD_ENCRYPTION_KEY holds one key or several, comma-separated, newest first: secrets are
encrypted with the first and decrypted with any of them (MultiFernet). To rotate, put a new key
in front, run `manage.py rotate_field_key` (re-encrypts every secret with it), then drop the
old keys.

A stored secret that no key decrypts loads as an `UnreadableSecret` instead of raising, so
listing rows (the admin, dispatch for every site) keeps working; whatever needs that secret
fails on its own with a message naming the row and the field (`require_readable`).
"""

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

PREFIX = "fernet:"
CANNOT_DECRYPT = "cannot be decrypted with any key in FIELD_ENCRYPTION_KEY"
NOT_ENCRYPTED = "is stored unencrypted"


class SecretUnreadable(ImproperlyConfigured):
    """A stored secret cannot be used; the message names it and says what to do."""


class UnreadableSecret:
    """The Python value of an encrypted column whose stored text cannot be decrypted.

    It keeps the stored text, so saving the row writes it back unchanged (adding the old key
    later still recovers it). Used as text it raises SecretUnreadable: it never reaches a
    provider as if it were the secret."""

    __slots__ = ("stored", "reason")

    def __init__(self, stored: str, reason: str) -> None:
        self.stored = stored
        self.reason = reason

    def __eq__(self, other: object) -> bool:
        return isinstance(other, UnreadableSecret) and other.stored == self.stored

    def __hash__(self) -> int:
        return hash(self.stored)

    def __repr__(self) -> str:
        return f"<secret that {self.reason}>"

    def __str__(self) -> str:
        raise SecretUnreadable(f"A stored secret {self.reason}; re-enter it in the admin.")


def keys() -> list[str]:
    """The configured keys, newest (the one that encrypts) first."""
    return [key.strip() for key in settings.FIELD_ENCRYPTION_KEY.split(",") if key.strip()]


@lru_cache(maxsize=4)
def _fernets(setting: str) -> tuple[Fernet, MultiFernet]:
    each = [Fernet(key.strip()) for key in setting.split(",") if key.strip()]
    return each[0], MultiFernet(each)


def _newest() -> Fernet:
    return _fernets(settings.FIELD_ENCRYPTION_KEY)[0]


def _any_key() -> MultiFernet:
    return _fernets(settings.FIELD_ENCRYPTION_KEY)[1]


def encrypt(plain: str) -> str:
    if not plain:
        return ""
    return PREFIX + _any_key().encrypt(plain.encode()).decode()


def decrypt(stored: str) -> str | UnreadableSecret:
    """The plain text, or an UnreadableSecret saying why there is none."""
    if not stored:
        return ""
    if not stored.startswith(PREFIX):
        return UnreadableSecret(stored, NOT_ENCRYPTED)
    try:
        return _any_key().decrypt(stored[len(PREFIX) :].encode()).decode()
    except InvalidToken:
        return UnreadableSecret(stored, CANNOT_DECRYPT)


def is_current(stored: str) -> bool:
    """Whether the newest key decrypts this stored text (nothing to rotate)."""
    try:
        _newest().decrypt(stored[len(PREFIX) :].encode())
    except InvalidToken:
        return False
    return True


def rotated(stored: str) -> str:
    """The stored text re-encrypted with the newest key; InvalidToken if no key decrypts it."""
    return PREFIX + _any_key().rotate(stored[len(PREFIX) :].encode()).decode()


def unreadable_message(
    instance: models.Model, field_name: str, remedy: str = "re-enter the secret in the admin"
) -> str:
    value = getattr(instance, field_name)
    reason = value.reason if isinstance(value, UnreadableSecret) else CANNOT_DECRYPT
    label = f"{instance._meta.label}.{field_name}"
    if reason == NOT_ENCRYPTED:
        return f"{label} of {instance} (id {instance.pk}) {reason}; {remedy}."
    return (
        f"FIELD_ENCRYPTION_KEY cannot decrypt {label} of {instance} (id {instance.pk}); "
        f"{remedy}, or add the key it was saved with to FIELD_ENCRYPTION_KEY (comma-separated, "
        "newest first)."
    )


def unreadable_fields(instance: models.Model) -> list[str]:
    """The names of the instance's encrypted fields whose stored secret cannot be read."""
    return [
        field.name
        for field in instance._meta.concrete_fields
        if isinstance(field, EncryptedTextField)
        and isinstance(getattr(instance, field.attname), UnreadableSecret)
    ]


def require_readable(instance: models.Model, *field_names: str, **remedy: str) -> None:
    """Raise SecretUnreadable (naming the row and field) if one of these secrets is unreadable;
    `remedy` overrides what the message tells the reader to do."""
    for name in field_names:
        if isinstance(getattr(instance, name), UnreadableSecret):
            raise SecretUnreadable(unreadable_message(instance, name, **remedy))


class EncryptedTextField(models.TextField):
    """Holds plain text in Python, ciphertext in the database (an UnreadableSecret when no key
    decrypts it)."""

    def from_db_value(self, value, expression, connection):
        return value if value is None else decrypt(value)

    def to_python(self, value):
        if isinstance(value, UnreadableSecret):
            return value
        return super().to_python(value)

    def get_prep_value(self, value):
        if isinstance(value, UnreadableSecret):
            return value.stored  # unchanged: still recoverable with its key
        value = super().get_prep_value(value)
        return value if value is None else encrypt(value)
