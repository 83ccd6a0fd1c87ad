"""The process's HTTP session and the calls every adapter makes: `request`, `get_json`,
`post_json`.

Each call follows its `HttpPolicy` (timeout, retries with backoff, Retry-After), raises only
the classes of `enrich.http.errors`, and logs each attempt once on the `enrich.http` logger
with the URL scrubbed; headers are never logged. Each attempt is counted, and a retry goes out
only once paid for, where someone counts (`enrich.http.attempts`: the pipeline's API budgets).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypedDict, Unpack

import requests
from requests.adapters import HTTPAdapter
from requests.models import PreparedRequest

from enrich.http.attempts import retry_refused, sending
from enrich.http.errors import (
    TransientError,
    connection_failed,
    error_fields_of,
    is_transient,
    not_json,
    rate_limited,
    request_failed,
    status_error,
)
from enrich.http.policy import HttpPolicy, backoff_delay, call_policy, parse_retry_after
from enrich.http.scrubbing import excerpt_of, scrub_url, secrets_of

logger = logging.getLogger("enrich.http")

USER_AGENT = "enrich/0.1 (Home Assistant data enrichment)"


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

    def retry(self, status: int | str, delay: float) -> None:
        """Log this attempt as one to be retried, then sit out `delay` seconds."""
        self.log("retry", status, logging.WARNING, f"retry_in={delay:.2f}s")
        time.sleep(delay)

    def given_up(self, outcome: str, status: int | str, refused: str) -> None:
        """Log this attempt as the last one; `refused`: why no retry was allowed."""
        self.log(outcome, status, logging.WARNING, f"{refused}, not retried" if refused else "")


class CallOptions(TypedDict, total=False):
    """What `request` and `request_json` take besides the provider, method and URL."""

    params: Mapping[str, Any] | None
    headers: Mapping[str, str] | None
    json: Any
    data: Any
    auth: Any
    timeout: float | None  # overrides the policy's
    max_retries: int | None  # overrides the policy's
    policy: HttpPolicy | None  # default: HttpPolicy.from_settings()
    # What a person checks when the request is refused or cannot be sent (the errors' hint),
    # e.g. "ALERT_WEBHOOK_URL"; default: the provider's credentials or settings.
    check: str | None


def _utf8(auth: Any) -> Any:
    """A (user, password) pair as UTF-8, RFC 7617's charset and what browsers and curl send:
    requests encodes text as Latin-1, so a password holding '€' failed before any call, read
    as a bad URL ("could not call ...: 'latin-1' codec can't encode ...")."""
    if isinstance(auth, tuple) and all(isinstance(part, str) for part in auth):
        return tuple(part.encode() for part in auth)
    return auth


def _call(
    provider: str,
    method: str,
    url: str,
    *,
    want_json: bool,
    error_fields: Iterable[str] = (),
    params: Any = None,
    headers: Mapping[str, str] | None = None,
    json: Any = None,
    data: Any = None,
    auth: Any = None,
    timeout: float | None = None,
    max_retries: int | None = None,
    policy: HttpPolicy | None = None,
    check: str | None = None,
) -> tuple[requests.Response, Any]:
    policy = call_policy(provider, policy, timeout, max_retries)
    method = method.upper()
    prepared = PreparedRequest()
    try:
        prepared.prepare_url(url, params)
        full_url = prepared.url or url
    except (requests.RequestException, ValueError):
        full_url = url
    endpoint = scrub_url(full_url)
    secrets = secrets_of(url, params, headers, auth)
    total = policy.max_retries + 1
    session = get_session()

    for index in range(total):
        attempt = _Attempt(provider, method, endpoint, index + 1, total, time.monotonic())
        retries_left = index < policy.max_retries
        sending(retry=index > 0)
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
                auth=_utf8(auth),
                timeout=policy.timeout,
            )
        except requests.RequestException as exc:
            failure = exc
        except ValueError as exc:  # urllib3 refusing the host (e.g. http://a..b): a bad URL
            failure = requests.exceptions.InvalidURL(str(exc))
        if failure is not None:
            error_name = type(failure).__name__
            if not is_transient(failure):
                attempt.log("permanent", error_name, logging.WARNING)
                raise request_failed(provider, endpoint, failure, secrets, check)
            # Asked only when a retry is due: a retry allowed is paid for.
            delay = backoff_delay(index, policy.backoff, policy.max_retry_after)
            refused = retry_refused(delay) if retries_left else ""
            if retries_left and not refused:
                attempt.retry(error_name, delay)
                continue
            attempt.given_up("transient", error_name, refused)
            raise connection_failed(provider, endpoint, failure, policy.timeout, index + 1, refused)

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
            raise not_json(provider, response, endpoint, failure_name, secrets)

        excerpt = excerpt_of(response, secrets)
        if status == 429:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            if retry_after is not None and retry_after > policy.max_retry_after:
                note = f"retry_after={retry_after:g}s"
                attempt.log("rate_limited", status, logging.WARNING, note)
                raise rate_limited(provider, endpoint, excerpt, retry_after, index + 1)
            delay = (
                retry_after
                if retry_after is not None
                else backoff_delay(index, policy.backoff, policy.max_retry_after)
            )
            refused = retry_refused(delay) if retries_left else ""
            if retries_left and not refused:
                attempt.retry(status, delay)
                continue
            attempt.given_up("rate_limited", status, refused)
            raise rate_limited(provider, endpoint, excerpt, retry_after, index + 1, refused)

        error = status_error(provider, endpoint, status, excerpt, index + 1, check)
        if isinstance(error, TransientError):
            delay = backoff_delay(index, policy.backoff, policy.max_retry_after)
            refused = retry_refused(delay) if retries_left else ""
            if retries_left and not refused:
                attempt.retry(status, delay)
                continue
            if refused:
                error = status_error(provider, endpoint, status, excerpt, index + 1, check, refused)
            attempt.given_up("transient", status, refused)
        else:
            attempt.log("permanent", status, logging.WARNING)
        if error_fields:
            error.fields = error_fields_of(response, error_fields)
        raise error
    raise AssertionError("unreachable: the loop returns or raises")


def request(
    provider: str, method: str, url: str, **options: Unpack[CallOptions]
) -> requests.Response:
    """Send a request, retrying transient failures; return the 2xx response or raise."""
    response, _ = _call(provider, method, url, want_json=False, **options)
    return response


def request_json(
    provider: str,
    method: str,
    url: str,
    *,
    error_fields: Iterable[str] = (),
    **options: Unpack[CallOptions],
) -> Any:
    """Like `request`, returning the parsed JSON body; a non-JSON 2xx body raises
    MalformedResponse. `error_fields`: names of fields of a JSON error answer to hand over
    verbatim on the raised error's `.fields` (a login challenge's token, say); the message and
    the body excerpt stay scrubbed."""
    merged = dict(options.pop("headers", None) or {})
    if not any(name.lower() == "accept" for name in merged):
        merged["Accept"] = "application/json"
    _, parsed = _call(
        provider, method, url, want_json=True, error_fields=error_fields, headers=merged, **options
    )
    return parsed


def get_json(provider: str, url: str, **kwargs: Any) -> Any:
    """GET and return the parsed JSON body (keyword arguments as for `request_json`)."""
    return request_json(provider, "GET", url, **kwargs)


def post_json(provider: str, url: str, **kwargs: Any) -> Any:
    """POST (a JSON body, or form `data`) and return the parsed JSON answer."""
    return request_json(provider, "POST", url, **kwargs)
