"""The test databases (tests.support.databases): kept when a run ends, and the one a run before
left is dropped when the next run starts, which then makes its own afresh."""

import copy
import uuid

from django.db import connections

from tests.support.databases import drop_test_database


def exists(connection, name: str) -> bool:
    with connection.creation._nodb_cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        return cursor.fetchone() is not None


def test_the_database_a_run_before_left_is_dropped_and_the_runs_own_kept(
    django_db_keepdb, django_db_blocker
):
    assert django_db_keepdb is True  # pytest-django drops nothing at the end
    left = connections.create_connection("default")
    left.settings_dict = copy.deepcopy(left.settings_dict)
    name = f"test_left_by_a_run_before_{uuid.uuid4().hex[:8]}"
    left.settings_dict["TEST"]["NAME"] = name
    with django_db_blocker.unblock():
        with left.creation._nodb_cursor() as cursor:
            cursor.execute(f"CREATE DATABASE {left.ops.quote_name(name)}")
        assert exists(left, name)
        drop_test_database(left)
        assert not exists(left, name)
        drop_test_database(left)  # none there: nothing to do
        left.close()
