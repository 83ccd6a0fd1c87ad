"""Fault injection for the crash tests: one way to arm a point, one way to die there.

A step that must survive a crash calls `faults.point(name)` where a crash would hurt most:
the tiers at `hourly:after_write`, `hourly:after_verify`, `hourly:mid_delete`,
`hourly:late_after_write`, `daily:after_write`, `daily:after_verify`, `daily:mid_delete` and
`daily:before_rewrite`; the archive at `archive.after_upload`, `archive.before_delete`,
`archive.after_mark` and `archive.after_delete`; a restore at `restore.after_download`; an
index rebuild at `index.before_record`; a materialized view's run at `view.before_write`.

Arm: the environment variable ENRICH_FAULT_INJECT names one point, or several separated by
commas. Die: at an armed point the process logs the point and kills itself with SIGKILL, as
the OOM killer would: no `finally` runs, no lock is released, the run record stays "running".
Unset, a point does nothing.
"""

import logging
import os
import signal

logger = logging.getLogger(__name__)

ENV = "ENRICH_FAULT_INJECT"


def armed() -> set[str]:
    """The points ENRICH_FAULT_INJECT names (none when it is unset or empty)."""
    return {name.strip() for name in os.environ.get(ENV, "").split(",") if name.strip()}


def point(name: str) -> None:
    """Die here (SIGKILL) when ENRICH_FAULT_INJECT names this point; a no-op otherwise."""
    if name in armed():
        logger.error("fault injection: process exits at %s (%s=%s)", name, ENV, os.environ[ENV])
        os.kill(os.getpid(), signal.SIGKILL)
