"""Logging: one line per event, to stderr (config.settings takes LOG_LEVEL and LOGGING)."""

from config.environment import choice

LOG_LEVEL = choice("LOG_LEVEL", "info", ("debug", "info", "warning", "error")).upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    # Libraries' records (urllib3's request lines at DEBUG) leave with their secrets scrubbed.
    "filters": {
        "scrub": {"()": "enrich.http.scrubbing.ScrubLibraryLogs"},
        "refusals": {"()": "enrich.refusal_logs.OneLineRefusals"},
    },
    "handlers": {
        "stderr": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["refusals", "scrub"],
        }
    },
    "root": {"handlers": ["stderr"], "level": LOG_LEVEL},
    # django-axes' banner ("AXES: BEGIN version ...") at every process's and command's start.
    "loggers": {"axes.apps": {"level": "WARNING"}},
}
