"""The one outbound HTTP door: timeouts, retries with backoff, error classes, call log.

Every provider adapter calls the outside world through `request`, `get_json` or `post_json`
and sees only the error classes below, so the pipeline can decide uniformly: transient errors
are retried (here, then by the task), permanent ones need a person, rate limits carry the
time the provider asked us to wait. Each attempt is logged once on the `enrich.http` logger,
with secrets scrubbed from URLs, bodies and exception text; headers are never logged.

The parts: `policy` (timeouts, retries, backoff, Retry-After), `errors` (the classes and
their messages), `scrubbing` (secrets out of logs and records), `attempts` (the requests a
fetch really sends, retries included, and whether a retry is paid for), `client` (the session
and the calls). Import from `enrich.http`; this module re-exports what callers use.
"""

from enrich.http.attempts import Attempts, counting, retry_refused, sending
from enrich.http.client import USER_AGENT, get_json, get_session, post_json, request, request_json
from enrich.http.errors import (
    AuthError,
    HttpError,
    MalformedResponse,
    PermanentError,
    RateLimitedError,
    TransientError,
    attempts_made,
    malformed,
)
from enrich.http.policy import HttpPolicy, backoff_delay, parse_retry_after
from enrich.http.scrubbing import EXCERPT_CHARS, scrub_text, scrub_url

__all__ = [
    "EXCERPT_CHARS",
    "USER_AGENT",
    "Attempts",
    "AuthError",
    "HttpError",
    "HttpPolicy",
    "MalformedResponse",
    "PermanentError",
    "RateLimitedError",
    "TransientError",
    "attempts_made",
    "backoff_delay",
    "counting",
    "get_json",
    "get_session",
    "malformed",
    "parse_retry_after",
    "post_json",
    "request",
    "request_json",
    "retry_refused",
    "scrub_text",
    "scrub_url",
    "sending",
]
