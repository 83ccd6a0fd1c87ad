"""The HTTP door's errors, and the message each failure gives a person.

Every class derives from `HttpError` and from `enrich.errors.Transient` or `Permanent`, which
is all a retry decision reads. The builders below turn a status, an answer or a requests
exception into one of them, with a message that says what happened and what to do; bodies
and exception texts pass through scrubbing first.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import requests

from enrich.errors import Permanent, Transient
from enrich.http.scrubbing import EXCERPT_CHARS, excerpt_of, scrub_text, scrub_url, secrets_of


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


# --- what each failure says -------------------------------------------------------------


def _connection_problem(exc: requests.RequestException, timeout: float) -> str:
    if isinstance(exc, requests.ConnectTimeout):
        return f"could not connect within {timeout:g} s"
    if isinstance(exc, requests.Timeout):
        return f"no answer within {timeout:g} s"
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return "the connection broke off while reading the answer"
    return "could not connect (connection refused, reset or name not resolved)"


def attempts_made(n: int, refused: str = "") -> str:
    """ "3 attempts"; with `refused` (why no retry was allowed, e.g. "budget used up"):
    "1 attempt (budget used up, not retried)"."""
    made = "1 attempt" if n == 1 else f"{n} attempts"
    return f"{made} ({refused}, not retried)" if refused else made


def _with_body(message: str, excerpt: str) -> str:
    return f"{message} The provider said: {excerpt}" if excerpt else message


def status_error(
    provider: str,
    endpoint: str,
    status: int,
    excerpt: str,
    attempts: int,
    check: str | None = None,
    refused: str = "",
) -> HttpError:
    """The error for a non-2xx answer other than 429: 401/403 auth, 5xx/408 transient.
    `check`: what a person checks when the request is refused or wrong (the caller knows,
    e.g. "ALERT_WEBHOOK_URL ..."); by default a provider's credentials or settings.
    `refused`: why a retry the policy allowed was not made (`enrich.http.attempts`)."""
    kw = {"provider": provider, "endpoint": endpoint, "status": status, "body_excerpt": excerpt}
    if status in (401, 403):
        refusal = (
            f"refused the request (HTTP {status}). Check {check}."
            if check
            else f"refused the credentials (HTTP {status}). Check the API key, token or login "
            f"configured for {provider}, and that the account may use this endpoint."
        )
        return AuthError(_with_body(f"{provider}: {endpoint} {refusal}", excerpt), **kw)
    if status >= 500 or status == 408:
        return TransientError(
            _with_body(
                f"{provider}: {endpoint} answered HTTP {status} after "
                f"{attempts_made(attempts, refused)}. The provider has a temporary problem; the "
                "next run will try again.",
                excerpt,
            ),
            attempts=attempts,
            **kw,
        )
    check = check or f"the settings for {provider} (region, zone, tariff, location, base URL)"
    return PermanentError(
        _with_body(
            f"{provider}: {endpoint} answered HTTP {status}, which retrying will not fix. "
            f"Check {check}.",
            excerpt,
        ),
        **kw,
    )


def rate_limited(
    provider: str,
    endpoint: str,
    excerpt: str,
    retry_after: float | None,
    attempts: int,
    refused: str = "",
) -> RateLimitedError:
    """The error for HTTP 429, carrying the wait the provider asked for; `refused` as for
    `status_error`."""
    wait = (
        f"it asked to wait {retry_after:g} s"
        if retry_after is not None
        else "it did not say how long to wait"
    )
    return RateLimitedError(
        _with_body(
            f"{provider}: {endpoint} is rate limiting us (HTTP 429) after "
            f"{attempts_made(attempts, refused)}; {wait}. The task will be rescheduled; if "
            f"this keeps happening, poll {provider} less often.",
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
        secrets = secrets_of(
            response_or_url.request.url or "" if response_or_url.request else "",
            None,
            response_or_url.request.headers if response_or_url.request else None,
            None,
        )
        excerpt = excerpt_of(response_or_url, secrets) if body is None else ""
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


def error_fields_of(response: requests.Response, names: Iterable[str]) -> dict[str, str]:
    """The named fields of a JSON error answer, verbatim (see `HttpError.fields`)."""
    try:
        body = response.json()
    except ValueError:
        return {}
    if not isinstance(body, dict):
        return {}
    return {name: str(body[name]) for name in names if body.get(name) not in (None, "")}


def is_transient(exc: requests.RequestException) -> bool:
    """Timeouts, refused/reset connections and broken bodies; not TLS or URL mistakes."""
    if isinstance(exc, requests.exceptions.SSLError | requests.exceptions.InvalidURL):
        return False
    return isinstance(
        exc,
        requests.ConnectionError | requests.Timeout | requests.exceptions.ChunkedEncodingError,
    )


def request_failed(
    provider: str,
    endpoint: str,
    exc: requests.RequestException,
    secrets: Iterable[str],
    check: str | None = None,
) -> PermanentError:
    """The error for a request that could not be sent as configured (TLS, redirects, URL);
    `check` as for `status_error`."""
    if isinstance(exc, requests.exceptions.SSLError):
        what = "the TLS certificate check failed"
    elif isinstance(exc, requests.TooManyRedirects):
        what = "the provider redirected too many times"
    else:  # invalid URL, missing schema and the like
        what = scrub_text(str(exc), secrets)
    check = check or f"the base URL and settings configured for {provider}"
    return PermanentError(
        f"{provider}: could not call {endpoint}: {what}. Check {check}.",
        provider=provider,
        endpoint=endpoint,
    )


def connection_failed(
    provider: str,
    endpoint: str,
    exc: requests.RequestException,
    timeout: float,
    attempts: int,
    refused: str = "",
) -> TransientError:
    """No answer after the last attempt: a timeout, a refused or reset connection; `refused`
    as for `status_error`."""
    error_name = type(exc).__name__
    return TransientError(
        f"{provider}: {endpoint} {_connection_problem(exc, timeout)}, after "
        f"{attempts_made(attempts, refused)} ({error_name}). The service may be slow or down; "
        "the next run will try again.",
        provider=provider,
        endpoint=endpoint,
        attempts=attempts,
    )


def not_json(
    provider: str,
    response: requests.Response,
    endpoint: str,
    error_name: str,
    secrets: Iterable[str],
) -> MalformedResponse:
    """The error for a 2xx answer whose body is not JSON."""
    excerpt = excerpt_of(response, secrets)
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
