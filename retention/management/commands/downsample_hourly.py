"""Raw -> hourly, now: aggregate Home Assistant's raw data older than RETENTION_RAW_DAYS into
hourly rows (retention policy enrich_hourly), verify them and delete the raw points. Resumes
after a crash; a progress bar shows in a terminal."""

from retention.management.commands._downsample import DownsampleCommand
from retention.models import RetentionRun
from retention.tiers import runner as tiers


class Command(DownsampleCommand):
    help = __doc__
    operation = RetentionRun.Operation.DOWNSAMPLE_HOURLY
    function = staticmethod(tiers.downsample_hourly)
