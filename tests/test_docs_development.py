"""docs/development.md (and what README.md and docs/architecture.md say of the same things),
checked against the code: the walk-throughs name every hook of the adapter contract, each call
they give with a bare name is one of what they name, with its parameters, a price adapter's
attributes to set, and the docs tests a new provider meets; the config modules the settings
read and the files the layouts name by their bare names; the processes `make run` and `make
test` start; the time limits of long tasks; the modules README.md's reading path names."""

import builtins
import inspect
import pkgutil
import re

from tests.support.doc_pages import ROOT

DEVELOPMENT = (ROOT / "docs" / "development.md").read_text()
ARCHITECTURE = (ROOT / "docs" / "architecture.md").read_text()


def section(heading: str, text: str = DEVELOPMENT) -> str:
    """The text under `## heading`, up to the next heading of level 2."""
    return re.split(r"^## ", text.split(f"\n## {heading}\n", 1)[1], maxsplit=1, flags=re.M)[0]


PROVIDER = section("Walk-through: add a provider")
RETENTION = section("Walk-through: add a retention step")


def spans(text: str) -> list[str]:
    """The inline code spans of `text`, fenced blocks left out; a span may wrap across lines."""
    text = re.sub(r"^[ \t]*```.*?^[ \t]*```", "", text, flags=re.M | re.S)
    return [" ".join(span.split()) for span in re.findall(r"`([^`]+)`", text)]


def named(text: str) -> set[str]:
    """The names a page's spans give: `name`, `name(...)`, `a.b.name`, `name(...) -> X`."""
    found = set()
    for span in spans(text):
        if match := re.fullmatch(r"([\w.]+)(?:\(.*\))?(?: -> .*)?", span):
            found.add(match[1].rsplit(".", 1)[-1])
    return found


# Members of collectors.base.Adapter the pipeline and the admin call, not a provider's to set.
CONTRACT_HELPERS = {"known_options", "check_options", "options_problem", "combined_options"}


def test_the_provider_walk_through_names_every_hook_of_the_adapter_contract():
    """Each class attribute and method a provider may set or override on the contract is in
    the walk-through: it named neither `still_served` (what to serve once an answer withdrew
    stored points) nor the budget hooks (`budget_key`, `calls_for`, `calls_per_period`) nor
    `additive`, which a provider sharing targets needs."""
    from collectors.base import Adapter

    members = {
        name
        for name in {*vars(Adapter), *Adapter.__annotations__}
        if not name.startswith("_") and name not in CONTRACT_HELPERS
    }
    assert {"target", "fetch", "after_write", "still_served", "budget_key"} <= members
    assert sorted(members - named(PROVIDER)) == []


def test_the_price_adapter_s_attributes_to_set_are_in_the_walk_through():
    """What `PriceAdapter` declares and each price adapter must set (`vat_included`,
    `price_basis`, `published`): the walk-through did not name `published`, without which
    every fetch of a new price adapter fails with an AttributeError."""
    from collectors.pricing.adapter import PriceAdapter

    to_set = {name for name in PriceAdapter.__annotations__ if not hasattr(PriceAdapter, name)}
    assert {"vat_included", "published"} <= to_set
    assert sorted(to_set - named(PROVIDER)) == []


def _namespaces(text: str) -> list[object]:
    """The modules and classes a walk-through names: dotted names (`collectors.base.Adapter`,
    `enrich.redis.lock.RunLock(...)`) and files (`retention/task_records.py`)."""
    found: list[object] = []
    for span in spans(text):
        dotted = re.fullmatch(r"((?:[a-z_]+\.)+\w+)(?:\(.*\))?", span)
        path = re.fullmatch(r"((?:[a-z_]+/)+[a-z_]+)\.py", span)
        name = path[1].replace("/", ".") if path else dotted[1] if dotted else ""
        if name.split(".")[0] not in ("enrich", "collectors", "retention", "config", "tests"):
            continue
        try:
            obj = pkgutil.resolve_name(name)
        except (ImportError, AttributeError, ValueError):
            continue
        found += [obj] if inspect.ismodule(obj) else [inspect.getmodule(obj), obj]
    return found


def _bare_calls(text: str) -> list[tuple[str, list[str]]]:
    """`name(a, b=..., *, c)` spans with a bare name (no dots): (name, parameter names)."""
    calls = []
    for span in spans(text):
        if match := re.fullmatch(r"(\w+)\((.*?)\)(?: -> .*)?", span):
            arguments = [a.strip() for a in match[2].split(",")]
            names = [m[1] for a in arguments if (m := re.match(r"\*{0,2}([A-Za-z_]\w*)", a))]
            calls.append((match[1], names))
    return calls


def _callable_in(name: str, where: list[object]) -> object:
    for place in where:
        if callable(found := getattr(place, name, None)):
            return found
    return None


