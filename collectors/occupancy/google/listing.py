"""Google's paged listings (events.list, calendarList.list) read to the end, and no further.

A listing answers one page at a time, with a `nextPageToken` for the next one. Every page has
an `items` list (empty when nothing matches). Following the tokens blindly never ends when an
answer hands out the same token again, so the pages are bounded: see MAX_PAGES.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from collectors.answers import Answer
from collectors.occupancy.google.connection import PROVIDER
from enrich.http import HttpPolicy, scrub_url

# Pages hold up to 250 entries (maxResults): 20 pages are 5,000 events in the two days
# the adapter reads, or 5,000 calendars, far past any real account. An answer that needs more
# pages, or hands out a page token twice (the pages would repeat forever), is malformed.
MAX_PAGES = 20
PAGE_SIZE = 250


def pages(
    request_for: Callable[[str | None], Any], policy: HttpPolicy | None, what: str
) -> Iterator[tuple[str, list[Any]]]:
    """(scrubbed URL, items) of each page of a listing, following nextPageToken;
    `request_for(page_token)` builds a page's request. MalformedResponse names the field for
    a page without an `items` list, a page token that is not text or comes back, and more
    than MAX_PAGES pages."""
    # Google's libraries are imported by a call to Google, not at each start (connection.py).
    from collectors.occupancy.google.client import execute

    seen: set[str] = set()
    token = None
    for number in range(1, MAX_PAGES + 1):
        request = request_for(token)
        page = execute(request, policy)
        answer = Answer(PROVIDER, scrub_url(request.uri))
        yield answer.url, answer.items(page, "items", what)
        token = page.get("nextPageToken")
        if token is None or token == "":
            return
        # The token's value is not shown: enrich.http scrubs tokens from what it logs.
        if not isinstance(token, str):
            raise answer.bad(f"{what}: nextPageToken should be text, got {type(token).__name__}")
        if token in seen:
            raise answer.bad(
                f"{what}: the nextPageToken of page {number} was handed out before; following "
                "it would repeat the same pages forever"
            )
        seen.add(token)
    raise answer.bad(f"{what}: more than {MAX_PAGES} pages (a nextPageToken after the last)")


def list_calendars(service: Any, policy: HttpPolicy | None = None) -> list[dict[str, Any]]:
    """The account's calendars: [{id, summary, primary, timeZone}], every page."""
    calendars: list[dict[str, Any]] = []
    listing = pages(
        lambda token: service.calendarList().list(pageToken=token, maxResults=PAGE_SIZE),
        policy,
        "the calendar list",
    )
    for _, items in listing:
        for item in items:
            if isinstance(item, dict) and isinstance(item.get("id"), str):
                calendars.append(
                    {
                        "id": item["id"],
                        "summary": str(item.get("summaryOverride") or item.get("summary") or ""),
                        "primary": bool(item.get("primary")),
                        "timeZone": str(item.get("timeZone") or ""),
                    }
                )
    return calendars
