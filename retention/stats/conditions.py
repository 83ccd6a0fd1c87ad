"""Alerts without a run: a condition that stays open while it holds (retention.stats.alerts).

`sync(kind, message)` opens the alert of `kind` while `message` says the condition holds
(returned, to be delivered), keeps an open one's message current (not delivered again) and
clears it once `message` is empty. The partial unique constraint of `Alert` lets one of two
concurrent checkers open it. Conditions: entities gone from Home Assistant still counted in
the views (retention.entities.gone), Home Assistant's raw retention policy leaving little slack
for failed nightly runs, or any while the raw -> hourly beat entry is disabled
(retention.tiers.safety.check_raw_slack).
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import IntegrityError, transaction

from retention.models import Alert

logger = logging.getLogger("retention.stats.alerts")


def sync(kind: str, message: str, now: datetime) -> list[Alert]:
    """Open, keep current or clear the alert of the condition `kind` ("" = it is over)."""
    opened = Alert.objects.filter(kind=kind, run__isnull=True, cleared__isnull=True)
    if not message:
        opened.update(cleared=now)
        return []
    if opened.exclude(message=message).update(message=message) or opened.exists():
        return []  # the same incident: its message says what holds now
    try:
        with transaction.atomic():  # the partial unique constraint lets one checker win
            alert = Alert.objects.create(kind=kind, message=message)
    except IntegrityError:
        return []
    logger.error("retention alert %s (%s): %s", alert.pk, kind, message)
    return [alert]
