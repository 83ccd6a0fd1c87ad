"""The one outbound HTTP session: timeouts, retries with backoff, error classes, call log.

Every provider adapter calls the outside world through `request`, `get_json` or `post_json`
and sees only the error classes below, so the pipeline can decide uniformly: transient errors
are retried (here, then by the task), permanent ones need a person, rate limits carry the
time the provider asked us to wait. Each attempt is logged once on the `enrich.http` logger,
with secrets scrubbed from URLs, bodies and exception text; headers are never logged.
"""

from __future__ import annotations

import logging
import os
import random
import re
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import unquote_plus, urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter
from requests.models import PreparedRequest

from enrich.errors import Permanent, Transient

logger = logging.getLogger("enrich.http")

USER_AGENT = "enrich/0.1 (Home Assistant data enrichment)"
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


# --- policy -----------------------------------------------------------------------------


@dataclass(frozen=True)
class HttpPolicy:
    """How patient one call is. Defaults are the settings' defaults (PRD NFR1, NFR4)."""

    timeout: float = 5.0  # seconds per connect and per read
    max_retries: int = 3  # attempts after the first one
    backoff: float = 1.0  # base of the exponential backoff, seconds
    max_retry_after: float = 60.0  # longest wait we sit out inline; also caps the backoff

    @classmethod
    def from_settings(cls) -> HttpPolicy:
        """The policy from Django settings, or the defaults when Django is not configured."""
        from django.conf import settings

        if not settings.configured:
            return cls()
        default = cls()
        return cls(
            timeout=float(getattr(settings, "HTTP_TIMEOUT_SECONDS", default.timeout)),
            max_retries=int(getattr(settings, "HTTP_MAX_RETRIES", default.max_retries)),
            backoff=float(getattr(settings, "HTTP_BACKOFF_SECONDS", default.backoff)),
            max_retry_after=float(
                getattr(settings, "HTTP_MAX_RETRY_AFTER_SECONDS", default.max_retry_after)
            ),
        )


def backoff_delay(attempt: int, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Seconds to wait before retry number `attempt + 1`: full jitter over min(cap, base*2^n)."""
    ceiling = min(cap, base * 2**attempt)
    return (rng or random).uniform(0, ceiling)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After as seconds (a number or an HTTP-date); None when absent or unreadable."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # HTTP-dates are GMT by definition
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


# --- errors -----------------------------------------------------------------------------


def _rebuild(cls: type[HttpError], state: dict[str, Any]) -> HttpError:
    error = cls.__new__(cls)
    Exception.__init__(error, state.get("message", ""))
    error.fields = {}
    error.__dict__.update(state)
    return error


class HttpError(Exception):
    """A call to a provider failed. `str()` says what happened and what to do."""

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        endpoint: str,
        status: int | None = None,
        body_excerpt: str = "",
        attempts: int = 1,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.provider = provider
        self.endpoint = endpoint
        self.status = status
        self.body_excerpt = body_excerpt
        self.attempts = attempts
        # Fields of a JSON error answer the caller asked for verbatim (`error_fields`), e.g. a
        # login challenge's token: never in the message, never pickled.
        self.fields: dict[str, str] = {}

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only arguments defeat Exception's default pickling (Celery pickles errors).
        state = {k: v for k, v in self.__dict__.items() if k != "fields"}
        return (_rebuild, (self.__class__, state))


class TransientError(HttpError, Transient):
    """Timeout, connection failure or 5xx: worth trying again later."""


class RateLimitedError(TransientError):
    """HTTP 429. `retry_after` is the wait the provider asked for, in seconds, if it said."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class PermanentError(HttpError, Permanent):
    """The request itself is wrong (4xx): retrying will not help, a person must act."""


class AuthError(PermanentError):
    """401/403: the provider refused the credentials."""


class MalformedResponse(PermanentError):
    """The answer is not what the adapter can read (not JSON, or failed validation)."""


# --- scrubbing --------------------------------------------------------------------------


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
_WEBHOOK_PATH = re.compile(r"(?i)(/(?:webhook|webhooks|hooks|services)/)[^?#]+")


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


def _excerpt(response: requests.Response, secrets: Iterable[str]) -> str:
    raw = response.content[: EXCERPT_CHARS * 4]
    text = raw.decode(response.encoding or "utf-8", errors="replace")
    text = " ".join(scrub_text(text, secrets).split())
    return text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 1] + "…"


def _secrets_of(url: str, params: Any, headers: Mapping[str, str] | None, auth: Any) -> set[str]:
    """Every secret value this request carries, so it can be removed from any text we emit."""
    found: set[str] = set()
    try:
        parts = urlsplit(url)
        found.update(v for v in (parts.username, parts.password) if v)
        found.update(unquote_plus(v) for v in (parts.username, parts.password) if v)
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


