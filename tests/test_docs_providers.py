"""docs/providers.md's *Providers at a glance* table, checked against the adapters and the beat
table: each provider's source, schedule, options, default budget, budget scope and backfill
bound are the code's, and every adapter has its row; and the calendar's rule confidences and
option defaults are the prediction's."""

from datetime import timedelta

from collectors.registry import ADAPTERS
from config.schedule import SCHEDULE
from tests.support.doc_pages import ROOT

SCOPES = {"account": "provider", "login": "account", "target": "site"}


def glance_rows() -> dict[str, list[str]]:
    text = (ROOT / "docs" / "providers.md").read_text()
    table = text.split("**Providers at a glance**", 1)[1].split("\n\n", 2)[1]
    rows = {}
    for line in table.splitlines()[2:]:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        rows[cells[0].strip("`")] = cells[1:]
    return rows


def schedule_of(source: str) -> str:
    (entry,) = (e for e in SCHEDULE if e.task == f"collectors.dispatch_{source}")
    return f"`{entry.crontab}`" if entry.crontab else f"every {entry.every_seconds} s"


def backfill(history: timedelta | None) -> str:
    if history is None:
        return "none"
    return "24 hours" if history == timedelta(days=1) else f"{history.days} days"


def test_the_providers_at_a_glance_are_the_adapters():
    """A row per adapter, each cell the code's: a budget, option or backfill bound the page
    gave wrong (or an adapter without a row) fails here, naming the provider and the cell."""
    rows = glance_rows()
    assert sorted(rows) == sorted(a.provider for a in ADAPTERS)
    wrong = []
    for adapter in ADAPTERS:
        source, fetched, options, budget, scope, history = rows[adapter.provider]
        others = sorted(adapter.known_options() - {"base_url", "budget"})
        expected = {
            "source": (source, f"`{adapter.source}`"),
            "fetched": (fetched, schedule_of(adapter.source)),
            "options": (options, ", ".join(f"`{o}`" for o in others) or "none"),
            "default budget": (
                budget.split(" (")[0],
                f"`{adapter.budget}`" if adapter.budget else "none",
            ),
            "one budget per": (scope, SCOPES[adapter.budget_scope]),
            "backfill at most": (history, backfill(adapter.history)),
        }
        wrong += [
            f"{adapter.provider} {column}: the page says {said!r}, the code {code!r}"
            for column, (said, code) in expected.items()
            if said != code
        ]
    assert not wrong, wrong


def table_rows(after: str) -> dict[str, list[str]]:
    """The rows of the first table after `after` in docs/providers.md, by their first cell."""
    text = (ROOT / "docs" / "providers.md").read_text().split(after, 1)[1]
    lines = text[text.index("\n|") + 1 :].split("\n\n", 1)[0].splitlines()[2:]
    cells = [[c.strip() for c in line.strip("|").split("|")] for line in lines]
    return {row[0].strip("`"): row[1:] for row in cells}


def test_the_calendar_s_rules_and_option_defaults_are_the_prediction_s():
    """The confidence of each prediction rule and the calendar options' defaults, as the
    page's tables give them, are collectors.occupancy.google.prediction's."""
    from collectors.occupancy.google import prediction

    rules = {rule: float(row[1]) for rule, row in table_rows("### Prediction rules").items()}
    assert rules == prediction.RULES
    options = table_rows("### Options (admin")
    assert options["travel_minutes"][0] == f"`{prediction.DEFAULT_TRAVEL_MINUTES}`"
    assert options["lead_minutes"][0] == f"`{prediction.DEFAULT_LEAD_MINUTES}`"
    keywords = ", ".join(f'"{k}"' for k in prediction.DEFAULT_HOME_KEYWORDS)
    assert options["home_keywords"][0] == f"`[{keywords}]`"
    assert options["online_keywords"][0] == ", ".join(prediction.DEFAULT_ONLINE_KEYWORDS)
