"""A real full disk for the tests: a small tmpfs mounted for the test (`tmpfs`), filled up to
its last byte (`fill`), and a private influxd whose data, WAL and meta directories live on one
(`influxd_on`). Mounting needs root, as CI and `make test` on the project's machines run: where
`mount` is refused the test fails, saying why, rather than passing without a full disk."""

from __future__ import annotations

import errno
import subprocess
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest

from bench._tiers import PrivateInflux
from tests.support.private_influx import the_influxdb

FILLER = "filler"  # the file that takes the disk's free space


@contextmanager
def tmpfs(path: Path, size: str = "4m") -> Iterator[Path]:
    """A tmpfs of `size` mounted at `path` (made if missing), unmounted afterwards."""
    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode:
        pytest.fail(
            f"cannot mount a tmpfs at {path} to give the test a full disk (it needs root): "
            f"{mounted.stderr.strip() or mounted.returncode}",
            pytrace=False,
        )
    try:
        yield path
    finally:
        subprocess.run(["umount", "--lazy", str(path)], check=True)


def fill(disk: Path) -> None:
    """Take every free byte of `disk` with one file (`free` gives them back)."""
    with open(disk / FILLER, "ab", buffering=0) as filler:
        while True:
            try:
                filler.write(bytes(4096))
            except OSError as exc:
                assert exc.errno == errno.ENOSPC, exc
                return


def free(disk: Path) -> None:
    (disk / FILLER).unlink()


def influxd_on(disk: Path, settings) -> AbstractContextManager[PrivateInflux]:
    """A private influxd (bench._tiers) keeping everything on `disk`; the settings' InfluxDB."""
    return the_influxdb(PrivateInflux("full-disk", data=disk / "influxd"), settings)
