"""How the test process empties PostgreSQL after a transactional test (`django_db(transaction=
True)`: the worker, command, browser and live-server tests, about 400): DELETE, not TRUNCATE.

Django's `flush` empties every table with one TRUNCATE, which gives each table and index a new
file that the commit waits for on disk: 0.13-0.19 s on a quiet machine, 0.6-1.2 s while other
databases write; then its post_migrate signal makes the content types and permissions again
(0.1-0.2 s). DELETE of the few rows a test leaves takes milliseconds. The tables end as empty as
after TRUNCATE; neither resets sequences (`flush` without reset_sequences); the foreign keys,
which Django declares DEFERRABLE INITIALLY DEFERRED, are checked at the end of the flush's
transaction, once every table is empty. The content types and permissions, the rows post_migrate
would make again the same, stay (no test makes or removes one; one missing is made again by the
signal, which still runs). A flush asked to restart sequences or to cascade (available_apps)
runs Django's TRUNCATE.
"""

from django.db.backends.postgresql.operations import DatabaseOperations

_truncate = DatabaseOperations.sql_flush
MADE_BY_POST_MIGRATE = frozenset({"django_content_type", "auth_permission"})


def _delete(self, style, tables, *, reset_sequences=False, allow_cascade=False):
    if reset_sequences or allow_cascade:
        return _truncate(
            self, style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade
        )
    emptied = [table for table in tables if table not in MADE_BY_POST_MIGRATE]
    deferred = [f"{style.SQL_KEYWORD('SET CONSTRAINTS ALL DEFERRED')};"] if emptied else []
    return deferred + [
        f"{style.SQL_KEYWORD('DELETE FROM')} {style.SQL_FIELD(self.quote_name(table))};"
        for table in emptied
    ]


def delete_on_flush() -> None:
    """From now on, `flush` in this process empties PostgreSQL's tables with DELETE."""
    DatabaseOperations.sql_flush = _delete
