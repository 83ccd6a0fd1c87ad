"""Secrets at rest: API keys, passwords and tokens are Fernet-encrypted in the database.

The key comes from FIELD_ENCRYPTION_KEY (settings). Losing or changing it makes stored secrets
unreadable: the error says so instead of handing garbage to a provider.
"""

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

PREFIX = "fernet:"


def _fernet() -> Fernet:
    return Fernet(settings.FIELD_ENCRYPTION_KEY)


def encrypt(plain: str) -> str:
    if not plain:
        return ""
    return PREFIX + _fernet().encrypt(plain.encode()).decode()


def decrypt(stored: str) -> str:
    if not stored:
        return ""
    if not stored.startswith(PREFIX):
        raise ImproperlyConfigured(
            "A secret in the database is not encrypted; re-enter it in the admin."
        )
    try:
        return _fernet().decrypt(stored[len(PREFIX) :].encode()).decode()
    except InvalidToken:
        raise ImproperlyConfigured(
            "A stored secret cannot be decrypted with the current FIELD_ENCRYPTION_KEY. "
            "Restore the key it was saved with, or re-enter the secret in the admin."
        ) from None


class EncryptedTextField(models.TextField):
    """Holds plain text in Python, ciphertext in the database."""

    def from_db_value(self, value, expression, connection):
        return value if value is None else decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        return value if value is None else encrypt(value)
