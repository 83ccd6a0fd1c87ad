"""docs/configuration.md and .env.example document every variable the settings read, with the
defaults config/ gives them; README.md shows the two commands; what README.md and docs/*.md name
(files, modules, tasks, endpoints, commands, links, the reading path's calls, a function's
parameters) is there."""

import importlib
import inspect
import re

import pytest

from tests.support.doc_pages import (
    CODE,
    DEFAULTS,
    ENDPOINT,
    OUTSIDE_PATHS,
    PAGES,
    PATTERN_MARKS,
    ROOT,
    SETTINGS,
    VARIABLES,
    heading_anchor,
    same,
)


def test_settings_variables_were_found():
    assert {"DJANGO_SECRET_KEY", "INFLUXDB_URL", "REDIS_URL", "DATABASE_URL"} <= set(VARIABLES)


@pytest.mark.parametrize("document", ["docs/configuration.md", ".env.example"])
def test_every_variable_is_documented(document):
    text = (ROOT / document).read_text()
    missing = [name for name in VARIABLES if name != "ENRICH_ENV_FILE" and name not in text]
    assert not missing, f"{document} does not mention: {', '.join(missing)}"


def test_cache_ttl_variables_are_documented():
    from django.conf import settings

    for source in settings.CACHE_TTL_SECONDS:
        name = f"CACHE_TTL_{source.upper()}_SECONDS"
        assert name in (ROOT / "docs" / "configuration.md").read_text()
        assert name in (ROOT / ".env.example").read_text()


def test_readme_shows_the_two_commands_and_ci_calls_make_test():
    readme = (ROOT / "README.md").read_text()
    assert "make run" in readme and "make test" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text()


# --- What the pages name: files, modules, tasks, endpoints, commands, defaults -----------------
# --- What the pages name: files, modules, tasks, endpoints, commands, defaults -----------------


def test_every_file_the_docs_name_exists():
    """A path in code (`collectors/pipeline.py`, `retention/tiers/`) that starts at a top-level
    entry of the checkout is there; var/ and bench/results/ are made at run time."""
    tops = {path.name for path in ROOT.iterdir()} - {"var", ".venv", ".git"}
    missing = []
    for page, (spans, blocks) in CODE.items():
        for token in " ".join(spans + blocks).split():
            path = token.strip("()[],;:'\"")
            parts = path.split("/")
            if (
                len(parts) > 1
                and parts[0] in tops
                and (path.endswith("/") or "." in parts[-1])
                and not PATTERN_MARKS.search(path)
                and not path.startswith("bench/results/")
                and not (ROOT / path).exists()
            ):
                missing.append(f"{page}: {path}")
    assert not missing, missing


def test_every_link_between_the_pages_leads_somewhere():
    anchors = {
        page.resolve(): {
            heading_anchor(h) for h in re.findall(r"^#+ (.*)$", page.read_text(), re.M)
        }
        for page in PAGES
    }
    broken = []
    for page in PAGES:
        for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text()):
            if target.startswith(("http://", "https://")):
                continue
            file, _, anchor = target.partition("#")
            dest = (page.parent / file).resolve() if file else page.resolve()
            if not dest.exists() or (anchor and anchor not in anchors.get(dest, {anchor})):
                broken.append(f"{page.name}: {target}")
    assert not broken, broken


MISSING = object()
DOTTED = re.compile(
    r"((?:enrich|collectors|retention|config|dashboard|bench|tests|mqtt)(?:\.\w+)+)(?:\(.*\))?"
)

# A call with its parameters: `retention.tiers.runner.downsample(kind, start, *, dry_run)`.
CALLED = re.compile(DOTTED.pattern.removesuffix(r"(?:\(.*\))?") + r"\((.*)\)")


def _attribute(found: object, parts: list[str]) -> object:
    """`found.a.b` for parts ["a", "b"], or MISSING."""
    for part in parts:
        found = getattr(found, part, MISSING)
    return found


