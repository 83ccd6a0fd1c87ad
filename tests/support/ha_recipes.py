"""The Home Assistant YAML recipes of the docs pages, as the recipe tests read them: each page's
```yaml blocks, the automations among them, what an automation says with keys Home Assistant
has renamed, and the names of the InfluxDB sensors a page defines.

Home Assistant 2024.8 names a service call `action:` (was `service:`), 2024.10 an automation's
lists `triggers:`, `conditions:` and `actions:` (were `trigger:`, `condition:`, `action:`) and
a trigger's kind `trigger:` (was `platform:`). It still reads the old keys, but its editor and
documentation write only the new ones, and a recipe mixing both is harder to follow."""

import re
from pathlib import Path
from typing import Any

import yaml

DOCS = Path(__file__).resolve().parents[2] / "docs"
# (old key, the key Home Assistant names it now), at the automation's level
RENAMED = {"trigger": "triggers", "condition": "conditions", "action": "actions"}


def yaml_blocks(page: str) -> list[Any]:
    """Every ```yaml block of docs/`page`, parsed."""
    text = (DOCS / page).read_text()
    return [yaml.safe_load(block) for block in re.findall(r"```yaml\n(.*?)```", text, re.S)]


def automations(page: str) -> list[dict]:
    """Every automation of the page: the `automation:` list of a block, or a block that is a
    list of automations (one continuing the block before it)."""
    found = []
    for block in yaml_blocks(page):
        listed = block.get("automation", []) if isinstance(block, dict) else block
        found += [each for each in listed or [] if isinstance(each, dict) and "alias" in each]
    return found


def _listed(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def _actions(steps: Any) -> list[dict]:
    """The action steps of `steps`, those nested in a choose, if, sequence or parallel too."""
    found = []
    for step in _listed(steps):
        if not isinstance(step, dict):
            continue
        found.append(step)
        for key in ("sequence", "then", "else", "default", "parallel"):
            found += _actions(step.get(key, []))
        for option in _listed(step.get("choose", [])):
            found += _actions(option.get("sequence", []) if isinstance(option, dict) else [])
    return found


def old_keys(automation: dict) -> list[str]:
    """What `automation` writes with a key Home Assistant has renamed (none: [])."""
    alias = automation["alias"]
    found = [
        f"{alias}: `{old}:` (now `{new}:`)" for old, new in RENAMED.items() if old in automation
    ]
    triggers = automation.get("triggers", automation.get("trigger", []))
    found += [f"{alias}: a trigger's `platform: {each['platform']}` (now `trigger:`)"
              for each in _listed(triggers) if isinstance(each, dict) and "platform" in each]  # fmt: skip
    steps = automation.get("actions", automation.get("action", []))
    found += [f"{alias}: `service: {each['service']}` (now `action:`)"
              for each in _actions(steps) if "service" in each]  # fmt: skip
    if not triggers or not steps:
        found.append(f"{alias}: no `triggers:` or no `actions:`")
    return found


def influxdb_sensors(page: str) -> list[dict]:
    """The queries of the page's InfluxDB sensors (`sensor: - platform: influxdb`), each a
    sensor Home Assistant names after its `name`."""
    return [
        query
        for block in yaml_blocks(page)
        if isinstance(block, dict)
        for platform in block.get("sensor", [])
        if platform.get("platform") == "influxdb"
        for query in platform.get("queries", [])
    ]
