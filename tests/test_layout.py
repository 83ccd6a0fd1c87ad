"""The layout's rules, read from the code itself: the core package imports nothing from the
apps built on it, and each outside service is reached through its one door."""

import ast
import functools
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.startup import run_django

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("enrich", "collectors", "retention", "dashboard", "config")

# Each outside service's client library, and the modules allowed to import it.
DOORS = {
    "boto3": {"retention/archive/s3.py"},
    "botocore": {"retention/archive/s3.py"},
    "influxdb_client": {"enrich/influx/v2.py"},
    "redis": {"enrich/redis/client.py", "enrich/redis/budget.py", "enrich/redis/connection.py"},
    "paho": {"enrich/mqtt/broker.py"},
    # The OAuth flow only catches requests' errors raised inside google-auth-oauthlib's
    # token exchange (Google's library brings its own HTTP session).
    "requests": {
        "enrich/http/client.py",
        "enrich/http/errors.py",
        "enrich/http/scrubbing.py",
        # the InfluxDB door's session, its streamed answers and its bulk CSV reads
        "enrich/influx/transport.py",
        "enrich/influx/gateway.py",
        "enrich/influx/rows.py",
        "enrich/influx/bulk.py",
        "collectors/occupancy/google/oauth.py",
    },
}


def modules():
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path.relative_to(ROOT).as_posix(), path


def imported(path: Path) -> set[str]:
    """Top-level names of every module `path` imports, at any depth of the code."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


@functools.cache
def imports() -> dict[str, set[str]]:
    """Each module's imports, parsed when a test first asks: not at every collection (each
    pytest-xdist worker collects this file, and the parse of every module took 0.5 s of CPU)."""
    return {name: imported(path) for name, path in modules()}


def test_the_core_imports_nothing_from_the_apps_on_it():
    upward = {
        name
        for name, found in imports().items()
        if name.startswith("enrich/")
        and any(m.split(".")[0] in ("collectors", "retention", "dashboard") for m in found)
    }
    assert upward == set(), sorted(upward)


@pytest.mark.parametrize("library", sorted(DOORS))
def test_each_service_library_is_imported_only_by_its_door(library):
    users = {
        name for name, found in imports().items() if any(m.split(".")[0] == library for m in found)
    }
    assert users <= DOORS[library], sorted(users - DOORS[library])
    assert users, f"nothing imports {library}: update DOORS"


def test_callers_reach_influxdb_through_the_package_not_its_parts():
    """docs/architecture.md: callers import from `enrich.influx` (the tiers also from
    `enrich.influx.bulk`), so its parts can move without touching them."""
    reaching_in = {
        name: sorted(
            m for m in found if m.startswith("enrich.influx.") and m != "enrich.influx.bulk"
        )
        for name, found in imports().items()
        if not name.startswith("enrich/influx/")
    }
    assert {name: found for name, found in reaching_in.items() if found} == {}


def is_test_module(name: str) -> bool:
    """`tests...test_*` (or a relative `.test_*`): a module pytest collects tests from."""
    return name.startswith(("tests.", ".")) and any(
        part.startswith("test_") for part in name.split(".")
    )


def imported_test_modules(path: Path) -> set[str]:
    """The test modules `path` imports: `import tests.x.test_y`, `from tests.x.test_y import
    z` or `from tests.x import test_y`."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if is_test_module(alias.name))
        elif isinstance(node, ast.ImportFrom):
            base = "." * node.level + (node.module or "")
            names = [base] if is_test_module(base) else [f"{base}.{a.name}" for a in node.names]
            found.update(name for name in names if is_test_module(name))
    return found


def test_no_module_of_the_tests_imports_a_test_module():
    """Shared fixtures live in conftest.py files and shared helpers in tests/support/: a test
    module imported by another would lend it fixtures unseen and tie the two together."""
    importers = {
        path.relative_to(ROOT).as_posix(): sorted(found)
        for path in sorted((ROOT / "tests").rglob("*.py"))
        if (found := imported_test_modules(path))
    }
    assert importers == {}, importers


def lines(path: Path) -> int:
    return len(path.read_text().splitlines())


# Modules still over 400 lines, to be split (the architecture issue). The list may only shrink.
KNOWN_LARGE: set[str] = set()