def _resolved(name: str) -> object:
    """The module `name`, or its attribute (at any depth) of the longest module it starts with;
    MISSING when there is none."""
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            found = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        return _attribute(found, parts[cut:])
    return MISSING


def _found(name: str) -> bool:
    """`name` is a module, or an attribute (at any depth) of the longest module it starts with."""
    return _resolved(name) is not MISSING


def test_every_module_task_and_permission_the_docs_name_is_there():
    """A span that is a dotted name (`retention.tiers.series.read_series(...)`,
    `mqtt.publish_states`, `enrich.trigger_work`) names a module or one of its attributes, a
    registered Celery task or a permission (a model's own, or Django's add, change, delete and
    view of it: `enrich.change_oauthconnection`)."""
    from django.apps import apps

    from config.celery import app

    app.loader.import_default_modules()
    permissions = {
        f"{model._meta.app_label}.{codename}"
        for model in apps.get_models()
        for codename in [
            *(codename for codename, _ in model._meta.permissions),
            *(f"{action}_{model._meta.model_name}" for action in model._meta.default_permissions),
        ]
    }
    unknown = [
        f"{page}: {match[1]}"
        for page, (spans, _) in CODE.items()
        for span in spans
        if (match := DOTTED.fullmatch(span))
        and not span.endswith(".py")  # a file named by itself (`mqtt.py` of config/)
        and match[1] not in app.tasks
        and match[1] not in permissions
        and not _found(match[1])
    ]
    assert not unknown, unknown


def test_every_endpoint_the_docs_call_answers_that_method_and_reads_its_parameters():
    """`GET /retention/history?days=30&type=&status=`: the URL conf routes the path, the view
    has a handler for the method, and its module reads each query parameter named."""
    from django.urls import Resolver404, resolve

    wrong = []
    for page, (spans, _) in CODE.items():
        for span in spans:
            if not (match := ENDPOINT.fullmatch(span)) or match[2].startswith(OUTSIDE_PATHS):
                continue
            method, path, query = match[1], match[2], match[3] or ""
            try:
                view = resolve(re.sub(r"<[^>]*>|…", "1", path)).func
            except Resolver404:
                wrong.append(f"{page}: {span}: no such path")
                continue
            view = getattr(view, "view_class", view)
            if method and inspect.isclass(view) and not hasattr(view, method.lower()):
                wrong.append(f"{page}: {span}: {view.__name__} does not answer {method}")
            source = inspect.getsource(inspect.getmodule(view))
            for name in re.findall(r"(?:^|&)(\w+)=", query):
                # `site` is read by one reader (enrich.api.site), declared by its SITE schema.
                shared = name == "site" and "SITE" in source
                if f'"{name}"' not in source and not shared:
                    wrong.append(f"{page}: {span}: {view.__module__} does not read {name}")
    assert not wrong, wrong


def test_a_path_s_placeholder_is_the_name_the_url_conf_gives_that_part():
    """`/retention/runs/<run_id>`: a `<name>` in a path is the URL conf's name for that part, as
    a 400 and the schema name it (api.md kept `/retention/runs/<id>` after the rename)."""
    from django.urls import Resolver404, resolve

    wrong = []
    for page, (spans, _) in CODE.items():
        for span in spans:
            if not (match := ENDPOINT.fullmatch(span)) or match[2].startswith(OUTSIDE_PATHS):
                continue
            if not (named := re.findall(r"<([^>]*)>", match[2])):
                continue
            try:
                parts = list(resolve(re.sub(r"<[^>]*>|…", "1", match[2])).kwargs)
            except Resolver404:
                continue  # test_every_endpoint_the_docs_call_answers... names it
            if named != parts:
                wrong.append(f"{page}: {span}: the URL conf names {parts}")
    assert not wrong, wrong


