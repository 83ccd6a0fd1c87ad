"""A tier run's summary (printed by the commands, logged, the task's result) counts in words a
user reads: one day, one entity, one late point. It said "1 day(s), 1 entities, 1 raw points
-> 1 hourly rows" and "1 late point(s) folded in"."""

from retention.models import RetentionRun
from retention.tiers import runner
from retention.tiers.dryrun import quiet_days


def test_a_run_of_one_of_each_says_so_in_the_singular():
    run = RetentionRun(
        operation=RetentionRun.Operation.DOWNSAMPLE_HOURLY,
        status=RetentionRun.Status.OK,
        records_processed=1,
        records_deleted=1,
        details={"days": ["2026-03-01"], "entities": 1, "rows_written": 1, "late_points": 1},
    )
    assert runner.summary(run).startswith(
        "raw -> hourly run None: ok; 1 day, 1 entity, 1 raw point -> 1 hourly row, "
        "1 deleted; 1 late point folded in"
    ), runner.summary(run)


def test_a_dry_run_of_one_of_each_says_so_in_the_singular():
    run = RetentionRun(
        operation=RetentionRun.Operation.DOWNSAMPLE_DAILY,
        status=RetentionRun.Status.DRY_RUN,
        records_processed=1,
        details={"days": [{"day": "2026-03-01"}], "would_delete_points": 1, "kept_raw_points": 1},
    )
    assert (
        "would aggregate 1 hourly row of 1 day and delete 1 point (1 of them a raw state kept "
        "by the hourly tier)" in runner.summary(run)
    ), runner.summary(run)
    run.details["tier"] = "hourly"
    assert "(1 raw state of sparse entities stays raw)" in runner.summary(run)
    quiet = {"days_with_nothing": 1, "days_in_range": 2, "first_day": "2026-03-01"}
    quiet |= {"last_day": "2026-03-02", "tier": "daily"}
    assert quiet_days(quiet).startswith("1 of the 2 days from 2026-03-01 to 2026-03-02 holds no ")
    quiet["days_in_range"] = quiet["days_with_nothing"] = 1
    assert quiet_days(quiet).startswith("1 of the 1 day from 2026-03-01 to 2026-03-02 holds no ")


def test_storage_grown_right_after_a_run_says_when_what_it_freed_is_measured(settings):
    # InfluxDB frees the space at its next compaction: the line read "storage 0.99 MB -> 1.30
    # MB (freed -0.30 MB, -30.5 %)", a negative freeing.
    settings.RETENTION_SETTLE_HOURS = 5
    run = RetentionRun(
        operation=RetentionRun.Operation.DOWNSAMPLE_HOURLY,
        status=RetentionRun.Status.OK,
        storage_before_bytes=990_000,
        storage_after_bytes=1_292_000,
        storage_freed_mb=-0.302,
        details={"days": ["2026-03-01"], "entities": 12, "reduction_percent": -30.5},
    )
    assert (
        "; storage 0.99 MB -> 1.29 MB (0.30 MB more until InfluxDB compacts the shards; what the "
        'run freed is measured again once the run is 5 h old, by the daily task "Settle tier '
        "runs' storage\");" in runner.summary(run)
    ), runner.summary(run)
    run.storage_after_bytes, run.storage_freed_mb = 490_000, 0.5
    run.details["reduction_percent"] = 50.5
    assert "; storage 0.99 MB -> 0.49 MB (freed 0.50 MB, 50.5 %);" in runner.summary(run)
