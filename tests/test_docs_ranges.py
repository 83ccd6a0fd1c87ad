"""The values docs/configuration.md's table gives a choice variable are those it takes, and the
range it gives a number variable ("0 or more", "at least 1",
"above 0", "at most 36525", "1 to 36525", "from 0 to under 24") is the one the start enforces:
a value just outside it stops the process naming the variable, the bound itself does not (but
for another variable it must stay below or above: RETENTION_RAW_DAYS=36525 is not below
RETENTION_HOURLY_DAYS)."""

import re

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
