"""manage.py downsample_hourly [--start D] [--end D] [--dry-run]: raw -> hourly now."""

from retention.management.commands._downsample import DownsampleCommand
from retention.models import RetentionRun
from retention.tiers import runner as tiers


class Command(DownsampleCommand):
    help = (
        "Aggregate Home Assistant's raw data older than RETENTION_RAW_DAYS into hourly rows "
        "(retention policy enrich_hourly), verify them and delete the raw points. Resumes "
        "after a crash; a progress bar shows in a terminal."
    )
    operation = RetentionRun.Operation.DOWNSAMPLE_HOURLY
    function = staticmethod(tiers.downsample_hourly)
