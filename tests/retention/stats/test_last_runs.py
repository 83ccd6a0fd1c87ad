"""/retention/stats' `last_downsample_*` and `last_archive_to_s3` are "the newest real run (not
a dry run, not skipped)" (docs/storage.md): a dry run is not one while it runs either (a
`downsample_hourly --dry-run` takes minutes on a large home), on PostgreSQL and on the embedded
SQLite of `make run`'s defaults."""

from datetime import UTC, date, datetime, timedelta

import pytest

from retention.archive.run import run_archive
from retention.archive.target import get_storage
from retention.models import RetentionRun
from retention.stats.history import last_run
from retention.tiers import runner as tiers
from tests.retention.conftest import T0
from tests.support.archive import Recording, daily_rows
from tests.support.startup import run_django

pytestmark = pytest.mark.django_db

Op = RetentionRun.Operation
D0, DAY = T0.date(), timedelta(days=1)


def test_a_tier_dry_run_in_progress_is_not_the_last_real_run(ha_db):
    ha_db.saved_entity("official", "sensor.l_power", [(n * 600, n) for n in range(300)], unit="W")
    real = tiers.downsample_hourly(D0, D0 + DAY)
    seen = []

    def progress(done, days, label):
        seen.append((last_run(Op.DOWNSAMPLE_HOURLY)["run_id"], RetentionRun.objects.count()))

    dry = tiers.downsample_hourly(D0 + DAY, D0 + 2 * DAY, dry_run=True, progress=progress)
    assert dry.status == RetentionRun.Status.DRY_RUN and seen
    assert set(seen) == {(real.pk, 2)}  # the dry run recorded, running, and not shown
    assert last_run(Op.DOWNSAMPLE_HOURLY)["run_id"] == real.pk


def test_an_archive_dry_run_in_progress_is_not_the_last_real_run(tier, local_archive):
    now = datetime(2026, 3, 15, tzinfo=UTC)
    tier.write(daily_rows(1, date(2022, 1, 1), 3))
    real = run_archive(now)
    tier.write(daily_rows(1, date(2023, 1, 1), 3))
    seen = []

    class Watched(Recording):  # the store, asked for its lifecycle rules as the run plans
        def check_lifecycle(self, prefix="archives/", years=5):
            seen.append((last_run(Op.ARCHIVE)["run_id"], RetentionRun.objects.count()))
            return super().check_lifecycle(prefix, years)

    dry = run_archive(now, dry_run=True, storage=Watched(get_storage()))
    assert RetentionRun.objects.get(pk=dry.run_id).status == RetentionRun.Status.DRY_RUN
    assert seen and set(seen) == {(real.run_id, 2)}


SQLITE_RUNS = """
from django.core.management import call_command
from django.utils import timezone
from retention.models import RetentionRun as R
from retention.stats.history import last_run
call_command("migrate", verbosity=0)
real = R.objects.create(operation="archive", status="ok", started=timezone.now(), details={})
R.objects.create(operation="archive", status="running", started=timezone.now(),
                 details={"dry_run": True})
print(last_run("archive")["run_id"] == real.pk)
"""


def test_a_dry_run_in_progress_is_not_the_last_real_run_on_sqlite(tmp_path):
    result = run_django(SQLITE_RUNS, DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split()[-1] == "True"