def test_every_command_and_flag_the_docs_give_exists():
    """`manage.py rebuild_view ... --start ...` and `make bench-quick`: the command (Django's,
    an app's) takes each flag shown, and the Makefile has the target."""
    from django.core.management import get_commands, load_command_class

    commands = get_commands()
    targets = set(re.findall(r"^([\w-]+):", (ROOT / "Makefile").read_text(), re.M))
    wrong = []
    for page, (spans, blocks) in CODE.items():
        code = "\n".join(spans + blocks)
        for name, rest in re.findall(r"manage\.py (\w+)([^\n#|]*)", code):
            if name not in commands:
                wrong.append(f"{page}: manage.py {name}: no such command")
                continue
            parser = load_command_class(commands[name], name).create_parser("manage.py", name)
            for flag in re.findall(r"(?<![\w-])--[a-z][\w-]*", rest):
                if flag not in parser._option_string_actions:
                    wrong.append(f"{page}: manage.py {name} {flag}: no such flag")
        wrong += [
            f"{page}: make {target}: no such target"
            for target in re.findall(r"(?<![\w-])make ([a-z][\w-]*)", code)
            if target not in targets
        ]
    assert not wrong, wrong


@pytest.mark.parametrize("document", ["docs/configuration.md", "docs/home_assistant.md"])
def test_the_defaults_in_the_settings_tables_are_the_code_s(document):
    """A row `| `NAME` | `default` | ...` (or `| `A`, `B` | `a`, `b` | ...`) gives the default the
    settings read; a row saying `empty` names a variable whose default is empty."""
    wrong = []
    for names, cell in re.findall(
        r"^\| (`[A-Z].*?) \| (.*?) \|", (ROOT / document).read_text(), re.M
    ):
        names = [n for n in re.findall(r"`([A-Z][A-Z0-9_]+)`", names) if n in DEFAULTS]
        if re.fullmatch(r"`[^`]*`(, `[^`]*`)*", cell):
            given = [v for v in re.findall(r"`([^`]*)`", cell) if v not in VARIABLES]
            given = given * len(names) if len(given) == 1 else given
        elif re.match(r"\(?empty\b", cell):
            given = [""] * len(names)
        else:
            continue
        wrong += [
            f"{name}: documented {value!r}, the settings' default is {DEFAULTS[name]!r}"
            for name, value in zip(names, given, strict=False)
            if not same(value, DEFAULTS[name])
        ]
    assert DEFAULTS.keys() >= {"REDIS_URL", "MQTT_OFFLINE_AFTER_SECONDS", "S3_STORAGE_CLASS"}
    assert not wrong, wrong


@pytest.mark.parametrize(
    "sentence, reader, one",
    [
        (r"A URL setting \((.*?)\) must", "http_url", "GOOGLE_TOKEN_URI"),
        (r"a key or token sent in an HTTP header \((.*?)\) holding", "header_value", "HA_TOKEN"),
    ],
)
def test_the_settings_the_docs_say_are_checked_at_start_are_those_checked(sentence, reader, one):
    """configuration.md's "A URL setting (...) must be an http:// or https:// URL" names each
    variable config/ reads with `http_url`, and no other; its keys sent in a header, those read
    with `header_value`."""
    text = " ".join((ROOT / "docs" / "configuration.md").read_text().split())
    named = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", re.search(sentence, text)[1]))
    checked = set(re.findall(reader + r'\(\s*"([A-Z][A-Z0-9_]+)"', SETTINGS))
    assert one in checked and named == checked


def test_the_values_in_env_example_are_the_defaults():
    lines = re.findall(r"^([A-Z][A-Z0-9_]+)=(.*)$", (ROOT / ".env.example").read_text(), re.M)
    wrong = [
        f"{name}={value}: the settings' default is {DEFAULTS[name]!r}"
        for name, value in lines
        if name in DEFAULTS and not same(value, DEFAULTS[name])
    ]
    assert not wrong, wrong


