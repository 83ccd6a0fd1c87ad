"""Each adapter declares the option names it reads (Adapter.options; the pipeline's own are
PIPELINE_OPTIONS), and the admin refuses any other name: a misspelt option (`bse_url`,
`zipcode`) was silently ignored, the default URL or the site's coordinates used instead.

The declarations are checked against the code: every option name the adapter's modules (and
the collectors modules they import) read, found in their syntax trees, is declared, and every
declared name is read and documented in docs/providers.md."""

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError

from collectors.base import PIPELINE_OPTIONS, Adapter
from collectors.registry import ADAPTERS, BY_KEY
from enrich.models import ProviderConfig, Site

ROOT = Path(__file__).resolve().parents[2]
# Modules whose reads are the pipeline's, for every provider (they import every adapter).
PIPELINE_MODULES = {
    "collectors.pipeline",
    "collectors.spending",
    "collectors.registry",
    "collectors",
}
# Options Google Calendar's credentials() puts in itself (tokens.calendar_credentials, over
# anything the config holds): read by the adapter, never taken from the config.
SUPPLIED = {
    "google_calendar": {
        "token", "refresh_token", "token_expiry", "client_id", "client_secret", "token_uri",
        "account",
    }
}  # fmt: skip


def _path(module: str) -> Path | None:
    for path in (ROOT / f"{module.replace('.', '/')}.py", ROOT / module.replace(".", "/") / "__init__.py"):  # fmt: skip
        if path.exists():
            return path
    return None


@cache
def _tree(module: str) -> ast.Module:
    path = _path(module)
    return ast.parse(path.read_text(), str(path))


def _imports(module: str) -> set[str]:
    """The collectors modules `module` imports, at any depth of its code (hooks import inside
    methods)."""
    found = set()
    for node in ast.walk(_tree(module)):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name.startswith("collectors") and _path(name)}


def _closure(module: str) -> set[str]:
    """`module` and every collectors module it reaches through imports, the pipeline's aside."""
    seen, unread = {module}, [module]
    while unread:
        for found in _imports(unread.pop()) - seen - PIPELINE_MODULES:
            seen.add(found)
            unread.append(found)
    return seen


def _all_modules() -> list[str]:
    paths = (p for p in (ROOT / "collectors").rglob("*.py") if "migrations" not in p.parts)
    return sorted(".".join(p.relative_to(ROOT).with_suffix("").parts) for p in paths)


def _is_options(node: ast.expr) -> bool:
    """`options`, `<x>.options` or `(<x>.options or {})`: a provider config's options."""
    if isinstance(node, ast.BoolOp):
        return any(_is_options(value) for value in node.values)
    return (isinstance(node, ast.Attribute) and node.attr == "options") or (
        isinstance(node, ast.Name) and node.id == "options"
    )


def _reads(tree: ast.AST, scope: tuple[ast.AST, ...] = ()) -> Iterator[tuple[ast.expr, tuple]]:
    """Each `options.get(key...)` and `options[key]`: (key, the enclosing classes and defs)."""
    for node in ast.iter_child_nodes(tree):
        inner = (*scope, node) if isinstance(node, ast.ClassDef | ast.FunctionDef) else scope
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr == "get" and _is_options(node.func.value) and node.args:
                yield node.args[0], scope
        elif isinstance(node, ast.Subscript) and _is_options(node.value):
            yield node.slice, scope
        yield from _reads(node, inner)


def _helper(key: ast.expr, scope: tuple, where: str) -> tuple[str, int, str, str | None]:
    """A read whose name is a parameter: (the helper, the parameter's position, its name, its
    default), so each call of the helper tells the option it reads."""
    function = next((s for s in reversed(scope) if isinstance(s, ast.FunctionDef)), None)
    if isinstance(key, ast.Name) and function is not None:
        params = [a.arg for a in function.args.args if a.arg not in ("self", "cls")]
        defaults = dict(zip(reversed(params), reversed(function.args.defaults), strict=False))
        if key.id in params:
            default = defaults.get(key.id)
            return function.name, params.index(key.id), key.id, getattr(default, "value", None)
    owner = next((s for s in reversed(scope) if isinstance(s, ast.ClassDef)), None)
    if isinstance(key, ast.Attribute) and isinstance(key.value, ast.Name) and owner is not None:
        fields = [s.target.id for s in owner.body if isinstance(s, ast.AnnAssign)]
        if key.value.id == "self" and key.attr in fields:  # a dataclass field: its constructor's
            return owner.name, fields.index(key.attr), key.attr, None
    raise AssertionError(f"{where}: cannot tell which option `{ast.unparse(key)}` names")


@cache
def _helpers() -> dict[str, tuple[int, str, str | None]]:
    """The readers taking the option's name ("<module>.<function or class>"), in every module."""
    found = {}
    for module in _all_modules():
        for key, scope in _reads(_tree(module)):
            if not (isinstance(key, ast.Constant) and isinstance(key.value, str)):
                name, *how = _helper(key, scope, f"{module} line {key.lineno}")
                found[f"{module}.{name}"] = tuple(how)
    return found


