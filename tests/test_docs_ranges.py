"""The values docs/configuration.md's table gives a choice variable are those it takes, and the
range it gives a number variable ("0 or more", "at least 1",
"above 0", "at most 36525", "1 to 36525", "from 0 to under 24") is the one the start enforces:
a value just outside it stops the process naming the variable, the bound itself does not (but
for another variable it must stay below or above: RETENTION_RAW_DAYS=36525 is not below
RETENTION_HOURLY_DAYS). The providers it and .env.example list for CARBON_PROVIDER,
PRICING_PROVIDER and METER_TYPE are those the first start makes."""

import re
from itertools import takewhile

import pytest

from tests.support.doc_pages import ROOT
from tests.support.startup import run_django

# The settings and the checks enrich.apps runs at start (throttles, login lockout, proxies).
START = "from enrich.apps import check_access_settings; check_access_settings()"
RANGE = re.compile(
    r"(?:from )?(?P<low>-?\d+) ?(?:to|–) ?(?P<under>under )?(?P<high>\d+)"
    r"|(?P<floor>\d+) or more|at least (?P<least>\d+)\b(?! characters)|above (?P<above>\d+)|at most (?P<most>\d+)"
)


def probes() -> list[tuple[str, str, bool]]:
    """(variable, value, whether the start must refuse it naming the variable) for each range
    a row of the table states."""
    found = []
    table = (ROOT / "docs" / "configuration.md").read_text()
    for names, meaning in re.findall(r"^\| (`[A-Z].*?) \| .*? \| (.*) \|$", table, re.M):
        for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", names):
            for bound in RANGE.finditer(meaning):
                b = {key: int(value) for key, value in bound.groupdict().items()
                     if value and key != "under"}  # fmt: skip
                if "low" in b:
                    found += [(name, str(b["low"] - 1), True), (name, str(b["low"]), False)]
                    found += [(name, str(b["high"]), True)] if bound["under"] else [
                        (name, str(b["high"] + 1), True), (name, str(b["high"]), False)]  # fmt: skip
                for key, outside in (("floor", -1), ("least", -1), ("most", 1)):
                    if key in b:
                        found += [(name, str(b[key] + outside), True), (name, str(b[key]), False)]
                if "above" in b:
                    found.append((name, str(b["above"]), True))
    return found


PROBES = probes()


def test_the_table_states_ranges():
    named = {name for name, _, _ in PROBES}
    assert {"RETENTION_RAW_DAYS", "TRUSTED_PROXY_COUNT", "MQTT_OFFLINE_AFTER_SECONDS"} <= named


@pytest.mark.parametrize(("name", "value", "refused"), PROBES)
def test_the_ranges_in_the_settings_table_are_those_the_start_enforces(name, value, refused):
    result = run_django(START, setup=False, **{name: value})
    said = result.stderr.strip().splitlines()[-1] if result.returncode else ""
    named = set(re.findall(r"\b[A-Z][A-Z0-9_]{3,}\b", said))
    if refused:
        assert name in named, said or "started"
    else:  # a bound may still be refused for another variable it must stay below or above
        assert name not in named or named - {name}, said


def test_the_values_a_choice_variable_takes_are_those_its_row_names():
    """`S3_SSE`: `AES256`, `aws:kms` or `none` (in any case, as `choice` reads them): each
    value a `choice(...)` of config/ allows is in a code span of the variable's row, and each
    code span of the row that is none of them is no value (the default cell's own aside)."""
    import ast

    rows = {
        name: meaning
        for names, meaning in re.findall(
            r"^\| (`[A-Z].*?) \| .*? \| (.*) \|$",
            (ROOT / "docs" / "configuration.md").read_text(),
            re.M,
        )
        for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", names)
    }
    choices = {
        call.args[0].value: [value.value for value in call.args[2].elts]
        for path in sorted((ROOT / "config").glob("*.py"))
        for call in ast.walk(ast.parse(path.read_text()))
        if isinstance(call, ast.Call) and getattr(call.func, "id", "") == "choice"
    }
    assert {"S3_SSE", "LOG_LEVEL", "ARCHIVE_PERIOD"} <= choices.keys()
    wrong = []
    for name, allowed in choices.items():
        spans = {span.lower() for span in re.findall(r"`([^`]+)`", rows[name])}
        wrong += [f"{name}: {value} is not in its row" for value in allowed if value not in spans]
        named = re.split(r"[.;(]", rows[name])[0]  # the list, before any aside
        listed = {span.lower() for span in re.findall(r"`([^`]+)`", named)}
        wrong += [f"{name}: {value} is not taken" for value in listed - set(allowed)]
    assert not wrong, wrong


def first_start_takes(variable: str, provider: str) -> bool:
    """Whether the first start (enrich.bootstrap.plan_providers) makes `provider` named in
    `variable` (WattTime given its login), or refuses it."""
    from django.core.exceptions import ImproperlyConfigured
    from django.test import override_settings

    from enrich.bootstrap import plan_providers

    login = {"WATTTIME_USERNAME": "user", "WATTTIME_PASSWORD": "secret"}
    with override_settings(**login, **{variable: provider}):
        try:
            return any(p.provider == provider for p in plan_providers())
        except ImproperlyConfigured:
            return False


@pytest.mark.parametrize(
    ("variable", "source"),
    [
        ("CARBON_PROVIDER", "carbon_intensity"),
        ("PRICING_PROVIDER", "electricity_pricing"),
        ("METER_TYPE", "smart_meter"),
    ],
)
def test_the_providers_a_provider_variable_lists_are_those_the_first_start_takes(variable, source):
    """configuration.md's row (its list, before any aside) and .env.example's comment above the
    variable (`a | b | c`) name the providers of the source (enrich.models.SOURCES, each with
    its adapter in the registry) the first start makes when the variable names them, in
    SOURCES' order: a provider added, renamed or removed leaves neither telling a wrong name."""
    from collectors.registry import BY_KEY
    from enrich.models import SOURCES

    assert all((source, provider) in BY_KEY for provider in SOURCES[source])
    taken = [provider for provider in SOURCES[source] if first_start_takes(variable, provider)]
    assert not first_start_takes(variable, "nordpool")
    table = (ROOT / "docs" / "configuration.md").read_text()
    row = re.search(rf"^\| `{variable}` \| .*? \| (.*) \|$", table, re.M)[1]
    assert re.findall(r"`([^`]+)`", re.split(r"[.;(]", row)[0]) == taken, row
    lines = (ROOT / ".env.example").read_text().splitlines()
    above = lines[: lines.index(f"{variable}=")]
    comments = takewhile(lambda line: line.startswith("#"), reversed(above))
    listed = [re.match(r"# ([a-z_]+(?: \| [a-z_]+)+)", line) for line in comments]
    assert [found[1].split(" | ") for found in listed if found] == [taken], variable