def test_readme_is_a_map_whose_reading_path_quotes_the_beat_table():
    """At most 300 lines; the first step of the reading path is an entry of config/schedule.py
    as it is."""
    from config.schedule import SCHEDULE

    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 300
    quoted = re.search(r'Entry\("([^"]+)", "([^"]+)",\s+crontab="([^"]+)", expires=(\d+)\)', readme)
    assert quoted, "README.md's reading path quotes no Entry(...)"
    name, task, crontab, expires = quoted.groups()
    entries = {entry.name: entry for entry in SCHEDULE}
    assert name in entries, f"config/schedule.py has no entry {name!r}"
    entry = entries[name]
    assert (entry.task, entry.crontab, entry.expires) == (task, crontab, int(expires))


def test_the_reading_path_calls_what_its_files_have():
    """Each step of README.md's reading path (`3. collectors/pipeline.py  collect(config): ...`)
    calls names of its file or of a file it names (`target_for`, `write_fetched`,
    `UKCarbonIntensityAdapter.fetch`); a call on a local (`cache.put(...)`) names a method
    the project defines. A rename fails here, not in the newcomer's reading."""
    readme = (ROOT / "README.md").read_text()
    path = readme.split("## The reading path of one collection")[1].split("```")[1]
    steps = re.split(r"^\d\. +", path, flags=re.M)[1:]
    defined = {
        name
        for package in ("enrich", "collectors", "config")
        for module in (ROOT / package).rglob("*.py")
        for name in re.findall(r"^\s*(?:def|class) (\w+)", module.read_text(), re.M)
    }
    wrong, calls = [], 0
    for step in steps:
        files = [step.split()[0], *re.findall(r"[\w/]+\.py", step)]
        modules = [importlib.import_module(f.removesuffix(".py").replace("/", ".")) for f in files]
        for call in re.findall(r"((?:\w+(?:\(\))?\.)*\w+)\(", step):
            parts, calls = call.replace("()", "").split("."), calls + 1
            if any(_attribute(module, parts) is not MISSING for module in modules):
                continue
            # on a local or on what a call returns: a method the project has
            local = "()" in call or not any(hasattr(module, parts[0]) for module in modules)
            if not (len(parts) > 1 and local and parts[-1] in defined):
                wrong.append(f"{files[0]}: {call}")
    assert len(steps) == 4 and calls >= 15, (len(steps), calls)
    assert not wrong, wrong


def test_the_parameters_the_docs_give_a_function_are_its_own():
    """`retention.tiers.runner.downsample(kind, start, end, *, dry_run, ...)`: each parameter a
    span names for a function (or class) it names is one of its parameters, by name unless it
    takes `*args` (positional) or `**kwargs` (keyword)."""
    wrong = []
    for page, (spans, _) in CODE.items():
        for span in spans:
            match = CALLED.fullmatch(span)
            if not match or not callable(found := _resolved(match[1])):
                continue
            try:
                parameters = inspect.signature(found).parameters
            except (TypeError, ValueError):  # a builtin without a signature
                continue
            kinds = {p.kind for p in parameters.values()}
            for argument in (a.strip() for a in match[2].split(",")):
                name = re.match(r"([A-Za-z_]\w*)(=?)", argument)
                if not name or name[1] in parameters:
                    continue
                free = (
                    inspect.Parameter.VAR_KEYWORD if name[2] else inspect.Parameter.VAR_POSITIONAL
                )
                if free not in kinds:
                    wrong.append(f"{page}: {span}: no parameter {name[1]}")
    assert not wrong, wrong


@pytest.mark.parametrize("door", ["influx", "http", "redis", "mqtt"])
def test_architecture_names_every_module_of_each_door(door):
    """docs/architecture.md lists each door package's parts: a module added to a door is named
    there too (the MQTT door's `retained.py` was not)."""
    text = (ROOT / "docs" / "architecture.md").read_text()
    stems = sorted(p.stem for p in (ROOT / "enrich" / door).glob("*.py") if p.stem != "__init__")
    assert stems
    named = [f"`{stem}.py`" in text or f"`enrich.{door}.{stem}`" in text for stem in stems]
    assert [stem for stem, said in zip(stems, named, strict=True) if not said] == []
