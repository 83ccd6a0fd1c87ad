"""Scripts for a child process (tests.support.startup.run_django) on a SQLite file database:
threads of their own, each with its own connection, writing beside each other."""

# In the child: `side(work, after, then)` runs `work` in a thread of its own (its own database
# connection) once `after` is set (10 s at most), adds what it returns (or raised) to `said`
# and sets `then`.
SIDES = """
import threading
from django.db import connection
said = []

def side(work, after=None, then=None):
    def body():
        try:
            if after is not None:
                after.wait(10)
            said.append(work())
        except Exception as exc:
            said.append(f"{work.__name__}: {exc}")
        finally:
            if then is not None:
                then.set()
            connection.close()
    thread = threading.Thread(target=body)
    thread.start()
    return thread
"""
# A collector's run record, saved in the thread's own connection.
COLLECTION = """
from datetime import UTC, datetime
from collectors.models import CollectorRun

def collection():
    CollectorRun.objects.create(
        source="carbon", provider="uk", target="GB", started=datetime.now(UTC), status="ok"
    )
    return "collector run recorded"
"""
