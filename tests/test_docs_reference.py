"""What the reference pages state that a reader looks things up by, checked against the code:
every endpoint of the URL conf is in docs/api.md's table with each of its methods, a module
named by its file name is in the package the text places it in, every variable a settings
table documents is read, a default given in brackets in the prose is the settings', and the
methods docs/api.md says each page takes are those its 405 names."""

import re
from pathlib import Path

import pytest

from tests.support.doc_pages import DEFAULTS, ENDPOINT, FENCED, PAGES, ROOT, VARIABLES, same


def test_every_endpoint_of_the_url_conf_is_in_the_api_page_with_each_method():
    """Each path under /api/ and /retention/ is a row of docs/api.md's endpoint table, once per
    method its view answers (`GET /retention/runs/<id>`; a span without a method takes the
    one before it in the cell: `GET /api/schema/`, `/api/docs/`)."""
    from django.urls import URLResolver, get_resolver, resolve

    def routes(patterns, prefix=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from routes(pattern.url_patterns, prefix + str(pattern.pattern))
            else:
                yield "/" + prefix + str(pattern.pattern), pattern.callback

    documented = set()
    for cell in re.findall(r"^\| (`.*?) \|", (ROOT / "docs" / "api.md").read_text(), re.M):
        method = None
        for span in re.findall(r"`([^`]+)`", cell):
            if match := ENDPOINT.fullmatch(span):
                method = match[1] or method
                view = resolve(re.sub(r"<[^>]*>|…", "1", match[2])).func
                documented.add((getattr(view, "view_class", view), method))
    missing = []
    for path, callback in routes(get_resolver().url_patterns):
        if not path.startswith(("/api/", "/retention/")):
            continue
        view = getattr(callback, "view_class", callback)
        names = getattr(callback, "view_initkwargs", {}).get("http_method_names")
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
            takes = hasattr(view, method.lower()) and method.lower() in (
                names or view.http_method_names
            )
            if takes and (view, method) not in documented:
                missing.append(f"{method} {path}")
    assert not missing, f"docs/api.md's endpoint table does not name: {missing}"


CHECKOUT_FILES = {
    path.name
    for top in ROOT.iterdir()
    if top.name not in {".venv", ".git", "var"}
    for path in ([top] if top.is_file() else top.rglob("*.py"))
}


def test_every_module_the_pages_name_by_its_file_name_is_where_they_say():
    """`stepwise.py` in the item of `retention/`, after `tiers/`, is retention/tiers/stepwise.py,
    or a file of a package above it (`errors.py` after `mqtt/` is enrich/errors.py) or of one
    of its packages ("`retention/`: ... each with its `tasks.py`"). In a paragraph or list item
    a folder sets where the file names after it are looked up: a full path
    (`collectors/smart_meter/emporia/`), or one found from the last folder or from the one
    that opened the line or item (`influx/` of `enrich/`, after `collectors/occupancy/google/`)."""

    def up(folder: Path) -> list[Path]:
        return [folder, *[p for p in folder.parents if ROOT in (p, *p.parents)]]

    wrong = []
    for page in PAGES:
        for paragraph in re.split(r"\n\s*\n|^#.*$", FENCED.sub("", page.read_text()), flags=re.M):
            where = base = ROOT
            for span in re.finditer(r"`([^`\n]+)`", paragraph):
                name = span[1].strip("()[],;:'\"")
                line = paragraph[paragraph.rfind("\n", 0, span.start()) + 1 : span.start()]
                if "/" in name and not name.endswith("/"):  # a file's path: its folder
                    name = name[: name.rfind("/") + 1]
                if re.fullmatch(r"[\w-]+(/[\w-]+)*/", name):
                    found = [f / name for f in (ROOT, *up(where), *up(base)) if (f / name).is_dir()]
                    where = found[0] if found else where
                    if re.fullmatch(r"\s*(?:(?:[-*]|\d+\.) )?", line):
                        base = where
                elif re.fullmatch(r"\w+\.py", name) and not re.match(
                    r"\s+of\s", paragraph[span.end() :]
                ):
                    # (not "the `tasks.py` of `enrich`, `collectors`, ...": the packages follow)
                    folders = [*up(where), *up(base)]
                    # Before any folder is named, anywhere in the checkout.
                    anywhere = where == ROOT and name in CHECKOUT_FILES
                    if (
                        not any((f / name).is_file() for f in folders)
                        and not any(where.glob(f"*/{name}"))
                        and not anywhere
                    ):
                        wrong.append(f"{page.name}: {name} (looked in {where.relative_to(ROOT)}/)")
    assert not wrong, wrong


@pytest.mark.parametrize("document", ["docs/configuration.md", "docs/home_assistant.md"])
def test_every_variable_a_settings_table_documents_is_read(document):
    """The other way round from test_every_variable_is_documented: a row for a variable the
    settings no longer read would tell the user to set something that does nothing."""
    from django.conf import settings

    read = set(VARIABLES) | {
        f"CACHE_TTL_{source.upper()}_SECONDS" for source in settings.CACHE_TTL_SECONDS
    }
    rows = re.findall(r"^\| (`[A-Z].*?) \|", (ROOT / document).read_text(), re.M)
    named = {name for row in rows for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", row)}
    assert named, f"{document} has no settings table"
    assert not named - read, f"{document} documents variables nothing reads: {named - read}"


def test_the_defaults_the_prose_gives_in_brackets_are_the_code_s():
    """`RETENTION_RAW_DAYS` (7), `API_THROTTLE_USER` (`300/minute`), `S3_SSE` (default
    `AES256`), `MQTT_OFFLINE_AFTER_SECONDS` (180 s) anywhere in the pages."""
    given = re.compile(
        r"`([A-Z][A-Z0-9_]+)`,? \((?:default:? )?(?:`([^`]+)`|([\w./:-]+?))"
        r"(?: (?:s|days?|minutes?|hours?))?(?: per (?:address|user))?[,;)]"
    )
    wrong, checked = [], 0
    for page in PAGES:
        for name, quoted, bare in given.findall(" ".join(page.read_text().split())):
            value = quoted or bare  # a quoted default may hold commas: `localhost,127.0.0.1`
            if name in DEFAULTS:
                checked += 1
                if not same(value, DEFAULTS[name]):
                    wrong.append(
                        f"{page.name}: {name} ({value}), the default is {DEFAULTS[name]!r}"
                    )
    assert checked > 10 and not wrong, wrong


@pytest.mark.django_db
def test_the_methods_docs_api_md_gives_each_page_are_its_allow_header():
    """ "`/` and `/setup/` take GET, HEAD and POST, `/login/` GET, POST, HEAD and OPTIONS, ...":
    the 405 a page answers a method it does not take names the same ones in `Allow`."""
    from django.test import Client

    text = " ".join((ROOT / "docs" / "api.md").read_text().split())
    method = r"(?:GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS)"
    given = re.findall(
        rf"`(/[\w/]*)`(?: and `(/[\w/]*)`)?(?: take)? ((?:{method}(?:, | and ))*{method})\b", text
    )
    assert len(given) >= 4, given
    wrong = []
    for first, second, methods in given:
        for path in filter(None, (first, second)):
            answer = Client().generic("PROPFIND", path)
            allowed = set(answer.get("Allow", "").split(", "))
            if answer.status_code != 405 or allowed != set(re.findall(method, methods)):
                wrong.append(f"{path}: docs {methods}; {answer.status_code} Allow {allowed}")
    assert not wrong, wrong


def test_the_defaults_of_the_variables_only_the_scripts_read_are_theirs():
    """ "Used by the scripts only: `WEB_BIND` (default `127.0.0.1:8000`) ... `PYTEST_WORKERS`
    (3)" and the compose-only ones of docs/configuration.md: the Procfile, scripts/,
    the Makefile or docker-compose.yml falls back to that value (`${NAME:-value}`,
    `NAME ?= value`, `ensure NAME value`; `$VAR/` is var/)."""
    text = " ".join((ROOT / "docs" / "configuration.md").read_text().split())
    part = text[text.index("Used by the scripts only") : text.index("its login.")]
    given = re.findall(r"`([A-Z][A-Z0-9_]+)` \((?:default )?`?([^`)]+)`?\)", part)
    code = "\n".join(
        path.read_text().replace("$VAR/", "var/")
        for path in [
            ROOT / "Procfile",
            ROOT / "Makefile",
            ROOT / "docker-compose.yml",
            *sorted((ROOT / "scripts").iterdir()),
        ]  # fmt: skip
        if path.is_file()
    )
    wrong = [
        f"{name} ({value})"
        for name, value in given
        if value != "user:password"  # the form of FLOWER_BASIC_AUTH, not a default
        and not any(
            form in code
            for form in (f"${{{name}:-{value}}}", f"{name} ?= {value}", f"ensure {name} {value}")
        )
    ]
    assert len(given) >= 12 and not wrong, (given, wrong)


def test_the_demo_walk_through_gives_the_tier_runs_days_to_aggregate():
    """deployment.md's demo: its dry run of downsample_hourly on `demo_home --days 7` said
    "would aggregate 0 raw points", a week being all raw. The page says so, and its larger
    --days leaves the weeks it names past RETENTION_RAW_DAYS."""
    text = " ".join((ROOT / "docs" / "deployment.md").read_text().split())
    raw_days = int(DEFAULTS["RETENTION_RAW_DAYS"])
    first = int(re.search(r"manage\.py demo_home --days (\d+)", text)[1])
    assert first <= raw_days and "as raw points stay `RETENTION_RAW_DAYS` days" in text
    days, weeks = re.search(r"`--days (\d+)` gives it (\w+) weeks", text).groups()
    words = {"two": 2, "three": 3, "four": 4}
    assert abs(int(days) - raw_days - 7 * words[weeks]) <= 3, (days, weeks)
