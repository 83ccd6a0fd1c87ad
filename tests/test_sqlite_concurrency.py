"""The embedded SQLite database shared by `make run`'s processes: a transaction that reads and
then writes, while another connection writes in between (an admin save beside a collection)."""

from tests.support.startup import run_django

# Two connections of their own (one per thread): the "admin" reads the site in a transaction and
# saves it; the "collection" writes the site's row while the admin's transaction is open. The
# admin waits (up to a second) for the collection's write before it saves.
READ_THEN_WRITE = """
import threading
from django.core.management import call_command
from django.db import connection, transaction
from enrich.models import Site
call_command("migrate", verbosity=0)
Site.objects.create(name="Home", latitude=1, longitude=2, timezone="UTC")
connection.close()
read, written, failed = threading.Event(), threading.Event(), []

def admin_save():
    try:
        with transaction.atomic():
            site = Site.objects.get(name="Home")
            read.set()
            written.wait(1)
            site.grid_region = "DE"
            site.save(update_fields=["grid_region"])
    except Exception as exc:
        failed.append(f"admin save: {exc}")
    finally:
        read.set()
        connection.close()

def collection():
    try:
        read.wait(10)
        Site.objects.filter(name="Home").update(pricing_region="AT")
    except Exception as exc:
        failed.append(f"collection: {exc}")
    finally:
        written.set()
        connection.close()

threads = [threading.Thread(target=admin_save), threading.Thread(target=collection)]
[t.start() for t in threads]
[t.join() for t in threads]
print(failed or "ok")
print(list(Site.objects.values_list("grid_region", "pricing_region")))
"""


def test_a_transaction_that_reads_then_writes_waits_for_another_writer(tmp_path):
    result = run_django(READ_THEN_WRITE, DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.splitlines()[-2:] == ["ok", "[('DE', 'AT')]"]
