"""Tibber's GraphQL transport: one POST, and what its errors mean (see `collectors.pricing.tibber`).

GraphQL errors arrive inside HTTP 200 (`{"errors": [{"extensions": {"code": ...}}]}`):
UNAUTHENTICATED / FORBIDDEN -> AuthError; INTERNAL_SERVER_ERROR, SERVICE_UNAVAILABLE,
TOO_MANY_REQUESTS or no code -> TransientError; any other code -> PermanentError. An HTTP 400
carrying UNAUTHENTICATED is an AuthError too; HTTP 428 (Precondition Required), which Tibber's
own client (pyTibber) retries like 429, is a TransientError, not a settings problem.
"""

from typing import Any

from collectors.answers import Answer
from enrich.http import (
    USER_AGENT,
    AuthError,
    PermanentError,
    TransientError,
    malformed,
    post_json,
)

PROVIDER = "tibber"
AUTH_CODES = {"UNAUTHENTICATED", "FORBIDDEN"}
TRANSIENT_CODES = {"INTERNAL_SERVER_ERROR", "SERVICE_UNAVAILABLE", "TOO_MANY_REQUESTS", ""}
RETRY_LATER = 428  # Precondition Required: retried by pyTibber, like 429


def ask(url: str, token: str, query: str) -> dict:
    """The `data` of Tibber's answer to `query`; its errors as the module docstring says."""
    headers = {"Authorization": f"Bearer {token}", "User-Agent": USER_AGENT}
    try:
        body = post_json(PROVIDER, url, json={"query": query}, headers=headers)
    except AuthError:
        raise
    except PermanentError as exc:
        if exc.status == 400 and "UNAUTHENTICATED" in exc.body_excerpt:
            raise _auth_error(url, exc.body_excerpt) from None
        if exc.status == RETRY_LATER:
            raise TransientError(
                f"tibber: {url} answered HTTP 428 (Precondition Required), Tibber's way of "
                "asking to try again later; the settings are not at fault, the next run will "
                "try again.",
                provider=PROVIDER,
                endpoint=url,
                status=RETRY_LATER,
                body_excerpt=exc.body_excerpt,
            ) from None
        raise
    if not isinstance(body, dict):
        raise malformed(PROVIDER, url, "the answer is not a JSON object")
    errors = body.get("errors")
    if errors:
        _raise_graphql(url, errors)
    data = Answer(PROVIDER, url).get(body, "data", "the answer")
    if not isinstance(data, dict):
        raise malformed(PROVIDER, url, f"'data' is {data!r}")
    return data


def _auth_error(url: str, message: str) -> AuthError:
    return AuthError(
        f"tibber refused the token ({message}). Create a new personal access token at "
        "developer.tibber.com and set it as the provider's API key (PRICING_API_KEY).",
        provider=PROVIDER,
        endpoint=url,
        status=200,
    )


def _raise_graphql(url: str, errors: Any) -> None:
    first = errors[0] if isinstance(errors, list) and errors else {}
    first = first if isinstance(first, dict) else {}
    message = str(first.get("message") or "no message")[:200]
    extensions = first.get("extensions")
    code = str((extensions or {}).get("code") or "") if isinstance(extensions, dict) else ""
    if code in AUTH_CODES:
        raise _auth_error(url, f"{code}: {message}")
    kw = {"provider": PROVIDER, "endpoint": url, "status": 200, "body_excerpt": message}
    if code in TRANSIENT_CODES:
        raise TransientError(
            f"tibber: the GraphQL API answered an error ({code or 'no code'}: {message}); the "
            "next run will try again.",
            **kw,
        )
    raise PermanentError(
        f"tibber: the GraphQL API rejected the query ({code}: {message}). Check "
        "options.home_id; if it is right, the API may have changed.",
        **kw,
    )
