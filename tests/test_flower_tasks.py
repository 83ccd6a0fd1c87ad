"""Flower keeps the events of a bounded number of tasks in memory (flowerconfig.py's MAX_TASKS):
with its own default, 100,000 tasks of about 10 KB each, a Flower left running under the
schedule grew by about a gigabyte in three weeks. FLOWER_MAX_TASKS and `--max_tasks` set
another bound. Read as `celery -A config flower` reads its options, from the project's root."""

import os
import subprocess
import sys

import pytest

from tests.support.compose import ROOT

# What the `flower` command does before it starts: the FLOWER_* variables, then the config
# file (./flowerconfig.py), then the command line again.
READ_OPTIONS = """
import sys
from flower.command import apply_env_options, apply_options
from tornado.options import options
apply_env_options()
apply_options("celery", sys.argv[1:])
print(options.max_tasks)
"""


def max_tasks(*argv: str, **env: str) -> int:
    environment = {k: v for k, v in os.environ.items() if k != "FLOWER_MAX_TASKS"}
    environment.update(FLOWER_BASIC_AUTH="admin:flower-test-password", **env)
    done = subprocess.run([sys.executable, "-c", READ_OPTIONS, *argv], cwd=ROOT,
                          env=environment, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return int(done.stdout)


def test_flower_keeps_a_bounded_number_of_tasks():
    assert max_tasks() == 10_000  # docs/configuration.md's FLOWER_MAX_TASKS


@pytest.mark.parametrize(
    ("argv", "env", "kept"),
    [((), {"FLOWER_MAX_TASKS": "2500"}, 2500), (("--max_tasks=500",), {}, 500)],
)
def test_flower_max_tasks_from_the_environment_or_the_command_line(argv, env, kept):
    assert max_tasks(*argv, **env) == kept
