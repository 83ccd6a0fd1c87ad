"""Hourly -> daily, now: compose hourly rows older than RETENTION_HOURLY_DAYS into daily rows
(retention policy enrich_daily), verify them and delete the hourly rows. Resumes after a crash;
a progress bar shows in a terminal."""

from retention.management.commands._downsample import DownsampleCommand
from retention.models import RetentionRun
from retention.tiers import runner as tiers


class Command(DownsampleCommand):
    help = __doc__
    operation = RetentionRun.Operation.DOWNSAMPLE_DAILY
    function = staticmethod(tiers.downsample_daily)
