"""The Makefile's virtualenv: `make run` and `make test` create `.venv/` on a fresh machine."""

import os
import shutil
import subprocess
import sys

from tests.support.compose import ROOT


def test_make_makes_again_a_virtualenv_that_venv_left_without_pip(tmp_path):
    # Debian's python3 without its python3-venv package stops `python3 -m venv .venv` after it
    # linked .venv/bin/python, before pip: the Makefile took that .venv as made, and every
    # `make run` or `make test` after it (python3-venv installed as the error said) failed on
    # ".venv/bin/pip: No such file or directory" until the user deleted .venv by hand.
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    shutil.copytree(ROOT / "scripts", tmp_path / "scripts")
    (tmp_path / "requirements").mkdir()
    for name in ("base.txt", "production.txt", "local.txt"):
        (tmp_path / "requirements" / name).write_text("")  # nothing to download
    half_made = tmp_path / ".venv" / "bin"
    half_made.mkdir(parents=True)
    (half_made / "python").symlink_to(sys.executable)
    env = dict(os.environ, PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    done = subprocess.run(
        ["make", "venv", f"PYTHON={sys.executable}"], cwd=tmp_path, env=env,
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    pip = subprocess.run(
        [str(half_made / "python"), "-m", "pip", "--version"], capture_output=True, text=True
    )
    assert pip.returncode == 0 and str(tmp_path / ".venv") in pip.stdout, pip.stdout + pip.stderr
    assert (tmp_path / ".venv" / ".installed").exists()
