"""The embedded SQLite database shared by `make run`'s processes: a transaction that reads and
then writes, while another connection writes in between (an admin save beside a collection);
and no transaction open while enrich waits for another service (a webhook's answer, InfluxDB's
delete), as it would hold the one write lock and every other write would wait with it."""

from tests.support.sqlite_sides import COLLECTION, SIDES
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


# A receiver (ALERT_WEBHOOK_URL) that answers only once `recorded` is set, or after 3 s.
RECEIVER = """
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from django.conf import settings
posted, recorded = threading.Event(), threading.Event()

class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        posted.set()
        recorded.wait(3)
        said.append("webhook answered")
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass

server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
threading.Thread(target=server.serve_forever, daemon=True).start()
settings.ALERT_WEBHOOK_URL = f"http://127.0.0.1:{server.server_port}/api/webhook/enrich"
"""
# A failed run's alert is POSTed to the receiver while a collector saves its run record. The
# record waited for the whole POST while the delivery held a transaction (on SQLite the one
# write lock): the receiver answered first.
ALERT_BESIDE_A_COLLECTION = (
    SIDES
    + RECEIVER
    + COLLECTION
    + """
from django.core.management import call_command
from retention.models import Alert, RetentionRun
from retention.stats import alerts
call_command("migrate", verbosity=0)
RetentionRun.objects.create(operation="archive", status="failed", started=datetime.now(UTC))
[alert] = alerts.detect()
connection.close()

def check():
    return f"delivered {alerts.deliver_pending()[0] == [alert.pk]}"

threads = [side(check, then=posted), side(collection, after=posted, then=recorded)]
[t.join() for t in threads]
print(said)
print([(a.sent is not None, a.delivery_error) for a in Alert.objects.all()])
"""
)


def test_an_alert_delivery_lets_other_writes_through_while_the_receiver_answers(tmp_path):
    result = run_django(
        ALERT_BESIDE_A_COLLECTION, DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}"
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.splitlines()[-2:] == [
        "['collector run recorded', 'webhook answered', 'delivered True']",
        "[(True, '')]",
    ]


# A delete confirmed in the admin of an archive file's row (the only copy of its days: whether
# the store holds the file intact decides) while a collector saves its run record; the store
# reads the file only once `recorded` is set (or after 3 s). The delete read the file inside
# the transaction that locks the row (on SQLite the one write lock): the record waited for it.
ARCHIVE_ROW_PAGE_BESIDE_A_COLLECTION = (
    SIDES
    + COLLECTION
    + """
import hashlib
from datetime import date
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from django.test.utils import setup_test_environment
from django.urls import reverse
from retention.archive.local import LocalStorage
from retention.models import ArchiveObject
setup_test_environment()
call_command("migrate", verbosity=0)
storage, data, now = LocalStorage(settings.ARCHIVE_LOCAL_DIR), b"the file", datetime.now(UTC)
key = "archives/2022/data_2022-01-01.parquet"
storage.put(key, data)
obj = ArchiveObject.objects.create(
    key=key, target="local", bucket=storage.location, start_date=date(2022, 1, 1),
    end_date=date(2022, 12, 31), record_count=1, file_size=len(data),
    checksum=hashlib.sha256(data).hexdigest(), compression="gzip", created=now, verified=now,
    source_deleted=now,
)
admin = get_user_model().objects.create_superuser("admin", password="not-used-here")
connection.close()
reading, recorded = threading.Event(), threading.Event()
get = LocalStorage.get

def slow_get(self, key):
    reading.set()
    recorded.wait(3)
    said.append("file read")
    return get(self, key)

LocalStorage.get = slow_get

def delete():
    client = Client()
    client.force_login(admin)
    url = reverse("admin:retention_archiveobject_delete", args=[obj.pk])
    answer = client.post(url, {"post": "yes"}, follow=True)
    return f"{answer.status_code}: {[str(m) for m in answer.context['messages']]}"

threads = [side(delete, then=reading), side(collection, after=reading, then=recorded)]
[t.join() for t in threads]
print(said[:2])
print(said[2:], ArchiveObject.objects.count())
"""
)


def test_an_archive_row_delete_lets_other_writes_through_while_the_store_reads(tmp_path):
    result = run_django(
        ARCHIVE_ROW_PAGE_BESIDE_A_COLLECTION,
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        S3_ARCHIVE_BUCKET="",
        ARCHIVE_LOCAL_DIR=str(tmp_path / "archive"),
    )
    assert result.returncode == 0, result.stderr[-2000:]
    first, then = result.stdout.splitlines()[-2:]
    assert first == "['collector run recorded', 'file read']"
    assert "cannot be deleted: restore finds archives/2022/data_2022-01-01.parquet only" in then
    assert then.endswith(" 1")  # the row stays
