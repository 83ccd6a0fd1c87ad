"""A request Django refuses as suspicious (a Host not in DJANGO_ALLOWED_HOSTS, a body or query
over its limits, a form it cannot read) is logged by Django on `django.security.<kind>` with the
traceback of its own frames: twenty lines in the web log for each stray Host (a scanner on the
LAN reaches a `WEB_BIND=0.0.0.0:8000` by its address). The client gets the answer saying why
(enrich/error_pages.py); the log keeps Django's one line naming the refusal."""

import logging


class OneLineRefusals(logging.Filter):
    """A log handler's filter: a `django.security.*` record leaves without its traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith("django.security.") and record.exc_info:
            record.exc_info = record.exc_text = None
        return True