# --- session ----------------------------------------------------------------------------

_session: requests.Session | None = None
_session_pid: int | None = None
_session_lock = threading.Lock()


def get_session() -> requests.Session:
    """The process's session (pooled connections). A forked worker gets its own."""
    global _session, _session_pid
    pid = os.getpid()
    with _session_lock:
        if _session is None or _session_pid != pid:
            session = requests.Session()
            adapter = HTTPAdapter(pool_connections=20, pool_maxsize=20, max_retries=0)
            session.mount("https://", adapter)
            session.mount("http://", adapter)
            session.headers["User-Agent"] = USER_AGENT
            _session, _session_pid = session, pid
        return _session


# --- calls ------------------------------------------------------------------------------


@dataclass
class _Attempt:
    provider: str
    method: str
    endpoint: str
    number: int
    total: int
    started: float

    def log(self, outcome: str, status: int | str | None, level: int, note: str = "") -> None:
        duration_ms = round((time.monotonic() - self.started) * 1000)
        shown = status if status is not None else "-"
        logger.log(
            level,
            "provider=%s method=%s endpoint=%s status=%s duration_ms=%d attempt=%d/%d outcome=%s%s",
            self.provider,
            self.method,
            self.endpoint,
            shown,
            duration_ms,
            self.number,
            self.total,
            outcome,
            f" {note}" if note else "",
            extra={
                "provider": self.provider,
                "method": self.method,
                "endpoint": self.endpoint,
                "status": status if isinstance(status, int) else None,
                "error": status if isinstance(status, str) else None,
                "duration_ms": duration_ms,
                "attempt": self.number,
                "outcome": outcome,
            },
        )


def _connection_problem(exc: requests.RequestException, timeout: float) -> str:
    if isinstance(exc, requests.ConnectTimeout):
        return f"could not connect within {timeout:g} s"
    if isinstance(exc, requests.Timeout):
        return f"no answer within {timeout:g} s"
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return "the connection broke off while reading the answer"
    return "could not connect (connection refused, reset or name not resolved)"


def _attempts(n: int) -> str:
    return "1 attempt" if n == 1 else f"{n} attempts"


def _with_body(message: str, excerpt: str) -> str:
    return f"{message} The provider said: {excerpt}" if excerpt else message


def _status_error(
    provider: str, endpoint: str, status: int, excerpt: str, attempts: int
) -> HttpError:
    kw = {"provider": provider, "endpoint": endpoint, "status": status, "body_excerpt": excerpt}
    if status in (401, 403):
        return AuthError(
            _with_body(
                f"{provider}: {endpoint} refused the credentials (HTTP {status}). Check the API "
                f"key, token or login configured for {provider}, and that the account may use "
                "this endpoint.",
                excerpt,
            ),
            **kw,
        )
    if status >= 500 or status == 408:
        return TransientError(
            _with_body(
                f"{provider}: {endpoint} answered HTTP {status} after {_attempts(attempts)}. "
                "The provider has a temporary problem; the next run will try again.",
                excerpt,
            ),
            attempts=attempts,
            **kw,
        )
    return PermanentError(
        _with_body(
            f"{provider}: {endpoint} answered HTTP {status}, which retrying will not fix. Check "
            f"the settings for {provider} (region, zone, tariff, location, base URL).",
            excerpt,
        ),
        **kw,
    )


def _rate_limited(
    provider: str, endpoint: str, excerpt: str, retry_after: float | None, attempts: int
) -> RateLimitedError:
    wait = (
        f"it asked to wait {retry_after:g} s"
        if retry_after is not None
        else "it did not say how long to wait"
    )
    return RateLimitedError(
        _with_body(
            f"{provider}: {endpoint} is rate limiting us (HTTP 429) after "
            f"{_attempts(attempts)}; {wait}. The task will be rescheduled; if this keeps "
            f"happening, poll {provider} less often.",
            excerpt,
        ),
        provider=provider,
        endpoint=endpoint,
        status=429,
        body_excerpt=excerpt,
        attempts=attempts,
        retry_after=retry_after,
    )


