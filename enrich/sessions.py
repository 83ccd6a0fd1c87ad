"""The login sessions of the admin, the pages and the API's browser callers: Django's database
sessions (SESSION_ENGINE), with a session key Django would never make taken for no session.

Django reads a quoted cookie's octal escapes, so `Cookie: sessionid="aaaaaaaaaa\\000"` (plain
ASCII, which gunicorn passes on) gives a key holding a NUL, which PostgreSQL refuses in a query:
every request carrying it, /api/health/ and the login page included, would be a 500. Django makes
keys of lowercase letters and digits only; a request with any other key is anonymous, as with
an unknown or expired one."""

from django.contrib.sessions.backends.base import VALID_KEY_CHARS
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore

_KEY_CHARS = frozenset(VALID_KEY_CHARS)


class SessionStore(DatabaseSessionStore):
    def _validate_session_key(self, key: str | None) -> bool:
        return bool(super()._validate_session_key(key)) and set(key) <= _KEY_CHARS
