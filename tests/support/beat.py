"""Beat's table in a test: run what beat sends at a moment, in the test's own process."""

from config.celery import app
from config.schedule import SCHEDULE

EVERY_MINUTE = "* * * * *"


def run_every_minute_collectors() -> dict[str, object]:
    """Run the collectors' tasks beat sends at the start of every minute (config/schedule.py),
    as a worker would; their results by task name."""
    app.loader.import_default_modules()
    return {
        entry.task: app.tasks[entry.task]()
        for entry in SCHEDULE
        if entry.crontab == EVERY_MINUTE and entry.queue == "collectors"
    }
