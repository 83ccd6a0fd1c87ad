"""The test databases are dropped when a run starts, not when it ends.

pytest-django drops each test database (test_enrich, test_enrich_gw<K>) at the end of the run.
PostgreSQL's DROP DATABASE makes a checkpoint first, writing out everything changed since the
last one: at the end of a run, with every worker's writes behind it, that took 1-12 s per
worker, in the run's last seconds (an empty database took 1.3-9.6 s while other databases
wrote). Here the database a run made is kept when it ends, and dropped when the next run starts (one
checkpoint, nothing of the run before left to write); then it is made and migrated afresh, as
pytest-django makes it: every run starts on a new database. `--reuse-db` keeps pytest-django's
meaning (use the database that is there).
"""

import pytest


@pytest.fixture(scope="session")
def django_db_keepdb(request, django_db_blocker) -> bool:
    """Always keep the test databases at the end (pytest-django's fixture); unless the run
    reuses them (`--reuse-db`), drop those of the run before first."""
    if not request.config.getvalue("reuse_db"):
        from django.db import connections

        request.getfixturevalue("django_db_modify_db_settings")  # the worker's name (xdist)

        with django_db_blocker.unblock():
            for alias in connections:
                drop_test_database(connections[alias])
    return True


def drop_test_database(connection) -> None:
    """Drop the alias's test database if a run before left it (nothing when it is not there)."""
    name = connection.creation._get_test_db_name()
    with connection.creation._nodb_cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {connection.ops.quote_name(name)}")
