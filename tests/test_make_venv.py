"""The Makefile's virtualenv: `make run` and `make test` create `.venv/` on a fresh machine."""

import os
import shutil
import subprocess
import sys

from tests.support.compose import ROOT


def _project(folder) -> None:
    """The Makefile and scripts in `folder`, with requirements that need no download."""
    shutil.copy(ROOT / "Makefile", folder / "Makefile")
    shutil.copytree(ROOT / "scripts", folder / "scripts")
    (folder / "requirements").mkdir()
    for name in ("base.txt", "production.txt", "local.txt"):
        (folder / "requirements" / name).write_text("")


def test_make_makes_again_a_virtualenv_that_venv_left_without_pip(tmp_path):
    # Debian's python3 without its python3-venv package stops `python3 -m venv .venv` after it
    # linked .venv/bin/python, before pip: the Makefile took that .venv as made, and every
    # `make run` or `make test` after it (python3-venv installed as the error said) failed on
    # ".venv/bin/pip: No such file or directory" until the user deleted .venv by hand.
    _project(tmp_path)
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


def test_make_installs_the_venv_package_when_its_python_cannot_make_a_virtualenv(tmp_path):
    # Debian's and Ubuntu's python3 lack ensurepip until python3.X-venv is installed; the other
    # services the Makefile needs it installs with apt, this one too.
    _project(tmp_path)
    installed, calls, fakes = tmp_path / "installed", tmp_path / "apt-calls", tmp_path / "fakes"
    fakes.mkdir()
    python = fakes / "python3"  # Debian's python3 before its venv package
    python.write_text(
        "#!/bin/sh\n"
        f'if [ "$2" = "import ensurepip" ] && [ ! -e {installed} ]; then exit 1; fi\n'
        f'exec {sys.executable} "$@"\n'
    )
    (fakes / "apt-get").write_text(f'#!/bin/sh\necho "$*" >>{calls}\ntouch {installed}\n')
    (fakes / "sudo").write_text('#!/bin/sh\nexec "$@"\n')
    for fake in fakes.iterdir():
        fake.chmod(0o755)
    env = dict(
        os.environ, PATH=f"{fakes}{os.pathsep}{os.environ['PATH']}", PIP_NO_INDEX="1",
        PIP_DISABLE_PIP_VERSION_CHECK="1",
    )  # fmt: skip
    done = subprocess.run(
        ["make", "venv", f"PYTHON={python}"], cwd=tmp_path, env=env, capture_output=True,
        text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    assert f"install -y -qq python{version}-venv" in calls.read_text().splitlines()
    assert (tmp_path / ".venv" / "bin" / "pip").exists()
