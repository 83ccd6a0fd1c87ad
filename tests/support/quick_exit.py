"""`python -m tests.support.quick_exit <module> <arguments>`: `python -m <module> <arguments>`
(Celery's command line, gunicorn) as the tests run a worker or server of theirs, whose process,
and each process it forks, ends as soon as it is done.

A worker told to stop logs its last line within milliseconds, then its interpreter spends
1-2 s on a loaded machine in the garbage collections of its shutdown, walking every object of
Django and Celery, while the test waits for the process to end. Here, at exit, after the
module's own exit handlers (this one is registered first, so it runs last), the objects left
are frozen: the final collections skip them. Files, logs and connections are closed as before
(by their owners or their reference counts); the program is the same in every other way."""

import atexit
import gc
import runpy
import sys

atexit.register(gc.freeze)

if __name__ == "__main__":
    runpy.run_module(sys.argv.pop(1), run_name="__main__", alter_sys=True)
