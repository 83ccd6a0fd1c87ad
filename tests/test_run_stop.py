"""The file `make run` reads: honcho read `.env` whatever ENRICH_ENV_FILE named, while the
settings and scripts/services.sh read the named file (docs/configuration.md)."""

import json
import os
import subprocess
import sys

from tests.support.compose import ROOT


def test_honcho_reads_the_file_enrich_env_file_names(tmp_path):
    named, given = tmp_path / "enrich.env", tmp_path / "given.env"
    named.write_text("WEB_BIND=127.0.0.1:8101\nFLOWER_PORT=5601\n")
    given.write_text("WEB_BIND=127.0.0.1:8102\n")
    printed = "import json, os; print(json.dumps([os.environ.get(n) for n in ('WEB_BIND', 'FLOWER_PORT')]))"  # noqa: E501

    def seen(env_file: str, *args: str) -> list:
        env = dict(os.environ, ENRICH_ENV_FILE=env_file, WEB_BIND="shell", FLOWER_PORT="shell")
        done = subprocess.run(
            [sys.executable, "scripts/honcho", "run", *args, sys.executable, "-c", printed],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=True,
        )  # fmt: skip
        return json.loads(done.stdout)

    assert seen(str(named)) == ["127.0.0.1:8101", "5601"]  # the file's over the shell's
    assert seen(str(named), "-e", str(given)) == ["127.0.0.1:8102", "shell"]  # -e wins
    assert seen("none") == ["shell", "shell"]  # no file: the shell's
