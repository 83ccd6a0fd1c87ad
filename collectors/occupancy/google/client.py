"""Google's own client libraries, made to behave like `enrich.http`.

The Calendar calls go through google-api-python-client (the discovery-built client Google
documents, with its bundled discovery document: no discovery request) and token refreshes
through google-auth. Both do their own HTTP through httplib2, not through `enrich.http`: the
user asked for the official library. So this module gives them what `enrich.http` gives every
other provider:

- a timeout on every connection (setting HTTP_TIMEOUT_SECONDS, 5 s by default);
- the same retry policy (HTTP_MAX_RETRIES, jittered backoff, Retry-After on 429), each
  attempt counted and each retry paid for first (`enrich.http.attempts`: the API budget);
- one log line per attempt on the `enrich.http` logger, URLs scrubbed of secrets;
- `enrich.http`'s error classes: 401/403 -> AuthError; a refresh token Google no longer
  accepts (`invalid_grant`) -> ReconnectNeeded (an AuthError: a person must reconnect);
  403 usage limits (rateLimitExceeded, dailyLimitExceeded, ...) and 429 ->
  RateLimitedError; 5xx, 408, timeouts, refused connections and answers cut short ->
  TransientError; other 4xx, a URL that is not
  absolute (httplib2's RelativeURIError), a redirect without a Location, to a URL that is
  not http(s), or too many redirects -> PermanentError; a body that is not a JSON object (or not UTF-8) ->
  MalformedResponse.

Endpoints are overridable (settings GOOGLE_TOKEN_URI and GOOGLE_API_BASE, or the provider
option `base_url`), which is how the tests point the library at a local server. `base_url` is
checked first (`api_root`): httplib2 raises its own errors, or retries, for what it cannot use.
"""

from __future__ import annotations

import http.client
import json
import logging
import time
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import google.oauth2.credentials
import google_auth_httplib2
import httplib2
from google.auth.exceptions import RefreshError, TransportError
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError as GoogleHttpError

from collectors.occupancy.google.connection import PROVIDER, SCOPES, ReconnectNeeded, Tokens
from enrich.http import (
    AuthError,
    HttpError,
    HttpPolicy,
    MalformedResponse,
    PermanentError,
    RateLimitedError,
    TransientError,
    attempts_made,
    backoff_delay,
    parse_retry_after,
    retry_refused,
    scrub_text,
    scrub_url,
    sending,
)

logger = logging.getLogger("enrich.http")

RATE_LIMIT_REASONS = {
    "rateLimitExceeded",
    "userRateLimitExceeded",
    "dailyLimitExceeded",
    "quotaExceeded",
}


def _naive_utc(moment: datetime | None) -> datetime | None:
    # google-auth compares expiry with a naive UTC clock.
    return moment.astimezone(UTC).replace(tzinfo=None) if moment else None


def google_credentials(tokens: Tokens) -> google.oauth2.credentials.Credentials:
    return google.oauth2.credentials.Credentials(
        token=tokens.access_token or None,
        refresh_token=tokens.refresh_token or None,
        token_uri=tokens.token_uri,
        client_id=tokens.client_id or None,
        client_secret=tokens.client_secret or None,
        scopes=list(SCOPES),
        expiry=_naive_utc(tokens.expiry),
    )


class RedirectElsewhere(httplib2.HttpLib2Error):
    """A redirect to a URL that is not http(s) (httplib2 raised a KeyError for its scheme)."""


class _Http(httplib2.Http):
    """httplib2 that calls http(s) URLs only; it calls `request` again for each redirect."""

    def request(self, uri: str, *args: Any, **kwargs: Any) -> Any:
        scheme, has_host, _ = uri.partition("://")  # no host: httplib2's RelativeURIError
        if has_host and scheme.lower() not in ("http", "https"):
            raise RedirectElsewhere(f"a redirect to a {scheme}: URL")
        return super().request(uri, *args, **kwargs)


def _http(policy: HttpPolicy) -> httplib2.Http:
    return _Http(timeout=policy.timeout)


def refresh_failure(exc: Exception, token_uri: str) -> HttpError:
    """A google-auth refresh failure as an enrich.http error."""
    endpoint = scrub_url(token_uri)
    kw = {"provider": PROVIDER, "endpoint": endpoint}
    if isinstance(exc, TransportError):
        return TransientError(
            f"{PROVIDER}: could not reach Google's token endpoint {endpoint} "
            f"({scrub_text(str(exc))}). The next run will try again.",
            **kw,
        )
    data = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], dict) else {}
    said = scrub_text(str(exc.args[0] if exc.args else exc))
    if data.get("error") == "invalid_grant" or "invalid_grant" in said:
        return ReconnectNeeded(
            f"{PROVIDER}: Google refused the refresh token ({said}). The token was revoked "
            "or has expired (apps left in 'Testing' status get tokens that expire after 7 "
            "days). Open /oauth/google/ in enrich and click 'Connect Google Calendar' again.",
            status=400,
            **kw,
        )
    if getattr(exc, "retryable", False):
        return TransientError(
            f"{PROVIDER}: Google's token endpoint has a temporary problem ({said}). The next "
            "run will try again.",
            **kw,
        )
    return AuthError(
        f"{PROVIDER}: Google's token endpoint refused to renew the access token ({said}). "
        "Check GOOGLE_CLIENT_ID / GOOGLE_CLIENT_SECRET (or the provider config's client id "
        "and secret); if they are right, reconnect on /oauth/google/.",
        **kw,
    )