def test_each_bare_call_of_the_walk_throughs_is_of_what_they_name():
    """`on_renewed(config, previous, renewed)`, `renew()`, `requeued(exc, run)`: each call a
    walk-through gives by its bare name is a function or method of a module or class it names,
    and takes each parameter shown."""
    from collectors.base import Adapter

    wrong, checked = [], 0
    for title, text in (("add a provider", PROVIDER), ("add a retention step", RETENTION)):
        where = [Adapter, *_namespaces(text), builtins]
        for name, parameters in _bare_calls(text):
            found = _callable_in(name, where)
            if found is None:
                wrong.append(f"{title}: {name}(): none of what the walk-through names has it")
                continue
            checked += 1
            try:
                own = inspect.signature(found).parameters
            except (TypeError, ValueError):
                continue
            free = any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in own.values())
            wrong += [
                f"{title}: {name}(): no parameter {parameter}"
                for parameter in parameters
                if parameter not in own and not free
            ]
    assert checked >= 15, checked
    assert not wrong, wrong


def test_the_config_modules_the_settings_read_are_named_in_the_layouts():
    """settings.py reads its variables from several modules of config/: development.md's layout
    and architecture.md's `config/` list name each (neither named `archive.py`)."""
    settings = (ROOT / "config" / "settings.py").read_text()
    read = sorted(set(re.findall(r"^from config\.(\w+) import", settings, re.M)))
    assert {"broker", "archive", "environment"} <= set(read)
    layout = DEVELOPMENT.split("\nconfig/", 1)[1].split("\nenrich/", 1)[0]
    config = ARCHITECTURE.split("- `config/`:", 1)[1].split("\n- `enrich/`", 1)[0]
    missing = [
        f"{page}: {module}.py"
        for page, text in (("development.md", layout), ("architecture.md", config))
        for module in read
        if not re.search(rf"\b{module}\.py\b", text)
    ]
    assert not missing, missing


# A test module reading the registry or the providers of each source, at its top or in a test.
READS_PROVIDERS = r"^\s*from (?:collectors\.registry import|enrich\.models import .*\bSOURCES\b)"


def test_the_provider_walk_through_runs_the_docs_tests_that_read_the_registry():
    """A test module beside tests/collectors and tests/api that reads the registry or
    `SOURCES` (every provider's row in providers.md, the values of PRICING_PROVIDER) is in the
    walk-through's list of what to run: it did not name tests/test_docs_providers.py, which
    fails until the new provider has its row in *Providers at a glance*, a table the
    walk-through did not mention either; nor tests/test_docs_ranges.py, which fails until a
    carbon or price provider is among its variable's values (step 4), and which imports the
    registry inside its test."""
    run = " ".join(PROVIDER.split("\nRun ", 1)[1].split("\n\n", 1)[0].split())
    readers = [
        path.relative_to(ROOT).as_posix()
        for path in sorted((ROOT / "tests").glob("test_*.py"))
        if re.search(READS_PROVIDERS, path.read_text(), re.M)
    ]
    assert {"tests/test_docs_providers.py", "tests/test_docs_ranges.py"} <= set(readers)
    assert [path for path in readers if f"`{path}`" not in run] == []
    assert "Providers at a glance" in PROVIDER


def test_the_processes_make_run_and_make_test_start_are_the_files():
    """The web workers, the worker's queues and processes (Procfile), and `make test`'s pytest
    processes and their Redis databases (Makefile) are as development.md says."""
    procfile = (ROOT / "Procfile").read_text()
    makefile = (ROOT / "Makefile").read_text()
    web = int(re.search(r"^web: .*--workers (\d+)", procfile, re.M)[1])
    queues, processes = re.search(r"^worker: .* -Q ([\w,]+) -c (\d+)", procfile, re.M).groups()
    workers = int(re.search(r"^PYTEST_WORKERS \?= (\d+)", makefile, re.M)[1])
    first = int(re.search(r"REDIS_URL=redis://[\d.:]+/(\d+)", makefile)[1])
    text = " ".join(DEVELOPMENT.split())
    said = re.search(
        r"`web` \(gunicorn, (\d+) workers\), `worker` \(one Celery worker on the queues (.*?), (\d+) processes\)",
        text,
    )
    assert said, "development.md no longer says what `make run` starts"
    assert int(said[1]) == web and int(said[3]) == int(processes)
    assert re.findall(r"`(\w+)`", said[2]) == queues.split(",")
    assert f"runs the tests in {workers} processes side by side" in text
    assert f"Redis databases {first} to {first + workers - 1}" in text
    numbers = ", ".join(str(first + k) for k in range(workers))
    assert f"Makefile's `/{first}` gives {numbers})" in text


