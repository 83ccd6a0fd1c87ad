"""Whether a query of another connection waits for a lock in this test's database (a row
held with SELECT ... FOR UPDATE by a run, a delete or a check the test holds back)."""

from django.db import connection


def waits_for_a_row_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0] > 0