def refresh(tokens: Tokens, policy: HttpPolicy | None = None) -> Tokens:
    """A new access token from the refresh token (google-auth, at tokens.token_uri)."""
    policy = policy or HttpPolicy.from_settings()
    credentials = google_credentials(tokens)
    started = time.monotonic()
    try:
        credentials.refresh(google_auth_httplib2.Request(_http(policy)))
    except (RefreshError, TransportError) as exc:
        error = refresh_failure(exc, tokens.token_uri)
        _log("POST", tokens.token_uri, type(error).__name__, started, 1, 1, "failed")
        raise error from None
    _log("POST", tokens.token_uri, 200, started, 1, 1, "ok")
    return _tokens_of(credentials, tokens)


def _tokens_of(credentials: google.oauth2.credentials.Credentials, tokens: Tokens) -> Tokens:
    expiry = credentials.expiry.replace(tzinfo=UTC) if credentials.expiry else None
    return replace(
        tokens,
        access_token=credentials.token,
        refresh_token=credentials.refresh_token or tokens.refresh_token,
        expiry=expiry,
    )


def renewed(tokens: Tokens, credentials: google.oauth2.credentials.Credentials) -> Tokens | None:
    """The tokens google-auth renewed while `credentials` were in use (built from `tokens`),
    or None when it did not renew them."""
    if not credentials.token or credentials.token == tokens.access_token:
        return None
    return _tokens_of(credentials, tokens)


def calendar_service(
    auth: Tokens | google.oauth2.credentials.Credentials,
    api_base: str,
    policy: HttpPolicy | None = None,
) -> Any:
    """The discovery-built Calendar v3 client, its HTTP bound to `api_base` with a timeout.

    The access token is renewed by google-auth when expired and once on a 401. A caller that
    must know about such a renewal passes google_credentials(tokens) and asks `renewed` after
    the calls."""
    policy = policy or HttpPolicy.from_settings()
    credentials = google_credentials(auth) if isinstance(auth, Tokens) else auth
    http = google_auth_httplib2.AuthorizedHttp(
        credentials, http=_http(policy), max_refresh_attempts=1
    )
    return build(
        "calendar",
        "v3",
        http=http,
        static_discovery=True,
        cache_discovery=False,
        client_options={"api_endpoint": api_base.rstrip("/") + "/calendar/v3/"},
    )


def _log(
    method: str, url: str, status: Any, started: float, number: int, total: int, outcome: str
) -> None:
    level = logging.INFO if outcome == "ok" else logging.WARNING
    logger.log(
        level,
        "provider=%s method=%s endpoint=%s status=%s duration_ms=%d attempt=%d/%d outcome=%s",
        PROVIDER,
        method,
        scrub_url(url),
        status,
        round((time.monotonic() - started) * 1000),
        number,
        total,
        outcome,
    )


def _google_reasons(content: bytes) -> set[str]:
    try:
        body = json.loads(content)
        return {e.get("reason", "") for e in body["error"]["errors"] if isinstance(e, dict)}
    except (ValueError, KeyError, TypeError):
        return set()


def _status_error(
    exc: GoogleHttpError, endpoint: str, attempts: int, refused: str = ""
) -> HttpError:
    status = exc.resp.status
    excerpt = " ".join(scrub_text(exc.content.decode("utf-8", "replace")).split())[:300]
    kw = {"provider": PROVIDER, "endpoint": endpoint, "status": status, "body_excerpt": excerpt}
    said = f" Google said: {excerpt}" if excerpt else ""
    if status == 429 or (status == 403 and _google_reasons(exc.content) & RATE_LIMIT_REASONS):
        return RateLimitedError(
            f"{PROVIDER}: {endpoint} is rate limiting us (HTTP {status}) after "
            f"{attempts_made(attempts, refused)}; the next run will try again.{said}",
            retry_after=parse_retry_after(exc.resp.get("retry-after")),
            attempts=attempts,
            **kw,
        )
    if status in (401, 403):
        return AuthError(
            f"{PROVIDER}: {endpoint} refused the access token (HTTP {status}). Reconnect "
            f"Google Calendar on /oauth/google/ and check the calendar is shared with the "
            f"connected account.{said}",
            **kw,
        )
    if status >= 500 or status == 408:
        return TransientError(
            f"{PROVIDER}: {endpoint} answered HTTP {status} after "
            f"{attempts_made(attempts, refused)}. "
            f"Google has a temporary problem; the next run will try again.{said}",
            attempts=attempts,
            **kw,
        )
    hint = (
        "Check the calendar ids in the provider's options 'calendars' (the setup page lists "
        "the calendars of the connected account)."
        if status == 404
        else "Check the provider's options (calendars, base_url)."
    )
    return PermanentError(
        f"{PROVIDER}: {endpoint} answered HTTP {status}, which retrying will not fix. {hint}{said}",
        **kw,
    )


