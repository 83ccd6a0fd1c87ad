"""How long the whole test suite takes: `python -m bench.test_suite [--workers N] [--serial]`.

Runs pytest over every test as `make test` does (`-n N --dist worksteal`, N = 3 by default),
in the environment it is given (`make bench-tests` gives it the Makefile's test environment),
and records pytest's own session time. With `--serial` it first runs the suite in one process
too, so the two figures come from the same period on the same machine (other load moves both).

Figures: pytest_seconds (target <= 300, issue 15), failed (target 0); with --serial also
serial_pytest_seconds and speedup (serial / parallel).
"""

import argparse
import re
import subprocess
import sys
import time

from bench._tiers import ROOT, figure, report

NAME = "test_suite"
SUMMARY = re.compile(r"^=*\s*(?P<counts>.*?) in (?P<seconds>[\d.]+)s\b", re.MULTILINE)


def run_suite(workers: int) -> dict:
    """One whole run: pytest's counts and session seconds, and the wall time around it."""
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    command += ["-n", str(workers), "--dist", "worksteal"]
    began = time.monotonic()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    wall = time.monotonic() - began
    summaries = list(SUMMARY.finditer(done.stdout))
    if not summaries:
        sys.stderr.write(done.stdout[-4000:] + done.stderr[-4000:])
        raise SystemExit(f"pytest (-n {workers}) printed no summary line; its output is above")
    last = summaries[-1]
    counts = {word: int(n) for n, word in re.findall(r"(\d+) (\w+)", last["counts"])}
    failed = counts.get("failed", 0) + counts.get("error", 0) + counts.get("errors", 0)
    if failed:
        sys.stderr.write(done.stdout[-6000:])
    return {
        "seconds": float(last["seconds"]),
        "wall": wall,
        "passed": counts.get("passed", 0),
        "failed": failed,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.test_suite", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--workers", type=int, default=3, help="pytest-xdist workers (-n)")
    parser.add_argument("--serial", action="store_true", help="also run in one process first")
    args = parser.parse_args(argv)

    serial = run_suite(0) if args.serial else None
    parallel = run_suite(args.workers)
    figures = {
        "pytest_seconds": figure(round(parallel["seconds"], 1), "s", 300, "lower"),
        "wall_seconds": figure(round(parallel["wall"], 1), "s", None, "lower"),
        "passed": figure(parallel["passed"], "tests", None, "higher"),
        "failed": figure(parallel["failed"], "tests", 0, "lower"),
    }
    checks = {"every test passed": parallel["failed"] == 0 and parallel["passed"] > 0}
    if serial is not None:
        figures["serial_pytest_seconds"] = figure(round(serial["seconds"], 1), "s", None, "lower")
        figures["speedup"] = figure(
            round(serial["seconds"] / parallel["seconds"], 2), "x", None, "higher"
        )
        checks["every test passed in one process"] = serial["failed"] == 0
    return report(NAME, {"workers": args.workers, "serial": args.serial}, figures, checks)


if __name__ == "__main__":
    sys.exit(main())