def malformed(
    provider: str,
    response_or_url: requests.Response | str,
    problem: str,
    body: str | bytes | None = None,
) -> MalformedResponse:
    """An error for an answer the adapter cannot use; adapters `raise malformed(...)`.

    `problem` says what was wrong (e.g. "no 'data' list"); the body excerpt comes from the
    response (or from `body`), scrubbed.
    """
    if isinstance(response_or_url, requests.Response):
        endpoint = scrub_url(response_or_url.url or "")
        status: int | None = response_or_url.status_code
        secrets = _secrets_of(
            response_or_url.request.url or "" if response_or_url.request else "",
            None,
            response_or_url.request.headers if response_or_url.request else None,
            None,
        )
        excerpt = _excerpt(response_or_url, secrets) if body is None else ""
    else:
        endpoint, status, secrets, excerpt = scrub_url(response_or_url), None, set(), ""
    if body is not None:
        text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body
        excerpt = " ".join(scrub_text(text, secrets).split())[:EXCERPT_CHARS]
    return MalformedResponse(
        _with_body(
            f"{provider}: the answer from {endpoint} cannot be used: {problem}. The API may "
            "have changed or sent an error page; check the provider's status and the "
            "adapter's documentation.",
            excerpt,
        ),
        provider=provider,
        endpoint=endpoint,
        status=status,
        body_excerpt=excerpt,
    )


def _error_fields(response: requests.Response, names: Iterable[str]) -> dict[str, str]:
    try:
        body = response.json()
    except ValueError:
        return {}
    if not isinstance(body, dict):
        return {}
    return {name: str(body[name]) for name in names if body.get(name) not in (None, "")}


def _is_transient(exc: requests.RequestException) -> bool:
    """Timeouts, refused/reset connections and broken bodies; not TLS or URL mistakes."""
    if isinstance(exc, requests.exceptions.SSLError | requests.exceptions.InvalidURL):
        return False
    return isinstance(
        exc,
        requests.ConnectionError | requests.Timeout | requests.exceptions.ChunkedEncodingError,
    )


def _request_failed(
    provider: str, endpoint: str, exc: requests.RequestException, secrets: Iterable[str]
) -> PermanentError:
    if isinstance(exc, requests.exceptions.SSLError):
        what = "the TLS certificate check failed"
    elif isinstance(exc, requests.TooManyRedirects):
        what = "the provider redirected too many times"
    else:  # invalid URL, missing schema and the like
        what = scrub_text(str(exc), secrets)
    return PermanentError(
        f"{provider}: could not call {endpoint}: {what}. Check the base URL and settings "
        f"configured for {provider}.",
        provider=provider,
        endpoint=endpoint,
    )


def _call(
    provider: str,
    method: str,
    url: str,
    *,
    params: Any,
    headers: Mapping[str, str] | None,
    json: Any,
    data: Any,
    auth: Any,
    timeout: float | None,
    max_retries: int | None,
    policy: HttpPolicy | None,
    want_json: bool,
    error_fields: Iterable[str] = (),
) -> tuple[requests.Response, Any]:
    policy = policy or HttpPolicy.from_settings()
    if timeout is not None:
        policy = replace(policy, timeout=timeout)
    if max_retries is not None:
        policy = replace(policy, max_retries=max_retries)
    if policy.timeout <= 0 or policy.max_retries < 0 or policy.backoff < 0:
        raise ValueError(
            f"{provider}: invalid HTTP policy {policy}: the timeout must be positive and "
            "max_retries and backoff not negative (settings HTTP_TIMEOUT_SECONDS, "
            "HTTP_MAX_RETRIES, HTTP_BACKOFF_SECONDS)."
        )
    method = method.upper()
    prepared = PreparedRequest()
    try:
        prepared.prepare_url(url, params)
        full_url = prepared.url or url
    except (requests.RequestException, ValueError):
        full_url = url
    endpoint = scrub_url(full_url)
    secrets = _secrets_of(url, params, headers, auth)
    total = policy.max_retries + 1
    session = get_session()

    for index in range(total):
        attempt = _Attempt(provider, method, endpoint, index + 1, total, time.monotonic())
        retries_left = index < policy.max_retries
        # Errors are raised outside the `except` blocks: the requests exception's text holds
        # the raw URL (with its secrets) and must not ride along as __context__.
        failure: requests.RequestException | None = None
        try:
            response = session.request(
                method,
                url,
                params=params,
                headers=dict(headers) if headers else None,
                json=json,
                data=data,
                auth=auth,
                timeout=policy.timeout,
            )
        except requests.RequestException as exc:
            failure = exc
        if failure is not None:
            error_name = type(failure).__name__
            if not _is_transient(failure):
                attempt.log("permanent", error_name, logging.WARNING)
                raise _request_failed(provider, endpoint, failure, secrets)
            if retries_left:
                delay = backoff_delay(index, policy.backoff, policy.max_retry_after)
                attempt.log("retry", error_name, logging.WARNING, f"retry_in={delay:.2f}s")
                time.sleep(delay)
                continue
            attempt.log("transient", error_name, logging.WARNING)
            raise TransientError(
                f"{provider}: {endpoint} {_connection_problem(failure, policy.timeout)}, after "
                f"{_attempts(total)} ({error_name}). The service may be slow or down; the next "
                "run will try again.",
                provider=provider,
                endpoint=endpoint,
                attempts=total,
            )

        status = response.status_code
        if 200 <= status < 300:
            if not want_json:
                attempt.log("ok", status, logging.INFO)
                return response, None
            try:
                parsed = response.json()
            except ValueError as exc:
                failure_name = type(exc).__name__
            else:
                attempt.log("ok", status, logging.INFO)
                return response, parsed
            attempt.log("malformed", status, logging.WARNING)
            raise _not_json(provider, response, endpoint, failure_name, secrets)

        excerpt = _excerpt(response, secrets)
        if status == 429:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            if retry_after is not None and retry_after > policy.max_retry_after:
                note = f"retry_after={retry_after:g}s"
                attempt.log("rate_limited", status, logging.WARNING, note)
                raise _rate_limited(provider, endpoint, excerpt, retry_after, index + 1)
            if retries_left:
                delay = (
                    retry_after
                    if retry_after is not None
                    else backoff_delay(index, policy.backoff, policy.max_retry_after)
                )
                attempt.log("retry", status, logging.WARNING, f"retry_in={delay:.2f}s")
                time.sleep(delay)
                continue
            attempt.log("rate_limited", status, logging.WARNING)
            raise _rate_limited(provider, endpoint, excerpt, retry_after, total)

        error = _status_error(provider, endpoint, status, excerpt, index + 1)
        if isinstance(error, TransientError):
            if retries_left:
                delay = backoff_delay(index, policy.backoff, policy.max_retry_after)
                attempt.log("retry", status, logging.WARNING, f"retry_in={delay:.2f}s")
                time.sleep(delay)
                continue
            attempt.log("transient", status, logging.WARNING)
        else:
            attempt.log("permanent", status, logging.WARNING)
        if error_fields:
            error.fields = _error_fields(response, error_fields)
        raise error
    raise AssertionError("unreachable: the loop returns or raises")