def test_no_module_over_400_lines():
    large = {name for name, path in modules() if lines(path) > 400}
    assert large <= KNOWN_LARGE, sorted(large - KNOWN_LARGE)
    assert KNOWN_LARGE <= large, f"split already: drop {sorted(KNOWN_LARGE - large)}"


@pytest.mark.django_db
def test_the_models_and_their_migrations_agree():
    """A model change without its migration would reach a user's database only half."""
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=out)
    assert "No changes detected" in out.getvalue()


def test_no_provider_adapter_module_exceeds_250_lines():
    """Each module defining an Adapter subclass (every one the registry imports, and their
    bases) stays small: what a provider needs besides fetching lives in its package."""
    import collectors.registry  # noqa: F401  (imports every adapter module)
    from collectors.base import Adapter

    found, todo = set(), list(Adapter.__subclasses__())
    while todo:
        cls = todo.pop()
        found.add(Path(sys.modules[cls.__module__].__file__).resolve())
        todo += cls.__subclasses__()
    found = {path for path in found if ROOT / "collectors" in path.parents}
    assert len(found) >= 11, sorted(found)  # every provider of the registry, at least
    long = {path.relative_to(ROOT).as_posix(): lines(path) for path in found if lines(path) > 250}
    assert long == {}, long


def test_reading_the_settings_imports_no_celery_kombu_or_paho():
    """A process that only reads the settings (the settings tests start hundreds) imports
    neither Celery nor kombu (about 40 % of its start) nor paho (about a tenth): Celery's app
    is loaded as Django starts (enrich.apps), MQTT_URL read by enrich/mqtt/address.py."""
    libraries = ("celery", "kombu", "paho")
    child = run_django(f"import sys; print(*(m in sys.modules for m in {libraries}))", setup=False)
    assert child.returncode == 0, child.stderr
    assert dict(zip(libraries, child.stdout.split(), strict=True)) == dict.fromkeys(
        libraries, "False"
    )


def test_a_start_of_django_imports_no_numpy_or_googles_client_libraries():
    """Every process of enrich starts Django (manage.py and the healthchecks run each minute,
    gunicorn, the beat, Flower): numpy, about a tenth of its start, and Google's client
    libraries (google-auth, httplib2 with pyparsing, google-api-python-client: the Calendar
    adapter's, about 0.05 s of CPU time) come only where used."""
    libraries = ("numpy", "google.auth", "httplib2", "pyparsing", "googleapiclient")
    code = f"import sys, django; django.setup(); print(*(m in sys.modules for m in {libraries}))"
    child = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert child.returncode == 0, child.stderr
    assert dict(zip(libraries, child.stdout.split(), strict=True)) == dict.fromkeys(
        libraries, "False"
    )


def test_a_workers_start_imports_no_numpy_pyarrow_or_pycognito():
    """A Celery worker imports its task modules at its start (the tests start about a hundred):
    pyarrow and numpy (an archive run, a restore, a read of an archived day) and pycognito
    (an Emporia login), about 0.2 s of CPU time at each start, come only where used."""
    code = (
        "import sys, django; django.setup(); from config.celery import app; "
        "app.loader.import_default_modules(); "
        "print(*(name in sys.modules for name in ('numpy', 'pyarrow', 'pycognito')))"
    )
    child = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert child.returncode == 0, child.stderr
    assert child.stdout.split() == ["False", "False", "False"], child.stdout


def test_a_test_workers_start_imports_no_google_client_library():
    """The tests' Celery workers (Django's checks skipped: tests.support.worker) import their
    task modules, Home Assistant's entities reading the Calendar connection's status among
    them, and none of Google's client libraries (collectors/occupancy/google/connection.py),
    about 0.09 s of CPU time at each of the hundred starts."""
    libraries = ("google.auth", "httplib2", "pyparsing", "googleapiclient", "google_auth_oauthlib")
    code = (
        "import sys, django; django.setup(); from config.celery import app; "
        f"app.loader.import_default_modules(); print(*(m in sys.modules for m in {libraries}))"
    )
    child = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**os.environ, "CELERY_SKIP_CHECKS": "1"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert child.returncode == 0, child.stderr
    assert dict(zip(libraries, child.stdout.split(), strict=True)) == dict.fromkeys(
        libraries, "False"
    )
