"""`python -m tests.support.celery_main <arguments>`: Celery's command line (`python -m celery`)
as the tests' workers run it (tests.support.worker), whose process ends as soon as it is done.

A worker told to stop logs its last line within milliseconds, then its interpreter spends
1-2 s on a loaded machine in the garbage collections of its shutdown, walking every object of
Django and Celery, while the test waits for the process to end. Here, at exit, after Celery's
and Django's own exit handlers (it is registered first, so it runs last), the objects left are
frozen: the final collections skip them. Files, logs and connections are closed as before (by
their owners or their reference counts); the worker is the same in every other way."""

import atexit
import gc

atexit.register(gc.freeze)

from celery.__main__ import main  # noqa: E402  (after the exit handler: it runs last)

if __name__ == "__main__":
    main()