def _not_json(
    provider: str,
    response: requests.Response,
    endpoint: str,
    error_name: str,
    secrets: Iterable[str],
) -> MalformedResponse:
    excerpt = _excerpt(response, secrets)
    content_type = response.headers.get("Content-Type", "no content type")
    shown = excerpt or "(empty body)"
    return MalformedResponse(
        f"{provider}: {endpoint} answered HTTP {response.status_code} ({content_type}) but the "
        f"body is not JSON ({error_name}). The API may have changed or sent an error "
        f"page; check the provider's status. The body starts: {shown}",
        provider=provider,
        endpoint=endpoint,
        status=response.status_code,
        body_excerpt=excerpt,
    )


def request(
    provider: str,
    method: str,
    url: str,
    *,
    params: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
    json: Any = None,
    data: Any = None,
    auth: Any = None,
    timeout: float | None = None,
    max_retries: int | None = None,
    policy: HttpPolicy | None = None,
) -> requests.Response:
    """Send a request, retrying transient failures; return the 2xx response or raise."""
    response, _ = _call(
        provider,
        method,
        url,
        params=params,
        headers=headers,
        json=json,
        data=data,
        auth=auth,
        timeout=timeout,
        max_retries=max_retries,
        policy=policy,
        want_json=False,
    )
    return response


def request_json(
    provider: str,
    method: str,
    url: str,
    *,
    params: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
    json: Any = None,
    data: Any = None,
    auth: Any = None,
    timeout: float | None = None,
    max_retries: int | None = None,
    policy: HttpPolicy | None = None,
    error_fields: Iterable[str] = (),
) -> Any:
    """Like `request`, returning the parsed JSON body; a non-JSON 2xx body raises
    MalformedResponse. `error_fields`: names of fields of a JSON error answer to hand over
    verbatim on the raised error's `.fields` (a login challenge's token, say); the message and
    the body excerpt stay scrubbed."""
    merged = dict(headers or {})
    if not any(name.lower() == "accept" for name in merged):
        merged["Accept"] = "application/json"
    _, parsed = _call(
        provider,
        method,
        url,
        params=params,
        headers=merged,
        json=json,
        data=data,
        auth=auth,
        timeout=timeout,
        max_retries=max_retries,
        policy=policy,
        want_json=True,
        error_fields=error_fields,
    )
    return parsed


def get_json(provider: str, url: str, **kwargs: Any) -> Any:
    """GET and return the parsed JSON body (keyword arguments as for `request_json`)."""
    return request_json(provider, "GET", url, **kwargs)


def post_json(provider: str, url: str, **kwargs: Any) -> Any:
    """POST (a JSON body, or form `data`) and return the parsed JSON answer."""
    return request_json(provider, "POST", url, **kwargs)