def _in_words(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [
        f"{hours} h" if hours else "",
        f"{minutes} min" if minutes else "",
        f"{seconds} s" if seconds else "",
    ]
    return " ".join(p for p in parts if p)


def test_the_time_limits_and_visibility_timeout_architecture_gives_are_the_broker_s():
    """The hard limits architecture.md quotes (archive, view refresh, tier runs) and the
    visibility timeout derived from them: it gave the tier runs 58 min for 58 min 20 s."""
    from django.conf import settings

    limits = settings.TASK_TIME_LIMITS
    text = " ".join(ARCHITECTURE.split())
    quoted = re.search(
        r"archive ([\w ]+), view refresh ([\w ]+), tier runs ([\w ]+), \.\.\.\) plus 10 minutes: ([\d,]+) s",
        text,
    )
    assert quoted, "architecture.md no longer quotes the time limits"
    assert quoted.groups()[:3] == tuple(
        _in_words(limits[task][1])
        for task in ("retention.archive", "retention.refresh_views", "retention.downsample_hourly")
    )
    timeout = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    assert int(quoted[4].replace(",", "")) == timeout == max(h for _, h in limits.values()) + 600


def test_the_reading_path_names_each_module_the_pipeline_runs():
    """Step 3 of README.md's reading path (collectors/pipeline.py) names each module of
    collectors/ the pipeline imports to decide and make a fetch: it named neither the lowered
    cadence (cadence.py), the plan's refused history (history_refusals.py) nor the keys shared
    by configs of one target (sharing.py, imported in the call)."""
    readme = (ROOT / "README.md").read_text()
    path = readme.split("## The reading path of one collection")[1].split("```")[1]
    step = re.split(r"^\d\. +", path, flags=re.M)[3]
    assert step.startswith("collectors/pipeline.py")
    pipeline = (ROOT / "collectors" / "pipeline.py").read_text()
    used = set(re.findall(r"^from collectors import (.*)$", pipeline, re.M)[0].split(", "))
    used |= set(re.findall(r"^\s+from collectors import (\w+)\b", pipeline, re.M))
    used |= set(re.findall(r"^from collectors\.(\w+) import", pipeline, re.M))
    used -= {"base", "models", "registry"}  # the contract, the run record, the adapter list
    assert {"sharing", "cadence", "spending"} <= used
    assert sorted(m for m in used if f"collectors/{m}.py" not in step and f"{m}." not in step) == []


def _missing_under(top: str, names: list[str]) -> list[str]:
    """The names (`hourly.py`, `emporia/`, `redis/client.py`) no file or folder under `top`
    (or at the checkout's root) carries."""
    missing = []
    for name in names:
        last = name.rstrip("/").split("/")[-1]
        under = name.removeprefix(f"{top}/")
        if not (ROOT / name).exists() and not (ROOT / top / under).exists():
            if not any(p.as_posix().endswith(under.rstrip("/")) for p in (ROOT / top).rglob(last)):
                missing.append(f"{top}/: {name}")
    return missing


FILE_NAME = r"(?<![\w/.])(?:[\w-]+/)*[\w-]+(?:\.py|\.sh|/)(?![\w/])"


def test_the_files_the_layouts_name_by_their_bare_names_are_in_their_package():
    """development.md's layout (`retention/ ... tiers/ (...) ... schema.py`) and architecture.md's
    package list (`- \\`retention/\\`: ... \\`runner.py\\``) name files and folders without their
    package: each is under it (bench/results/ is made by a run)."""
    layout = DEVELOPMENT.split("## Layout", 1)[1].split("```")[1]
    parts = re.split(r"^(\w+)/ +", layout, flags=re.M)
    packages = ARCHITECTURE.split("## Packages", 1)[1].split("\n### ", 1)[0]
    bullets = re.split(r"^- `(\w+)/`:", packages, flags=re.M)
    missing, checked = [], 0
    pairs = [*zip(parts[1::2], parts[2::2], strict=True)]
    pairs += zip(bullets[1::2], bullets[2::2], strict=True)
    for top, text in pairs:
        names = re.findall(FILE_NAME, " ".join(spans(text)) or text)  # the layout is fenced
        names = [n for n in names if n != "bench/results/"]  # made by a run, git-ignored
        checked += len(names)
        missing += _missing_under(top, names)
    assert checked > 150, checked
    assert not missing, missing


def test_the_packages_whose_tasks_celery_finds_are_config_celery_s():
    """development.md's "Celery finds the tasks by autodiscovery: the tasks.py of ..." lists the
    packages config/celery.py hands to autodiscover_tasks, no more, no fewer."""
    celery = (ROOT / "config" / "celery.py").read_text()
    lists = re.findall(r"autodiscover_tasks\(\s*\[(.*?)\]", celery, re.S)
    found = {name for found in lists for name in re.findall(r'"([\w.]+)"', found)}
    text = " ".join(DEVELOPMENT.split())
    sentence = re.search(r"finds the tasks by autodiscovery: (.*?)\. A new package", text)[1]
    said = re.findall(r"`([\w/]+)`", sentence)
    retention = re.search(r"each retention package \((.*?)\)", sentence)[1]
    said = {name.replace("/", ".") for name in said if f"`{name}`" not in retention}
    said |= {f"retention.{name}" for name in re.findall(r"`(\w+)`", retention)}
    assert "retention.archive" in found and said == found