@cache
def _imported(module: str) -> dict[str, str]:
    """The names `module` imports: {local name: "<module>.<name>" or "<module>"}."""
    imported = {}
    for node in ast.walk(_tree(module)):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            imported.update({a.asname or a.name: f"{node.module}.{a.name}" for a in node.names})
        elif isinstance(node, ast.Import):
            imported.update({a.asname or a.name: a.name for a in node.names})
    return imported


def _called(module: str, func: ast.expr) -> str | None:
    """What `func` is in `module` ("<module>.<name>"): its own, or through its imports."""
    imported = _imported(module)
    if isinstance(func, ast.Name):
        return imported.get(func.id, f"{module}.{func.id}")
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        return f"{imported.get(func.value.id)}.{func.attr}"
    return None


def _names_read(module: str) -> set[str]:
    """The option names `module` reads: literally, or through a reader taking the name."""
    names = set()
    for key, _ in _reads(_tree(module)):
        if isinstance(key, ast.Constant) and isinstance(key.value, str):
            names.add(key.value)
    for node in ast.walk(_tree(module)):
        if not isinstance(node, ast.Call) or _called(module, node.func) not in _helpers():
            continue
        index, param, default = _helpers()[_called(module, node.func)]
        given = dict(enumerate(node.args)) | {k.arg: k.value for k in node.keywords}
        value = given.get(param, given.get(index))
        name = default if value is None else getattr(value, "value", None)
        assert isinstance(name, str), f"{module} line {node.lineno}: which option is read?"
        names.add(name)
    return names


def read_by(adapter: type[Adapter]) -> set[str]:
    return set().union(*map(_names_read, _closure(adapter.__module__)))


@pytest.mark.parametrize("adapter", ADAPTERS, ids=[a.provider for a in ADAPTERS])
def test_each_adapter_declares_exactly_the_options_it_reads(adapter):
    assert _helpers()  # the shared readers (base_url, checked_url, Seconds...) were found
    read = read_by(adapter) - SUPPLIED.get(adapter.provider, set())
    assert read - adapter.options == set(), "read but not declared"
    assert adapter.options - read == set(), "declared but never read"
    assert not adapter.options & PIPELINE_OPTIONS  # declared once, for every provider


def test_the_pipeline_reads_only_its_own_options():
    read = set().union(*map(_names_read, PIPELINE_MODULES))
    assert read == PIPELINE_OPTIONS
    adapters = set().union(*(_closure(a.__module__) for a in ADAPTERS))
    elsewhere = set().union(*map(_names_read, set(_all_modules()) - adapters))
    assert elsewhere <= PIPELINE_OPTIONS


def test_google_calendar_supplies_its_tokens_itself():
    [function] = [
        node
        for node in ast.walk(_tree("collectors.occupancy.google.tokens"))
        if isinstance(node, ast.FunctionDef) and node.name == "calendar_credentials"
    ]
    keys = {k.value for d in ast.walk(function) if isinstance(d, ast.Dict) for k in d.keys if k}
    assert SUPPLIED["google_calendar"] <= keys
    assert not SUPPLIED["google_calendar"] & BY_KEY[("occupancy", "google_calendar")].options


def test_every_option_name_is_documented():
    docs = (ROOT / "docs" / "providers.md").read_text()
    for adapter in ADAPTERS:
        missing = [name for name in adapter.known_options() if f"`{name}" not in docs]
        assert missing == [], adapter.provider


@pytest.fixture
def site(db):
    return Site.objects.create(name="Home", latitude=52.5, longitude=13.4, timezone="Europe/Berlin")


def test_a_meter_config_with_an_unknown_option_is_refused(site):
    options = {"base_url": "https://api.sense.com/apiservice/api/v1", "realtime_timeot": 5}
    config = ProviderConfig(site=site, source="smart_meter", provider="sense", options=options)
    with pytest.raises(ValidationError) as info:
        config.full_clean()
    assert info.value.message_dict == {
        "options": [
            "Unknown option for sense: realtime_timeot. sense reads: base_url, budget, "
            "device_id, high_power_w, phantom_nights, realtime_timeout, realtime_url."
        ]
    }
    config.options = {"realtime_timeout": 5, "high_power_w": 5000, "budget": "1/minute"}
    config.full_clean()


def test_a_calendar_config_with_an_unknown_or_supplied_option_is_refused(site):
    config = ProviderConfig(
        site=site,
        source="occupancy",
        provider="google_calendar",
        options={"calendars": ["primary"], "travel_minute": 20, "token": "ya29.x"},
    )
    with pytest.raises(ValidationError) as info:
        config.full_clean()
    [message] = info.value.message_dict["options"]
    assert message.startswith(
        "Unknown options for google_calendar: token, travel_minute. google_calendar reads: "
        "base_url, budget, calendars, home_address, home_keywords, lead_minutes, "
    )
    config.options = {"calendars": ["primary"], "travel_minutes": 20, "person": "sam"}
    config.full_clean()
