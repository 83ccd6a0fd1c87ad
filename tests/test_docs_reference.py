"""What the reference pages state that a reader looks things up by, checked against the code:
every endpoint of the URL conf is in docs/api.md's table with each of its methods, a module
named by its file name is in the package the text places it in, every variable a settings
table documents is read, a default given in brackets in the prose is the settings', the
methods docs/api.md says each page takes are those its 405 names, and docs/api.md's table, the
OpenAPI schema and the endpoints themselves name the same parameters."""

import re
from pathlib import Path
from urllib.parse import urlencode

import pytest

from tests.support.doc_pages import (
    DEFAULTS,
    ENDPOINT,
    FENCED,
    PAGES,
    ROOT,
    VARIABLES,
    linked_text,
    same,
)


def test_every_endpoint_of_the_url_conf_is_in_the_api_page_with_each_method():
    """Each path under /api/ and /retention/ is a row of docs/api.md's endpoint table, once per
    method its view answers (`GET /retention/runs/<run_id>`; a span without a method takes the
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
    `NAME ?= value`, `ensure NAME value`, `env_value NAME value`; `$VAR/` is var/)."""
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
            for form in (
                f"${{{name}:-{value}}}",
                f"{name} ?= {value}",
                f"ensure {name} {value}",
                f"env_value {name} {value}",
                f'env_value {name} "{value}"',
            )
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


def _named(name: str, text: str) -> bool:
    """`name` is in a code span of `text` as a word (`dry_run`, `?lang=`, `hours=N`)."""
    return any(
        re.search(rf"(?<![\w-]){name}(?![\w-])", span) for span in re.findall(r"`([^`]+)`", text)
    )


def _schema() -> dict:
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


def _declared(schema: dict, path: str, method: str) -> set[str]:
    """The query parameters and the body fields (not read-only) the schema declares for an
    operation, but DRF's own `format`."""
    operation = schema["paths"][path][method.lower()]
    names = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
    for content in operation.get("requestBody", {}).get("content", {}).values():
        body = content["schema"]
        if ref := body.get("$ref"):
            body = schema["components"]["schemas"][ref.rsplit("/", 1)[-1]]
        names |= {n for n, p in body.get("properties", {}).items() if not p.get("readOnly")}
    return names - {"format"}


@pytest.mark.django_db
def test_the_parameters_of_each_endpoint_are_the_same_in_the_api_page_and_the_schema():
    """A row of docs/api.md's endpoint table and the OpenAPI schema (/api/schema/) name the same
    parameters of each endpoint: every query parameter, body field (not read-only) and `lang`
    the schema declares is in a code span of the row or of a page section the row links to;
    every query parameter the row's endpoint spans (`?hours=N&within=24h`) or its text
    (`?lang=`) give, and every field
    a POST row lists before its colon (`start`, `end`: ...) the schema declares. DRF's own
    `format` of every endpoint and the path's own parameters are the table's prose."""
    schema = _schema()
    wrong = []
    table = FENCED.sub("", (ROOT / "docs" / "api.md").read_text())
    for cell, what in re.findall(r"^\| (`.*?) \| (.*) \|$", table, re.M):
        shown = (
            cell
            + what
            + "".join(map(linked_text, re.findall(r"\]\(([^)#\s]*\.md[^)\s]*)\)", what)))
        )
        fields = re.findall(r"`(\w+)`", re.split(r": |→", what, maxsplit=1)[0])
        asked = re.findall(r"`\?(\w+)=`", what)  # `?lang=`: a parameter of the row's endpoints
        method = None
        for span in re.findall(r"`([^`]+)`", cell):
            match = ENDPOINT.fullmatch(span)
            method = match[1] or method
            path = re.sub(r"<(\w+)>", r"{\1}", match[2])
            names = _declared(schema, path, method)
            wrong += [
                f"{span}: {name} is not in the row" for name in names if not _named(name, shown)
            ]
            given = re.findall(r"(?:^|&)(\w+)=", match[3] or "") + asked
            given += fields if method == "POST" else []
            wrong += [f"{span}: {name} is not in the schema" for name in given if name not in names]
    assert not wrong, "\n".join(wrong)


