"""Secrets out of everything the HTTP door emits: log lines, error messages, call records.

A request's secrets are its credentials (userinfo, secret-looking query values, sensitive
headers, `auth`); `secrets_of` collects them so `scrub_text` can remove them from any text
from outside (bodies, exception messages) before we show it. Headers are never logged.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import unquote_plus, urlsplit, urlunsplit

import requests
from requests.models import PreparedRequest

EXCERPT_CHARS = 300
REDACTED = "***"

# Parameter names containing one of these (case-insensitive) are secrets.
_SECRET_SUBSTRINGS = (
    "key",
    "token",
    "secret",
    "password",
    "passwd",
    "auth",
    "signature",
)
# Short words match only as a whole word of the name (so `signal_type` and `barcode` stay
# readable, while `sig`, `code`, `zip_code` and `authCode` are scrubbed).
_SECRET_WORDS = ("sig", "code")
_SENSITIVE_HEADER_PARTS = ("auth", "key", "token", "secret", "cookie", "session", "signature")


def _name_words(name: str) -> list[str]:
    return [w.lower() for w in re.findall(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])", name)]


def is_secret_name(name: str, words: Iterable[str] = _SECRET_WORDS) -> bool:
    """Whether a query parameter (or form/JSON field) name looks like it holds a secret."""
    lowered = name.lower()
    if any(part in lowered for part in _SECRET_SUBSTRINGS):
        return True
    return any(word in words for word in _name_words(name))


def scrub_url(url: str) -> str:
    """The URL without userinfo and fragment, with secret-looking query values as `***`."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "<unparseable url>"
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = f"{host}:{port}" if port is not None else host
    pairs = []
    for pair in parts.query.split("&") if parts.query else []:
        name, sep, _value = pair.partition("=")
        if is_secret_name(unquote_plus(name)):
            pairs.append(f"{name}={REDACTED}")
        else:
            pairs.append(pair if sep else name)
    return urlunsplit((parts.scheme, netloc, _scrub_path(parts.path), "&".join(pairs), ""))


# A webhook's id is its password (Home Assistant: /api/webhook/<id>; Slack: /services/<ids>).
# (up to the query, or a space or quote where a log line quotes the path)
_WEBHOOK_PATH = re.compile(r"(?i)(/(?:webhook|webhooks|hooks|services)/)[^?#\s\"']+")


def _scrub_path(path: str) -> str:
    return _WEBHOOK_PATH.sub(lambda m: m.group(1) + REDACTED, path)


_KEY_VALUE = re.compile(
    r"""(?P<key>["']?(?P<name>[A-Za-z_][\w.-]*)["']?\s*[:=]\s*)(?P<value>"[^"]*"|'[^']*'|[^\s&,;}"']+)"""
)
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{6,}")
_URL = re.compile(r"https?://[^\s\"'<>]+")


def scrub_text(text: str, secrets: Iterable[str] = ()) -> str:
    """Text from outside (bodies, exception messages) with secrets removed.

    Removes the given secret values, `name=value` / `"name": "value"` pairs whose name looks
    secret, bearer/basic credentials, and userinfo/secret query values inside URLs.
    """
    for secret in sorted({s for s in secrets if s and len(s) >= 3}, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    text = _URL.sub(lambda m: scrub_url(m.group(0)), text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)

    def _pair(m: re.Match[str]) -> str:
        # In bodies "code" is an error code (`{"error": {"code": "400 Bad Request"}}`), kept.
        if not is_secret_name(m.group("name"), words=("sig",)):
            return m.group(0)
        value = m.group("value")
        quote = value[0] if value[:1] in "\"'" else ""
        return f"{m.group('key')}{quote}{REDACTED}{quote}"

    return _KEY_VALUE.sub(_pair, text)


def excerpt_of(response: requests.Response, secrets: Iterable[str]) -> str:
    """The start of the response's body, scrubbed, on one line, at most EXCERPT_CHARS long."""
    raw = response.content[: EXCERPT_CHARS * 4]
    text = raw.decode(response.encoding or "utf-8", errors="replace")
    text = " ".join(scrub_text(text, secrets).split())
    return text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 1] + "…"


def secrets_of(url: str, params: Any, headers: Mapping[str, str] | None, auth: Any) -> set[str]:
    """Every secret value this request carries, so it can be removed from any text we emit."""
    found: set[str] = set()
    try:
        parts = urlsplit(url)
        found.update(v for v in (parts.username, parts.password) if v)
        found.update(unquote_plus(v) for v in (parts.username, parts.password) if v)
        if hook := _WEBHOOK_PATH.search(parts.path):  # an answer may echo the id, or a part
            found.update(p for p in hook.group(0)[len(hook.group(1)) :].split("/") if p)
    except ValueError:
        pass
    prepared = PreparedRequest()
    try:
        prepared.prepare_url(url, params)
        query = urlsplit(prepared.url or "").query
    except (requests.RequestException, ValueError):
        query = ""
    for pair in query.split("&") if query else []:
        name, _, value = pair.partition("=")
        if value and is_secret_name(unquote_plus(name)):
            found.update({value, unquote_plus(value)})
    for name, value in (headers or {}).items():
        if value and any(part in name.lower() for part in _SENSITIVE_HEADER_PARTS):
            found.add(str(value))
            found.update(str(value).split()[1:])  # the credential after "Bearer"/"Basic"
    if isinstance(auth, tuple | list):
        found.update(str(v) for v in auth if v)
    else:
        for attr in ("username", "password", "token"):
            value = getattr(auth, attr, None)
            if value:
                found.add(value.decode() if isinstance(value, bytes) else str(value))
    return found


# Our own packages scrub what they log; the libraries below them do not (urllib3 logs each
# request line with its query at DEBUG, requests-oauthlib the token bodies it sends and gets).
_OUR_LOGGERS = ("enrich", "collectors", "retention", "dashboard", "config")


class ScrubLibraryLogs(logging.Filter):
    """A log handler's filter: a library's record leaves with its secrets scrubbed (secret
    query values and `name=value` pairs, bearer/basic credentials, webhook ids in paths) from
    its message and its traceback, whatever LOG_LEVEL lets through."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.partition(".")[0] in _OUR_LOGGERS:
            return True
        message = record.getMessage()
        scrubbed = _scrub_path(scrub_text(message))
        if scrubbed != message:
            record.msg, record.args = scrubbed, None
        if record.exc_info and not record.exc_text:
            record.exc_text = scrub_text(logging.Formatter().formatException(record.exc_info))
        return True
