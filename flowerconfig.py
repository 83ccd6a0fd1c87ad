"""Flower's settings file, read from the directory it starts in (./flowerconfig.py, its default):
make run's Procfile and docker-compose.yml both start it in the project's root.

Flower can inspect and revoke tasks, so it starts only behind a usable login: FLOWER_BASIC_AUTH
(`user:password`, several separated by commas), each with a user and a password of at least
MIN_PASSWORD characters. Without it Flower served every page to anyone who reached its port;
`admin:` let in `admin` with an empty password. The environment and the command line are read
before this file, so `options.basic_auth` holds what either gave.

Flower keeps the events of its last `max_tasks` tasks in memory, about 10 KB a task (measured
under `make run`'s schedule, some 5,500 tasks a day). Its own default, 100,000, is about a
gigabyte, reached in some three weeks; MAX_TASKS (Celery's own default for a state of events,
about two days of tasks) is about 100 MB. FLOWER_MAX_TASKS, or `--max_tasks` on the command
line, sets another number: a value here would replace the variable's (the command line is read
again after this file).
"""

import os
import sys

from tornado.options import options

MIN_PASSWORD = 12
MAX_TASKS = 10_000
FIX = (
    "set FLOWER_BASIC_AUTH=user:password in .env (scripts/init-env writes a generated one where "
    "the line is missing or empty)"
)


def _problem(logins: list[str]) -> str | None:
    if not [login for login in logins if login]:
        return "FLOWER_BASIC_AUTH is not set: Flower would let anyone who reaches it in"
    for login in logins:
        user, colon, password = login.partition(":")
        if not colon:
            return f"FLOWER_BASIC_AUTH: {login!r} is not user:password"
        if not user:
            return "FLOWER_BASIC_AUTH: a login has no user name"
        if len(password) < MIN_PASSWORD:
            return (
                f"FLOWER_BASIC_AUTH: the login {user!r} has a password of {len(password)} "
                f"characters; use at least {MIN_PASSWORD} random ones"
            )
    return None


if not options.auth and (problem := _problem(list(options.basic_auth or []))):
    sys.exit(f"{problem}. Flower can inspect and revoke tasks: {FIX}.")


if "FLOWER_MAX_TASKS" not in os.environ:
    max_tasks = MAX_TASKS