@pytest.mark.django_db
def test_the_parameters_the_schema_declares_are_those_each_endpoint_takes(settings):
    """Asked, not read from the source: a read takes a query parameter when, given empty, it is
    a 400 naming it (a read ignores one it does not take; asked of every name the schema or
    docs/api.md gives); the filters of a view's rows and the fields of a
    changing endpoint, which its 400 to an unknown one lists ("use start, end, dry_run."), are
    those the schema declares; the token endpoint names the fields it requires."""
    from django.contrib.auth import get_user_model
    from rest_framework.test import APIClient

    from enrich.models import Site
    from retention.rollups.materialized import VIEWS

    rates = {"anon": "1000/minute", "user": "1000/minute", "trigger": "1000/hour",
             "token": "1000/minute"}  # fmt: skip
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    schema = _schema()
    client = APIClient()
    client.force_authenticate(get_user_model().objects.create_user("docs", is_staff=True))
    Site.objects.create(name="Home", latitude=52.5, longitude=13.4)
    valid = {"hours": "1", "entity_id": "sensor.x", "start": "2024-01-01T00:00:00Z",
             "end": "2024-01-02T00:00:00Z"}  # fmt: skip

    def listed(answer, name: str) -> set[str]:
        said = answer.json().get(name, "") if answer.status_code == 400 else ""
        return set(said.partition("; use ")[2].rstrip(".").split(", ")) - {""}

    # Every name a read may take: those the schema declares anywhere and those docs/api.md gives.
    asked = set(re.findall(r"[?&](\w+)=", (ROOT / "docs" / "api.md").read_text()))
    asked |= {
        n for path, ops in schema["paths"].items() for m in ops for n in _declared(schema, path, m)
    }
    asked -= {"format"}
    wrong = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            names = _declared(schema, path, method)
            if path == "/api/token/":
                takes = set(client.post(path, {}, format="json").json())
            elif method == "post":
                url = path.replace("{name}", next(iter(VIEWS)))
                takes = listed(client.post(url, {"unknown": "1"}, format="json"), "unknown")
            elif path == "/api/views/{name}":
                takes = set().union(*(listed(client.get(f"/api/views/{view}?unknown=1"),
                                             "unknown") for view in VIEWS))  # fmt: skip
            else:
                parameters = operation.get("parameters", [])
                required = {
                    p["name"] for p in parameters if p.get("required") and p["in"] == "query"
                }
                takes = set()
                for name in asked:
                    query = urlencode({**{n: valid[n] for n in required - {name}}, name: ""})
                    answer = client.get(f"{path.replace('{id}', '1')}?{query}")
                    if (
                        answer.status_code == 400
                        and f"leave ?{name}= out" in answer.content.decode()
                    ):
                        takes.add(name)
            if takes != names:
                wrong.append(f"{method.upper()} {path}: the schema declares {sorted(names)}, "
                             f"it takes {sorted(takes)}")  # fmt: skip
    assert not wrong, "\n".join(wrong)


@pytest.mark.django_db
def test_each_post_declares_its_fields_as_a_body_that_may_come_in_the_query_string():
    """A POST that queues work reads its fields from the body and the query string together
    (params.fields): its schema declares them as a request body (a client generated from it
    sends a body) and says the query string is read too, not as query parameters only (the
    view rebuild's `start`/`end` were required query parameters, its body any object)."""
    schema = _schema()
    wrong = []
    for path, operations in schema["paths"].items():
        operation = operations.get("post")
        if operation is None or path == "/api/token/":
            continue
        if query := [p["name"] for p in operation.get("parameters", []) if p["in"] == "query"]:
            wrong.append(f"POST {path}: declares query parameters {query}")
        if not _declared(schema, path, "post"):
            wrong.append(f"POST {path}: declares no body fields")
        if "in the body or the query string" not in operation.get("description", ""):
            wrong.append(f"POST {path}: does not say the query string is read too")
    assert not wrong, "\n".join(wrong)
