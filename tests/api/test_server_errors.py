"""An error no view handled (enrich.error_pages.server_error): a table the request reads gone
between two requests of a signed-in client (a migration not applied, a bug; PostgreSQL out of
reach is enrich.database_down's 503: tests/enrich/test_database_down.py). The API answers JSON
API clients can read, naming nothing of the error; pages keep Django's plain page; Django logs
the error with its traceback either way."""

import logging

import pytest
from django.db import connection

from enrich.error_pages import SERVER_ERROR

# Committed: the client's user must be there when the connection is made again.
pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("own_throttle_counts"),
]


@pytest.mark.parametrize(
    ("path", "table"),
    [
        ("/api/sites/", "enrich_site"),
        ("/retention/history", "retention_retentionrun"),
        ("/api/enrichment/current", "enrich_site"),
    ],
)
def test_an_api_request_the_server_fails_on_is_answered_in_json(staff, path, table, caplog):
    # Django's HTML page "Server Error (500)" was the answer: a REST sensor or a script
    # reading JSON failed on it.
    staff.raise_request_exception = False
    with caplog.at_level(logging.ERROR, logger="django.request"):
        answer = gone(staff.get, path, table)
    assert answer.status_code == 500
    assert answer["Content-Type"] == "application/json"
    assert answer.json() == {"detail": SERVER_ERROR}
    assert (
        "ProgrammingError" not in answer.content.decode() and table not in answer.content.decode()
    )
    (logged,) = [r for r in caplog.records if r.name == "django.request"]
    assert logged.getMessage() == f"Internal Server Error: {path}"
    assert logged.exc_info[0].__name__ == "ProgrammingError"


def test_a_page_the_server_fails_on_is_still_a_page(admin_client, caplog):
    admin_client.raise_request_exception = False
    with caplog.at_level(logging.ERROR, logger="django.request"):
        answer = gone(admin_client.get, "/", "enrich_site")
    assert answer.status_code == 500
    assert answer["Content-Type"].startswith("text/html")
    assert "<h1>Server Error (500)</h1>" in answer.content.decode()
    assert [r.getMessage() for r in caplog.records if r.name == "django.request"] == [
        "Internal Server Error: /"
    ]


def gone(get, path: str, table: str):
    """GET `path` with `table` renamed away."""
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {table} RENAME TO {table}_away")
    try:
        return get(path)
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"ALTER TABLE {table}_away RENAME TO {table}")