def execute(request: Any, policy: HttpPolicy | None = None) -> dict[str, Any]:
    """Run one API request with enrich.http's retry policy; the JSON object it answered."""
    policy = policy or HttpPolicy.from_settings()
    endpoint = scrub_url(request.uri)
    total = policy.max_retries + 1
    for index in range(total):
        started = time.monotonic()
        retries_left = index < policy.max_retries
        sending(retry=index > 0)
        try:
            body = request.execute(num_retries=0)
        except GoogleHttpError as exc:
            error = _status_error(exc, endpoint, index + 1)
            wait = error.retry_after if isinstance(error, RateLimitedError) else None
            due = isinstance(error, TransientError) and retries_left
            due = due and (wait is None or wait <= policy.max_retry_after)
            delay = (
                wait
                if wait is not None
                else backoff_delay(index, policy.backoff, policy.max_retry_after)
            )
            refused = retry_refused(delay) if due else ""  # a retry allowed is paid for
            if due and not refused:
                _log(
                    request.method, request.uri, exc.resp.status, started, index + 1, total, "retry"
                )
                time.sleep(delay)
                continue
            _log(request.method, request.uri, exc.resp.status, started, index + 1, total, "failed")
            raise (_status_error(exc, endpoint, index + 1, refused) if refused else error) from None
        except UnicodeDecodeError:  # the client decodes a 2xx body as UTF-8 JSON
            _log(request.method, request.uri, 200, started, index + 1, total, "malformed")
            raise MalformedResponse(
                f"{PROVIDER}: {endpoint} answered but the body is not UTF-8 text, so not the "
                "JSON object Google sends. base_url may point elsewhere.",
                provider=PROVIDER,
                endpoint=endpoint,
                status=200,
            ) from None
        except (RefreshError, TransportError) as exc:
            # google-auth already retried its own call; a person may have to act.
            raise refresh_failure(exc, getattr(request.http.credentials, "token_uri", "")) from None
        except (httplib2.RedirectMissingLocation, httplib2.RedirectLimit, RedirectElsewhere) as exc:
            # As in enrich.http: a redirect that cannot be followed will not mend by itself.
            status = getattr(exc, "response", None) and getattr(exc.response, "status", None)
            _log(request.method, request.uri, status, started, index + 1, total, "failed")
            what = (
                f"answered HTTP {status} without a Location to follow"
                if isinstance(exc, httplib2.RedirectMissingLocation)
                else f"answered with {exc}"
                if isinstance(exc, RedirectElsewhere)
                else "redirected too many times"
            )
            raise PermanentError(
                f"{PROVIDER}: {endpoint} {what}, which retrying will not fix. Check the "
                "provider's option base_url (GOOGLE_API_BASE).",
                provider=PROVIDER,
                endpoint=endpoint,
                status=status,
            ) from None
        except httplib2.RelativeURIError:
            # Not an absolute http(s) URL: what the configuration says, no retry will mend it.
            _log(
                request.method, request.uri, "RelativeURIError", started, index + 1, total, "failed"
            )
            raise PermanentError(
                f"{PROVIDER}: could not call {endpoint}: it is not an absolute http:// or "
                "https:// URL. Check the provider's option base_url (GOOGLE_API_BASE).",
                provider=PROVIDER,
                endpoint=endpoint,
            ) from None
        except (OSError, http.client.HTTPException, httplib2.HttpLib2Error) as exc:
            # HTTPException: the connection broke mid-answer (IncompleteRead, BadStatusLine).
            name = type(exc).__name__
            delay = backoff_delay(index, policy.backoff, policy.max_retry_after)
            refused = retry_refused(delay) if retries_left else ""
            if retries_left and not refused:
                _log(request.method, request.uri, name, started, index + 1, total, "retry")
                time.sleep(delay)
                continue
            _log(request.method, request.uri, name, started, index + 1, total, "failed")
            raise TransientError(
                f"{PROVIDER}: {endpoint} could not be reached or did not answer within "
                f"{policy.timeout:g} s, after {attempts_made(index + 1, refused)} ({name}). The "
                "next run will try again.",
                provider=PROVIDER,
                endpoint=endpoint,
                attempts=index + 1,
            ) from None
        if not isinstance(body, dict):
            _log(request.method, request.uri, 200, started, index + 1, total, "malformed")
            shown = " ".join(scrub_text(str(body)).split())[:300] or "(empty body)"
            raise MalformedResponse(
                f"{PROVIDER}: {endpoint} answered but the body is not a JSON object. Google may "
                f"have sent an error page, or base_url points elsewhere. The body starts: {shown}",
                provider=PROVIDER,
                endpoint=endpoint,
                status=200,
                body_excerpt=shown,
            )
        _log(request.method, request.uri, 200, started, index + 1, total, "ok")
        return body
    raise AssertionError("unreachable: the loop returns or raises")
