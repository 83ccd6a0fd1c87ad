"""The test process's flush (tests.support.flush): after a transactional test every table is as
empty as Django's TRUNCATE left it, rows that reference each other included, and the content
types and permissions are all there for the next test."""

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.core.management.color import no_style
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder
from rest_framework.authtoken.models import Token

from enrich.models import Site

pytestmark = pytest.mark.django_db(transaction=True)


def row_counts() -> dict[str, int]:
    tables = connection.introspection.django_table_names(only_existing=True, include_views=False)
    with connection.cursor() as cursor:
        counts = {}
        for table in tables:
            cursor.execute(f"SELECT count(*) FROM {connection.ops.quote_name(table)}")
            counts[table] = cursor.fetchone()[0]
    return counts


def test_a_flush_as_a_transactional_test_ends_empties_every_table_with_deletes():
    permissions, content_types = Permission.objects.count(), ContentType.objects.count()
    group = Group.objects.create(name="ops")
    group.permissions.add(Permission.objects.get(codename="trigger_work"))
    user = User.objects.create_user("flushed", password="x")
    user.groups.add(group)
    Token.objects.create(user=user)
    Site.objects.create(name="Home", latitude=52.5, longitude=13.4)
    assert {"auth_user", "auth_group_permissions", "authtoken_token"} <= {
        table for table, count in row_counts().items() if count
    }

    statements = connection.ops.sql_flush(no_style(), list(row_counts()), reset_sequences=False)
    assert statements[0] == "SET CONSTRAINTS ALL DEFERRED;"
    assert all(sql.startswith("DELETE FROM ") for sql in statements[1:])
    # What pytest-django's teardown of this test runs (TransactionTestCase._fixture_teardown).
    call_command("flush", verbosity=0, interactive=False, reset_sequences=False)

    left = {table: count for table, count in row_counts().items() if count}
    assert left == {"django_content_type": content_types, "auth_permission": permissions}
    assert Permission.objects.filter(codename="trigger_work").exists()
    assert MigrationRecorder(connection).applied_migrations()  # not a model's table: kept
